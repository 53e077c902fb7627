#!/bin/sh
# Fuzz targets one after another, each for SECONDS, as the campaign in
# fuzz/README.md was run:
#
#   fuzz/run.sh SECONDS TARGET...        (from the repository root)
#
# Logs go to fuzz/logs/<target>-<UTC hhmm>-<commit>.log (git-ignored); the
# last lines of each hold libFuzzer's final stats (executions, peak RSS)
# and "exit <code>". Seed the corpora first (see README.md).
set -eu
[ $# -ge 2 ] || { sed -n '2,9p' "$0"; exit 2; }
s=$1; shift
cd "$(dirname "$0")"
mkdir -p logs
for t in "$@"; do
    c=$(git rev-parse --short HEAD)
    log=logs/$t-$(date -u +%H%M)-$c.log
    extra=""
    case $t in capture_read | analyze_file) extra="-max_len=65536" ;; esac
    echo "start $(date -u +%FT%TZ) commit $c target $t seconds $s" >"$log"
    rc=0
    RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run --sanitizer none -O -a "$t" "corpus/$t" -- \
        -max_total_time="$s" -rss_limit_mb=2048 -timeout=10 $extra \
        -print_final_stats=1 >>"$log" 2>&1 || rc=$?
    echo "exit $rc end $(date -u +%FT%TZ)" >>"$log"
    grep -E '^stat::number_of_executed_units|^exit' "$log" | sed "s/^/$t: /"
done

#!/usr/bin/env bash
# Where rdptriage spends its time on the mixed capture.
#
#   bench/profile.sh [--size SIZE] [--threads N]
#
# If hardware counters work (`perf stat -e instructions true`), records a
# perf profile. Otherwise (virtual machines often have no PMU) runs
# valgrind --tool=callgrind on a smaller mixed capture (default 50M; the
# instruction counts of the analysis), and also takes a perf profile with
# the cpu-clock software event (time samples) on the same file when perf
# works at all. Prints the top functions by self cost and saves everything
# in bench-data/profile-<UTC time>/.
#
# Environment: RDP_FROM (default testdata/captures), BENCH_DATA (default
# bench-data).
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
DATA=${BENCH_DATA:-$ROOT/bench-data}
RDP_FROM=${RDP_FROM:-$ROOT/testdata/captures}
SIZE=50M
THREADS=1
while [ $# -gt 0 ]; do
    case $1 in
    --size) SIZE=$2; shift ;;
    --threads) THREADS=$2; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

cargo build --release --quiet --bin rdptriage --example make_bench_capture
BIN=$ROOT/target/release/rdptriage
GEN=$ROOT/target/release/examples/make_bench_capture
mkdir -p "$DATA"
FILE=$DATA/mixed-$(echo "$SIZE" | tr 'A-Z' 'a-z').pcap
if [ ! -s "$FILE" ] || [ ! -s "$FILE.meta" ]; then
    echo "== generating $FILE" >&2
    "$GEN" --out "$FILE" --size "$SIZE" --rdp-from "$RDP_FROM" >/dev/null
fi
OUT=$DATA/profile-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
cat "$FILE" >/dev/null
CMD=("$BIN" --threads "$THREADS" --format json "$FILE")
echo "command: ${CMD[*]} > /dev/null" | tee "$OUT/README"

perf_report() { # DATA
    perf report -i "$1" --no-children --percent-limit 0.5 --stdio --sort symbol 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -40
}

if perf stat -e instructions true >/dev/null 2>&1 &&
    ! perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
    echo "== perf record (cycles)" >&2
    perf record -g -o "$OUT/perf.data" -- "${CMD[@]}" >/dev/null 2>"$OUT/perf.err" || true
    perf_report "$OUT/perf.data" | tee "$OUT/perf-top.txt"
    exit 0
fi

# Function lines of callgrind_annotate, paths shortened.
top_cg() {
    grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' |
        sed -E -e 's# \[[^]]*\]$##' -e 's#/rustc/[0-9a-f]+/library/#std:#' \
            -e "s#$HOME/.cargo/registry/src/[^/]+/##" -e "s#$ROOT/##" | head -30
}

echo "== hardware counters not available: callgrind" >&2
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "${CMD[@]}" \
    >/dev/null 2>"$OUT/callgrind.err" || true
grep -E 'Collected|refs' "$OUT/callgrind.err" | tee -a "$OUT/README" || true
echo "-- top functions by self instructions (Ir)" | tee "$OUT/callgrind-self.txt"
callgrind_annotate --inclusive=no "$OUT/callgrind.out" 2>/dev/null | top_cg | tee -a "$OUT/callgrind-self.txt"
echo "-- top functions by inclusive instructions (Ir)" | tee "$OUT/callgrind-incl.txt"
callgrind_annotate --inclusive=yes "$OUT/callgrind.out" 2>/dev/null | top_cg | tee -a "$OUT/callgrind-incl.txt"

if perf record -e cpu-clock -o "$OUT/perf-probe.data" -- true >/dev/null 2>&1; then
    echo "== perf record -e cpu-clock (time samples)" >&2
    perf record -e cpu-clock -F 2000 -g -o "$OUT/perf.data" -- "${CMD[@]}" >/dev/null 2>"$OUT/perf.err" || true
    echo "-- top functions by self time (cpu-clock samples)" | tee "$OUT/perf-top.txt"
    perf_report "$OUT/perf.data" | tee -a "$OUT/perf-top.txt"
fi
echo "(saved in $OUT)" >&2

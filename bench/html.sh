#!/usr/bin/env bash
# The HTML report of a 2,000-file batch: its size and how long headless
# Chromium takes to load and render it. The batch is the lab's captures
# copied under 2,000 names into a temporary directory. Needs chromium.
# Usage: bench/html.sh [FILES] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
runs=${2:-3}
cargo build --release -q
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/batch"
mapfile -t pool < <(ls testdata/captures/*.pcap)
for ((i = 0; i < n; i++)); do
  cp "${pool[i % ${#pool[@]}]}" "$tmp/batch/$(printf '%04d' "$i").pcap"
done
start=$(date +%s.%N)
target/release/rdptriage --format html -o "$tmp/report.html" "$tmp/batch" || true
end=$(date +%s.%N)
conns=$(grep -c '<details class="conn' "$tmp/report.html")
echo "files: $n, connections: $conns"
echo "report written in $(echo "$end - $start" | bc) s"
echo "page size: $(stat -c %s "$tmp/report.html") bytes"
echo '<!DOCTYPE html><title>x</title><p>x' > "$tmp/empty.html"
chrome() {
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --disable-background-networking --no-first-run \
    --user-data-dir="$tmp/profile" --window-size=1280,1000 "$@" >/dev/null 2>&1
}
# Wall time of a screenshot (load, style, layout, paint) of the page, and
# of an empty page: the difference is the page's own cost.
for page in empty report; do
  for ((r = 0; r < runs; r++)); do
    s=$(date +%s.%N)
    chrome --screenshot="$tmp/shot.png" "file://$tmp/$page.html"
    e=$(date +%s.%N)
    echo "$page run $r: $(echo "$e - $s" | bc) s"
  done
done

#!/usr/bin/env bash
# The HTML report of a 2,000-file batch: its size and how long headless
# Chromium takes to load and render it. The batch is the lab's captures
# copied under 2,000 names into a temporary directory; with PER > 1, each
# file is PER consecutive lab captures merged in time order (mergecap, from
# Wireshark), so 2,000 files of 5 hold about 10,000 connections. Needs
# chromium (and mergecap for PER > 1). The median of the runs is printed.
# Usage: bench/html.sh [FILES] [RUNS] [PER]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
runs=${2:-3}
per=${3:-1}
cargo build --release -q
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/batch"
mapfile -t lab < <(ls testdata/captures/*.pcap)
pool=("${lab[@]}")
if ((per > 1)); then
  mkdir "$tmp/merged"
  pool=()
  for ((i = 0; i < ${#lab[@]}; i++)); do
    parts=()
    for ((j = 0; j < per; j++)); do parts+=("${lab[(i + j) % ${#lab[@]}]}"); done
    mergecap -w "$tmp/merged/$i.pcapng" "${parts[@]}"
    pool+=("$tmp/merged/$i.pcapng")
  done
fi
for ((i = 0; i < n; i++)); do
  cp "${pool[i % ${#pool[@]}]}" "$tmp/batch/$(printf '%04d' "$i").pcap"
done
all=()
start=$(date +%s.%N)
target/release/rdptriage --format html -o "$tmp/report.html" "$tmp/batch" || true
end=$(date +%s.%N)
conns=$(grep -c '<details class="conn' "$tmp/report.html")
echo "files: $n, connections: $conns"
echo "report written in $(echo "$end - $start" | bc) s"
echo "page size: $(stat -c %s "$tmp/report.html") bytes"
# Time inside the page: from navigation start to the first frame after the
# load event (performance.now()), logged by a script added to a copy.
sed "s|</body>|<script>addEventListener('load',function(){requestAnimationFrame(function(){setTimeout(function(){console.log('RENDERED '+Math.round(performance.now()))},0)})})</script></body>|" \
  "$tmp/report.html" > "$tmp/timed.html"
for ((r = 0; r < runs; r++)); do
  s=$(date +%s.%N)
  ms=$(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --disable-background-networking --no-first-run --user-data-dir="$tmp/profile" \
    --window-size=1280,1000 --enable-logging=stderr --v=0 \
    --screenshot="$tmp/shot.png" "file://$tmp/timed.html" 2>&1 | grep -o 'RENDERED [0-9]*' | cut -d' ' -f2)
  e=$(date +%s.%N)
  echo "run $r: rendered after ${ms} ms in the page; chromium ran $(echo "$e - $s" | bc) s (start-up included)"
  all+=("$ms")
done
echo "median: $(printf '%s\n' "${all[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p") ms of ${runs} runs"

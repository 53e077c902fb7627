#!/usr/bin/env bash
# Regenerate the HTML report's reference screenshots in docs/: pages of lab
# captures at 1280 px, and the first printed A4 page of one (print to PDF,
# then pdftoppm from poppler-utils). Needs chromium; run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
out=docs/html
OLDPWD_OUT=$PWD/$out
mkdir -p "$out"
bin=$PWD/target/release/rdptriage
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chrome() {
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --disable-background-networking --no-first-run \
    --user-data-dir="$tmp/profile" "$@" 2>/dev/null
}
page() { # NAME HEIGHT CAPTURE...
  local name=$1 height=$2
  shift 2
  "$bin" --format html -o "$tmp/$name.html" "$@" || true
  chrome --window-size=1280,"$height" --screenshot="$OLDPWD_OUT/$name.png" "file://$tmp/$name.html"
}
page middlebox-reset 900 testdata/captures/18-middlebox-reset-tls.pcap
page cert-expired 1000 testdata/captures/13-cert-expired.pcap
page firewall-drop 760 testdata/captures/07-firewall-drop.pcap
mkdir -p "$tmp/batch"
for f in 06-port-closed 09-ssl-required-by-server 13-cert-expired 18-middlebox-reset-tls 03-success-nla 05-nla-wrong-password; do
  cp "testdata/captures/$f.pcap" "$tmp/batch/"
done
(cd "$tmp" && page batch 1100 batch)
# Printed: A4, as a browser's "print to PDF" gives it.
chrome --no-pdf-header-footer --print-to-pdf="$tmp/print.pdf" "file://$tmp/cert-expired.html"
pdftoppm -png -r 80 -f 1 -l 2 "$tmp/print.pdf" "$out/cert-expired-print-a4"
ls -l "$out"

#!/usr/bin/env bash
# Decryption speed: one TLS connection carrying SIZE bytes (default 64 MB)
# each way (lines of text the server, `s_server -rev`, sends back reversed), captured on the loopback of a private network
# namespace (as testdata/lab/make-decrypt-captures.sh does), then
# rdptriage with and without its secrets, the depth cap raised so that the
# whole connection is decrypted. Two suites: TLS 1.3 AES-256-GCM (key log)
# and TLS 1.2 TLS_RSA_WITH_AES_128_CBC_SHA (the server's RSA key: the
# Windows 7 / 2008 R2 suite). Run as root from the repository, after
# `cargo build --release`. Prints a Markdown table.
set -euo pipefail
SIZE=${SIZE:-64000000}
BIN=${BIN:-target/release/rdptriage}
OUT=${OUT:-bench-data/decrypt}
NS=rdpt-decrypt-bench
mkdir -p "$OUT"
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=decrypt-bench -days 3650 \
    -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null

capture() {
    local name=$1 ver=$2 suite=$3
    rm -f "$OUT/$name.keys"
    ip netns exec "$NS" tcpdump -i lo -U -s 0 -B 65536 -w "$OUT/$name.pcap" tcp port 3389 2>/dev/null &
    local dump=$!
    sleep 1
    # shellcheck disable=SC2086
    ip netns exec "$NS" openssl s_server -accept 3389 -cert "$OUT/cert.pem" -key "$OUT/key.pem" \
        $ver $suite -naccept 1 -rev -keylogfile "$OUT/$name.keys" >/dev/null 2>&1 &
    local srv=$!
    sleep 0.5
    # shellcheck disable=SC2086
    yes "$(printf 'x%.0s' $(seq 1000))" | head -c "$SIZE" | ip netns exec "$NS" openssl s_client -nocommands \
        -connect 127.0.0.1:3389 $ver $suite >/dev/null 2>&1 || true
    wait "$srv" 2>/dev/null || true
    sleep 0.5
    kill "$dump"; wait "$dump" 2>/dev/null || true
}

capture tls13-gcm -tls1_3 "-ciphersuites TLS_AES_256_GCM_SHA384"
capture tls12-rsa-cbc -tls1_2 "-cipher AES128-SHA"

run() { # best of 3 wall times, seconds
    local best=
    for _ in 1 2 3; do
        local t0 t1
        t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
        local t; t=$(echo "$t1 - $t0" | bc)
        if [[ -z $best ]] || (( $(echo "$t < $best" | bc) )); then best=$t; fi
    done
    echo "$best"
}

echo "| capture | bytes | secrets | wall time (s) | MB/s of the capture |"
echo "|---|---:|---|---:|---:|"
for name in tls13-gcm tls12-rsa-cbc; do
    f="$OUT/$name.pcap"; bytes=$(stat -c %s "$f")
    cap="--depth-cap 256MiB"
    if [[ $name == tls13-gcm ]]; then keys="--keylog $OUT/$name.keys"; else keys="--rsa-key $OUT/key.pem"; fi
    for k in none "$keys"; do
        # shellcheck disable=SC2086
        if [[ $k == none ]]; then t=$(run "$BIN" $cap "$f"); else t=$(run "$BIN" $cap $k "$f"); fi
        echo "| $name | $bytes | ${k%% *} | $t | $(echo "scale=0; $bytes / $t / 1000000" | bc) |"
    done
done

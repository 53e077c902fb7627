#!/usr/bin/env bash
# Makes the small TLS captures with their secrets that the decryption
# tests compare with tshark: testdata/decrypt/<name>.pcap and, beside it,
# <name>.keys (an NSS key log written by OpenSSL's -keylogfile) or
# <name>.pem (the server's RSA private key, for RSA-key-exchange suites),
# and tls13-aes128gcm-dsb.pcapng: a capture with its key log injected as
# a pcapng Decryption Secrets Block (editcap --inject-secrets).
#
# OpenSSL s_server (-rev: answers each line reversed) and s_client talk TLS
# on port 3389 of the loopback interface of a private network namespace,
# so nothing else on the machine is seen or disturbed. Each scenario pins
# the version and suite; the TLS 1.3 ones also send a KeyUpdate ("k").
# tls13-hrr: the server accepts only P-256 and the client offers a key
# share for X25519 first, so the server answers with a HelloRetryRequest
# and the client sends a second ClientHello (RFC 8446 4.1.4).
#
# Run as root from the repository:
#   testdata/lab/make-decrypt-captures.sh [NAME...]   (default: all)
set -euo pipefail
OUT=${OUT:-testdata/decrypt}
NS=${NS:-rdpt-keys-decrypt}
WORK=$(mktemp -d)
trap 'ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=decrypt-lab -days 3650 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# name, s_server version option, suite option, client extra options,
# server extra options.
scenario() {
    local name=$1 ver=$2 suite=$3 client_extra=${4:-} server_extra=${5:-}
    local keys="$WORK/$name.keys" pcap="$OUT/$name.pcap"
    rm -f "$keys"
    # Started directly (not through a shell function) so that $! is the
    # capture process itself (ip netns exec executes it in place).
    ip netns exec "$NS" tcpdump -i lo -U -s 0 -w "$pcap" tcp port 3389 2>/dev/null &
    local dump=$!
    sleep 1
    # shellcheck disable=SC2086
    ip netns exec "$NS" openssl s_server -accept 3389 -cert "$WORK/cert.pem" -key "$WORK/key.pem" \
        $ver $suite $server_extra -rev -naccept 1 -keylogfile "$keys" >/dev/null 2>&1 &
    local srv=$!
    sleep 0.5
    # A line each way, a KeyUpdate where TLS 1.3 has one, another line.
    # shellcheck disable=SC2086
    { printf 'hello from the client\n'; sleep 0.3
      [[ $ver == -tls1_3 ]] && { printf 'k\n'; sleep 0.3; }
      printf 'a second line after that\n'; sleep 0.3; } |
        in_ns openssl s_client -connect 127.0.0.1:3389 $ver $suite $client_extra \
            >/dev/null 2>&1 || true
    wait "$srv" 2>/dev/null || true
    sleep 0.5
    kill "$dump"; wait "$dump" 2>/dev/null || true
    case "$suite" in
        *ECDHE*|-ciphersuites*) cp "$keys" "$OUT/$name.keys" ;;
        *) cp "$WORK/key.pem" "$OUT/$name.pem" ;;
    esac
    echo "$name: $(stat -c %s "$pcap") bytes" >&2
}

ALL=(tls13-aes128gcm tls13-aes256gcm tls13-chacha20 tls12-ecdhe-aes256gcm
    tls12-ecdhe-chacha20 tls12-ecdhe-cbc-etm tls12-ecdhe-cbc-sha384-mte
    tls10-ecdhe-cbc-etm tls12-rsa-aes256gcm-ems tls11-rsa-cbc tls13-aes128gcm-dsb tls13-hrr)
run() {
    case $1 in
    tls13-aes128gcm) scenario tls13-aes128gcm -tls1_3 "-ciphersuites TLS_AES_128_GCM_SHA256" ;;
    tls13-aes256gcm) scenario tls13-aes256gcm -tls1_3 "-ciphersuites TLS_AES_256_GCM_SHA384" ;;
    tls13-chacha20) scenario tls13-chacha20 -tls1_3 "-ciphersuites TLS_CHACHA20_POLY1305_SHA256" ;;
    tls12-ecdhe-aes256gcm) scenario tls12-ecdhe-aes256gcm -tls1_2 "-cipher ECDHE-RSA-AES256-GCM-SHA384" ;;
    tls12-ecdhe-chacha20) scenario tls12-ecdhe-chacha20 -tls1_2 "-cipher ECDHE-RSA-CHACHA20-POLY1305" ;;
    tls12-ecdhe-cbc-etm) scenario tls12-ecdhe-cbc-etm -tls1_2 "-cipher ECDHE-RSA-AES128-SHA256" ;;
    tls12-ecdhe-cbc-sha384-mte) scenario tls12-ecdhe-cbc-sha384-mte -tls1_2 "-cipher ECDHE-RSA-AES256-SHA384" -no_etm ;;
    tls10-ecdhe-cbc-etm) scenario tls10-ecdhe-cbc-etm -tls1 "-cipher ECDHE-RSA-AES256-SHA:@SECLEVEL=0" ;;
    tls12-rsa-aes256gcm-ems) scenario tls12-rsa-aes256gcm-ems -tls1_2 "-cipher AES256-GCM-SHA384" ;;
    tls11-rsa-cbc) scenario tls11-rsa-cbc -tls1_1 "-cipher AES128-SHA:@SECLEVEL=0" -no_etm ;;
    tls13-aes128gcm-dsb)
        editcap --inject-secrets "tls,$OUT/tls13-aes128gcm.keys" "$OUT/tls13-aes128gcm.pcap" \
            "$OUT/tls13-aes128gcm-dsb.pcapng"
        ;;
    tls13-hrr) scenario tls13-hrr -tls1_3 "-ciphersuites TLS_AES_128_GCM_SHA256" "-groups X25519:P-256" "-groups P-256" ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
    esac
}
for name in "${@:-${ALL[@]}}"; do run "$name"; done

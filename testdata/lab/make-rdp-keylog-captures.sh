#!/usr/bin/env bash
# RDP sessions with their TLS key logs: xfreerdp (FreeRDP 2.11) against
# xrdp (0.9.21) on the loopback of a private network namespace, the client
# run with keylog-shim.so (LD_PRELOAD) so that it appends its secrets to
# SSLKEYLOGFILE. Writes testdata/decrypt/rdp-<name>.pcap and .keys:
#   rdp-tls13   xrdp's default ssl_protocols (TLS 1.3, TLS_AES_256_GCM_SHA384)
#   rdp-tls12   the client limited to TLS 1.2 (+enforce-tlsv1_2): ECDHE-RSA-AES256-GCM-SHA384
# Run as root from the repository: testdata/lab/make-rdp-keylog-captures.sh
set -euo pipefail
OUT=${OUT:-testdata/decrypt}
NS=rdpt-rdp-keylog
WORK=$(mktemp -d)
echo "work: $WORK" >&2
DISP=79
cleanup() {
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    ip netns del "$NS" 2>/dev/null || true
    [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"
# A certificate of our own that user xrdp can read.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=rdp-keylog-lab -days 3650 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chown xrdp:xrdp "$WORK/key.pem"
cc -shared -fPIC -o "$WORK/keylog-shim.so" testdata/lab/keylog-shim.c -ldl -lssl
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
rm -f "/tmp/.X$DISP-lock" "/tmp/.X11-unix/X$DISP"
ip netns exec "$NS" Xvfb ":$DISP" -nolisten tcp -screen 0 1024x768x24 >/dev/null 2>&1 &
XVFB=$!
sleep 1
# xrdp keeps one pid file for the machine: never run beside another xrdp.
if pgrep -x xrdp >/dev/null; then
    echo "another xrdp is running: stop it first" >&2
    exit 1
fi

session() {
    local name=$1; shift
    local pcap="$OUT/rdp-$name.pcap" keys="$WORK/$name.keys"
    cp /etc/xrdp/xrdp.ini "$WORK/xrdp.ini"
    sed -i "s|^LogFile=.*|LogFile=$WORK/xrdp.log|; s|^certificate=.*|certificate=$WORK/cert.pem|; s|^key_file=.*|key_file=$WORK/key.pem|" "$WORK/xrdp.ini"
    touch "$WORK/xrdp.log"; chown xrdp:xrdp "$WORK/xrdp.log"; chmod 0755 "$WORK"
    sh /usr/share/xrdp/socksetup
    rm -f /run/xrdp/xrdp.pid
    ip netns exec "$NS" setpriv --reuid=xrdp --regid=xrdp --init-groups \
        xrdp --nodaemon --config "$WORK/xrdp.ini" >"$WORK/xrdp.out" 2>&1 &
    local srv=$!
    sleep 1
    ip netns exec "$NS" tcpdump -i lo -U -s 0 -w "$pcap" tcp port 3389 2>/dev/null &
    local dump=$!
    sleep 1
    ip netns exec "$NS" env HOME="$WORK" DISPLAY=":$DISP" SSLKEYLOGFILE="$keys" \
        LD_PRELOAD="$WORK/keylog-shim.so" timeout -s INT -k 5 6 \
        xfreerdp /v:127.0.0.1:3389 /sec:tls /cert:ignore "$@" </dev/null >"$WORK/$name.client.log" 2>&1 || true
    sleep 1
    kill "$dump"; wait "$dump" 2>/dev/null || true
    # xrdp and the children it forked: every process of the namespace but
    # the display.
    for p in $(ip netns pids "$NS"); do
        [[ $p == "$XVFB" ]] || kill "$p" 2>/dev/null || true
    done
    wait "$srv" 2>/dev/null || true
    rm -f /run/xrdp/xrdp.pid
    cp "$keys" "$OUT/rdp-$name.keys"
    echo "rdp-$name: $(stat -c %s "$pcap") bytes, $(wc -l <"$keys") key log lines" >&2
}

session tls13
session tls12 +enforce-tlsv1_2

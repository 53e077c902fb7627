#!/usr/bin/env bash
# RDP sessions with their TLS key logs, on the loopback of a private
# network namespace, the client (xfreerdp, FreeRDP 2.11) run with
# keylog-shim.so (LD_PRELOAD) so that it appends its secrets to
# SSLKEYLOGFILE. Writes testdata/decrypt/rdp-<name>.pcap(ng) and .keys:
#   rdp-tls13       xrdp 0.9.21, its default ssl_protocols (TLS 1.3,
#                   TLS_AES_256_GCM_SHA384)
#   rdp-tls12       the client limited to TLS 1.2 (+enforce-tlsv1_2):
#                   ECDHE-RSA-AES256-GCM-SHA384
#   rdp-tls10-etm   xrdp ssl_protocols=TLSv1 with tls_ciphers at security
#                   level 0 and the client at /tls-seclevel:0 (OpenSSL 3
#                   refuses TLS 1.0 at level 1 and above): TLS 1.0,
#                   ECDHE-RSA-AES256-CBC-SHA with encrypt-then-MAC
#   rdp-nla-ok      freerdp-shadow-cli /sec:nla with a SAM file (lab /
#                   labpass), xfreerdp /sec:nla /u:lab /p:labpass
#   rdp-nla-wrong-password   the same with /p:wrongpass (the client tries
#                   twice: two connections)
#   rdp-nla-ok-dsb  rdp-nla-ok as pcapng, its key log injected as a
#                   Decryption Secrets Block (editcap --inject-secrets),
#                   no .keys beside it
#   rdp-nla-two-missing-line  two NLA sessions in one capture; the key log
#                   lacks every line of the first one's client random
# Each scenario's client log and server log go to
# testdata/decrypt/logs/rdp-<name>.{client,server}.txt (what labels.tsv
# rests on, with tshark's decoding under the same keys).
# Run as root from the repository:
#   testdata/lab/make-rdp-keylog-captures.sh [SCENARIO...]   (default: all)
set -euo pipefail
OUT=${OUT:-testdata/decrypt}
NS=${NS:-rdpt-keys-lab}
# client display and the shadow server's display
DISP=${DISP:-80}
SDISP=${SDISP:-81}
WORK=$(mktemp -d)
echo "work: $WORK" >&2
cleanup() {
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    ip netns del "$NS" 2>/dev/null || true
    [[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT/logs"
# A certificate of our own that user xrdp can read.
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=rdp-keylog-lab -days 3650 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chown xrdp:xrdp "$WORK/key.pem"
cc -shared -fPIC -o "$WORK/keylog-shim.so" testdata/lab/keylog-shim.c -ldl -lssl
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
xvfb() {
    rm -f "/tmp/.X$1-lock" "/tmp/.X11-unix/X$1"
    ip netns exec "$NS" Xvfb ":$1" -nolisten tcp -screen 0 "$2" >/dev/null 2>&1 &
    local i
    for i in $(seq 50); do
        [ -S "/tmp/.X11-unix/X$1" ] && break
        sleep 0.1
    done
}
xvfb "$DISP" 1024x768x24
XVFB=$!
xvfb "$SDISP" 640x480x24
SXVFB=$!

# Every process of the namespace but the displays.
stop_servers() {
    for p in $(ip netns pids "$NS"); do
        [[ $p == "$XVFB" || $p == "$SXVFB" ]] || kill "$p" 2>/dev/null || true
    done
    sleep 0.5
}

DUMP=
cap_start() {
    rm -f "$1"
    ip netns exec "$NS" tcpdump -i lo -U -s 0 -w "$1" tcp port 3389 2>"$WORK/tcpdump.log" &
    DUMP=$!
    sleep 1
}
cap_stop() {
    sleep 1
    kill "$DUMP"
    wait "$DUMP" 2>/dev/null || true
}

# client NAME SECONDS ARGS...: xfreerdp with the shim, stopped with SIGINT
# after SECONDS; its log (with the exit code) appended to
# $OUT/logs/rdp-NAME.client.txt.
client() {
    local name=$1 secs=$2
    shift 2
    local rc=0
    ip netns exec "$NS" env HOME="$WORK/home-$name" DISPLAY=":$DISP" SSLKEYLOGFILE="$WORK/$name.keys" \
        LD_PRELOAD="$WORK/keylog-shim.so" timeout -s INT -k 5 "$secs" \
        xfreerdp /v:127.0.0.1:3389 /cert:ignore "$@" \
        </dev/null >>"$WORK/$name.client.log" 2>&1 || rc=$?
    echo "exit=$rc" >>"$WORK/$name.client.log"
    # the lines a reader checks a label against
    grep -E 'ERROR|exit=' "$WORK/$name.client.log" | grep -v com.freerdp.utils | sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] //' \
        >"$OUT/logs/rdp-$name.client.txt" || true
}

xrdp_start() {
    # xrdp keeps one pid file for the machine: never run beside another xrdp.
    if pgrep -x xrdp >/dev/null; then
        echo "another xrdp is running: stop it first" >&2
        exit 1
    fi
    cp /etc/xrdp/xrdp.ini "$WORK/xrdp.ini"
    sed -i "s|^LogFile=.*|LogFile=$WORK/xrdp.log|; s|^certificate=.*|certificate=$WORK/cert.pem|; s|^key_file=.*|key_file=$WORK/key.pem|" "$WORK/xrdp.ini"
    local kv
    for kv in "$@"; do
        sed -i "s|^#\?${kv%%=*}=.*|$kv|" "$WORK/xrdp.ini"
    done
    : >"$WORK/xrdp.log"
    chown xrdp:xrdp "$WORK/xrdp.log"
    chmod 0755 "$WORK"
    sh /usr/share/xrdp/socksetup
    rm -f /run/xrdp/xrdp.pid
    ip netns exec "$NS" setpriv --reuid=xrdp --regid=xrdp --init-groups \
        xrdp --nodaemon --config "$WORK/xrdp.ini" >"$WORK/xrdp.out" 2>&1 &
    sleep 1
}

xrdp_session() {
    local name=$1
    shift
    local ini=()
    while [[ ${1:-} == *=* && ${1:-} != /* ]]; do
        ini+=("$1")
        shift
    done
    xrdp_start "${ini[@]}"
    cap_start "$OUT/rdp-$name.pcap"
    client "$name" 6 /sec:tls "$@"
    cap_stop
    stop_servers
    rm -f /run/xrdp/xrdp.pid
    grep -aE 'ERROR|TLS|SSL' "$WORK/xrdp.log" | sed -E 's/^\[[^]]*\] //' | head -n 20 \
        >"$OUT/logs/rdp-$name.server.txt" || true
    cp "$WORK/$name.keys" "$OUT/rdp-$name.keys"
}

shadow_start() {
    local nt
    nt=$(printf '%s' labpass | iconv -t UTF-16LE | openssl dgst -md4 -provider legacy -provider default -r | cut -d' ' -f1)
    printf 'lab::%s:%s:::\n' "" "$nt" >"$WORK/sam"
    printf 'lab:LAB::%s:::\n' "$nt" >>"$WORK/sam"
    mkdir -p "$WORK/shadow-home"
    ip netns exec "$NS" env HOME="$WORK/shadow-home" DISPLAY=":$SDISP" \
        freerdp-shadow-cli /port:3389 /bind-address:127.0.0.1 "/sam-file:$WORK/sam" /sec:nla \
        >"$WORK/shadow.log" 2>&1 &
    local i
    for i in $(seq 50); do
        ip netns exec "$NS" ss -ltn | grep -q ':3389 ' && break
        sleep 0.2
    done
}

# shadow_session NAME RUNS SECONDS PASSWORD
shadow_session() {
    local name=$1 runs=$2 secs=$3 pass=$4
    shadow_start
    cap_start "$OUT/rdp-$name.pcap"
    local i
    for i in $(seq "$runs"); do
        client "$name" "$secs" /size:640x480 /bpp:16 /sec:nla /u:lab "/p:$pass"
    done
    cap_stop
    stop_servers
    grep -a 'ERROR' "$WORK/shadow.log" | sed -E 's/^\[[0-9:]+\] \[[0-9:]+\] //' | head -n 10 \
        >"$OUT/logs/rdp-$name.server.txt" || true
    cp "$WORK/$name.keys" "$OUT/rdp-$name.keys"
}

scenario() {
    case $1 in
    tls13) xrdp_session tls13 ;;
    tls12) xrdp_session tls12 +enforce-tlsv1_2 ;;
    tls10-etm) xrdp_session tls10-etm "ssl_protocols=TLSv1" "tls_ciphers=DEFAULT:@SECLEVEL=0" /tls-seclevel:0 /size:640x480 /bpp:16 ;;
    nla-ok) shadow_session nla-ok 1 5 labpass ;;
    nla-wrong-password) shadow_session nla-wrong-password 1 15 wrongpass ;;
    nla-ok-dsb)
        [ -f "$OUT/rdp-nla-ok.pcap" ] || scenario nla-ok
        editcap --inject-secrets "tls,$OUT/rdp-nla-ok.keys" "$OUT/rdp-nla-ok.pcap" "$OUT/rdp-nla-ok-dsb.pcapng"
        ;;
    nla-two-missing-line)
        shadow_session nla-two-missing-line 2 4 labpass
        # the first ClientHello's random, as tshark reads it
        local first
        first=$(tshark -r "$OUT/rdp-nla-two-missing-line.pcap" -d tcp.port==3389,tls \
            -Y 'tls.handshake.type==1' -T fields -e tls.handshake.random | head -n 1)
        grep -v -i "$first" "$WORK/nla-two-missing-line.keys" >"$OUT/rdp-nla-two-missing-line.keys"
        ;;
    *)
        echo "unknown scenario $1" >&2
        exit 2
        ;;
    esac
    local f
    for f in "$OUT/rdp-$1".pcap*; do
        echo "$f: $(stat -c %s "$f") bytes" >&2
    done
}

for s in "${@:-tls13 tls12 tls10-etm nla-ok nla-wrong-password nla-ok-dsb nla-two-missing-line}"; do
    for t in $s; do scenario "$t"; done
done

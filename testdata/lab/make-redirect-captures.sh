#!/bin/bash
# Make the captures of a redirected connection, of a DNS look-up over TCP
# and of an RD Gateway failing as users meet it (g01-g04, see the RD
# Gateway section below), with real software in network namespaces.
#
# No Connection Broker runs on Debian (it is a Windows Server role), so no
# Server Redirection PDU can be sent in the lab. What the capture shows of
# a redirection is the client's side, and that the lab makes with the real
# client: a first connection to one server (the "broker", a
# freerdp-shadow-cli), closed by the client, then at once a second
# connection to another address carrying the routing token in its X.224
# Connection Request (xfreerdp /load-balance-info: FreeRDP puts
# LoadBalanceInfo there both when the user gives it and when a Server
# Redirection PDU gave it, MS-RDPBCGR 2.2.1.1 routingToken, 3.1.5.2
# redirection). The token is one a broker issues ("Cookie: msts=" and the
# target's address and port, the routing token format of MSFT-SDLBTS).
#
#   r01  the redirected leg to an address where nothing listens (RST): the
#        leg never gets to send its routing token, so nothing in the
#        capture says it was a redirection (the test holds that no
#        redirect is claimed)
#   r02  the redirected leg to a second freerdp-shadow-cli: session runs
#   r03  the redirected leg to a freerdp-shadow-cli allowing TLS security
#        only, the client asking for NLA only: the server selects TLS and
#        the client closes
#   g01..g04  xfreerdp /g: to a gateway that refuses, does not resolve,
#        has an untrusted certificate, answers 403
#   d01  glibc's resolver told to use TCP (resolv.conf `options use-vc`):
#        xfreerdp looks rdp.lab.test up over TCP 53 (dnsmasq), connects
#
# usage (as root, Debian 12, after make-captures.sh installed its packages):
#   testdata/lab/make-redirect-captures.sh            # all scenarios
#   testdata/lab/make-redirect-captures.sh r01 ...    # some
# environment: LAB_OUT=DIR (default testdata/captures/neighbours),
# LAB_KEEP_WORK=1.
# Namespaces rdpt-gw-*, X displays 85 (server), 86 (broker), 87 (client), 88 (TLS-only target):
# this runs beside the other lab scripts.

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${LAB_OUT:-$(cd "$HERE/../captures/neighbours" && pwd)}
# shellcheck source=lib.sh
. "$HERE/lib.sh"

NS_C=rdpt-gw-c
NS_R=rdpt-gw-r
NS_S=rdpt-gw-s
C_DISPLAY=87
S_DISPLAY=85
BROKER_DISPLAY=86
DC_IP=$RC_IP
# The broker, and the redirection target where nothing listens.
BROKER_IP=198.51.100.21
DEAD_IP=198.51.100.22
TLS_ONLY_IP=198.51.100.23
TLS_ONLY_DISPLAY=88
SRV_NAME=rdp.lab.test
GW_IP=198.51.100.24
GW_DEAD_IP=198.51.100.25
CAP_FILTER="port 3389 or port 53 or port 443 or icmp"

WORK=$(mktemp -d /tmp/rdpt-gw-lab.XXXXXX)
cleanup() {
    cap_stop 2>/dev/null
    for p in "${LAB_PIDS[@]}" "${DC_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "${CLIENT_XVFB:-}" ] && kill "$CLIENT_XVFB" 2>/dev/null
    topo_down
    rm -rf "/etc/netns/$NS_C"
    rmdir /etc/netns 2>/dev/null
    [ "${LAB_KEEP_WORK:-0}" = 1 ] && log "work kept in $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
DC_PIDS=()

# resolver OPTIONS : the client resolves through dnsmasq only.
client_resolver() {
    mkdir -p "/etc/netns/$NS_C"
    printf 'nameserver %s\noptions timeout:1 attempts:2 %s\n' "$DC_IP" "${1:-}" \
        >"/etc/netns/$NS_C/resolv.conf"
    printf '127.0.0.1 localhost\n' >"/etc/netns/$NS_C/hosts"
}

dns_start() {
    in_r dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$DC_IP" --local=/lab.test/ \
        --address="/$SRV_NAME/$S_IP" --address="/broker.lab.test/$BROKER_IP" \
        --address="/gw.lab.test/$GW_IP" --address="/deadgw.lab.test/$GW_DEAD_IP" \
        --log-queries >"$WORK/dnsmasq.log" 2>&1 &
    DC_PIDS+=("$!")
    sleep 0.5
}

# shadow_at IP DISPLAY ARGS... : another freerdp-shadow-cli on its own
# address, display and work directory (shadow_start keeps its home and SAM
# there), once it listens.
shadow_at() {
    local ip=$1 display=$2
    shift 2
    local s_ip=$S_IP s_display=$S_DISPLAY work=$WORK
    S_IP=$ip S_DISPLAY=$display WORK=$WORK/shadow-$ip
    mkdir -p "$WORK"
    in_s ip addr add "$ip/24" dev s0
    shadow_start "$@"
    S_IP=$s_ip S_DISPLAY=$s_display WORK=$work
    local i
    for i in $(seq 50); do
        in_s ss -Hltn "src $ip and sport = :$RDP_PORT" | grep -q LISTEN && return 0
        sleep 0.1
    done
    log "shadow on $ip did not listen"
}

# The broker; an address where nothing listens; a target that allows only
# TLS security (the client asks for NLA only: negotiation failure).
servers_start() {
    shadow_start /sec:nla
    shadow_at "$BROKER_IP" "$BROKER_DISPLAY" /sec:nla
    in_s ip addr add "$DEAD_IP/24" dev s0
    shadow_at "$TLS_ONLY_IP" "$TLS_ONLY_DISPLAY" /sec:tls
}

# The routing token a broker issues for a target (MSFT-SDLBTS: the IPv4
# address as a little-endian decimal number, the port in network order
# read little-endian, then .0000).
token_for() {
    local ip=$1 a b c d
    IFS=. read -r a b c d <<<"$ip"
    printf 'Cookie: msts=%d.%d.0000' $(((d << 24) | (c << 16) | (b << 8) | a)) \
        $((((RDP_PORT & 0xff) << 8) | (RDP_PORT >> 8)))
}

# broker_then TARGET : the first connection to the broker (closed by the
# client after 4 s, as a client closes it on the Server Redirection PDU),
# then at once the leg to TARGET with the routing token.
broker_then() {
    local name=$1 target=$2
    CLIENT_TARGET=$BROKER_IP:$RDP_PORT run_client "$name-broker" 4 \
        /sec:nla /cert:ignore /u:lab /p:labpass
    CLIENT_TARGET=$target:$RDP_PORT run_client "$name-leg" 8 \
        /sec:nla /cert:ignore /u:lab /p:labpass "/load-balance-info:$(token_for "$target")"
}

r01_redirect_leg_refused() { broker_then r01 "$DEAD_IP"; }
r02_redirect_succeeded() { broker_then r02 "$S_IP"; }
r03_redirect_negotiation_failed() { broker_then r03 "$TLS_ONLY_IP"; }
d01_dns_over_tcp() {
    client_resolver use-vc
    CLIENT_TARGET=$SRV_NAME run_client d01 8 /sec:nla /cert:ignore /u:lab /p:labpass
    client_resolver
}

# ------------------------------------------------------------ RD Gateway
# No RD Gateway runs on Debian. What users meet when a gateway fails
# before its own protocol starts is made with the real client
# (xfreerdp /g:, FreeRDP's MS-TSGU client) against: no listener, a name
# that does not resolve, a TLS server whose certificate the client does
# not trust (openssl s_server), and an HTTPS server that answers every
# request 403 (Python's ssl), the client's TLS secrets written by
# keylog-shim.so to g04-gateway-http-403.keys.
gw_tls_start() {
    # The server's certificate, made here; nobody trusts it.
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=gw.lab.test -days 30 \
        -keyout "$WORK/gw-key.pem" -out "$WORK/gw-cert.pem" 2>/dev/null
    in_s ip addr add "$GW_IP/24" dev s0
    in_s ip addr add "$GW_DEAD_IP/24" dev s0
}
gw_403_start() {
    cat >"$WORK/gw403.py" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
srv = socket.create_server((sys.argv[1], int(sys.argv[2])))
while True:
    c, _ = srv.accept()
    try:
        s = ctx.wrap_socket(c, server_side=True)
        req = b""
        while b"\r\n\r\n" not in req:
            d = s.recv(4096)
            if not d:
                break
            req += d
        print(req.split(b"\r\n")[0].decode(errors="replace"), flush=True)
        s.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        s.close()
    except Exception as e:
        print("error:", e, flush=True)
        c.close()
PYEOF
    ip netns exec "$NS_S" "$PY3" "$WORK/gw403.py" "$GW_IP" 443 "$WORK/gw-cert.pem" "$WORK/gw-key.pem" \
        >"$WORK/gw403.log" 2>&1 &
    GW_PID=$!
    sleep 0.5
}
gw_client() {
    local name=$1 gw=$2
    shift 2
    CLIENT_TARGET=$SRV_NAME run_client "$name" 8 /sec:nla /u:lab /p:labpass \
        "/g:$gw" /gu:lab /gp:labpass "$@"
}
g01_gateway_refused() { gw_client g01 deadgw.lab.test:443 /cert:ignore; }
g02_gateway_name_not_found() { gw_client g02 nogw.lab.test:443 /cert:ignore; }
g03_gateway_cert_untrusted() {
    # Started by `ip netns exec` itself, so that $! is the server's pid.
    ip netns exec "$NS_S" openssl s_server -quiet -accept "$GW_IP:443" -cert "$WORK/gw-cert.pem" \
        -key "$WORK/gw-key.pem" >"$WORK/g03.server.log" 2>&1 &
    local p=$!
    sleep 0.5
    gw_client g03 gw.lab.test:443 /cert:deny
    kill "$p" 2>/dev/null
}
g04_gateway_http_403() {
    gw_403_start
    cc -shared -fPIC -o "$WORK/keylog-shim.so" "$HERE/keylog-shim.c" -ldl -lssl
    rm -f "$OUT/g04-gateway-http-403.keys"
    CLIENT_ENV="LD_PRELOAD=$WORK/keylog-shim.so SSLKEYLOGFILE=$OUT/g04-gateway-http-403.keys" \
        gw_client g04 gw.lab.test:443 /cert:ignore
    chmod 0644 "$OUT/g04-gateway-http-403.keys"
    kill "$GW_PID" 2>/dev/null
    log "g04 server saw: $(tr '\n' '|' <"$WORK/gw403.log")"
}

all_scenarios() { declare -F | awk '{print $3}' | grep -E '^[rdg][0-9]' | sort; }

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
selected=()
if [ $# -eq 0 ]; then
    mapfile -t selected < <(all_scenarios)
else
    for a in "$@"; do
        mapfile -t -O "${#selected[@]}" selected < <(all_scenarios | grep "^$a")
    done
fi

topo_up
client_resolver
dns_start
servers_start
gw_tls_start
for sc in "${selected[@]}"; do
    base=${sc%%_*}-${sc#*_}
    file=$OUT/${base//_/-}.pcap
    log "== $sc -> $file"
    cap_start "$file"
    "$sc"
    cap_stop "$file"
done

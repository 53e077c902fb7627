# shellcheck shell=bash
# Helpers for make-captures.sh: topology, servers, client, capture.
#
# Topology (three network namespaces, two veth pairs, documentation ranges):
#
#   rtl-c (client)            rtl-r (router)                    rtl-s (server)
#   c0 192.0.2.10/24 ---- rc 192.0.2.1/24   rs 198.51.100.1/24 ---- s0 198.51.100.20/24
#
# Every address exists only inside these namespaces; nothing is routed to the
# host or beyond. The router forwards and decrements the TTL, so packets of the
# server reach the client with TTL 63 while anything the router itself emits
# (a forged RST, an ICMP error) arrives with TTL 64.

NS_C=rtl-c
NS_R=rtl-r
NS_S=rtl-s
C_IP=192.0.2.10
RC_IP=192.0.2.1
RS_IP=198.51.100.1
S_IP=198.51.100.20
RDP_PORT=3389
CAP_FILTER="tcp port $RDP_PORT or icmp"
# X displays used by the lab (client namespace, server namespace).
C_DISPLAY=71
S_DISPLAY=72

LAB_PIDS=()
AARDWOLF_VENV=${AARDWOLF_VENV:-/opt/rtl-aardwolf}
# Debian's own Python (python3-impacket is installed for it, not for another
# python3 that may come first in PATH)
PY3=/usr/bin/python3

log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

in_c() { ip netns exec "$NS_C" "$@"; }
in_r() { ip netns exec "$NS_R" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

install_packages() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # Keep the packages' services (xrdp, xrdp-sesman) from starting on the
    # host while they are installed: the lab runs its own servers, inside its
    # namespaces only, and leaves nothing running.
    local policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy=1
    fi
    apt-get install -y -q --no-install-recommends \
        xrdp freerdp2-x11 freerdp2-shadow-x11 xvfb xauth tcpdump tshark \
        wireshark-common iproute2 iputils-ping iptables openssl ethtool procps gzip python3 \
        rdesktop nmap python3-impacket python3-venv x11-apps gcc libc6-dev libxtst6
    [ -n "$policy" ] && rm -f /usr/sbin/policy-rc.d
    # aardwolf (a Python RDP client) is not packaged by Debian: PyPI, in a
    # venv of its own
    if [ ! -x "$AARDWOLF_VENV/bin/ardpscan" ]; then
        /usr/bin/python3 -m venv "$AARDWOLF_VENV" &&
            "$AARDWOLF_VENV/bin/pip" install -q "aardwolf==0.2.16" ||
            log "aardwolf could not be installed (scenarios 48, 49 need it)"
    fi
    # Debian starts the system xrdp where systemd runs; the lab uses its own
    # instances inside the server namespace only.
    if command -v systemctl >/dev/null && systemctl is-active -q xrdp 2>/dev/null; then
        log "note: the host's xrdp service is running; the lab does not use it"
    fi
}

# Disable offloads so the capture shows wire-sized segments.
no_offload() {
    local ns=$1 dev=$2
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
}

topo_up() {
    topo_down
    ip netns add "$NS_C"
    ip netns add "$NS_R"
    ip netns add "$NS_S"
    for ns in "$NS_C" "$NS_R" "$NS_S"; do
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
        ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
    done
    ip link add name rtl-tmp-c0 netns "$NS_C" type veth peer name rtl-tmp-rc netns "$NS_R"
    ip link add name rtl-tmp-s0 netns "$NS_S" type veth peer name rtl-tmp-rs netns "$NS_R"
    in_c ip link set rtl-tmp-c0 name c0
    in_r ip link set rtl-tmp-rc name rc
    in_r ip link set rtl-tmp-rs name rs
    in_s ip link set rtl-tmp-s0 name s0
    in_c ip addr add "$C_IP/24" dev c0
    in_r ip addr add "$RC_IP/24" dev rc
    in_r ip addr add "$RS_IP/24" dev rs
    in_s ip addr add "$S_IP/24" dev s0
    in_c ip link set c0 up
    in_r ip link set rc up
    in_r ip link set rs up
    in_s ip link set s0 up
    in_c ip route add default via "$RC_IP"
    in_s ip route add default via "$RS_IP"
    in_r sysctl -q -w net.ipv4.ip_forward=1
    no_offload "$NS_C" c0
    no_offload "$NS_R" rc
    no_offload "$NS_R" rs
    no_offload "$NS_S" s0
    # Make sure the path works before anything is captured (ARP settles too).
    in_c ping -c 1 -W 2 "$S_IP" >/dev/null
}

topo_down() {
    local ns
    for ns in "$NS_C" "$NS_R" "$NS_S"; do
        if ip netns list | grep -qw "^$ns"; then
            # Processes still inside (only ours can be there) are ended first.
            local p
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
            sleep 0.3
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
            ip netns del "$ns"
        fi
    done
}

# ---------------------------------------------------------------- PKI
# All keys and certificates are made fresh in $WORK/pki for each run.
make_pki() {
    local d=$WORK/pki
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        local san="subjectAltName=DNS:$S_IP,IP:$S_IP"
        # A lab CA the client is told to trust (SSL_CERT_FILE) in some runs.
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
            -days 3650 -subj "/CN=rdptriage lab CA" 2>/dev/null
        # Server certificate signed by the lab CA, valid now, name = address.
        openssl req -new -newkey rsa:2048 -nodes -keyout good.key -out good.csr \
            -subj "/CN=$S_IP" 2>/dev/null
        printf '%s\n' "$san" >san.ext
        openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 365 -extfile san.ext -out good.pem 2>/dev/null
        # Self-signed, valid now, right name.
        openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem \
            -days 365 -subj "/CN=$S_IP" -addext "$san" 2>/dev/null
        # Expired (2020-01-01 .. 2021-01-01), signed by the lab CA, right name.
        mkdir -p ca/newcerts
        : >ca/index.txt
        echo 1000 >ca/serial
        cat >ca.cnf <<EOF
[ ca ]
default_ca = labca
[ labca ]
dir = $d/ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
EOF
        openssl req -new -newkey rsa:2048 -nodes -keyout expired.key -out expired.csr \
            -subj "/CN=$S_IP" -addext "$san" 2>/dev/null
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key \
            -startdate 20200101000000Z -enddate 20210101000000Z \
            -in expired.csr -out expired.pem -notext 2>/dev/null
        # Not yet valid (2035-01-01 .. 2036-01-01), signed by the lab CA,
        # right name.
        openssl req -new -newkey rsa:2048 -nodes -keyout future.key -out future.csr \
            -subj "/CN=$S_IP" -addext "$san" 2>/dev/null
        openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key \
            -startdate 20350101000000Z -enddate 20360101000000Z \
            -in future.csr -out future.pem -notext 2>/dev/null
        # Signed by the lab CA, valid, but for another name.
        openssl req -new -newkey rsa:2048 -nodes -keyout other.key -out other.csr \
            -subj "/CN=other-host.lab" 2>/dev/null
        printf 'subjectAltName=DNS:other-host.lab\n' >other.ext
        openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 365 -extfile other.ext -out other.pem 2>/dev/null
        # A key that does not belong to any certificate.
        openssl genrsa -out stray.key 2048 2>/dev/null
        chgrp xrdp ./*.key ./*.pem
        chmod 0640 ./*.key
        chmod 0644 ./*.pem
    )
    chmod 0755 "$d"
}

# ---------------------------------------------------------------- xrdp
# xrdp_conf NAME key=value... : writes $WORK/NAME/xrdp.ini from Debian's
# /etc/xrdp/xrdp.ini with the given [Globals] settings replaced.
xrdp_conf() {
    local name=$1
    shift
    local dir=$WORK/xrdp-$name
    mkdir -p "$dir"
    cp /etc/xrdp/xrdp.ini "$dir/xrdp.ini"
    local kv k v
    # defaults of the lab: the lab CA's certificate, TLS 1.2 (what Windows
    # servers speak: the certificate is visible on the wire).
    set -- "certificate=$WORK/pki/good.pem" "key_file=$WORK/pki/good.key" \
        "ssl_protocols=TLSv1.2" "$@"
    for kv in "$@"; do
        k=${kv%%=*}
        v=${kv#*=}
        if grep -q "^$k=" "$dir/xrdp.ini"; then
            sed -i "s|^$k=.*|$k=$v|" "$dir/xrdp.ini"
        elif grep -q "^#$k=" "$dir/xrdp.ini"; then
            sed -i "s|^#$k=.*|$k=$v|" "$dir/xrdp.ini"
        else
            sed -i "0,/^\[Globals\]/s|^\[Globals\]|[Globals]\n$k=$v|" "$dir/xrdp.ini"
        fi
    done
    sed -i "s|^LogFile=.*|LogFile=$dir/xrdp.log|; s|^LogLevel=.*|LogLevel=DEBUG|" "$dir/xrdp.ini"
    chmod 0755 "$dir"
    touch "$dir/xrdp.log"
    chown xrdp:xrdp "$dir/xrdp.log"
    echo "$dir"
}

XRDP_PID=
# xrdp_start DIR : runs xrdp as user xrdp (as Debian's unit does) in the
# server namespace, in the foreground of a background job.
xrdp_start() {
    local dir=$1
    sh /usr/share/xrdp/socksetup
    rm -f /run/xrdp/xrdp.pid
    ip netns exec "$NS_S" setpriv --reuid=xrdp --regid=xrdp --init-groups \
        xrdp --nodaemon --config "$dir/xrdp.ini" >"$dir/xrdp.out" 2>&1 &
    XRDP_PID=$!
    LAB_PIDS+=("$XRDP_PID")
    wait_listen || log "xrdp did not listen; see $dir/xrdp.log"
}

wait_listen() {
    local i
    for i in $(seq 50); do
        if in_s ss -Hltn "sport = :$RDP_PORT" | grep -q LISTEN; then return 0; fi
        sleep 0.1
    done
    return 1
}

# all pids of the server started last (parent and forked children)
server_pids() {
    local p=$1
    echo "$p"
    pgrep -P "$p" 2>/dev/null | while read -r c; do server_pids "$c"; done
}

server_stop() {
    # Everything running in the server and router namespaces was started by
    # the lab (servers, their forked children, watchers).
    local p ns
    for ns in "$NS_S" "$NS_R"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    done
    sleep 0.5
    for ns in "$NS_S" "$NS_R"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    for p in "${LAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    LAB_PIDS=()
    rm -f /run/xrdp/xrdp.pid
}

# ---------------------------------------------------------------- shadow
# shadow_start ARGS... : freerdp-shadow-cli on its own Xvfb in the server
# namespace, with the lab SAM file (user lab / password labpass).
shadow_start() {
    local dir=$WORK/shadow
    mkdir -p "$dir/home"
    rm -f "/tmp/.X$S_DISPLAY-lock" "/tmp/.X11-unix/X$S_DISPLAY"
    ip netns exec "$NS_S" Xvfb ":$S_DISPLAY" -nolisten tcp -screen 0 800x600x24 >"$dir/xvfb.log" 2>&1 &
    LAB_PIDS+=("$!")
    sleep 1
    # a loaded machine may need longer than 1 s for Xvfb to accept clients
    local i
    for i in $(seq 50); do
        [ -S "/tmp/.X11-unix/X$S_DISPLAY" ] && break
        sleep 0.1
    done
    local nt
    nt=$(printf '%s' labpass | iconv -t UTF-16LE | openssl dgst -md4 -provider legacy -provider default -r | cut -d' ' -f1)
    printf 'lab::%s:%s:::\n' "" "$nt" >"$dir/sam"
    printf 'lab:LAB::%s:::\n' "$nt" >>"$dir/sam"
    ip netns exec "$NS_S" env HOME="$dir/home" DISPLAY=":$S_DISPLAY" \
        freerdp-shadow-cli /port:$RDP_PORT /bind-address:$S_IP "/sam-file:$dir/sam" "$@" \
        >"$dir/shadow.log" 2>&1 &
    LAB_PIDS+=("$!")
    wait_listen || log "shadow did not listen; see $dir/shadow.log"
}

# ---------------------------------------------------------------- client
CLIENT_XVFB=
client_display() {
    if [ -z "$CLIENT_XVFB" ] || ! kill -0 "$CLIENT_XVFB" 2>/dev/null; then
        rm -f "/tmp/.X$C_DISPLAY-lock" "/tmp/.X11-unix/X$C_DISPLAY"
        ip netns exec "$NS_C" Xvfb ":$C_DISPLAY" -nolisten tcp -screen 0 1024x768x24 >"$WORK/client-xvfb.log" 2>&1 &
        CLIENT_XVFB=$!
        sleep 1
    fi
}

CLIENT_RC=
# run_client NAME SECONDS ARGS... : xfreerdp in the client namespace with a
# fresh HOME (empty known_hosts), stdin closed, stopped with SIGINT after
# SECONDS. Log in $WORK/NAME.client.log, exit code in CLIENT_RC.
run_client() {
    local name=$1 secs=$2
    shift 2
    client_display
    local home=$WORK/client-home-$name
    rm -rf "$home"
    mkdir -p "$home"
    in_c env HOME="$home" DISPLAY=":$C_DISPLAY" ${CLIENT_ENV:-} \
        timeout -s INT -k 5 "$secs" xfreerdp "/v:${CLIENT_TARGET:-$S_IP:$RDP_PORT}" /log-level:DEBUG "$@" \
        </dev/null >"$WORK/$name.client.log" 2>&1
    CLIENT_RC=$?
    echo "exit=$CLIENT_RC" >>"$WORK/$name.client.log"
    log "client $name exit $CLIENT_RC: $(grep -E '\[ERROR\]' "$WORK/$name.client.log" | grep -v com.freerdp.utils | tail -n 2 | sed 's/.*\] - //' | tr '\n' '|')"
}

# run_client_bg NAME SECONDS ARGS... : same, in the background (pid in CLIENT_BG)
run_client_bg() {
    local name=$1 secs=$2
    shift 2
    client_display
    local home=$WORK/client-home-$name
    rm -rf "$home"
    mkdir -p "$home"
    (
        in_c env HOME="$home" DISPLAY=":$C_DISPLAY" ${CLIENT_ENV:-} \
            timeout -s INT -k 5 "$secs" xfreerdp "/v:${CLIENT_TARGET:-$S_IP:$RDP_PORT}" /log-level:DEBUG "$@" \
            </dev/null >"$WORK/$name.client.log" 2>&1
        echo "exit=$?" >>"$WORK/$name.client.log"
    ) &
    CLIENT_BG=$!
}

# ---------------------------------------------------------------- capture
CAP_PID=
# cap_start FILE [NS] [tcpdump args...] : tcpdump in NS (default client) on c0.
cap_start() {
    local file=$1 ns=${2:-$NS_C}
    shift 2 || shift $#
    local args=("$@")
    [ ${#args[@]} -eq 0 ] && args=(-i c0)
    rm -f "$file"
    ip netns exec "$ns" tcpdump -Z root -U -n "${args[@]}" -w "$file" "$CAP_FILTER" >"$WORK/tcpdump.log" 2>&1 &
    CAP_PID=$!
    local i
    for i in $(seq 50); do
        grep -q 'listening on' "$WORK/tcpdump.log" && break
        sleep 0.1
    done
    sleep 0.2
}

cap_stop() {
    sleep 1
    [ -n "$CAP_PID" ] && kill -INT "$CAP_PID" 2>/dev/null
    wait "$CAP_PID" 2>/dev/null
    CAP_PID=
    chmod 0644 "$@" 2>/dev/null
}

# ---------------------------------------------------------------- more
# client_pids NAME : pids of the processes called NAME in the client namespace
client_pids() {
    local q
    for q in $(ip netns pids "$NS_C"); do
        [ "$(cat /proc/"$q"/comm 2>/dev/null)" = "$1" ] && echo "$q"
    done
}

# run_tool NAME SECONDS CMD... : any client program in the client namespace
# (stdin closed, SIGINT after SECONDS), output in $WORK/NAME.client.log,
# exit code in CLIENT_RC and as the log's last line
run_tool() {
    local name=$1 secs=$2
    shift 2
    in_c timeout -s INT -k 5 "$secs" "$@" </dev/null >"$WORK/$name.client.log" 2>&1
    CLIENT_RC=$?
    echo "exit=$CLIENT_RC" >>"$WORK/$name.client.log"
    log "tool $name exit $CLIENT_RC"
}

# wait_established [PORT] : until the client namespace has an established
# connection to the RDP port (at most 5 s)
wait_established() {
    local i
    for i in $(seq 100); do
        in_c ss -Htn state established "dport = :${1:-$RDP_PORT}" | grep -q . && return 0
        sleep 0.05
    done
    return 1
}

# pointer_path N : N points of a pointer path over an 800x600 window
pointer_path() {
    local i
    for i in $(seq 0 $(($1 - 1))); do
        printf '%d,%d ' $((100 + (i * 37) % 600)) $((100 + (i * 23) % 400))
    done
}

# IPv6 documentation addresses (2001:db8::/32) on the same topology
C_IP6=2001:db8:c::10
RC_IP6=2001:db8:c::1
RS_IP6=2001:db8:5::1
S_IP6=2001:db8:5::20
topo_v6() {
    local ns
    for ns in "$NS_C" "$NS_R" "$NS_S"; do
        ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=0
        ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=0
    done
    local d
    for d in "$NS_C c0" "$NS_R rc" "$NS_R rs" "$NS_S s0"; do
        set -- $d
        ip netns exec "$1" sysctl -q -w "net.ipv6.conf.$2.accept_dad=0"
        ip netns exec "$1" sysctl -q -w "net.ipv6.conf.$2.disable_ipv6=0"
    done
    in_r sysctl -q -w net.ipv6.conf.all.forwarding=1
    in_c ip -6 addr add "$C_IP6/64" dev c0 nodad
    in_r ip -6 addr add "$RC_IP6/64" dev rc nodad
    in_r ip -6 addr add "$RS_IP6/64" dev rs nodad
    in_s ip -6 addr add "$S_IP6/64" dev s0 nodad
    in_c ip -6 route add default via "$RC_IP6"
    in_s ip -6 route add default via "$RS_IP6"
    # neighbour discovery settles (the first echo may be lost)
    in_c ping -6 -c 3 -i 0.5 -W 2 "$S_IP6" >/dev/null || log "IPv6 path not up"
}

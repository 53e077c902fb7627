#!/bin/bash
# Make the labelled captures of an RDP connection's neighbours (DNS look-up,
# Kerberos exchange) with real software in network namespaces: dnsmasq
# answers the lab names, an MIT Kerberos KDC (krb5-kdc) holds the user and
# the TERMSRV/ principal, kinit and kvno ask it as a user would, then
# xfreerdp makes the connection the user was making, to freerdp-shadow-cli
# with NLA (NTLM: Debian's FreeRDP 2 is built without GSSAPI, so its NLA
# never uses Kerberos itself).
#
# usage (as root, Debian 12, after make-captures.sh installed its packages):
#   testdata/lab/make-neighbour-captures.sh            # all scenarios
#   testdata/lab/make-neighbour-captures.sh n03 ...    # some
# environment: LAB_OUT=DIR (default testdata/captures), LAB_KEEP_WORK=1.
#
# The DNS server and the KDC run in the router namespace (192.0.2.1, the
# client's side): the "domain controller". The namespaces, addresses and X
# displays differ from make-captures.sh's, so both can run at once.
# Written, not labelled: the label rows (labels.tsv) are written from what
# each scenario did and checked with tshark (dns.flags.rcode,
# kerberos.error_code; see testdata/captures/README.md).

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${LAB_OUT:-$(cd "$HERE/../captures" && pwd)}
# shellcheck source=lib.sh
. "$HERE/lib.sh"

NS_C=rtn-c
NS_R=rtn-r
NS_S=rtn-s
C_DISPLAY=81
S_DISPLAY=82
DC_IP=$RC_IP
REALM=LAB.TEST
SRV_NAME=rdp.lab.test
STALE_IP=198.51.100.99
CAP_FILTER="port 3389 or port 53 or port 88 or icmp"

WORK=$(mktemp -d /tmp/rtn-lab.XXXXXX)
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

# ------------------------------------------------------------ DNS and KDC
# The client resolves through dnsmasq only (its own resolv.conf and hosts,
# bind-mounted by `ip netns exec` from /etc/netns/NAME).
client_resolver() {
    mkdir -p "/etc/netns/$NS_C"
    printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$DC_IP" >"/etc/netns/$NS_C/resolv.conf"
    printf '127.0.0.1 localhost\n' >"/etc/netns/$NS_C/hosts"
}

dns_start() {
    # lab.test is local: a name not listed is NXDOMAIN (dnsmasq --local).
    in_r dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces \
        --listen-address="$DC_IP" --local=/lab.test/ \
        --address="/$SRV_NAME/$S_IP" --address="/alias.lab.test/$S_IP" \
        --address="/old.lab.test/$STALE_IP" --log-queries \
        >"$WORK/dnsmasq.log" 2>&1 &
    DC_PIDS+=("$!")
    sleep 0.5
}

krb_conf() {
    cat >"$WORK/krb5.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    ${KRB_EXTRA:-udp_preference_limit = 1465}
[realms]
    $REALM = {
        kdc = $DC_IP
    }
EOF
    cat >"$WORK/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = $DC_IP
    kdc_tcp_listen = $DC_IP
[realms]
    $REALM = {
        database_name = $WORK/kdb/principal
        key_stash_file = $WORK/kdb/stash
        acl_file = $WORK/kdb/kadm5.acl
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal camellia256-cts-cmac:normal
        max_life = 10h
    }
EOF
}

kdc_start() {
    mkdir -p "$WORK/kdb"
    : >"$WORK/kdb/kadm5.acl"
    export KRB5_CONFIG=$WORK/krb5.conf KRB5_KDC_PROFILE=$WORK/kdc.conf
    kdb5_util create -s -r "$REALM" -P lab-master-pw >"$WORK/kdb.log" 2>&1
    # Users need pre-authentication (as Active Directory's do by default),
    # so the KDC itself checks the password and the clock; their keys are
    # AES only, while the KDC also knows Camellia (its krbtgt has it).
    local k="kadmin.local -r $REALM -q" aes="aes256-cts-hmac-sha1-96:normal,aes128-cts-hmac-sha1-96:normal"
    $k "addprinc -pw labpass +requires_preauth -e $aes lab" >>"$WORK/kdb.log" 2>&1
    $k "addprinc -pw labpass +requires_preauth -e $aes locked" >>"$WORK/kdb.log" 2>&1
    $k "modprinc -allow_tix locked" >>"$WORK/kdb.log" 2>&1
    $k "addprinc -pw labpass +requires_preauth -e $aes expired" >>"$WORK/kdb.log" 2>&1
    $k "modprinc -pwexpire 2020-01-01 expired" >>"$WORK/kdb.log" 2>&1
    $k "addprinc -randkey -e $aes TERMSRV/$SRV_NAME" >>"$WORK/kdb.log" 2>&1
    # An account without pre-authentication: the KDC picks its key from the
    # request's encryption types at once (RFC 4120 3.1.3), so a request
    # offering none it has is refused with KDC_ERR_ETYPE_NOSUPP.
    $k "addprinc -pw labpass -e $aes legacy" >>"$WORK/kdb.log" 2>&1
    in_r env KRB5_CONFIG="$KRB5_CONFIG" KRB5_KDC_PROFILE="$KRB5_KDC_PROFILE" \
        krb5kdc -n -P "$WORK/krb5kdc.pid" >"$WORK/krb5kdc.log" 2>&1 &
    DC_PIDS+=("$!")
    sleep 0.5
}

# k NAME CMD... : a Kerberos client program in the client namespace, with
# the lab's krb5.conf and a credential cache of the scenario's own.
k() {
    local name=$1
    shift
    in_c env KRB5_CONFIG="$WORK/krb5.conf" KRB5CCNAME="FILE:$WORK/cc-$name" "$@" \
        >>"$WORK/$name.krb.log" 2>&1
    echo "$* -> exit $?" >>"$WORK/$name.krb.log"
    log "$name: $(tail -n 2 "$WORK/$name.krb.log" | tr '\n' '|')"
}

# rdp NAME TARGET USER PASSWORD : the connection the user was making.
rdp() {
    CLIENT_TARGET=$2 run_client "$1" 10 /sec:nla /cert:ignore "/u:$3" "/p:$4"
}

# ------------------------------------------------------------ scenarios
# Each: capture on the client's link, what the user did, stop.
n01_kerberos_password_wrong() {
    printf 'wrong\n' | k n01 kinit lab
    rdp n01 "$SRV_NAME" lab wrong
}
n02_kerberos_account_revoked() {
    printf 'labpass\n' | k n02 kinit locked
    rdp n02 "$SRV_NAME" locked labpass
}
n03_kerberos_spn_unknown() {
    printf 'labpass\n' | k n03 kinit lab
    k n03 kvno TERMSRV/alias.lab.test
    rdp n03 alias.lab.test lab labpass
}
n04_kerberos_clock_skew() {
    # MIT's library corrects its clock from the KDC's error and retries
    # (kdc_timesync); Windows' does not: turn that off.
    KRB_EXTRA="kdc_timesync = 0" krb_conf
    printf 'labpass\n' | k n04 faketime -f +600s kinit lab
    krb_conf
    rdp n04 "$SRV_NAME" lab labpass
}
n05_kerberos_kdc_unreachable() {
    in_r iptables -A INPUT -p udp --dport 88 -j DROP
    in_r iptables -A INPUT -p tcp --dport 88 -j DROP
    printf 'labpass\n' | k n05 kinit lab
    in_r iptables -F INPUT
    rdp n05 "$SRV_NAME" lab labpass
}
n06_kerberos_password_expired() {
    printf 'labpass\n' | k n06 kinit expired
    rdp n06 "$SRV_NAME" expired labpass
}
n07_kerberos_etype_unsupported() {
    KRB_EXTRA="default_tkt_enctypes = camellia256-cts-cmac
    permitted_enctypes = camellia256-cts-cmac" krb_conf
    printf 'labpass\n' | k n07 kinit legacy
    krb_conf
    rdp n07 "$SRV_NAME" legacy labpass
}
n08_dns_name_not_found() {
    rdp n08 nosuch.lab.test lab labpass
}
n09_dns_stale_address() {
    rdp n09 old.lab.test lab labpass
}
n10_dns_address_mismatch() {
    # The user checks the name (DNS answers the server's address) and
    # connects to the address noted earlier, where nothing answers.
    in_c getent ahostsv4 "$SRV_NAME" >"$WORK/n10.getent.log" 2>&1
    rdp n10 "$STALE_IP" lab labpass
    # The router's ICMP errors for the last SYNs come after its 3 s of ARP:
    # in this capture, not the next.
    sleep 4
}
n11_kerberos_success() {
    printf 'labpass\n' | k n11 kinit lab
    k n11 kvno "TERMSRV/$SRV_NAME"
    rdp n11 "$SRV_NAME" lab labpass
}

n12_kerberos_over_tcp() {
    # udp_preference_limit = 1: every request goes over TCP (RFC 4120
    # 7.2.2, 4-byte length before each message).
    KRB_EXTRA="udp_preference_limit = 1" krb_conf
    printf 'wrong\n' | k n12 kinit lab
    krb_conf
    rdp n12 "$SRV_NAME" lab wrong
}

all_scenarios() { declare -F | awk '{print $3}' | grep '^n[0-9]' | sort; }

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
selected=()
if [ $# -eq 0 ]; then
    mapfile -t selected < <(all_scenarios)
else
    for a in "$@"; do selected+=("$(all_scenarios | grep "^$a")"); done
fi

topo_up
client_resolver
krb_conf
dns_start
kdc_start
shadow_start /sec:nla
for sc in "${selected[@]}"; do
    base=${sc%%_*}-${sc#*_}
    file=$OUT/${base//_/-}.pcap
    log "== $sc -> $file"
    cap_start "$file"
    "$sc"
    cap_stop "$file"
done

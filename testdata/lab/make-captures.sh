#!/bin/bash
# Make the labelled RDP captures of testdata/captures/ with real software
# (xrdp, FreeRDP's xfreerdp and freerdp-shadow-cli; rdesktop, impacket, nmap
# and aardwolf as other clients) in three network
# namespaces (client, router, server) that exist only while this runs.
#
# usage (as root, Debian 12):
#   testdata/lab/make-captures.sh                 # all scenarios
#   testdata/lab/make-captures.sh 01 success-nla  # some (number or name)
#   testdata/lab/make-captures.sh --list
# environment:
#   LAB_SKIP_INSTALL=1   do not run apt-get
#   LAB_OUT=DIR          write captures there (default testdata/captures)
#   LAB_KEEP_WORK=1      keep the work directory (server/client logs)
#
# The captures are written, not labelled: labels.tsv is written by hand after
# checking each capture with tshark (see testdata/captures/README.md).

set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${LAB_OUT:-$(cd "$HERE/../captures" 2>/dev/null && pwd || echo "$HERE/../captures")}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=scenarios.sh
. "$HERE/scenarios.sh"

all_scenarios() { declare -F | awk '{print $3}' | grep '^sc_[0-9]' | sort; }

if [ "${1:-}" = "--list" ]; then
    all_scenarios | sed 's/^sc_//; s/_/-/g'
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "run as root" >&2
    exit 1
fi

selected=()
if [ $# -eq 0 ]; then
    mapfile -t selected < <(all_scenarios)
else
    for arg in "$@"; do
        want=${arg//-/_}
        found=0
        for sc in $(all_scenarios); do
            case "$sc" in
            sc_"$want" | sc_"$want"_* | sc_[0-9][0-9]_"$want")
                selected+=("$sc")
                found=1
                ;;
            esac
        done
        [ $found = 1 ] || { echo "unknown scenario: $arg (see --list)" >&2; exit 1; }
    done
fi

[ "${LAB_SKIP_INSTALL:-0}" = 1 ] || install_packages

WORK=$(mktemp -d /tmp/rdptriage-lab.XXXXXX)
chmod 0755 "$WORK"

cleanup() {
    [ -n "${CAP_PID:-}" ] && kill -INT "$CAP_PID" 2>/dev/null
    server_stop 2>/dev/null
    [ -n "${CLIENT_XVFB:-}" ] && kill "$CLIENT_XVFB" 2>/dev/null
    topo_down
    rm -f "/tmp/.X$C_DISPLAY-lock" "/tmp/.X$S_DISPLAY-lock"
    if [ "${LAB_KEEP_WORK:-0}" = 1 ]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for d in $C_DISPLAY $S_DISPLAY; do
    if [ -e "/tmp/.X$d-lock" ] && kill -0 "$(tr -d ' ' <"/tmp/.X$d-lock")" 2>/dev/null; then
        echo "X display :$d is in use; change C_DISPLAY/S_DISPLAY in lib.sh" >&2
        exit 1
    fi
done

make_pki
log "versions: $(dpkg-query -W -f '${Package} ${Version}; ' xrdp freerdp2-x11 freerdp2-shadow-x11 tcpdump tshark rdesktop nmap python3-impacket) kernel $(uname -r)"

for sc in "${selected[@]}"; do
    log "=== ${sc#sc_}"
    # a fresh topology per scenario: no socket of a previous scenario can
    # retransmit into the next capture
    topo_up
    "$sc"
    server_stop
    [ -n "$CLIENT_XVFB" ] && kill "$CLIENT_XVFB" 2>/dev/null
    topo_down
    CLIENT_XVFB=
done
log "done: captures in $OUT"

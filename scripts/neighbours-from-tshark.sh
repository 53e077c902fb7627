#!/bin/bash
# Write testdata/expected/neighbours-tshark.tsv: what tshark reads in the
# neighbour messages of the lab's neighbour captures (Kerberos message type
# and error code, DNS answers' rcode and name) and in the public RDP-UDP
# captures (the rdpudp dissector's flags of each handshake datagram).
# tests/neighbours.rs compares rdptriage's decoding with it.
#
# usage: scripts/neighbours-from-tshark.sh [CORPUS_DIR]   (default ../shared/corpus)
set -eu
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
out=testdata/expected/neighbours-tshark.tsv
{
    printf '# made by scripts/neighbours-from-tshark.sh with %s\n' "$(tshark --version | head -n 1)"
    printf 'file\tframe\tprotocol\tcode\tname\n'
    for p in testdata/captures/neighbours/*.pcap; do
        f=neighbours/$(basename "$p")
        # Kerberos: message type (the first of a TGS-REQ's, whose
        # authenticator holds an AP-REQ) and error code.
        tshark -r "$p" -Y kerberos -T fields -e frame.number -e kerberos.msg_type -e kerberos.error_code |
            awk -v f="$f" -F'\t' '{split($2, m, ","); print f "\t" $1 "\tkerberos\t" ($3 == "" ? "-" : $3) "\t" m[1]}'
        tshark -r "$p" -Y 'dns.flags.response == 1' -T fields -e frame.number -e dns.flags.rcode -e dns.qry.name |
            awk -v f="$f" -F'\t' '{print f "\t" $1 "\tdns\t" $2 "\t" $3}'
    done
    for c in zeek/rdp-rdpeudp-handshake-fail.pcap zeek/rdp-rdpeudp-handshake-success.pcap \
        zeek/rdpeudp-handshake-fail.pcap zeek/rdpeudp-handshake-success.pcap \
        zeek/rdpeudp2-handshake-success.pcap; do
        # Handshake datagrams: SYN (0x0001) set; the name column holds the
        # SYNEX version when there is one.
        tshark -r "$corpus/$c" -d udp.port==3389,rdpudp -Y 'rdpudp.flags.syn == 1' \
            -T fields -e frame.number -e rdpudp.flags -e rdpudp.synex.version |
            awk -v f="corpus/$c" -F'\t' '{print f "\t" $1 "\trdpudp\t" $2 "\t" ($3 == "" ? "-" : $3)}'
    done
} >"$out"
echo "wrote $out"

#!/bin/bash
# Print what tshark sees in a capture, to check its labels by hand:
# connections, X.224 negotiation, TLS handshake and alerts, resets and
# ICMP errors with their IP TTL.
#   testdata/lab/check-capture.sh testdata/captures/01-success-tls.pcap
set -u
f=$1
ts() { tshark -r "$f" -d tcp.port==3389,tls "$@" 2>/dev/null; }
echo "== $f"
capinfos -t -E -l -c "$f" 2>/dev/null | sed 1d
echo "-- connections"
tshark -r "$f" -q -z conv,tcp 2>/dev/null | grep '<->'
echo "-- stream index, first frame, client port"
ts -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.stream -e frame.number -e tcp.srcport | sort -un
echo "-- X.224 (TPDU code, requested/selected protocol, failure code)"
tshark -r "$f" -Y 'cotp.type==0x0e || cotp.type==0x0d' -T fields -e frame.number -e tcp.stream -e ip.src -e cotp.type \
    -e rdp.negReq.requestedProtocols -e rdp.negReq.selectedProtocol -e rdp.negFailure.failureCode 2>/dev/null
echo "-- TLS handshake messages and alerts"
ts -Y 'tls.handshake.type || tls.alert_message' -T fields -e frame.number -e tcp.stream -e ip.src \
    -e tls.record.version -e tls.handshake.type -e tls.handshake.version -e tls.alert_message.desc
echo "-- RST / FIN (frame, stream, src, ttl, flags)"
ts -Y 'tcp.flags.reset==1 || tcp.flags.fin==1' -T fields -e frame.number -e tcp.stream -e ip.src \
    -e ip.ttl -e tcp.flags.str
echo "-- TTLs seen per source"
ts -T fields -e ip.src -e ip.ttl | sort | uniq -c
echo "-- ICMP"
ts -Y icmp -T fields -e frame.number -e ip.src -e ip.ttl -e icmp.type -e icmp.code -e icmp.mtu
echo "-- retransmissions"
ts -Y 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission' -T fields -e frame.number \
    -e tcp.stream -e ip.src -e tcp.len -e tcp.flags.str
echo "-- last 5 frames"
ts | tail -n 5

#!/usr/bin/env bash
# Re-check the flow stage against Wireshark, live.
#
# For every capture of the corpus (MANIFEST.tsv):
# - the TCP conversations on port 3389 as tshark numbers them (tcp.stream),
#   with packets and frame bytes each way, against what rdptriage's flow
#   stage finds (the `print_rows` test of tests/flow_corpus.rs); these
#   per-stream totals (summed from tshark's per-frame fields) are also
#   checked to be the rows of `tshark -q -z conv,tcp` (frames exactly;
#   bytes as tshark 4.0 displays them, in kB);
# - the tcp.stream of every TCP frame (all ports);
# - the reassembled bytes of each port-3389 connection against
#   `tshark -z follow,tcp,raw` (length and SHA-256 each way);
# - and prints tshark's TCP analysis counts (testdata/expected/flow-corpus/analysis.tsv,
#   which scripts/flow-corpus-from-tshark.py writes with the other tables).
#
# Usage: scripts/compare-conversations.sh [CORPUS_DIR]   (default ../shared/corpus)
# Rows compared: file stream A B packets_A->B bytes_A->B packets_B->A bytes_B->A
# where A is the source of the conversation's first packet.
set -eu
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus}
[ -f "$corpus/MANIFEST.tsv" ] || { echo "$corpus/MANIFEST.tsv not found" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tshark_rows() {
    local f=$1 rel=$2
    tshark -r "$f" -Y 'tcp && !icmp && !icmpv6' -T fields -E occurrence=l \
        -e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport \
        -e ip.dst -e ipv6.dst -e tcp.dstport -e frame.len 2>/dev/null |
    { cat; true; } |
    awk -F'\t' -v file="$rel" '
        function ep(a, p) { return (a ~ /:/) ? "[" a "]:" p : a ":" p }
        {
            s = $1; src = ep($2 != "" ? $2 : $3, $4); dst = ep($5 != "" ? $5 : $6, $7)
            if (!(s in A)) { A[s] = src; B[s] = dst; P[s] = ($4 == 3389 || $7 == 3389); order[n++] = s }
            if (src == A[s]) { fab[s]++; bab[s] += $8 } else { fba[s]++; bba[s] += $8 }
        }
        END {
            for (i = 0; i < n; i++) { s = order[i]; if (P[s])
                printf "%s %d %s %s %d %d %d %d\n", file, s, A[s], B[s], fab[s], bab[s], fba[s], bba[s] }
        }' | sort -k2,2n
}

# tshark's conversation table: "A <-> B  frames(B->A) bytes  frames(A->B) bytes ..."
conv_rows() {
    tshark -r "$1" -q -z conv,tcp 2>/dev/null | awk '/<->/ {
        # fields: A <-> B f1 b1 u1 f2 b2 u2 ...; bytes may be "45 kB" or "3540 bytes"
        printf "%s %s %s %s %s %s %s %s\n", $1, $3, $4, $5 " " $6, $7, $8 " " $9, $10, $11 " " $12 }'
}

# Bytes as tshark 4.0 shows them (format_size, SI units, integer division).
size() {
    if [ "$1" -lt 10000 ]; then echo "$1 bytes"
    elif [ "$1" -lt 10000000 ]; then echo "$(($1 / 1000)) kB"
    else echo "$(($1 / 1000000)) MB"; fi
}

fail=0
tail -n +2 "$corpus/MANIFEST.tsv" | cut -f1 | while read -r rel; do
    tshark_rows "$corpus/$rel" "$rel"
done > "$tmp/tshark.txt"

# Cross-check the per-stream totals against -z conv,tcp (frames per direction).
tail -n +2 "$corpus/MANIFEST.tsv" | cut -f1 | while read -r rel; do
    conv_rows "$corpus/$rel" | awk -v file="$rel" '{ print file, $0 }'
done > "$tmp/conv.txt"
while read -r file stream a b fab bab fba bba; do
    # conv,tcp writes IPv6 endpoints without brackets.
    a=$(echo "$a" | tr -d '[]'); b=$(echo "$b" | tr -d '[]')
    # conv,tcp prints "<-" (B to A) first, then "->" (A to B).
    if ! grep -qF "$file $a $b $fba $(size "$bba") $fab $(size "$bab") " "$tmp/conv.txt"; then
        echo "conv,tcp disagrees with per-packet totals: $file $stream $a $b" >&2
        fail=1
    fi
done < "$tmp/tshark.txt"

RDPTRIAGE_CORPUS="$(cd "$corpus" && pwd)" cargo test -q --test flow_corpus print_rows -- --ignored --nocapture 2>/dev/null > "$tmp/out.txt" || true
grep -E '^ROW ' "$tmp/out.txt" | sed 's/^ROW //' | sort -k1,1 -k2,2n > "$tmp/ours.txt"
sort -k1,1 -k2,2n "$tmp/tshark.txt" > "$tmp/theirs.txt"
if diff -u "$tmp/theirs.txt" "$tmp/ours.txt"; then
    echo "OK: $(wc -l < "$tmp/theirs.txt") port-3389 connections in $(cut -d' ' -f1 "$tmp/theirs.txt" | sort -u | wc -l) files match tshark"
else
    echo "MISMATCH (- tshark, + rdptriage)" >&2
    fail=1
fi

# tcp.stream of every TCP frame (all ports).
tail -n +2 "$corpus/MANIFEST.tsv" | cut -f1 | while read -r rel; do
    { tshark -r "$corpus/$rel" -Y 'tcp && !icmp && !icmpv6' -T fields \
        -e frame.number -e tcp.stream 2>/dev/null || true; } |
        awk -v file="$rel" 'NF == 2 { print file, $1, $2 }'
done > "$tmp/streams-theirs.txt"
# Known difference (see KNOWN_STREAM_DIFFERENCES in tests/flow_corpus.rs):
# frame 1 of ejemplo.pcap has a TCP data offset of 0; Wireshark numbers a
# conversation before rejecting the header, the packet stage drops it.
grep -v '^wireshark-wiki/ejemplo.pcap 1 0$' "$tmp/streams-theirs.txt" > "$tmp/x" || true
mv "$tmp/x" "$tmp/streams-theirs.txt"
grep -E '^STREAM ' "$tmp/out.txt" | sed 's/^STREAM //' > "$tmp/streams-ours.txt"
if diff "$tmp/streams-theirs.txt" "$tmp/streams-ours.txt" > "$tmp/streams.diff"; then
    echo "OK: tcp.stream of $(wc -l < "$tmp/streams-theirs.txt") TCP frames matches tshark"
else
    echo "tcp.stream differs on $(grep -c '^[<>]' "$tmp/streams.diff") lines (< tshark, > rdptriage):" >&2
    head -20 "$tmp/streams.diff" >&2
    fail=1
fi

# Reassembled bytes of each port-3389 connection against tshark's follow.
follow_rows() {
    local rel=$1 stream=$2 out node0
    out=$(tshark -r "$corpus/$rel" -q -z "follow,tcp,raw,$stream" 2>/dev/null || true)
    node0=$(printf '%s\n' "$out" | sed -n 's/^Node 0: //p')
    local d0 d1
    d0=$(printf '%s\n' "$out" | grep -E '^[0-9a-f]+$' | tr -d '\n')
    d1=$(printf '%s\n' "$out" | grep -E $'^\t[0-9a-f]+$' | tr -d '\t\n')
    printf '%s %s %s %d %s %d %s\n' "$rel" "$stream" "$node0" \
        $((${#d0} / 2)) "$(printf '%s' "$d0" | xxd -r -p | sha256sum | cut -d' ' -f1)" \
        $((${#d1} / 2)) "$(printf '%s' "$d1" | xxd -r -p | sha256sum | cut -d' ' -f1)"
}
while read -r file stream _; do
    follow_rows "$file" "$stream"
done < "$tmp/theirs.txt" > "$tmp/follow-theirs.txt"
grep -E '^FOLLOW ' "$tmp/out.txt" | sed 's/^FOLLOW //' | sort -k1,1 -k2,2n > "$tmp/follow-ours.txt"
if diff -u "$tmp/follow-theirs.txt" "$tmp/follow-ours.txt"; then
    echo "OK: reassembled bytes of $(wc -l < "$tmp/follow-theirs.txt") connections match tshark's follow,tcp,raw"
else
    echo "reassembled bytes differ (- tshark, + rdptriage)" >&2
    fail=1
fi

# TCP analysis flags of the port-3389 connections: tshark's numbers, to compare
# with testdata/expected/flow-corpus/analysis.tsv.
echo "tshark TCP analysis of port-3389 frames (file retr lost_segment dup_ack>=3 keep_alive zero_window zwp):"
tail -n +2 "$corpus/MANIFEST.tsv" | cut -f1 | while read -r rel; do
    { tshark -r "$corpus/$rel" -Y 'tcp.port==3389' -T fields \
        -e tcp.analysis.retransmission -e tcp.analysis.spurious_retransmission \
        -e tcp.analysis.fast_retransmission -e tcp.analysis.keep_alive \
        -e tcp.analysis.zero_window -e tcp.analysis.duplicate_ack_num \
        -e tcp.analysis.lost_segment -e tcp.analysis.zero_window_probe 2>/dev/null || true; } |
    awk -F'\t' -v f="$rel" '{ if ($1 != "" || $2 != "" || $3 != "") r++; if ($4 != "") k++;
        if ($5 != "") z++; if ($6 >= 3) d++; if ($7 != "") o++; if ($8 != "") p++ }
        END { if (NR > 0) printf "  %s %d %d %d %d %d %d\n", f, r, o, d, k, z, p }'
done
exit $fail

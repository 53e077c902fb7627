#!/bin/sh
# Recompute, with Wireshark's tools, the counts that tests/capture_corpus.rs
# embeds for every capture of the shared corpus:
#   file  packets(capinfos -c -M)  tcp(frames with a TCP header outside ICMP)
#   icmp_errors(ICMP/ICMPv6 error messages)
# Usage: scripts/check-corpus-counts.sh [corpus-dir]   (default ../shared/corpus,
# run from the repository root)
# Compare its output with the EXPECTED table in tests/capture_corpus.rs (which
# notes where it deliberately differs, e.g. a TCP header with data offset 0).
set -u
if [ $# -ge 1 ]; then dir=$1
elif [ -f ../shared/corpus/MANIFEST.tsv ]; then dir=../shared/corpus
else dir=../../shared/corpus   # a worktree one level deeper
fi
[ -f "$dir/MANIFEST.tsv" ] || { echo "$dir/MANIFEST.tsv not found" >&2; exit 1; }
tail -n +2 "$dir/MANIFEST.tsv" | cut -f1 | while read -r f; do
    p="$dir/$f"
    pk=$(capinfos -c -M "$p" 2>/dev/null | sed -n 's/^Number of packets: *//p')
    if [ -z "$pk" ]; then
        # capinfos stops at a cut or corrupt record: it names how many it read.
        pk=$(capinfos -c -M "$p" 2>&1 | sed -n 's/.*error occurred after reading \([0-9]*\) packets.*/\1/p')
    fi
    [ -n "$pk" ] || pk=error
    tcp=$(tshark -n -r "$p" -Y 'tcp && !icmp && !icmpv6' -T fields -e frame.number 2>/dev/null | wc -l)
    icmp=$(tshark -n -r "$p" -Y '(icmp.type in {3 4 5 11 12}) || (icmpv6.type in {1 2 3 4})' -T fields -e frame.number 2>/dev/null | wc -l)
    printf '%s\t%s\t%s\t%s\n' "$f" "$pk" "$tcp" "$icmp"
done

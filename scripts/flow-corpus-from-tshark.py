#!/usr/bin/env python3
"""Write testdata/expected/flow-corpus/*.tsv from tshark, for tests/flow_corpus.rs.

For every capture of the corpus (MANIFEST.tsv), tshark gives:
- conversations.tsv: each port-3389 TCP conversation (tcp.stream), A (the
  first packet's source), B, frames and frame bytes A->B and B->A, summed
  from per-frame fields (scripts/compare-conversations.sh checks these sums
  against `tshark -q -z conv,tcp`);
- streams.tsv: over all ports, the distinct tcp.stream values, the TCP
  frames, and the FNV-1a 64 digest of the lines "FRAME STREAM\\n"; and the
  UDP datagrams on port 3389 (RDP over UDP, counted by the flow stage);
- analysis.tsv: tshark's TCP analysis flags on port-3389 frames;
- follow.tsv: `-z follow,tcp,raw,STREAM` of each port-3389 conversation:
  node 0, and bytes and FNV-1a 64 digest each way.

Usage: scripts/flow-corpus-from-tshark.py [CORPUS_DIR] [OUT_DIR]
       (defaults ../shared/corpus and testdata/expected/flow-corpus)
The tables are the oracle: review a change before committing it.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "corpus")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "testdata", "expected", "flow-corpus")
FNV_START = 0xCBF29CE484222325


def fnv1a(h, data):
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def tshark(path, *args):
    r = subprocess.run(["tshark", "-r", path, *args], capture_output=True, text=True)
    return r.stdout


def endpoint(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def conversations(path, rel):
    out = tshark(path, "-Y", "tcp && !icmp && !icmpv6", "-T", "fields", "-E", "occurrence=l",
                 "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
                 "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "frame.len")
    conv = {}
    order = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 8 or not f[0]:
            continue
        s = int(f[0])
        src = endpoint(f[1] or f[2], f[3])
        dst = endpoint(f[4] or f[5], f[6])
        if s not in conv:
            conv[s] = {"a": src, "b": dst, "p": f[3] == "3389" or f[6] == "3389",
                       "n": [0, 0, 0, 0]}
            order.append(s)
        c = conv[s]
        i = 0 if src == c["a"] else 2
        c["n"][i] += 1
        c["n"][i + 1] += int(f[7])
    return [[rel, str(s), conv[s]["a"], conv[s]["b"], *map(str, conv[s]["n"])]
            for s in sorted(order) if conv[s]["p"]]


def streams(path, rel):
    out = tshark(path, "-Y", "tcp && !icmp && !icmpv6", "-T", "fields",
                 "-e", "frame.number", "-e", "tcp.stream")
    h, frames, seen = FNV_START, 0, set()
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) != 2 or not f[0] or not f[1]:
            continue
        h = fnv1a(h, f"{f[0]} {f[1]}\n".encode())
        frames += 1
        seen.add(f[1])
    udp = tshark(path, "-Y", "udp.port==3389 && !icmp && !icmpv6", "-T", "fields", "-e", "frame.number")
    udp_frames = sum(1 for l in udp.splitlines() if l.strip())
    return [rel, str(len(seen)), str(frames), f"{h:016x}", str(udp_frames)]


def analysis(path, rel):
    out = tshark(path, "-Y", "tcp.port==3389", "-T", "fields",
                 "-e", "tcp.analysis.retransmission", "-e", "tcp.analysis.spurious_retransmission",
                 "-e", "tcp.analysis.fast_retransmission", "-e", "tcp.analysis.keep_alive",
                 "-e", "tcp.analysis.zero_window", "-e", "tcp.analysis.duplicate_ack_num",
                 "-e", "tcp.analysis.lost_segment", "-e", "tcp.analysis.zero_window_probe")
    n = [0] * 6
    rows = 0
    for line in out.splitlines():
        f = (line.split("\t") + [""] * 8)[:8]
        rows += 1
        if f[0] or f[1] or f[2]:
            n[0] += 1
        if f[6]:
            n[1] += 1
        if f[5] and int(f[5].split(",")[-1]) >= 3:
            n[2] += 1
        if f[3]:
            n[3] += 1
        if f[4]:
            n[4] += 1
        if f[7]:
            n[5] += 1
    return [rel, *map(str, n)] if rows else None


def follow(path, rel, stream):
    out = tshark(path, "-q", "-z", f"follow,tcp,raw,{stream}")
    node0 = ""
    d0, d1 = [], []
    for line in out.splitlines():
        if line.startswith("Node 0: "):
            node0 = line[len("Node 0: "):]
        elif line.startswith("\t") and all(c in "0123456789abcdef" for c in line[1:]) and line[1:]:
            d1.append(line[1:])
        elif line and all(c in "0123456789abcdef" for c in line):
            d0.append(line)
    b0, b1 = bytes.fromhex("".join(d0)), bytes.fromhex("".join(d1))
    return [rel, str(stream), node0, str(len(b0)), f"{fnv1a(FNV_START, b0):016x}",
            str(len(b1)), f"{fnv1a(FNV_START, b1):016x}"]


HEADER = ("# Written by scripts/flow-corpus-from-tshark.py from tshark 4.0.17 (Debian 12) on\n"
          "# the public corpus (../shared/corpus, MANIFEST.tsv); read by tests/flow_corpus.rs.\n")
DOCS = {
    "conversations.tsv": ("# Port-3389 TCP conversations: tcp.stream, A (the first packet's source), B,\n"
                          "# frames and frame bytes A->B and B->A, summed from per-frame fields and\n"
                          "# checked against `tshark -q -z conv,tcp`.\n",
                          "file stream a b packets_ab bytes_ab packets_ba bytes_ba"),
    "streams.tsv": ("# Over all ports: distinct tcp.stream values, TCP frames, and the FNV-1a 64\n"
                    "# digest (hex) of the lines \"FRAME STREAM\\n\" as `tshark -Y 'tcp && !icmp &&\n"
                    "# !icmpv6' -T fields -e frame.number -e tcp.stream` prints them; and the UDP\n"
                    "# datagrams to or from port 3389 (`-Y 'udp.port==3389 && !icmp && !icmpv6'`).\n",
                    "file streams tcp_frames fnv1a64 udp_3389"),
    "analysis.tsv": ("# TCP analysis of port-3389 frames as tshark flags them: retransmissions (fast,\n"
                     "# spurious, SYN repeats included), lost_segment, duplicate_ack_num >= 3,\n"
                     "# keep_alive, zero_window, zero_window_probe. Files without a row: all zero.\n",
                     "file retransmissions lost_segment dup_ack3 keep_alive zero_window zero_window_probe"),
    "follow.tsv": ("# Reassembled bytes of each port-3389 connection as `tshark -q -z\n"
                   "# follow,tcp,raw,STREAM` prints them: node 0 (the first packet's source), bytes\n"
                   "# from node 0 and their FNV-1a 64 digest (hex), the same from node 1.\n",
                   "file stream node0 len0 fnv0 len1 fnv1"),
}


def main():
    with open(os.path.join(CORPUS, "MANIFEST.tsv"), encoding="utf-8") as fh:
        files = [l.split("\t")[0] for l in fh.read().splitlines()[1:] if l.strip()]
    tables = {k: [] for k in DOCS}
    for rel in files:
        path = os.path.join(CORPUS, rel)
        conv = conversations(path, rel)
        tables["conversations.tsv"] += conv
        tables["streams.tsv"].append(streams(path, rel))
        a = analysis(path, rel)
        if a is not None:
            tables["analysis.tsv"].append(a)
        tables["follow.tsv"] += [follow(path, rel, int(r[1])) for r in conv]
    os.makedirs(OUT, exist_ok=True)
    for name, (doc, cols) in DOCS.items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as fh:
            fh.write(HEADER + doc + "\t".join(cols.split()) + "\n")
            for row in tables[name]:
                fh.write("\t".join(row) + "\n")
        print(f"{name}: {len(tables[name])} rows")


if __name__ == "__main__":
    main()

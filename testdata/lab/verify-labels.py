#!/usr/bin/env python3
"""Mechanical checks of testdata/captures/labels.tsv against the captures.

For every row: the ids are in the tool's documented vocabulary (the step
and cause ids that docs/json-schema.md lists; a test of the crate checks
that document against the code), the file exists, the stream index exists in tshark's
dissection, and every evidence frame exists and belongs to that stream (ICMP
errors quoting the connection are accepted too). The meaning of each label
is checked by reading the row's checked_with command output; this script
only catches slips.

    python3 testdata/lab/verify-labels.py
"""
import csv
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CAPS = os.path.join(ROOT, "testdata", "captures")
SCHEMA = os.path.join(ROOT, "docs", "json-schema.md")

COLUMNS = ("file stream scenario what_was_done outcome last_step failed_step "
           "ended_by cause evidence_frames client_error checked_with "
           "max_failure_confidence").split()
OUTCOMES = {"established", "failed", "incomplete", "benign", "not_rdp",
            "not_made"}
CONFIDENCES = {"none", "low", "medium", "high"}
ENDINGS = {"refused", "timeout", "reset_by_client", "reset_by_server",
           "reset_by_middlebox", "closed_by_client", "closed_by_server",
           "negotiation_failure", "tls_alert", "icmp_error", "capture_ended"}


def vocabulary():
    """(step ids, cause ids) from docs/json-schema.md: the "Steps" section
    and the Cause table's `id` row."""
    doc = open(SCHEMA, encoding="utf-8").read()
    steps_part = doc.split("### Steps", 1)[1].split("###", 1)[0]
    steps = set(re.findall(r"`([a-z0-9_]+)`", steps_part))
    cause_part = doc.split("### Cause", 1)[1].split("###", 1)[0]
    id_row = next(l for l in cause_part.splitlines() if l.startswith("| `id` |"))
    causes = set(re.findall(r"`([a-z0-9_]+)`", id_row)) - {"id"}
    return steps, causes


def frames_of(path):
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-e", "frame.number",
         "-e", "tcp.stream", "-e", "icmp.type"],
        capture_output=True, text=True, check=True).stdout
    frames = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if not parts[0]:
            continue
        frames[int(parts[0])] = (parts[1] if len(parts) > 1 else "",
                                 parts[2] if len(parts) > 2 else "")
    return frames


def main():
    steps, causes = vocabulary()
    errors = 0
    cache = {}
    with open(os.path.join(CAPS, "labels.tsv"), encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    if tuple(rows[0]) != tuple(COLUMNS):
        print("bad header:", rows[0])
        return 1
    for n, row in enumerate(rows[1:], start=2):
        def bad(msg):
            nonlocal errors
            errors += 1
            print(f"line {n} ({row[0]} stream {row[1]}): {msg}")
        if len(row) != len(COLUMNS):
            bad(f"{len(row)} columns")
            continue
        rec = dict(zip(COLUMNS, row))
        if rec["outcome"] not in OUTCOMES:
            bad("outcome " + rec["outcome"])
        for col in ("last_step", "failed_step", "cause"):
            allowed = steps if col != "cause" else causes
            if rec[col] != "-" and rec[col] not in allowed:
                bad(f"{col} {rec[col]} not in the vocabulary")
        conf = rec["max_failure_confidence"]
        if conf not in CONFIDENCES:
            bad("max_failure_confidence " + conf)
        elif rec["cause"] == "-" and conf != "none":
            bad("a row without a failure cause has max_failure_confidence " + conf)
        elif rec["outcome"] == "failed" and conf == "none":
            bad("a failed row with max_failure_confidence none")
        if rec["outcome"] in ("benign", "incomplete") and rec["cause"] != "-":
            bad(f"{rec['outcome']} row with cause {rec['cause']}")
        if rec["ended_by"] != "-" and rec["ended_by"] not in ENDINGS:
            bad("ended_by " + rec["ended_by"])
        if rec["outcome"] == "not_made":
            continue
        path = os.path.join(CAPS, rec["file"])
        if not os.path.exists(path):
            bad("missing file")
            continue
        if path not in cache:
            cache[path] = frames_of(path)
        frames = cache[path]
        streams = {s for s, _ in frames.values()}
        if rec["stream"] not in streams:
            bad("no such tcp.stream")
        for f in rec["evidence_frames"].split(","):
            if f == "-":
                continue
            num = int(f)
            if num not in frames:
                bad(f"no frame {num}")
                continue
            stream, icmp = frames[num]
            if stream != rec["stream"] and not icmp:
                bad(f"frame {num} is in stream {stream}")
    print(f"{len(rows) - 1} rows, {errors} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

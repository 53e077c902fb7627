#!/usr/bin/env python3
"""Summarise the logs fuzz/run.sh writes, one line per run: target, code
commit, UTC start, wall minutes, executions, edge coverage after loading
the corpus and at the end, NEW inputs (those in the last quarter of the
executions), peak RSS, exit code, and CRASH when libFuzzer reported one.
These are the figures of the tables in fuzz/README.md.

    python3 fuzz/summarize.py [LOG...]     (default: fuzz/logs/*.log)
"""
import datetime
import glob
import os
import re
import sys


def when(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def summarize(path):
    t = open(path, errors="replace").read()
    start = re.search(r"^start (\S+) commit (\S+) target (\S+)", t, re.M)
    end = re.search(r"^exit (\d+) end (\S+)", t, re.M)
    execs = re.search(r"stat::number_of_executed_units: (\d+)", t)
    rss = re.search(r"stat::peak_rss_mb:\s+(\d+)", t)
    inited = re.search(r"INITED cov: (\d+)", t)
    covs = re.findall(r"^#\d+\s+\w+\s+cov: (\d+)", t, re.M)
    news = [int(n) for n in re.findall(r"^#(\d+)\s+NEW\s", t, re.M)]
    total = int(execs.group(1)) if execs else (news[-1] if news else 0)
    last_quarter = sum(1 for n in news if n > 0.75 * total)
    minutes = (
        f"{(when(end.group(2)) - when(start.group(1))).total_seconds() / 60:.1f}"
        if start and end
        else "running"
    )
    crash = re.search(r"deadly signal|ERROR: libFuzzer|Test unit written", t)
    return " ".join(
        [
            start.group(3) if start else os.path.basename(path),
            start.group(2) if start else "?",
            start.group(1)[11:16] if start else "?",
            f"minutes={minutes}",
            f"executions={total:,}",
            f"cov={inited.group(1) if inited else '?'}->{covs[-1] if covs else '?'}",
            f"new={len(news)}({last_quarter})",
            f"rss_mb={rss.group(1) if rss else '?'}",
            f"exit={end.group(1) if end else '-'}",
            "CRASH" if crash else "",
        ]
    ).rstrip()


def main():
    paths = sys.argv[1:] or sorted(
        glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "logs", "*.log"))
    )
    for p in paths:
        print(summarize(p))


if __name__ == "__main__":
    main()

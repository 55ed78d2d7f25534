"""Python feedparser on the same feed files gazette's ingest bench parses (the comparison
column of BENCHMARKS.md). Usage: python feedparser_bench.py ROUNDS FILE...
Prints one JSON line: feeds, entries, seconds, peak RSS in KiB."""
import json
import resource
import sys
import time

import feedparser

rounds = int(sys.argv[1])
blobs = [open(p, "rb").read() for p in sys.argv[2:]]
start = time.perf_counter()
entries = 0
for _ in range(rounds):
    for b in blobs:
        entries += len(feedparser.parse(b).entries)
secs = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"feeds": len(blobs) * rounds, "entries": entries, "seconds": secs, "peak_kib": peak}))

"""Counts the entries Python feedparser finds in each fixture feed, for gazette's ingest test
(tests/it/corpus.rs) and BENCHMARKS.md. An entry repeated within a feed (same id) counts once;
an empty element (`<item />`: no title, link, id, summary or content) is not an entry; JSON
Feeds are left out (feedparser does not read them).

    python3 tests/tools/feedparser_counts.py ../shared/fixtures/feeds/real > tests/data/feedparser-counts.tsv

Needs feedparser (pip install feedparser==6.0.14). Prints `file<TAB>entries<TAB>bozo` rows.
"""
import os
import sys

import feedparser


def count(path):
    d = feedparser.parse(path)
    seen = set()
    n = 0
    for e in d.entries:
        if not any(e.get(k) for k in ("title", "link", "id", "summary", "content")):
            continue
        key = e.get("id") or None
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        n += 1
    return n, int(bool(d.bozo))


def main():
    folder = sys.argv[1]
    print("file\tentries\tbozo")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            continue
        n, bozo = count(os.path.join(folder, name))
        print(f"{name}\t{n}\t{bozo}")


if __name__ == "__main__":
    main()

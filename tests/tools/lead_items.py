#!/usr/bin/env python3
"""Scores a lead extractor on the labelled feed items with the shared scorer.

The labels (tests/data/lead-items.json and its README) name items of the captured feeds in
../shared/fixtures/feeds/real by file, 0-based index and title prefix, and give the true lead as
two anchors in the fragment's text. This script writes each item's fragment (feedparser 6's
content, else its summary, as the labeller read them; JSON Feed items with `json`) to a folder
as <id>.html, and a ground truth beside them in the shape of shared/fixtures/articles
(id, set, html, lead, lead2, lang, flag, forbidden), then runs shared/tools/lead_eval.py on it:

    PY=/work/pyvenv/bin/python     # Python with feedparser (and trafilatura for the baseline)
    $PY tests/tools/lead_items.py tests/data/lead-items.json \
        --cmd 'target/release/gazette summarize --json {html}'
    $PY tests/tools/lead_items.py tests/data/lead-items.json \
        --cmd "$PY benches/trafilatura_lead.py {html}"

Options after the labels file: --dir DIR (where fragments and ground-truth.json go; default a
temporary folder), --fixtures DIR (default ../shared/fixtures or $GAZETTE_FIXTURES), and any
other arguments are passed on to lead_eval.py (--show-misses N, --out FILE, --jobs N ...).
With no --cmd it only writes the folder. Exit 1 when an item or anchor cannot be found.
"""
import argparse
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[2]
_TAG = re.compile(r"<[^>]*>", re.S)
_WS = re.compile(r"\s+")


def fixtures_dir(arg):
    if arg:
        return Path(arg)
    return Path(os.environ.get("GAZETTE_FIXTURES", ROOT.parent / "shared" / "fixtures"))


def text_of(fragment: str) -> str:
    """The labels' TEXT: tags removed, entities decoded (twice if double-escaped), whitespace
    collapsed."""
    t = html.unescape(_TAG.sub("", fragment))
    if re.search(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);", t) or _TAG.search(t):
        t = html.unescape(_TAG.sub("", t))
    return _WS.sub(" ", t.replace("\u00a0", " ")).strip()


def tokens(text: str) -> str:
    """Lowercase words joined by spaces, as the scorer compares forbidden strings."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


_CACHE = {}


def parsed(path: Path, how: str):
    """Each feed file is parsed once per way (json, feedparser, ElementTree)."""
    key = (path, how)
    if key not in _CACHE:
        if how == "json":
            _CACHE[key] = json.loads(path.read_text(encoding="utf-8"))
        elif how == "feedparser":
            _CACHE[key] = feedparser.parse(str(path))
        else:
            try:
                _CACHE[key] = ET.parse(path).getroot()
            except ET.ParseError:
                _CACHE[key] = None
    return _CACHE[key]


def entry_fragment(path: Path, index: int, source: str):
    """(title, fragment) of the item, fragment per the labels' `source`."""
    if path.suffix == ".json":
        feed = parsed(path, "json")
        item = feed["items"][index]
        title = item.get("title") or ""
        if source == "content":
            frag = item.get("content_html") or item.get("content_text") or ""
        else:
            frag = item.get("summary") or ""
        return title, frag
    entry = parsed(path, "feedparser").entries[index]
    title = entry.get("title", "")
    raw = rss_item_field(path, index, source)
    if raw is not None:
        return title, raw
    if source == "content":
        frag = next((c.value for c in entry.get("content", []) if c.value and c.value.strip()), "")
    else:
        frag = entry.get("summary", "")
    return title, frag


def rss_item_field(path: Path, index: int, source: str):
    """An RSS item's own <content:encoded> or <description>, read with ElementTree: feedparser
    files an RSS <description> under `content` when the item also has a <media:description>
    (which it then calls the summary). None for Atom, RDF without items or XML that does not
    parse (feedparser's values are used then)."""
    root = parsed(path, "et")
    if root is None or root.tag != "rss":
        return None
    items = root.findall("./channel/item")
    if index >= len(items):
        return None
    tag = "{http://purl.org/rss/1.0/modules/content/}encoded" if source == "content" else "description"
    el = items[index].find(tag)
    return None if el is None else (el.text or "")


def feed_fragments(path: Path):
    """Every item's content, else its summary, in document order (the feed context)."""
    n = len(parsed(path, "json")["items"]) if path.suffix == ".json" \
        else len(parsed(path, "feedparser").entries)
    out = []
    for i in range(n):
        _, content = entry_fragment(path, i, "content")
        if not content.strip():
            _, content = entry_fragment(path, i, "summary")
        out.append(content)
    return out


def build(labels_path: Path, fixtures: Path, out: Path, context: bool = False):
    labels = json.loads(labels_path.read_text(encoding="utf-8"))
    feeds = fixtures / "feeds" / "real"
    out.mkdir(parents=True, exist_ok=True)
    cases, problems = [], []
    for item in labels["items"]:
        cid = f"{item['file']}#{item['index']}"
        title, frag = entry_fragment(feeds / item["file"], item["index"], item["source"])
        title_words = " ".join(text_of(title).split()[:8])
        if not title_words.startswith(" ".join(item["title"].split()[:4])):
            problems.append(f"{cid}: title {title_words!r} is not {item['title']!r}")
        text = text_of(frag)
        start = text.find(item["lead_start"])
        end = text.find(item["lead_end"], start + len(item["lead_start"])) if start >= 0 else -1
        if end < 0:
            end = text.find(item["lead_end"], start) if start >= 0 else -1
        if start < 0 or end < 0:
            problems.append(f"{cid}: anchors not found")
            continue
        lead = text[start:end + len(item["lead_end"])]
        if len(lead.split()) != item["lead_words"]:
            problems.append(f"{cid}: {len(lead.split())} words, labelled {item['lead_words']}")
        forbidden = []
        for f in item.get("forbidden", []):
            if tokens(f) and tokens(f) in tokens(lead):
                # The scorer matches words, so an anchor inside the true lead ("Heartbeats",
                # a heading whose word the lead repeats) would flag the right pick.
                print(f"NOTE {cid}: forbidden anchor {f!r} occurs in the true lead; not checked",
                      file=sys.stderr)
            else:
                forbidden.append(f)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", cid) + ".html"
        (out / name).write_text(frag, encoding="utf-8")
        if context:
            (out / "context").mkdir(exist_ok=True)
            (out / "context" / (name + ".json")).write_text(json.dumps(
                {"title": title, "item": item["index"],
                 "fragments": feed_fragments(feeds / item["file"])}, ensure_ascii=False),
                encoding="utf-8")
        cases.append({"id": cid, "set": "items", "html": name, "url": "", "lead": lead,
                      "lead2": lead, "lang": item.get("lang", ""),
                      "flag": ",".join(c for c in item.get("classes", []) if c != "plain"),
                      "forbidden": forbidden})
    (out / "ground-truth.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1),
                                           encoding="utf-8")
    return cases, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("labels")
    ap.add_argument("--cmd")
    ap.add_argument("--dir", help="folder for fragments and ground-truth.json (default: temporary)")
    ap.add_argument("--fixtures")
    ap.add_argument("--context", action="store_true",
                    help="also write context/<file>.json: the item's title and its feed's fragments")
    args, rest = ap.parse_known_args()
    out = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="lead-items-"))
    cases, problems = build(Path(args.labels), fixtures_dir(args.fixtures), out, args.context)
    for p in problems:
        print("PROBLEM", p, file=sys.stderr)
    print(f"{len(cases)} items written to {out}", file=sys.stderr)
    if problems:
        sys.exit(1)
    if not args.cmd:
        return
    scorer = ROOT.parent / "shared" / "tools" / "lead_eval.py"
    cmd = [sys.executable, str(scorer), "--gt", str(out / "ground-truth.json"), "--cmd", args.cmd,
           "--json-field", "lead", "--cwd", str(ROOT)] + rest
    sys.exit(subprocess.call(cmd))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Scores one lead extractor on every lead set with the shared scorer and prints one table:
the bench articles, Readability's pages (all, and without the pages flagged `ambiguous`), and
the labelled feed items (dev half, and the held-out half when tests/data has it).

    PY=/work/pyvenv/bin/python      # Python with feedparser (and trafilatura for its row)
    $PY tests/tools/lead_report.py --name gazette --cmd 'target/release/gazette summarize --json {html}'
    $PY tests/tools/lead_report.py --name trafilatura --cmd "$PY benches/trafilatura_lead.py {html}"

Each set is run by ../shared/tools/lead_eval.py (--json-field lead, one page at a time); the
feed items through tests/tools/lead_items.py, which writes their fragments first. Per-set
results go to --out DIR (default a temporary folder) as <set>.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("GAZETTE_FIXTURES", ROOT.parent / "shared" / "fixtures")).parent
EVAL = SHARED / "tools" / "lead_eval.py"


def run(args, out: Path, name: str, gt=None, labels=None):
    result = out / f"{name}.json"
    if labels:
        cmd = [sys.executable, str(ROOT / "tests/tools/lead_items.py"), str(labels),
               "--dir", str(out / f"{name}-items"), "--cmd", args.cmd, "--out", str(result)]
    else:
        cmd = [sys.executable, str(EVAL), "--cmd", args.cmd, "--json-field", "lead",
               "--cwd", str(ROOT), "--out", str(result)] + (["--gt", str(gt)] if gt else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(result.read_text(encoding="utf-8"))["rows"]


def line(label, rows):
    n = len(rows)
    hits = sum(r["hit"] for r in rows)
    forb = sum(bool(r["forbidden"]) for r in rows)
    empty = sum(r["status"] == "empty" for r in rows)
    f1 = sum(r["f1"] for r in rows) / max(n, 1)
    print(f"| {label} | {n} | {f1:.3f} | {hits / max(n, 1):.3f} ({hits}/{n}) | {forb} | {empty} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmd", required=True)
    ap.add_argument("--name", default="")
    ap.add_argument("--out", help="folder for the per-set results")
    args = ap.parse_args()
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="lead-report-"))
    out.mkdir(parents=True, exist_ok=True)
    fixtures = SHARED / "fixtures"
    print(f"{args.name}: {args.cmd}  (results in {out})")
    print("| set | n | mean F1 | hit rate | forbidden picks | empty |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = run(args, out, "articles")
    line("articles (bench set)", rows)
    rows = run(args, out, "readability", gt=fixtures / "articles-readability/ground-truth.json")
    line("articles-readability, all", rows)
    line("articles-readability, not ambiguous", [r for r in rows if r["flag"] != "ambiguous"])
    for name, path in [("items-dev", ROOT / "tests/data/lead-items.json"),
                       ("items-heldout", ROOT / "tests/data/lead-items-heldout.json")]:
        if path.is_file():
            line(f"feed items, {name[6:]} half", run(args, out, name, labels=path))


if __name__ == "__main__":
    main()

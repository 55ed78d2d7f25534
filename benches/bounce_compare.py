"""gazette's bounce classifier against flufl.bounce 6.0.0 (GNU Mailman's detector) on the
labelled corpus, in one run, with the same split and measures as tests/it/bounces.rs.

    python3 -m venv /tmp/flufl && /tmp/flufl/bin/pip install flufl.bounce==6.0.0
    cargo build --release
    /tmp/flufl/bin/python benches/bounce_compare.py [--gazette target/release/gazette]

Measures per part (tuning, held-aside, all): recipient right for hard+soft bounces (exactly the
labelled address: gazette's one recipient; flufl's set of failures must be exactly that address),
hard/soft right (flufl: permanent failures found = hard, only temporary = soft, none = missed),
complaints recognised (flufl has no ARF support), false bounces among autoreply/other messages.
"""

import argparse
import email
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from flufl.bounce import all_failures

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("GAZETTE_FIXTURES", ROOT.parent / "shared" / "fixtures"))


def held_aside(label):
    mta = label.get("mta") or ""
    key = mta if mta.startswith(("lhost-", "rhost-")) else label["file"]
    return hashlib.sha256(key.encode()).digest()[0] % 3 == 0


def flufl(raw):
    msg = email.message_from_bytes(raw)
    temp, perm = all_failures(msg)  # (temporary, permanent)
    dec = lambda s: {a.decode("utf-8", "replace").lower() if isinstance(a, bytes) else str(a).lower() for a in s}
    perm, temp = dec(perm), dec(temp)
    kind = "hard" if perm else "soft" if temp else "other"
    found = perm | temp
    return {"kind": kind, "recipients": found}


def gazette(binary, files):
    out = subprocess.run(
        [binary, "bounces", "process", "--dry-run", "--json", *map(str, files)],
        check=True, capture_output=True,
    )
    rows = json.loads(out.stdout)
    return {Path(r["file"]).name: {"kind": r["kind"], "recipients": {r["recipient"]} if r["recipient"] else set()} for r in rows}


def score(labels, results):
    s = dict(bounces=0, recipient=0, kind=0, complaints=0, complaints_seen=0, non_bounces=0, false_bounces=0)
    for l in labels:
        r = results[l["file"]]
        if l["kind"] in ("hard", "soft"):
            s["bounces"] += 1
            s["recipient"] += r["recipients"] == {l["recipient"]}
            s["kind"] += r["kind"] == l["kind"]
        elif l["kind"] == "complaint":
            s["complaints"] += 1
            s["complaints_seen"] += r["kind"] == "complaint"
        else:
            s["non_bounces"] += 1
            s["false_bounces"] += r["kind"] in ("hard", "soft")
    return s


def line(name, tool, s):
    b = s["bounces"] or 1
    return (f"| {name} | {tool} | {s['recipient']}/{s['bounces']} ({s['recipient']/b:.1%}) "
            f"| {s['kind']}/{s['bounces']} ({s['kind']/b:.1%}) | {s['complaints_seen']}/{s['complaints']} "
            f"| {s['false_bounces']}/{s['non_bounces']} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gazette", default=str(ROOT / "target" / "release" / "gazette"))
    args = ap.parse_args()
    corpus = FIXTURES / "bounces"
    labels = json.loads((corpus / "labels.json").read_text())
    files = [corpus / "eml" / l["file"] for l in labels]
    raws = {f.name: f.read_bytes() for f in files}

    t0 = time.perf_counter()
    ours = gazette(args.gazette, files)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = {}
    for name, raw in raws.items():
        try:
            theirs[name] = flufl(raw)
        except Exception as e:  # a crash is a miss, not an abort
            print(f"flufl.bounce failed on {name}: {e}", file=sys.stderr)
            theirs[name] = {"kind": "other", "recipients": set()}
    t_theirs = time.perf_counter() - t0

    parts = [
        ("tuning", [l for l in labels if not held_aside(l)]),
        ("held-aside", [l for l in labels if held_aside(l)]),
        ("all", labels),
    ]
    print("| part | tool | recipient (hard+soft) | hard/soft | complaints | false bounces |")
    print("|---|---|---|---|---|---|")
    for name, part in parts:
        print(line(name, "gazette", score(part, ours)))
        print(line(name, "flufl.bounce 6.0.0", score(part, theirs)))
    print(f"\nwall time, {len(files)} messages: gazette {t_ours*1000:.0f} ms (one process, "
          f"start-up included), flufl.bounce {t_theirs*1000:.0f} ms (in process)")


if __name__ == "__main__":
    main()

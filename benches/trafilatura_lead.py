"""The comparison column of BENCHMARKS.md: trafilatura's article text, and its first paragraph
that passes the shared lead rule (../shared/tools/leadrule.py). Prints {"lead": ...} for
lead_eval.py. Usage: python trafilatura_lead.py PAGE.html"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "shared", "tools"))
import trafilatura  # noqa: E402
from leadrule import lead_paragraphs  # noqa: E402

html = open(sys.argv[1], encoding="utf-8", errors="replace").read()
text = trafilatura.extract(html) or ""
lead = lead_paragraphs(text, 1)
print(json.dumps({"lead": lead[0] if lead else ""}))

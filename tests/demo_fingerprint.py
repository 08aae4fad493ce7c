"""The demo data reduced to what must never change by accident: every file's bytes and the review story.

`python -m tests.demo_fingerprint` rewrites tests/fixtures/demo/fingerprint.json; run it only when the
demo data is meant to change, and say so in the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from worktrack.plan import load_plan
from worktrack.stable_zip import stable_zip
from worktrack.store import Store

ROOT = Path(__file__).resolve().parents[1]
FINGERPRINT = ROOT / "tests" / "fixtures" / "demo" / "fingerprint.json"
# (plan file, files through, reviews through, story)
CASES = [
    ("targets.yaml", "2023-12", "2023-10", True),
    ("targets.yaml", "2023-12", None, False),
    ("examples/qingshuiwan-2024/targets.yaml", "2024-12", None, True),
]


def file_digest(path: Path) -> str:
    """sha256 of a demo file's bytes; an XLSX first has its zip and core.xml times fixed (openpyxl stamps now)."""
    data = path.read_bytes()
    if path.suffix == ".xlsx":
        data = stable_zip(data, dt.date(2000, 1, 1))
    return hashlib.sha256(data).hexdigest()


def fingerprint(plan_file: str, files_through: str, reviews_through: str | None, story: bool, work: Path) -> dict:
    """Every demo file (name, unit, month, received, sender, digest) and, loaded, every upload's review."""
    from worktrack.demo import load_demo, write_demo_files

    plan = load_plan(ROOT / plan_file)
    files = write_demo_files(plan, files_through, work / "files", story=story)
    out = {"plan": plan_file, "story": story, "files": [
        [f.path.name, f.reporting_unit, f.month, f.received_at.isoformat(), f.submitted_by, file_digest(f.path)]
        for f in files]}
    if reviews_through:
        store = Store(work / "demo.duckdb")
        load_demo(plan, store, reviews_through, work / "loaded", story=story)
        reviews = store.reviewed_uploads()
        out["reviews"] = [[r.file_name, r.reporting_unit, r.month, int(r.version), r.state, r.review_state,
                           r.review_reason, r.reviewed_by or ""] for r in reviews.itertuples()]
    return out


def render(fingerprints: list[dict]) -> str:
    """JSON with one file or review per line, so a change shows as a readable diff."""
    lines = ["["]
    for n, case in enumerate(fingerprints):
        lines.append(f' {{"plan": {json.dumps(case["plan"])}, "story": {json.dumps(case["story"])},')
        for key in ("files", "reviews"):
            if key in case:
                rows = ",\n".join(f"  {json.dumps(row, ensure_ascii=False)}" for row in case[key])
                lines.append(f' "{key}": [\n{rows}\n ]' + ("," if key == "files" and "reviews" in case else ""))
        lines.append(" }" + ("," if n < len(fingerprints) - 1 else ""))
    lines.append("]")
    return "\n".join(lines) + "\n"


def all_fingerprints() -> list[dict]:
    """The fingerprint of every case, each built in its own temporary directory."""
    results = []
    for case in CASES:
        with tempfile.TemporaryDirectory() as work:
            results.append(fingerprint(*case, Path(work)))
    return results


if __name__ == "__main__":
    FINGERPRINT.write_text(render(all_fingerprints()), encoding="utf-8")
    sys.stdout.write(f"wrote {FINGERPRINT}\n")

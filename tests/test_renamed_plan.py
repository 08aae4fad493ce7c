"""No id of any plan in code: the shipped plan with every metric and item id renamed shows the same screens.

The renamed copy is the same document with other ids; both get the same figures generated from the plan
alone (the demo story is written for the shipped ids, so it is left out of both). Every page, the deck and
the three packs must then say the same things.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.apptest import dashboard
from tests.conftest import PLAN_PATH
from worktrack.auth import User
from worktrack.plan import load_plan
from worktrack.progress import status_from_store
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]

LEADER = User("lead", "王领导", "leader")
AS_OF = "2023-09"


def renamed_text(text: str, plan) -> str:
    """The plan file with each metric id m -> renamed_m_<n> and each item or group id -> R<n>-<id>."""
    ids = {m: f"renamed_m_{i}" for i, m in enumerate(plan.metrics)}
    nodes = [*plan.items, *(g.id for s in plan.sections for g in s.groups), *(s.id for s in plan.sections)]
    ids |= {node: f"R{i}-{node}" for i, node in enumerate(nodes)}
    pattern = re.compile(r"(?<![A-Za-z0-9_-])(" + "|".join(map(re.escape, sorted(ids, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9_-])")
    return pattern.sub(lambda m: ids[m.group(1)], text)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from worktrack.demo import load_demo

    root = tmp_path_factory.mktemp("renamed")
    original = load_plan(PLAN_PATH)
    renamed_path = root / "targets.yaml"
    renamed_path.write_text(renamed_text(PLAN_PATH.read_text(encoding="utf-8"), original), encoding="utf-8")
    story = root / "demo" / Path(original.demo_story).name  # the plan names its story by a relative path
    story.parent.mkdir()
    story.write_text(renamed_text(Path(original.demo_story).read_text(encoding="utf-8"), original), encoding="utf-8")
    renamed = load_plan(renamed_path)
    assert not set(renamed.metrics) & set(original.metrics) and not set(renamed.items) & set(original.items)
    out = {}
    for name, plan, path in (("original", original, PLAN_PATH), ("renamed", renamed, renamed_path)):
        db = root / f"{name}_demo.duckdb"
        load_demo(plan, Store(db), "2023-10", root / f"{name}-samples", story=False)
        out[name] = (plan, path, db)
    return out


def screen(at) -> dict:
    return {
        "metrics": [(m.label, m.value) for m in at.metric],
        "markdown": [m.value for m in at.markdown],
        "captions": [c.value for c in at.caption],
        "html": [h.proto.body for h in at.get("html")],
        "warnings": [w.value for w in at.warning],
        "tables": [df.value.to_csv() for df in at.dataframe],
        "iframes": [re.sub(r'data-key="[^"]*"', "", f.proto.srcdoc) for f in at.get("iframe")],
    }


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_says_the_same_under_other_ids(both, accounts, monkeypatch, page, lang):
    seen = {}
    for name, (_plan, path, db) in both.items():
        monkeypatch.setenv("WORKTRACK_DB", str(db))
        monkeypatch.setenv("WORKTRACK_PLAN", str(path))
        at = dashboard(LEADER, page, lang, as_of=AS_OF)
        assert not at.exception
        seen[name] = screen(at)
    assert seen["renamed"]["metrics"] == seen["original"]["metrics"]
    assert seen["renamed"]["metrics"] or page != "pages/overview.py"
    assert any(seen["renamed"][part] for part in ("markdown", "html", "tables", "iframes"))
    for part in ("markdown", "captions", "html", "warnings", "tables", "iframes"):
        assert seen["renamed"][part] == seen["original"][part], part


def test_the_deck_and_packs_say_the_same_under_other_ids(both):
    from openpyxl import load_workbook

    from worktrack import export

    built = {}
    for name, (plan, _, db) in both.items():
        report = status_from_store(plan, Store(db), AS_OF)
        deck = export.slide_deck(plan, report)
        book = load_workbook(io.BytesIO(export.xlsx_bytes(plan, report, Store(db).facts(through=AS_OF))))
        # the 明细 sheet lists the template's own codes (编号), which are the ids a unit types: leave it out
        cells = [[c.value for c in row] for ws in book.worksheets if ws.title != "明细" for row in ws.iter_rows()]
        built[name] = ([(s.kind, s.title, s.subtitle, s.bullets, s.table.rows if s.table else None, s.notes,
                         [(c.name, c.value, c.status_label) for c in s.cards]) for s in deck], cells,
                       export.deck_html(plan, report, slides=deck))
    assert built["renamed"][0] == built["original"][0]
    assert built["renamed"][1] == built["original"][1]
    assert re.sub(r'data-key="[^"]*"', "", built["renamed"][2]) == re.sub(r'data-key="[^"]*"', "",
                                                                          built["original"][2])

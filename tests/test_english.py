"""The English UI and the English pack are wholly English: the only Chinese left is the plan's own text.

Every page, the meeting deck and the three packs are rendered in English on the demo data; any CJK
character that does not come from the plan's text (item titles and text, unit names, quotes, the
document's numbering) or from what a unit typed (task notes) fails the test.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from google.protobuf.json_format import MessageToDict

from tests.apptest import dashboard
from worktrack.auth import User
from worktrack.progress import status_from_store
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
LEADER = User("lead", "王领导", "leader")
ADMIN = User("admin1", "李管理", "admin")
AS_OF = "2023-09"


def plan_text(plan, demo_db) -> list[str]:
    """Everything Chinese that legitimately stays Chinese: the plan's own words and the units' notes."""
    words = {plan.title, *plan.issuers, plan.source}
    for unit in plan.units:
        words |= {unit.name, *unit.aliases}
    for section in plan.sections:
        words |= {section.number, section.title, f"{section.number}、"}
        for group in section.groups:
            words |= {group.number, group.title, group.text or "", group.lead}
    for item in plan.items.values():
        words |= {item.number, item.title, item.text, item.lead, *item.responsible, item.deadline_text,
                  *item.communities, *(task for _, task in item.assignments)}
    for target in plan.targets:
        words.add(target.source_quote)
        words |= {reason for _, _, reason in target.history}
    for item in plan.items.values():
        if item.carry_over:
            words |= {item.carry_over[2], item.carry_over[3]}
    facts = Store(demo_db).facts()
    words |= {n for n in facts["note"].dropna() if n}
    words |= {u for u in Store(demo_db).uploads()["submitted_by"].dropna()}
    words.add("王领导")  # the signed-in user's display name (from the users file)
    words.add("李管理")
    words.add("中文")  # the language switch names each language in its own words
    return sorted((w for w in words if w), key=len, reverse=True)


def foreign(text: str, allowed: list[str]) -> list[str]:
    for word in allowed:
        text = text.replace(word, " ")
    return CJK.findall(text)


def app_text(at) -> str:
    """Every string the pages put on screen (element protos, table cells, chart specs)."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(json.dumps(MessageToDict(proto), ensure_ascii=False))
        value = getattr(node, "value", None)
        if hasattr(value, "to_string"):
            parts.append(value.to_string())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py"])
def test_every_page_in_english_has_no_chinese_but_the_plans(demo_env, plan, accounts, page):
    at = dashboard(LEADER, page, "en", as_of=AS_OF)
    leftovers = foreign(app_text(at), plan_text(plan, demo_env))
    assert not leftovers, sorted(set(leftovers))[:40]


def test_english_deck_and_packs_have_no_chinese_but_the_plans(plan, demo_db):
    from worktrack import export

    report = status_from_store(plan, Store(demo_db), AS_OF)
    allowed = plan_text(plan, demo_db)
    deck = export.slide_deck(plan, report, lang="en")
    for slide in deck:
        blob = json.dumps([slide.title, slide.subtitle, slide.notes, list(slide.bullets),
                           [list(r) for r in (slide.table.rows if slide.table else [])],
                           list(slide.table.columns) if slide.table else [],
                           [vars(c) for c in slide.cards],
                           [[c.title, list(c.categories), [s.name for s in c.series]] for c in slide.charts]],
                          ensure_ascii=False, default=str)
        assert not foreign(blob, allowed), (slide.key, sorted(set(foreign(blob, allowed))))
    pptx = export.pptx_bytes(plan, report, lang="en", slides=deck)
    with zipfile.ZipFile(io.BytesIO(pptx)) as archive:
        xml = " ".join(archive.read(n).decode() for n in archive.namelist()
                       if n.startswith(("ppt/slides/", "ppt/notesSlides/", "ppt/charts/")) and n.endswith(".xml"))
    text = " ".join(re.findall(r"<a:t>([^<]*)</a:t>", xml) + re.findall(r"<c:v>([^<]*)</c:v>", xml))
    import html
    assert not foreign(html.unescape(text), allowed), sorted(set(foreign(html.unescape(text), allowed)))
    xlsx = export.xlsx_bytes(plan, report, Store(demo_db).facts(through=AS_OF), lang="en")
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(xlsx))
    cells = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row
                     if c.value is not None and not isinstance(c.value, (int, float)))
    cells += " ".join(ws.title for ws in book.worksheets)
    assert not foreign(cells, allowed), sorted(set(foreign(cells, allowed)))[:40]
    page = export.deck_html(plan, report, lang="en", slides=deck)
    assert not foreign(re.sub(r"<[^>]+>", " ", page), allowed)


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    from tests.conftest import ROOT
    from worktrack.demo import load_demo
    from worktrack.plan import load_plan

    plan = load_plan(ROOT / "examples" / "qingshuiwan-2024" / "targets.yaml")
    root = tmp_path_factory.mktemp("example-en")
    path = root / "example_demo.duckdb"
    load_demo(plan, Store(path), "2024-09", root / "samples")
    return plan, path


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py"])
def test_the_example_plan_in_english_has_no_chinese_but_the_plans(example_db, accounts, monkeypatch, page):
    plan, path = example_db
    monkeypatch.setenv("WORKTRACK_DB", str(path))
    monkeypatch.setenv("WORKTRACK_PLAN", plan.path)
    at = dashboard(LEADER, page, "en", as_of="2024-09")
    leftovers = foreign(app_text(at), plan_text(plan, path))
    assert not leftovers, sorted(set(leftovers))[:40]

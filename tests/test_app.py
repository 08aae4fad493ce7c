"""Every page runs under AppTest, from the entry file, against a temporary database."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

ENTRY = str(ROOT / "dashboard.py")


def run_page(page: str, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    if lang:
        at.session_state["lang"] = lang
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def test_plan_page_runs_in_chinese(db_path):
    at = run_page("pages/plan.py")
    assert not at.exception
    assert at.title[0].value == "工作要点与目标"
    headers = [h.value for h in at.header]
    assert "一、基本民生保障兜牢兜准" in headers
    assert len(at.expander) == 31
    warnings = " ".join(w.value for w in at.warning)
    assert "36" in warnings and "35" in warnings


def test_plan_page_runs_in_english(db_path):
    at = run_page("pages/plan.py", lang="en")
    assert not at.exception
    assert at.title[0].value == "Work plan and targets"

"""Security settings and habits that must not drift: server config, no HTML from data, no forged identities."""

from __future__ import annotations

import ast
import tomllib

import pytest

from tests.apptest import dashboard, table_text
from tests.conftest import ROOT
from tests.test_upload import GOOD, filled
from worktrack.auth import User
from worktrack.intake import MAX_UPLOAD_BYTES, read_report
from worktrack.store import Store
from worktrack.submission import submit_upload

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
UI_SOURCES = [ROOT / "dashboard.py", ROOT / "app_support.py", *sorted((ROOT / "pages").glob("*.py"))]


def test_xsrf_protection_is_on():
    assert CONFIG["server"]["enableXsrfProtection"] is True


def test_upload_size_limit_matches_intake():
    assert CONFIG["server"]["maxUploadSize"] == 5
    assert MAX_UPLOAD_BYTES == CONFIG["server"]["maxUploadSize"] * 1024 * 1024


def test_error_details_are_never_shown_to_users():
    assert CONFIG["client"]["showErrorDetails"] == "none"


def _constant_css(node: ast.expr, module: ast.Module) -> bool:
    """True if `node` is a string literal (or a module-level name bound to one) holding only a <style> block."""
    if isinstance(node, ast.Name):
        bound = [a.value for a in module.body if isinstance(a, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == node.id for t in a.targets)]
        if len(bound) != 1:
            return False
        node = bound[0]
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False  # f-strings, concatenation, calls: data could get in
    text = node.value.strip()
    return text.startswith("<style>") and text.endswith("</style>") and text.count("<") == 2


def _html_calls(path):
    module = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(module):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "unsafe_allow_html" and not (
                        isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                    yield module, node


@pytest.mark.parametrize("path", UI_SOURCES, ids=lambda p: p.name)
def test_html_is_only_ever_constant_css(path):
    for module, call in _html_calls(path):
        assert call.args and _constant_css(call.args[0], module), (
            f"{path.name}:{call.lineno} passes unsafe_allow_html with something other than a constant <style> block")


def test_the_html_check_catches_data():
    bad = ast.parse('st.markdown(f"<b>{note}</b>", unsafe_allow_html=True)\nCSS = "<style>a{}</style>"\n'
                    'st.markdown(CSS + note, unsafe_allow_html=True)\n')
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call) and n.keywords]
    assert not any(_constant_css(c.args[0], bad) for c in calls)


NOTE = '[点我](javascript:alert(1)) <img src=x onerror="alert(1)"> **粗体** =HYPERLINK("http://x")'


def test_notes_are_shown_as_text_never_as_markdown(db_path, accounts, plan):
    raw = filled(plan, "天剑社区", "2023-06", {**GOOD, ("T2-6-3", ""): "受阻"}, notes={("T2-6-3", ""): NOTE})
    report = read_report(raw, "note.csv", plan)
    assert report.ok, report.errors
    result = Store(db_path).submit(report, raw, submitted_by="tianjian")
    Store(db_path).review(result.upload_id, "approved", actor="reviewer")  # leaders see approved reports
    for page in ("pages/overview.py", "pages/plan.py", "pages/community.py"):
        at = dashboard(accounts["leader"], page, unit_filter="天剑社区", community_choice="天剑社区",
                       as_of="2023-06")
        for kind in ("markdown", "caption", "title", "header", "subheader", "success", "info", "warning", "error"):
            for element in getattr(at, kind):
                assert "javascript:" not in str(element.value) and "onerror" not in str(element.value), (page, kind)
    assert NOTE in table_text(at)  # the community page lists the task with its note, as text


def test_a_community_cannot_write_another_communitys_figures_even_past_the_page(db_path, plan, accounts):
    data = filled(plan, "夏家冲社区", "2023-06", GOOD)
    report = read_report(data, "x.csv", plan)  # read without the uploader check, as a forged request would
    assert report.ok
    result = submit_upload(Store(db_path), accounts["tianjian"], report, data, confirm=True)
    assert result.status == "rejected" and "夏家冲社区" in result.message
    assert Store(db_path).is_empty()


@pytest.mark.parametrize("forged", [
    User("ghost", "不存在的账号", "admin"),
    User("demo-admin", "管理员（演示）", "admin", demo=True),
])
def test_an_identity_not_backed_by_an_account_is_not_trusted(db_path, accounts, forged):
    at = dashboard(forged)
    assert at.title[0].value == "登录"
    assert "auth_user" not in at.session_state


def test_an_identity_claiming_more_than_its_account_gets_the_account(db_path, accounts):
    promoted = User("tianjian", "天剑社区", "admin")  # the session says admin, the users file says community
    at = dashboard(promoted)
    assert at.session_state["auth_user"].role == "community"
    at.switch_page("pages/admin.py").run()
    assert "只有管理员可以使用管理页面。" in [e.value for e in at.error]

"""Security settings and habits that must not drift: server config, no HTML from data, no forged identities."""

from __future__ import annotations

import ast
import tomllib

import pytest

from tests.apptest import dashboard, table_text, texts
from tests.conftest import ROOT
from tests.test_upload import GOOD, filled
from worktrack.auth import User
from worktrack.intake import MAX_UPLOAD_BYTES, read_report
from worktrack.registers.evidence import MAX_EVIDENCE_BYTES
from worktrack.store import Store
from worktrack.submission import submit_upload

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
UI_SOURCES = [ROOT / "dashboard.py", ROOT / "app_support.py", *sorted((ROOT / "pages").glob("*.py"))]


def test_xsrf_protection_is_on():
    assert CONFIG["server"]["enableXsrfProtection"] is True


def test_upload_size_limit_matches_intake():
    """The upload route's ceiling is the largest widget limit; each uploader states its own limit, the one its
    checks enforce (report and register files 5 MB, register evidence 10 MB)."""
    assert MAX_UPLOAD_BYTES == 5 * 1024 * 1024 and MAX_EVIDENCE_BYTES == 10 * 1024 * 1024
    assert CONFIG["server"]["maxUploadSize"] * 1024 * 1024 == max(MAX_UPLOAD_BYTES, MAX_EVIDENCE_BYTES)
    limits = []
    for source in UI_SOURCES:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "file_uploader":
                given = {k.arg: ast.unparse(k.value) for k in node.keywords}
                limits.append((source.name, given.get("max_upload_size")))
    assert sorted(limits) == [("registers.py", "MAX_EVIDENCE_BYTES // (1024 * 1024)"),
                              ("upload.py", "MAX_UPLOAD_BYTES // (1024 * 1024)"),
                              ("upload.py", "MAX_UPLOAD_BYTES // (1024 * 1024)")]


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


def test_the_dashboard_is_started_without_the_metrics_endpoint():
    # Streamlit has no option to close /_stcore/metrics; scripts/serve.py does (tested against a running
    # server in test_session_browser.py), so every way of starting the dashboard goes through it.
    run = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert "scripts/serve.py" in run and "-m streamlit run" not in run


def test_the_only_script_is_the_session_cookie_writer():
    for path in UI_SOURCES:
        module = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and any(k.arg == "unsafe_allow_javascript" for k in node.keywords):
                assert (path.name, [ast.unparse(a) for a in node.args]) == ("app_support.py", ["script"])


@pytest.mark.parametrize("token", ["x'; fetch('//evil')//", "A" * 32 + "." + "B" * 42 + "'", "<script>"])
def test_the_cookie_writer_refuses_anything_but_a_signed_token(token, monkeypatch):
    import streamlit as st

    import app_support

    monkeypatch.setattr(st, "session_state", {app_support.COOKIE_PENDING: token})
    with pytest.raises(ValueError):
        app_support.session_cookie_script()


# -- what each role reads (the README's table): a community sees other communities' statuses and
# totals, never their task notes


OWN_NOTE = "天剑社区自己的备注-甲"
OTHER_NOTE = "夏家冲社区的内部备注-乙"
PAGES = ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py"]


@pytest.fixture
def two_communities_with_notes(db_path, plan):
    for unit, note, status in (("天剑社区", OWN_NOTE, "受阻"), ("夏家冲社区", OTHER_NOTE, "进行中")):
        data = filled(plan, unit, "2023-06", {**GOOD, ("T2-6-3", ""): status}, notes={("T2-6-3", ""): note})
        report = read_report(data, f"{unit}.csv", plan)
        assert report.ok, report.errors
        result = Store(db_path).submit(report, data, submitted_by="test")
        assert result.accepted
        # reviewed, so that leaders' approved-only figures show it too
        Store(db_path).review(result.upload_id, "approved", actor="reviewer-test")


def everything_on(at) -> str:
    return texts(at) + "\n" + table_text(at)


@pytest.mark.parametrize("page", PAGES)
def test_a_community_never_reads_another_communitys_task_notes(db_path, accounts, two_communities_with_notes, page):
    at = dashboard(accounts["tianjian"], page, as_of="2023-06")
    assert OTHER_NOTE not in everything_on(at)


def test_on_the_plan_page_a_community_reads_its_own_notes_and_everyones_statuses(
        db_path, accounts, two_communities_with_notes):
    at = dashboard(accounts["tianjian"], "pages/plan.py", as_of="2023-06")
    seen = everything_on(at)
    assert OWN_NOTE in seen and OTHER_NOTE not in seen
    statuses = next(f.value for f in at.dataframe if OWN_NOTE in f.value.to_numpy().ravel())
    assert {"天剑社区", "夏家冲社区"} <= set(statuses.iloc[:, 0])  # other units' statuses stay visible
    assert "进行中" in set(statuses.iloc[:, 1]) and "受阻" in set(statuses.iloc[:, 1])


@pytest.mark.parametrize("who", ["leader", "admin"])
def test_leaders_and_admins_read_every_units_notes_on_the_plan_page(db_path, accounts, two_communities_with_notes,
                                                                     who):
    seen = everything_on(dashboard(accounts[who], "pages/plan.py", as_of="2023-06"))
    assert OWN_NOTE in seen and OTHER_NOTE in seen


def test_visible_note_units_by_role(accounts, plan):
    from worktrack.auth import visible_note_units

    names = [u.name for u in plan.units]
    assert visible_note_units(accounts["leader"], names) == set(names)
    assert visible_note_units(accounts["admin"], names) == set(names)
    assert visible_note_units(accounts["tianjian"], names) == {"天剑社区"}
    assert visible_note_units(accounts["office"], names) == {"街道民政办"}
    assert visible_note_units(None, names) == set()
    disabled = User("x", "x", "leader", disabled=True)
    assert visible_note_units(disabled, names) == set()

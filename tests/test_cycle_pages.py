"""AppTest of the monthly cycle's screens: 审核, 报送, the returned reason on 上报, the 含待审核 switch,
closing a month on 管理 — each for the roles that use it and the ones that may not."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.apptest import dashboard, table_text, texts
from tests.test_cycle import on_time, submit
from worktrack.auth import User
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]

REVIEW, REMIND, UPLOAD, ADMIN, OVERVIEW = ("pages/review.py", "pages/remind.py", "pages/upload.py",
                                           "pages/admin.py", "pages/overview.py")
TJ, XJC, OFFICE = "天剑社区", "夏家冲社区", "街道民政办"


@pytest.fixture
def accounts(tmp_path_factory, plan, monkeypatch, entry_script) -> dict[str, User]:
    """The test accounts of tests.apptest plus a reviewer (街道民政办 staff), in a users file of their own."""
    from tests.apptest import ACCOUNTS, FAST_HASHER, PASSWORD
    from worktrack.auth import UserStore

    path = tmp_path_factory.mktemp("cycle_accounts") / "users.yaml"
    store = UserStore(path, hasher=FAST_HASHER)
    for username, role, unit, name in [*ACCOUNTS.values(), ("rev", "reviewer", None, "民政办审核员")]:
        store.add(username, PASSWORD, role, unit, name, plan=plan)
    monkeypatch.setenv("WORKTRACK_USERS", str(path))
    found = {key: store.get(username) for key, (username, *_rest) in ACCOUNTS.items()}
    return found | {"reviewer": store.get("rev")}


@pytest.fixture
def june(db_path, plan, monkeypatch):
    """May approved for 天剑社区 and 夏家冲社区; June filed by both (天剑社区 with a figure far above usual)
    and by the street office, nothing of June reviewed. Today is 2023-07-10."""
    monkeypatch.setenv("WORKTRACK_TODAY", "2023-07-10")
    store = Store(db_path)
    ids = {}
    for unit in (TJ, XJC):
        for month, value in (("2023-04", 2), ("2023-05", 2)):
            result = submit(store, plan, unit, month, {"governance_reports": value}, on_time(month), by="clerk")
            store.review(result.upload_id, "approved", actor="rev0")
    ids[TJ] = submit(store, plan, TJ, "2023-06", {"governance_reports": 30}, on_time("2023-06"),
                     by="tianjian").upload_id
    ids[XJC] = submit(store, plan, XJC, "2023-06", {"governance_reports": 2}, on_time("2023-06"),
                      by="xiajiachong").upload_id
    ids[OFFICE] = submit(store, plan, OFFICE, "2023-06", {"roundtable_meetings": 1}, on_time("2023-06"),
                         by="office").upload_id
    return store, ids


def open_review(user, month="2023-06"):
    at = dashboard(user, REVIEW)
    at.selectbox(key="review_month").select(month).run()
    return at


@pytest.mark.parametrize("role", ["leader", "tianjian"])
def test_review_and_filing_screens_refuse_leaders_and_communities(db_path, accounts, june, role):
    for page, refusal in ((REVIEW, "只有街道民政办审核人员和管理员可以审核月报"),
                          (REMIND, "只有街道民政办审核人员和管理员可以使用报送页面")):
        at = dashboard(accounts[role], page)
        assert refusal in texts(at)
        assert [b.key for b in at.button] == ["logout"]


def test_reviewer_sees_the_month_with_findings_and_approves_the_normal_ones_in_one_action(db_path, accounts, june):
    store, ids = june
    at = open_review(accounts["reviewer"])
    shown = table_text(at)
    assert "待审核" in shown and "超过本单位往月通常水平" in shown and "未见异常" in shown
    # 天剑社区's outlier and the street office's own report (the reviewer's unit) are left out
    button = at.button(key="review_approve_normal")
    assert button.label == "一键通过未见异常的 1 份"
    button.click().run()
    assert "已通过 1 份未见异常的月报。" in texts(at)
    states = store.reviewed_uploads(active_only=True).set_index("upload_id")["review_state"]
    assert (states[ids[XJC]], states[ids[TJ]], states[ids[OFFICE]]) == ("approved", "pending", "pending")
    log = store.audit_log(action="upload.review")
    assert log["actor"].iloc[-1] == "rev"


def test_reviewer_returns_a_report_with_a_reason_and_compares_it_with_last_month(db_path, accounts, june):
    store, ids = june
    at = open_review(accounts["reviewer"])
    at.selectbox(key="review_pick").select(ids[TJ]).run()
    compare = at.dataframe[1].value
    assert list(compare.iloc[:, 1]) == ["2篇"] and list(compare.iloc[:, 2]) == ["30篇"]
    at.button(key="review_return").click().run()
    assert "退回时必须写明原因。" in texts(at)
    at.text_area(key=f"review_reason_{ids[TJ]}").input("基层治理信息 30 篇与报送台账不符，请核对").run()
    at.button(key="review_return").click().run()
    assert f"已退回：{TJ} 2023年6月第 1 版。" in texts(at)
    row = store.reviewed_uploads(active_only=True).set_index("upload_id").loc[ids[TJ]]
    assert (row["review_state"], row["reviewed_by"]) == ("returned", "rev")
    assert "与报送台账不符" in row["review_reason"]


def test_a_reviewer_cannot_review_the_street_offices_own_report(db_path, accounts, june):
    _store, ids = june
    at = open_review(accounts["reviewer"])
    at.selectbox(key="review_pick").select(ids[OFFICE]).run()
    assert "这是本单位的月报，不能由本人审核。" in texts(at)
    assert not [b for b in at.button if b.key in ("review_approve", "review_return")]


def test_admin_approves_one_report(db_path, accounts, june):
    store, ids = june
    at = open_review(accounts["admin"])
    at.selectbox(key="review_pick").select(ids[OFFICE]).run()
    at.button(key="review_approve").click().run()
    assert f"已通过：{OFFICE} 2023年6月第 1 版。" in texts(at)
    assert store.reviewed_uploads(active_only=True).set_index("upload_id").loc[ids[OFFICE], "review_state"] == \
        "approved"


def test_the_unit_sees_the_returned_reason_on_its_upload_page_until_it_refiles(db_path, accounts, june, plan):
    store, ids = june
    store.review(ids[TJ], "returned", actor="rev", reason="基层治理信息篇数与台账不符")
    at = dashboard(accounts["tianjian"], UPLOAD)
    shown = texts(at)
    assert "2023年6月第 1 版月报已被退回（审核人：rev）" in shown and "基层治理信息篇数与台账不符" in shown
    submit(store, plan, TJ, "2023-06", {"governance_reports": 3}, by="tianjian")
    at.run()
    assert "已被退回" not in texts(at)
    # the other unit reads where its own June report stands
    other = dashboard(accounts["xiajiachong"], UPLOAD)
    other.selectbox(key="upload_month").select("2023-06").run()
    assert "2023年6月第 1 版月报已接收，正在等待街道审核。" in texts(other)


def test_filing_screen_lists_each_units_state_and_records_a_copied_reminder(db_path, accounts, june):
    store, ids = june
    store.review(ids[TJ], "returned", actor="rev", reason="请核对")
    at = dashboard(accounts["reviewer"], REMIND)
    at.selectbox(key="remind_month").select("2023-06").run()
    shown = table_text(at)
    for word in ("未报", "已退回未重报", "待审核", "【催报】黄土岭社区"):
        assert word in shown
    codes = [c.value for c in at.code]
    assert any("尚未报送：黄土岭社区、涂新社区、赤岭路社区、狮子山社区" in c for c in codes)
    assert any("2023年7月5日" in c for c in codes)
    at.button(key="remind_copy_group").click().run()
    assert "已复制，并记下了复制时间。" in texts(at)
    log = store.reminder_copies("2023-06")
    assert log["reporting_unit"].tolist() == ["group"] and log["actor"].tolist() == ["rev"]
    at.button(key=f"remind_copy_{TJ}").click().run()
    assert store.reminder_copies("2023-06")["reporting_unit"].tolist() == ["group", TJ]
    assert "微信群" in table_text(at)


def test_leaders_figures_are_approved_only_until_the_switch_includes_pending(db_path, accounts, june):
    at = dashboard(accounts["leader"])
    at.sidebar.selectbox(key="as_of").select("2023-06").run()
    assert "以下数字只含已通过审核的月报。" in texts(at)
    cards = {m.label: m.value for m in at.metric}
    assert "（含待审核）" not in "".join(cards.values())
    at.sidebar.toggle(key="include_pending").set_value(True).run()
    marked = {m.label: m.value for m in at.metric}
    assert any(v.endswith("（含待审核）") for v in marked.values())
    assert "标有“含待审核”的数字可能还会变" in texts(at)


def test_english_review_screen_has_no_chinese_interface_words(db_path, accounts, june):
    at = dashboard(accounts["reviewer"], REVIEW, lang="en")
    at.selectbox(key="review_month").select("2023-06").run()
    assert "Review" in [t.value for t in at.title]
    assert "more than 3 times the unit's usual month" in table_text(at)


def test_admin_closes_a_month_only_when_every_report_is_approved_and_reopens_it(db_path, accounts, june):
    store, ids = june
    at = dashboard(accounts["admin"], ADMIN)
    at.selectbox(key="close_month").select("2023-06").run()
    at.button(key="close_button").click().run()
    shown = texts(at)
    assert "2023年6月还有 3 份月报未通过审核，不能关账" in shown and f"编号 {ids[TJ]}" in shown
    assert not store.is_locked("2023-06")
    store.review_many(list(ids.values()), "approved", actor="admin0")
    at.selectbox(key="close_month").select("2023-06").run()
    at.button(key="close_button").click().run()
    assert "已关账：2023年6月已锁定" in texts(at)
    assert store.is_locked("2023-06") and store.current_close("2023-06")["close_date"] == dt.date(2023, 7, 10)
    at.selectbox(key="close_month").select("2023-06").run()
    at.button(key="reopen_button").click().run()
    assert "重新开放必须写明原因。" in texts(at)
    at.text_input(key="reopen_reason").input("天剑社区更正").run()
    at.button(key="reopen_button").click().run()
    assert "已重新开放 2023年6月。" in texts(at)
    assert not store.is_locked("2023-06")
    assert store.audit_log(action="month.reopen")["actor"].tolist() == ["admin1"]


def test_reviewer_menu_offers_review_and_filing_but_not_upload_or_admin(db_path, accounts, june):
    from app_support import may_open

    assert may_open(accounts["reviewer"], "review") and may_open(accounts["reviewer"], "remind")
    assert not may_open(accounts["reviewer"], "admin")
    assert not may_open(accounts["leader"], "review") and not may_open(accounts["tianjian"], "remind")
    assert may_open(accounts["admin"], "review")


def test_the_meeting_page_presents_a_closed_month_as_frozen_and_builds_the_cli_pack(db_path, accounts, june, plan,
                                                                                     monkeypatch, tmp_path):
    # the bug: the 例会 page showed live figures for a closed month; only `export` used the frozen state
    import subprocess
    import sys

    from worktrack import cycle

    store, ids = june
    store.review_many(list(ids.values()), "approved", actor="admin0")
    assert cycle.close_month(plan, store, "2023-06", actor="admin", today=dt.date(2023, 7, 10)).closed
    monkeypatch.setenv("WORKTRACK_TODAY", "2023-08-20")  # a later day: the pack still carries the close day
    at = dashboard(accounts["leader"], "pages/meeting.py", as_of="2023-06")
    assert "2023年6月已关账" in texts(at) and "2023年7月10日" in texts(at)
    at.button(key="meeting_build_xlsx").click().run()
    page_bytes = at.session_state["meeting_exports"]["xlsx"][1]
    out = tmp_path / "pack.xlsx"
    subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db_path), "export", "--as-of", "2023-06",
                    "--format", "xlsx", "-o", str(out)], check=True, capture_output=True)
    assert page_bytes == out.read_bytes()
    # with the 含待审核 switch the page shows live figures, not the frozen ones
    at.sidebar.toggle(key="include_pending").set_value(True).run()
    assert "已关账" not in texts(at)

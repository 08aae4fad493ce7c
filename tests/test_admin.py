"""管理 page journeys under AppTest: audit log, rollback, month locks, plan check, accounts."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

import app_support
from tests.apptest import dashboard, table_text, texts
from tests.conftest import ROOT
from tests.test_upload import GOOD, filled
from worktrack.intake import read_report
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

ADMIN = "pages/admin.py"


def send(db_path, plan, unit: str, month: str, values: dict, by: str) -> int:
    data = filled(plan, unit, month, values)
    result = Store(db_path).submit(read_report(data, f"{unit}-{month}.csv", plan), data, submitted_by=by)
    assert result.status == "accepted", result.message
    return result.upload_id


@pytest.fixture
def two_versions(db_path, plan):
    """天剑社区 2023-06 in two versions (1 then 3 retrofits) and 夏家冲社区 2023-06 once."""
    first = send(db_path, plan, "天剑社区", "2023-06", GOOD, "tianjian")
    second = send(db_path, plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "3"}, "tianjian")
    other = send(db_path, plan, "夏家冲社区", "2023-06", GOOD, "xiajiachong")
    return first, second, other


def test_the_audit_log_lists_every_write_and_filters(db_path, accounts, two_versions):
    at = dashboard(accounts["admin"], ADMIN)
    assert at.title[0].value == "管理"
    log = at.dataframe[0].value
    assert {"时间", "操作人", "操作", "对象", "详情"} <= set(log.columns)
    assert "接收上报" in set(log["操作"]) and "旧版本被替换" in set(log["操作"])
    total = len(log)

    at.selectbox(key="audit_actor").select("xiajiachong").run()
    assert set(at.dataframe[0].value["操作人"]) == {"xiajiachong"}
    at.selectbox(key="audit_actor").select(None).run()
    at.selectbox(key="audit_action").select("upload.supersede").run()
    assert list(at.dataframe[0].value["操作代码"]) == ["upload.supersede"]
    at.selectbox(key="audit_action").select(None).run()
    today = dt.date.today()
    at.date_input(key="audit_since").set_value(today + dt.timedelta(days=5)).run()
    assert len(at.dataframe[0].value) == 0
    at.date_input(key="audit_since").set_value(None).run()
    at.date_input(key="audit_until").set_value(today - dt.timedelta(days=5)).run()
    assert len(at.dataframe[0].value) == 0
    at.date_input(key="audit_until").set_value(None).run()
    assert len(at.dataframe[0].value) == total
    assert [b for b in at.get("download_button") if b.label == "下载操作日志（CSV）"]


def test_an_admin_rolls_back_an_upload(db_path, accounts, two_versions):
    first, second, _other = two_versions
    at = dashboard(accounts["admin"], include_pending=True)  # nothing here has been reviewed
    at.sidebar.selectbox(key="as_of").select("2023-06").run()
    before = {m.label: m.value for m in at.metric}["适老化改造"]
    at.switch_page(ADMIN).run()
    picker = at.selectbox(key="rollback_pick")
    offered = [label.split(" ")[0] for label in picker.options]
    assert f"#{second}" in offered and f"#{first}" not in offered  # only active versions
    picker.select(second).run()
    at.button(key="rollback_button").click().run()
    assert "确定撤回下面这份上报吗？" in texts(at)
    assert Store(db_path).uploads().set_index("upload_id").loc[second, "state"] == "active"
    at.button(key="rollback_yes").click().run()
    assert not at.exception
    assert "第 1 版恢复为有效版本" in texts(at)

    states = Store(db_path).uploads().set_index("upload_id")["state"]
    assert (states[first], states[second]) == ("active", "rolled_back")
    log = Store(db_path).audit_log(action="upload.rollback")
    assert list(log["actor"]) == ["admin1"] and list(log["target"]) == [f"upload:{second}"]
    at.switch_page("pages/overview.py").run()
    after = {m.label: m.value for m in at.metric}["适老化改造"]
    # 3 + 1 before, 1 + 1 after: the caches were cleared
    assert (before, after) == ("4户（含待审核）", "2户（含待审核）")


def test_cancelling_a_rollback_changes_nothing(db_path, accounts, two_versions):
    _first, second, _other = two_versions
    at = dashboard(accounts["admin"], ADMIN)
    at.selectbox(key="rollback_pick").select(second).run()
    at.button(key="rollback_button").click().run()
    before = Store(db_path).counts()
    at.button(key="rollback_no").click().run()
    assert Store(db_path).counts() == before
    assert "确定撤回下面这份上报吗？" not in texts(at)


def test_a_rollback_in_a_locked_month_is_refused(db_path, accounts, two_versions):
    _first, second, _other = two_versions
    Store(db_path).lock_month("2023-06", actor="admin1")
    at = dashboard(accounts["admin"], ADMIN)
    at.selectbox(key="rollback_pick").select(second).run()
    at.button(key="rollback_button").click().run()
    at.button(key="rollback_yes").click().run()
    assert "已锁定，不能撤回" in texts(at)
    assert Store(db_path).uploads().set_index("upload_id").loc[second, "state"] == "active"


def test_an_admin_locks_and_unlocks_a_month_with_history(db_path, accounts):
    at = dashboard(accounts["admin"], ADMIN)
    at.selectbox(key="lock_month").select("2023-07").run()
    at.button(key="lock_button").click().run()
    assert "已锁定2023年7月。" in texts(at)
    assert Store(db_path).locked_months() == ["2023-07"]
    assert "当前已锁定：2023年7月" in texts(at)
    at.button(key="unlock_button").click().run()
    assert Store(db_path).locked_months() == []
    history = Store(db_path).month_lock_history()
    assert list(history["locked_by"]) == ["admin1"] and list(history["unlocked_by"]) == ["admin1"]
    assert "admin1" in table_text(at) and "2023-07" in table_text(at)
    actions = list(Store(db_path).audit_log()["action"])
    assert actions[-2:] == ["month.lock", "month.unlock"]


def test_the_plan_check_shows_the_36_against_35_mismatch(db_path, accounts):
    at = dashboard(accounts["admin"], ADMIN)
    assert "计划文件检查通过，没有错误。" in texts(at)
    cells = table_text(at)
    assert "36" in cells and "35" in cells and "retrofit_households" in cells


def test_the_accounts_list_shows_no_hashes(db_path, accounts):
    at = dashboard(accounts["admin"], ADMIN)
    cells = table_text(at)
    for username in ("lead", "admin1", "tianjian", "xiajiachong"):
        assert username in cells
    assert "argon2" not in cells.replace("argon2 哈希", "") and "$argon2" not in texts(at)
    assert "社区（上报单位）" in cells and "天剑社区" in cells


@pytest.mark.parametrize("who", ["leader", "tianjian"])
def test_only_admins_have_the_admin_page(db_path, accounts, who, two_versions):
    assert not app_support.may_open(accounts[who], "admin") and app_support.may_open(accounts["admin"], "admin")
    at = dashboard(accounts[who], ADMIN)
    assert "只有管理员可以使用管理页面。" in texts(at)
    assert not at.dataframe and not [b for b in at.button if b.key in ("rollback_button", "lock_button")]


@pytest.mark.parametrize("who", ["leader", "tianjian", None])
def test_the_admin_page_refuses_others_who_reach_it(db_path, accounts, who, two_versions):
    at = AppTest.from_file(str(ROOT / ADMIN), default_timeout=60)
    if who:
        at.session_state["auth_user"] = accounts[who]
        at.session_state["auth_method"] = "password"
    at.run()
    assert not at.exception
    assert "只有管理员可以使用管理页面。" in texts(at)
    assert not at.dataframe and not at.button


def test_the_admin_page_runs_in_english(db_path, accounts, two_versions):
    at = dashboard(accounts["admin"], ADMIN, lang="en")
    assert at.title[0].value == "Administration"
    assert "Upload accepted" in table_text(at)

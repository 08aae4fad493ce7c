"""管理 page journeys under AppTest: audit log, rollback, month locks, plan check, accounts."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

import app_support
from tests.apptest import dashboard, signed_in, table_text, texts
from tests.conftest import ROOT
from tests.test_upload import GOOD, filled
from worktrack.auth import UserStore
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
        signed_in(at, accounts[who])
    at.run()
    assert not at.exception
    assert "只有管理员可以使用管理页面。" in texts(at)
    assert not at.dataframe and not at.button


def test_the_admin_page_runs_in_english(db_path, accounts, two_versions):
    at = dashboard(accounts["admin"], ADMIN, lang="en")
    assert at.title[0].value == "Administration"
    assert "Upload accepted" in table_text(at)


# -- managing accounts from the page (each test on its own copy of the users file)


@pytest.fixture
def own_accounts(tmp_path, users_file, accounts, monkeypatch):
    """The test accounts in a users file of this test alone: these tests change accounts."""
    path = tmp_path / "accounts" / "users.yaml"
    path.parent.mkdir()
    path.write_bytes(users_file.read_bytes())
    monkeypatch.setenv("WORKTRACK_USERS", str(path))
    return accounts


def account_actions(db_path) -> list[tuple[str, str, str]]:
    log = Store(db_path).audit_log()
    log = log[log["action"].str.startswith("account.")]
    return list(zip(log["actor"], log["action"], log["target"], strict=True))


def test_an_admin_adds_an_account_on_the_page_and_it_is_audited(db_path, own_accounts):
    at = dashboard(own_accounts["admin"], ADMIN)
    at.text_input(key="account_add_username").input("htl")
    at.text_input(key="account_add_name").input("黄土岭社区 张三")
    at.selectbox(key="account_add_role").set_value("community")
    at.selectbox(key="account_add_unit").set_value("黄土岭社区")
    at.text_input(key="account_add_password").input("Huangtuling-2023")
    at.button(key="FormSubmitter:account_add_form-添加账号").click().run()
    assert not at.exception
    assert "已添加账号 htl。" in texts(at)
    added = UserStore().get("htl")
    assert (added.role, added.unit, added.display_name) == ("community", "黄土岭社区", "黄土岭社区 张三")
    assert UserStore().authenticate("htl", "Huangtuling-2023").ok
    assert at.session_state["account_add_password"] == ""  # the password does not stay in the session
    assert account_actions(db_path) == [("admin1", "account.add", "htl")]
    assert "Huangtuling-2023" not in str(Store(db_path).audit_log().to_numpy())


def test_a_refused_account_says_why_and_records_nothing(db_path, own_accounts):
    at = dashboard(own_accounts["admin"], ADMIN)
    at.text_input(key="account_add_username").input("tianjian")
    at.selectbox(key="account_add_role").set_value("leader")
    at.text_input(key="account_add_password").input("Another-pass-2023")
    at.button(key="FormSubmitter:account_add_form-添加账号").click().run()
    assert "用户名“tianjian”已存在" in texts(at)
    assert account_actions(db_path) == []


def test_a_password_reset_on_the_page_ends_the_accounts_sessions(db_path, own_accounts):
    community = dashboard(own_accounts["tianjian"], "pages/upload.py")
    assert community.title[0].value == "上报月报"
    at = dashboard(own_accounts["admin"], ADMIN)
    at.selectbox(key="account_passwd_user").set_value("tianjian")
    at.text_input(key="account_new_password").input("Reset-by-admin-1")
    at.button(key="FormSubmitter:account_passwd_form-重置密码").click().run()
    assert "已重置 tianjian 的密码" in texts(at)
    community.run()
    assert community.title[0].value == "登录"
    assert UserStore().authenticate("tianjian", "Reset-by-admin-1").ok
    assert account_actions(db_path) == [("admin1", "account.passwd", "tianjian")]


def test_disable_enable_and_bind_a_unit_on_the_page(db_path, own_accounts):
    community = dashboard(own_accounts["tianjian"])
    at = dashboard(own_accounts["admin"], ADMIN)
    at.selectbox(key="account_state_user").set_value("tianjian").run()
    at.button(key="account_disable").click().run()
    assert "已停用账号 tianjian" in texts(at) and UserStore().get("tianjian").disabled
    assert community.run().title[0].value == "登录"
    at.selectbox(key="account_state_user").set_value("tianjian").run()
    at.button(key="account_enable").click().run()
    assert not UserStore().get("tianjian").disabled
    at.selectbox(key="account_unit_user").set_value("tianjian")
    at.selectbox(key="account_unit_unit").set_value("涂新社区")
    at.button(key="FormSubmitter:account_unit_form-绑定").click().run()
    assert "已把账号 tianjian 绑定到 涂新社区。" in texts(at)
    assert UserStore().get("tianjian").unit == "涂新社区"
    assert account_actions(db_path) == [("admin1", "account.disable", "tianjian"),
                                        ("admin1", "account.enable", "tianjian"),
                                        ("admin1", "account.unit", "tianjian")]


def test_an_admin_cannot_disable_their_own_account(db_path, own_accounts):
    at = dashboard(own_accounts["admin"], ADMIN)
    at.selectbox(key="account_state_user").set_value("admin1").run()
    at.button(key="account_disable").click().run()
    assert "不能停用自己正在使用的账号。" in texts(at)
    assert not UserStore().get("admin1").disabled and account_actions(db_path) == []


def test_an_admin_signed_out_meanwhile_cannot_change_accounts(db_path, own_accounts):
    at = dashboard(own_accounts["admin"], ADMIN)
    UserStore().set_password("admin1", "Changed-elsewhere-1")  # e.g. `users passwd admin1` on the server
    at.text_input(key="account_add_username").input("sneaky")
    at.selectbox(key="account_add_role").set_value("admin")
    at.text_input(key="account_add_password").input("Sneaky-pass-2023")
    at.button(key="FormSubmitter:account_add_form-添加账号").click().run()
    assert at.title[0].value == "登录"
    assert UserStore().get("sneaky") is None and account_actions(db_path) == []


def test_a_demo_administrator_cannot_manage_real_accounts(demo_env, accounts, plan, monkeypatch):
    from worktrack.auth import demo_users

    monkeypatch.setenv("WORKTRACK_DEMO", "1")
    demo_admin = next(u for u in demo_users(plan) if u.role == "admin")
    at = dashboard(demo_admin, ADMIN)
    assert "演示身份不能管理真实账号。" in texts(at)
    assert not [w for w in at.text_input if w.key == "account_add_password"]

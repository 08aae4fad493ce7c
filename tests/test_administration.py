"""worktrack.administration: the admin screen's tables."""

from __future__ import annotations

import datetime as dt

from tests.conftest import PLAN_PATH
from tests.test_upload import GOOD, filled
from worktrack import administration
from worktrack.auth import UserStore
from worktrack.intake import read_report
from worktrack.plan import load_plan, reconcile
from worktrack.store import Store


def test_audit_table_and_until(db_path, plan):
    store = Store(db_path)
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    store.submit(read_report(data, "a.csv", plan), data, submitted_by="tianjian")
    store.lock_month("2023-06", actor="admin1")
    log = store.audit_log()
    table = administration.audit_table(log)
    assert list(table["操作"][:2]) == ["锁定月份", "接收上报"]  # newest first
    assert administration.audit_until(log, dt.date(2000, 1, 1)).empty
    assert len(administration.audit_until(log, None)) == len(log)


def test_unknown_actions_show_their_code():
    assert administration.action_label("something.new") == "something.new"
    assert administration.action_label("upload.rollback", "en") == "Upload rolled back"


def test_reconciliation_shows_36_against_35():
    table = administration.reconciliation_table(reconcile(load_plan(PLAN_PATH)))
    row = table[table["指标"] == "retrofit_households"].iloc[0]
    assert (row["街道目标"], row["分解合计"], row["差额"]) == ("35 户", "36 户", "+1 户")


def test_accounts_table_holds_no_secret(tmp_path, plan):
    store = UserStore(tmp_path / "users.yaml")
    store.add("tianjian", "Secret-pass-9", "community", "天剑社区", plan=plan)
    table = administration.accounts_table(store.list(), {"tianjian": 2})
    text = table.to_csv()
    assert "argon2" not in text and "Secret-pass-9" not in text
    assert table.iloc[0]["连续登录失败次数"] == 2 and table.iloc[0]["角色"] == "社区（上报单位）"


def test_reconciliation_amounts_are_exact():
    table = administration.reconciliation_table(reconcile(load_plan(PLAN_PATH)))
    row = table[table["指标"] == "fund_raised_yuan"].iloc[0]
    assert (row["街道目标"], row["分解合计"], row["差额"]) == ("10,000,000 元", "3,000,000 元", "-7,000,000 元")

"""worktrack.submission: default months, who may send what, receipts and history tables."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.test_upload import GOOD, filled
from worktrack import submission
from worktrack.auth import User
from worktrack.intake import read_report
from worktrack.store import Store

TIANJIAN = User("tianjian", "天剑社区", "community", "天剑社区")
ADMIN = User("admin1", "李管理", "admin")
LEADER = User("lead", "王领导", "leader")


def uploads(*months_states: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"month": [m for m, _ in months_states], "state": [s for _, s in months_states]})


@pytest.mark.parametrize(("today", "history", "expected"), [
    (dt.date(2023, 7, 3), [], "2023-06"),  # last month
    (dt.date(2023, 4, 2), [], "2023-04"),  # before the plan's first month: its first month
    (dt.date(2025, 3, 1), [], "2023-12"),  # a past plan: its last month
    (dt.date(2025, 3, 1), [("2023-08", "active")], "2023-09"),  # the month after the latest upload
    (dt.date(2025, 3, 1), [("2023-08", "active"), ("2023-10", "rolled_back")], "2023-09"),
    (dt.date(2025, 3, 1), [("2023-12", "active")], "2023-12"),  # never past the plan
    (dt.date(2023, 9, 10), [("2023-09", "active")], "2023-09"),  # never past the current month
])
def test_default_upload_month(plan, today, history, expected):
    assert submission.default_upload_month(plan, uploads(*history), today) == expected


def test_upload_months_stop_at_the_current_month(plan):
    assert submission.upload_months(plan, dt.date(2023, 6, 15))[-1] == "2023-06"
    assert submission.upload_months(plan, dt.date(2030, 1, 1)) == plan.months


def test_a_community_is_pinned_to_its_own_unit(plan):
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    # whatever unit the request names, a community account's file is checked against its own unit
    report = submission.validate_upload(plan, TIANJIAN, data, "a.csv", "夏家冲社区", "2023-06")
    assert report.ok and report.reporting_unit == "天剑社区"
    other = submission.validate_upload(plan, TIANJIAN, filled(plan, "夏家冲社区", "2023-06", GOOD), "b.csv",
                                       None, "2023-06")
    assert "unit-mismatch" in other.codes() and not other.rows


def test_a_leader_may_not_send_anything(plan):
    report = submission.validate_upload(plan, LEADER, filled(plan, "天剑社区", "2023-06", GOOD), "a.csv",
                                        "天剑社区", "2023-06")
    assert "unit-mismatch" in report.codes() and not report.rows


def test_an_admin_is_checked_against_the_chosen_unit(plan):
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    assert submission.validate_upload(plan, ADMIN, data, "a.csv", "天剑社区", "2023-06").ok
    assert "unit-mismatch" in submission.validate_upload(plan, ADMIN, data, "a.csv", "涂新社区", "2023-06").codes()


def test_submit_upload_writes_as_the_user(db_path, plan):
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    report = submission.validate_upload(plan, TIANJIAN, data, "a.csv", None, "2023-06")
    result = submission.submit_upload(Store(db_path), TIANJIAN, report, data, confirm=False)
    assert result.status == "accepted"
    assert list(Store(db_path).uploads()["submitted_by"]) == ["tianjian"]


def test_demo_and_real_uploads_never_share_a_database(db_path, plan):
    store = Store(db_path)
    demo_user = User("demo-tianjian", "天剑社区（演示）", "community", "天剑社区", demo=True)
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    report = read_report(data, "a.csv", plan)
    assert submission.submit_upload(store, demo_user, report, data, confirm=False).status == "rejected"  # not demo
    store.mark_demo(actor="demo")  # what the demo command does first
    assert submission.submit_upload(store, demo_user, report, data, confirm=False).status == "accepted"
    other = filled(plan, "天剑社区", "2023-07", GOOD)
    refused = submission.submit_upload(store, TIANJIAN, read_report(other, "b.csv", plan), other, confirm=False)
    assert refused.status == "rejected" and "演示数据" in refused.message
    assert len(store.uploads()) == 1


def test_receipt_text_and_csv(db_path, plan):
    store = Store(db_path)
    first = filled(plan, "天剑社区", "2023-06", GOOD)
    store.submit(read_report(first, "v1.csv", plan), first, submitted_by="tianjian")
    data = filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "2"})
    report = read_report(data, "v2.csv", plan)
    result = store.submit(report, data, submitted_by="tianjian")
    receipt = submission.make_receipt(result, report, TIANJIAN, store.uploads("天剑社区", "2023-06"), False)
    assert (receipt.version, receipt.replaced_version, receipt.rows) == (2, 1, len(report.rows))
    assert receipt.received_at.startswith(str(store.uploads()["received_at"].iloc[-1])[:16])
    text = submission.receipt_text(receipt, plan)
    assert result.sha256 in text and "替换第 1 版" in text and "retrofit_households" in text and "1 户 → 2 户" in text
    csv_text = submission.receipt_csv(receipt, plan).decode("utf-8-sig")
    assert result.sha256 in csv_text and "上一版" in csv_text
    assert submission.receipt_filename(receipt, "txt") == "回执-天剑社区-2023-06-第2版.txt"


def test_findings_table_names_row_column_value_and_what_to_do(plan):
    data = filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "五十"})
    table = submission.findings_table(read_report(data, "a.csv", plan).errors)
    assert list(table.columns) == ["行", "列", "内容", "问题类型", "说明与修改方法"]
    assert table.iloc[0]["内容"] == "五十" and table.iloc[0]["问题类型"].startswith("不是数字")


def test_history_table_newest_first(db_path, plan):
    store = Store(db_path)
    for value in ("1", "2"):
        data = filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): value})
        store.submit(read_report(data, f"v{value}.csv", plan), data, submitted_by="tianjian")
    table = submission.history_table(store.uploads("天剑社区"))
    assert list(table["版本"]) == [2, 1] and list(table["状态"]) == ["有效", "已被替换"]
    assert submission.history_table(store.uploads("涂新社区")).empty


def test_upload_choice_labels_match_the_single_label(demo_db):
    from worktrack.store import Store
    from worktrack.submission import upload_choice_label, upload_choice_labels

    uploads = Store(demo_db).uploads()
    for lang in ("zh", "en"):
        labels = upload_choice_labels(uploads, lang)
        assert labels == {int(r["upload_id"]): upload_choice_label(r, lang) for _, r in uploads.iterrows()}

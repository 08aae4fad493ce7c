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


def test_submit_upload_writes_as_the_user(db_location, plan):
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    report = submission.validate_upload(plan, TIANJIAN, data, "a.csv", None, "2023-06")
    result = submission.submit_upload(Store(db_location), TIANJIAN, report, data, confirm=False)
    assert result.status == "accepted"
    assert list(Store(db_location).uploads()["submitted_by"]) == ["tianjian"]


def test_demo_and_real_uploads_never_share_a_database(db_location, plan):
    store = Store(db_location)
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


def test_receipt_text_and_csv(db_location, plan):
    store = Store(db_location)
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


def test_history_table_newest_first(db_location, plan):
    store = Store(db_location)
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


# ---------------------------------------------------------------------------
# The month picker


def test_month_states_say_reported_missing_or_locked(db_location, plan):
    store = Store(db_location)
    for value in ("1", "2"):
        data = filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): value})
        store.submit(read_report(data, f"v{value}.csv", plan), data, submitted_by="tianjian")
    data = filled(plan, "天剑社区", "2023-05", GOOD)
    store.submit(read_report(data, "may.csv", plan), data, submitted_by="tianjian")
    store.lock_month("2023-05", actor="admin1")
    store.lock_month("2023-04", actor="admin1")
    states = submission.month_states(["2023-04", "2023-05", "2023-06", "2023-07"], store.uploads("天剑社区"),
                                     store.locked_months())
    labels = {m: submission.month_choice_label(s) for m, s in states.items()}
    assert labels == {"2023-04": "2023年4月 · 已锁定 · 未报", "2023-05": "2023年5月 · 已锁定 · 已报 第 1 版",
                      "2023-06": "2023年6月 · 已报 第 2 版", "2023-07": "2023年7月 · 未报"}
    assert submission.month_choice_label(states["2023-06"], "en") == "2023-06 · reported, version 2"
    assert submission.month_states(["2023-06"], Store(db_location).uploads("涂新社区"), [])["2023-06"].version is None


def test_a_rolled_back_month_is_not_reported(db_location, plan):
    store = Store(db_location)
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    result = store.submit(read_report(data, "a.csv", plan), data, submitted_by="tianjian")
    store.rollback(result.upload_id, actor="admin1")
    state = submission.month_states(["2023-06"], store.uploads("天剑社区"), [])["2023-06"]
    assert submission.month_state_text(state) == "未报"


def test_history_months_maps_each_upload_to_its_month(db_location, plan):
    store = Store(db_location)
    for month in ("2023-05", "2023-06"):
        data = filled(plan, "天剑社区", month, GOOD)
        store.submit(read_report(data, f"{month}.csv", plan), data, submitted_by="tianjian")
    assert set(submission.history_months(store.uploads("天剑社区")).values()) == {"2023-05", "2023-06"}
    assert submission.history_months(store.uploads("涂新社区")) == {}


def test_a_file_for_another_month_names_the_month_picker(plan):
    data = filled(plan, "天剑社区", "2023-07", GOOD)
    report = submission.validate_upload(plan, TIANJIAN, data, "july.csv", None, "2023-06")
    [finding] = [f for f in report.errors if f.code == "month-mismatch"]
    assert "“上报月份”改选为 2023年7月" in finding.message and "① 选择上报单位和月份" in finding.message
    assert submission.file_month_differs(report, "2023-06") == "2023-07"
    english = submission.validate_upload(plan, TIANJIAN, data, "july.csv", None, "2023-06", lang="en")
    message = next(f.message for f in english.errors if f.code == "month-mismatch")
    assert message.startswith("The file is for 2023-07, but \"Month\" under \"1. Unit and month\" above is set to 2023-06")
    assert 'change "Month" to 2023-07' in message
    good = submission.validate_upload(plan, TIANJIAN, data, "july.csv", None, "2023-07")
    assert good.ok and submission.file_month_differs(good, "2023-07") is None


# ---------------------------------------------------------------------------
# The receipt's figures


def receipt_for(db_location, plan, *versions: dict, confirmed: bool = False):
    store = Store(db_location)
    for number, values in enumerate(versions, start=1):
        data = filled(plan, "天剑社区", "2023-06", values)
        report = read_report(data, f"v{number}.csv", plan)
        result = store.submit(report, data, submitted_by="tianjian")
    return submission.make_receipt(result, report, TIANJIAN, store.uploads("天剑社区", "2023-06"), confirmed,
                                   plan=plan)


def test_the_receipt_lists_every_figure_received(db_location, plan):
    receipt = receipt_for(db_location, plan, {**GOOD, ("T1-1", ""): "进行中"})
    figures = submission.figures_table(receipt.figures)
    assert list(figures.columns) == ["编号", "事项", "分类", "本月数值"]
    shown = {(r["编号"], r["分类"]): r["本月数值"] for _, r in figures.iterrows()}
    assert shown[("retrofit_households", "")] == "1 户"
    assert shown[("fund_raised_yuan", "爱心企业")] == "12,000 元"
    assert shown[("governance_reports", "")] == "2 篇"
    assert shown[("T1-1", "")] == "进行中"
    assert shown[("T1-2", "")] == "本月未更新"  # a blank status keeps the last one
    assert len(figures) == len(plan.template_rows("天剑社区"))
    assert figures.loc[figures["编号"] == "retrofit_households", "事项"].item() == "特殊困难老年人家庭居家适老化改造"
    text = submission.receipt_text(receipt, plan)
    assert "每项本月数值" in text and "- fund_raised_yuan 社区基金募集善款（款物）（爱心企业）: 12,000 元" in text
    assert "- T1-2 落实主动发现机制: 本月未更新" in text
    csv_text = submission.receipt_csv(receipt, plan).decode("utf-8-sig")
    assert "retrofit_households,特殊困难老年人家庭居家适老化改造,,1 户" in csv_text
    assert "T1-2,落实主动发现机制,,本月未更新" in csv_text


def test_regression_a_first_version_shows_no_changes_0_line(db_location, plan):
    receipt = receipt_for(db_location, plan, GOOD)
    labels = [label for label, _ in submission.receipt_lines(receipt, plan)]
    assert "与上一版相比的改动" not in labels and "首次上报" in dict(submission.receipt_lines(receipt, plan)).values()
    assert "与上一版相比的改动" not in submission.receipt_text(receipt, plan)
    second = receipt_for(db_location, plan, {**GOOD, ("retrofit_households", ""): "3"})
    assert dict(submission.receipt_lines(second, plan))["与上一版相比的改动"] == "1"


def test_regression_a_blank_task_status_is_not_updated_never_a_dash(db_location, plan):
    receipt = receipt_for(db_location, plan, {**GOOD, ("T1-1", ""): "进行中"}, GOOD)
    changes = submission.changes_table(plan, receipt.changes)
    row = changes[changes["编号"] == "T1-1"].iloc[0]
    assert (row["上一版"], row["本版"]) == ("进行中", "本月未更新")
    assert "→ —" not in submission.receipt_text(receipt, plan)
    assert "T1-1 规范救助兜牢底线: 进行中 → 本月未更新" in submission.receipt_text(receipt, plan)
    blocked = filled(plan, "天剑社区", "2023-06", {**GOOD, ("T1-1", ""): "受阻"})
    report = read_report(blocked, "v3.csv", plan)
    result = Store(db_location).submit(report, blocked, submitted_by="tianjian")
    # the English receipt: English words; Chinese only where the plan's names are Chinese
    english = submission.make_receipt(result, report, TIANJIAN, Store(db_location).uploads("天剑社区", "2023-06"), False,
                                      plan=plan, lang="en")
    text = submission.receipt_text(english, plan, "en")
    assert "- T1-2 落实主动发现机制: not updated this month" in text
    assert "- fund_raised_yuan 社区基金募集善款（款物） (爱心企业): 12,000 元" in text


def test_regression_receipt_and_problem_list_csv_carry_no_live_formula(db_location, plan):
    store = Store(db_location)
    data = filled(plan, "天剑社区", "2023-06", GOOD, notes={("retrofit_households", ""): "=1+1"})
    report = read_report(data, '=HYPERLINK("http://x","y").csv', plan)
    result = store.submit(report, data, submitted_by="tianjian")
    receipt = submission.make_receipt(result, report, TIANJIAN, store.uploads("天剑社区", "2023-06"), False,
                                      plan=plan)
    csv_text = submission.receipt_csv(receipt, plan).decode("utf-8-sig")
    assert "文件名,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\").csv\"" in csv_text
    bad = filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "=1+1"})
    problems = submission.findings_csv(read_report(bad, "bad.csv", plan).errors).decode("utf-8-sig")
    assert "'=1+1" in problems and ",=1+1" not in problems

"""The monthly cycle in words (worktrack.views.cycle): 催报 messages, findings, banners, markers."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from worktrack.cycle import Finding, ReminderReport, UnitReminder
from worktrack.views.cycle import (
    blocking_lines,
    finding_text,
    group_message,
    marked,
    remind_message,
    remind_state_label,
    reminder_dict,
    returned_notice,
    review_state_label,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def report(today=dt.date(2023, 7, 3), contact="街道民政办 张老师 0731-8888"):
    return ReminderReport("2023-06", dt.date(2023, 7, 5), today, contact, [
        UnitReminder("黄土岭社区", "missing"),
        UnitReminder("天剑社区", "returned", 5, 1, dt.datetime(2023, 7, 1, 9), "改造户数有误"),
        UnitReminder("夏家冲社区", "late", 6, 1, dt.datetime(2023, 7, 8, 9)),
        UnitReminder("涂新社区", "pending", 7, 1, dt.datetime(2023, 7, 2, 9)),
        UnitReminder("赤岭路社区", "approved", 8, 1, dt.datetime(2023, 7, 2, 9)),
    ])


def test_each_reminder_names_the_month_what_is_missing_the_due_day_and_the_contact():
    r = report()
    missing, returned, late, pending, approved = (remind_message(r, u, "zh") for u in r.units)
    for part in ("黄土岭社区", "2023年6月", "尚未报送", "2023年7月5日", "张老师"):
        assert part in missing
    for part in ("天剑社区", "第 1 版", "改造户数有误", "重新上报", "张老师"):
        assert part in returned
    assert "晚于报送截止日 2023年7月5日" in late
    assert (pending, approved) == ("", "")  # nothing to chase


def test_a_missing_report_past_its_due_day_says_so():
    assert "截止日 2023年7月5日 已过" in remind_message(report(today=dt.date(2023, 7, 6)),
                                                     UnitReminder("黄土岭社区", "missing"), "zh")


def test_group_message_lists_the_missing_and_the_returned_units():
    text = group_message(report(), "zh")
    assert text.startswith("【2023年6月月报报送提醒】")
    assert "尚未报送：黄土岭社区。" in text and "已退回待重报：天剑社区。" in text
    everyone_in = ReminderReport("2023-06", dt.date(2023, 7, 5), dt.date(2023, 7, 6), "街道民政办",
                                 [UnitReminder("黄土岭社区", "approved")])
    assert "各单位均已报送" in group_message(everyone_in, "zh")


def test_english_messages_have_no_chinese_but_the_names_they_quote():
    r = report(contact="Ms Zhang, 0731-8888")
    for unit in r.units:
        text = remind_message(r, unit, "en").replace(unit.reporting_unit, "").replace(unit.review_reason, "")
        assert not CJK.search(text), text
    text = group_message(r, "en")
    for unit in r.units:
        text = text.replace(unit.reporting_unit, "")
    assert not CJK.search(text)
    assert not CJK.search(remind_state_label("returned", "en") + review_state_label("pending", "en"))


def test_reminder_dict_is_the_remind_json_contract():
    data = reminder_dict(report(), "zh")
    assert set(data) >= {"month", "due_date", "units", "group_message"}
    assert data["due_date"] == "2023-07-05"
    assert [u["state"] for u in data["units"]] == ["missing", "returned", "late", "pending", "approved"]
    assert all(set(u) >= {"reporting_unit", "state", "message"} for u in data["units"])


@pytest.mark.parametrize(("lang", "expected"), [("zh", "12户（含待审核）"), ("en", "12 (incl. pending review)")])
def test_marker_goes_only_on_figures_with_unreviewed_data(lang, expected):
    assert marked("12户" if lang == "zh" else "12", True, lang) == expected
    assert marked("12户", False, lang) == "12户"


def test_findings_and_notices_read_as_sentences(plan):
    outlier = finding_text(plan, Finding("outlier", "fund_raised_yuan", 165300, 33100), "zh")
    assert "16.53万元" in outlier and "3.31万元" in outlier and "3 倍" in outlier
    cumulative = finding_text(plan, Finding("cumulative", "retrofit_households", 4, 4), "en")
    assert "year-to-date" in cumulative and not CJK.search(cumulative)
    notice = returned_notice("2023-06", 1, "请核对", "rev", "zh")
    assert "2023年6月第 1 版月报已被退回（审核人：rev）" in notice and "退回原因：请核对" in notice
    lines = blocking_lines([{"upload_id": 3, "reporting_unit": "天剑社区", "month": "2023-06", "version": 2,
                             "review_state": "returned"}], "zh")
    assert lines == ["编号 3：天剑社区 2023年6月第 2 版（已退回）"]

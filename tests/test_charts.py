"""Charts: every metric has one, months are Chinese categories, status is labelled, not only coloured."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from worktrack.charts import (
    STATUS_COLORS,
    format_amount,
    metric_chart,
    monthly_bars,
    status_donut,
    status_label,
    trajectory_chart,
    unit_comparison_chart,
)
from worktrack.progress import status_from_store, trajectory
from worktrack.store import Store

ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b")


def all_text(fig) -> str:
    return json.dumps(fig.to_plotly_json(), ensure_ascii=False, default=str)


@pytest.fixture(scope="module")
def demo(demo_db, plan):
    store = Store(demo_db)
    return store.monthly_values("2023-10"), status_from_store(plan, store, "2023-10")


@pytest.mark.parametrize("metric", ["retrofit_households", "fund_raised_yuan", "people_helped", "governance_reports",
                                    "roundtable_meetings", "sanzhang_reviews", "sanzhang_commendations",
                                    "zuoliang_pilots", "research_topic_reports"])
def test_every_metric_has_a_chart(plan, demo, metric):
    monthly, _ = demo
    target = plan.targets_for(metric)[0]
    fig = metric_chart(plan, metric, trajectory(plan, monthly, target.id, "2023-10"))
    assert len(fig.data) >= 2
    assert fig.layout.xaxis.type == "category"
    text = all_text(fig)
    assert "2023年4月" in text
    assert not ENGLISH_MONTHS.search(text)


def test_every_metric_in_the_plan_is_covered_by_the_chart_test(plan):
    tested = set(test_every_metric_has_a_chart.pytestmark[0].args[1])
    assert tested == set(plan.metrics)


def test_trajectory_in_english_has_no_english_month_names(plan, demo):
    monthly, _ = demo
    fig = trajectory_chart(trajectory(plan, monthly, "fund_raised_yuan:street", "2023-10"), name="Fund",
                           measure="元", lang="en")
    assert not ENGLISH_MONTHS.search(all_text(fig))
    assert "10k yuan" in all_text(fig) and "万元" not in all_text(fig)  # 万元 in words an English reader knows


def test_comparison_bars_carry_status_labels_not_only_colours(plan, demo):
    _, report = demo
    rows = report.targets[(report.targets["metric"] == "retrofit_households") & (report.targets["scope"] == "unit")]
    fig = unit_comparison_chart(rows[["reporting_unit", "actual", "target", "expected", "status"]],
                                name="适老化改造", measure="户")
    bars = fig.data[1]
    assert all(any(status_label(s) in text for s in STATUS_COLORS) for text in bars.text)
    assert "滞后" in " ".join(bars.text)  # 夏家冲社区 in the demo story


def test_channel_bars_use_short_chinese_months_within_a_year(demo_db):
    frame = Store(demo_db).category_values("2023-10")
    fund = frame[(frame["item"] == "fund_raised_yuan") & (frame["reporting_unit"] == "天剑社区")]
    fig = monthly_bars(fund, category="category", name="基金募集", measure="元")
    assert list(fig.data[0].x) == ["4月", "5月", "6月", "7月", "8月", "9月", "10月"]
    spike = {trace.name: list(trace.y) for trace in fig.data}["99公益日"]
    assert max(spike) == spike[5]  # September, 99公益日


def test_donut_labels_every_status():
    fig = status_donut({"done": 3, "behind": 1, "on_track": 0})
    assert list(fig.data[0].labels) == [status_label("done"), status_label("behind")]


@pytest.mark.parametrize(("value", "measure", "text"),
                         [(12_345_678, "元", "1234.57万元"), (10_000_000, "元", "1000万元"), (500_000, "元", "50万元"),
                          (364_000, "元", "36.4万元"), (5, "户", "5户"), (2.5, "次", "2.5次"), (9_999, "元", "9,999元"),
                          (10_000, "人", "10,000人")])
def test_format_amount(value, measure, text):
    assert format_amount(value, measure) == text


@pytest.mark.parametrize(("value", "measure", "text"),
                         [(10_000_000, "元", "¥10M"), (500_000, "元", "¥500k"), (364_000, "元", "¥364k"),
                          (35, "户", "35 households"), (1, "户", "1 household"), (10_000, "人", "10,000 people"),
                          (2, "篇", "2 reports")])
def test_format_amount_in_english(value, measure, text):
    assert format_amount(value, measure, "en") == text


def test_expected_by_now_of_a_count_has_one_decimal_at_most():
    assert format_amount(23.3333, "户", expected=True) == "23.3户"
    assert format_amount(4.0, "户", expected=True) == "4户"
    assert format_amount(-13, "篇", signed=True) == "-13篇" and format_amount(3, "户", signed=True) == "+3户"


def test_money_in_wan_when_large():
    frame = pd.DataFrame({"month": ["2023-09"], "category": ["99公益日"], "value": [1_800_000.0]})
    fig = monthly_bars(frame, category="category", name="x", measure="元")
    assert fig.data[0].y[0] == 180.0


@pytest.mark.parametrize(("name", "unit", "title"), [("帮扶人数", "人", "帮扶人数（人）"), ("帮扶人数（按类别）", "人", "帮扶人数（按类别，人）"),
                                                     ("People helped (by category)", "人", "People helped (by category, 人)")])
def test_chart_titles_carry_the_measure_once(name, unit, title):
    from worktrack.charts import _titled

    assert _titled(name, unit) == title

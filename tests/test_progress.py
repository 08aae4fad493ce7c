"""Progress: actual / expected / gap / forecast / status, obligations, tasks, reporting, street totals."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worktrack.plan import Target, month_range
from worktrack.progress import (
    _Deferred,
    attention,
    classify,
    compute_status,
    expected_by,
    headline,
    metric_months,
    parse_month,
    trajectory,
)

COMMUNITIES = ["黄土岭社区", "夏家冲社区", "天剑社区", "涂新社区", "赤岭路社区", "狮子山社区"]
OFFICE = "街道民政办"
YEAR_END = dt.date(2023, 12, 31)


# ---------------------------------------------------------------------------
# Frame builders (the shapes the store returns)


def monthly(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    """(reporting_unit, item, month, value) rows."""
    return pd.DataFrame(list(rows), columns=["reporting_unit", "item", "month", "value"])


def statuses(*rows: tuple[str, str, str, str]) -> pd.DataFrame:
    """(reporting_unit, item, month, status) rows."""
    return pd.DataFrame([(*r, "") for r in rows], columns=["reporting_unit", "item", "month", "status", "note"])


def uploads(*rows: tuple[str, str, int, object]) -> pd.DataFrame:
    """(reporting_unit, month, version, received_at) rows."""
    frame = pd.DataFrame(list(rows), columns=["reporting_unit", "month", "version", "received_at"])
    frame.insert(0, "upload_id", range(1, len(frame) + 1))
    for column, value in (("submitted_by", "x"), ("file_name", "f.csv"), ("sha256", "0"), ("row_count", 1)):
        frame[column] = value
    return frame


def with_targets(plan, *targets: Target, **changes):
    """The shipped plan with only the given targets (and other plan fields changed)."""
    return dataclasses.replace(plan, targets=tuple(targets), _unit_lookup={}, **changes)


def retrofit_target(value: float = 90, unit: str | None = "黄土岭社区", deadline: dt.date = YEAR_END,
                    period: str = "year") -> Target:
    scope = "street" if unit is None else "unit"
    return Target(f"retrofit_households:{unit or 'street'}", "retrofit_households", value, scope, unit, period,
                  deadline, "原文")


def row_of(report, target_id: str) -> dict:
    rows = report.targets[report.targets["target_id"] == target_id]
    assert len(rows) == 1, target_id
    return rows.iloc[0].to_dict()


def spread(unit: str, item: str, total: float, months: list[str]) -> list[tuple]:
    """`total` as equal monthly increments over `months`."""
    return [(unit, item, m, total / len(months)) for m in months]


# ---------------------------------------------------------------------------
# Status rules at their boundaries
#
# Target 90 households, start 2023-04, deadline 2023-12 -> 9 months. As of 2023-08: 5 months
# elapsed, expected 50, 80 % of expected 40.


@pytest.mark.parametrize(("as_of", "actual", "status"), [
    ("2023-08", 50, "on_track"),        # exactly on expected
    ("2023-08", 60, "on_track"),
    ("2023-08", 49.99, "at_risk"),
    ("2023-08", 40, "at_risk"),         # exactly 80 % of expected
    ("2023-08", 39.99, "behind"),
    ("2023-08", 0, "behind"),
    ("2023-06", 90, "done"),            # done before the deadline
    ("2023-08", 95, "done"),
    ("2023-12", 80, "at_risk"),         # the deadline month is not past the deadline (expected 90, 80 >= 72)
    ("2023-12", 71, "behind"),
    ("2024-01", 80, "overdue"),         # the month after is
    ("2024-01", 90, "done"),            # done wins over overdue
    ("2023-03", 0, "not_started"),      # before the start month: nothing reported, nothing expected
])
def test_status_rules_at_boundaries(plan, as_of, actual, status):
    p = with_targets(plan, retrofit_target(90))
    months = [m for m in month_range("2023-04", "2023-08") if m <= as_of]
    data = monthly(*spread("黄土岭社区", "retrofit_households", actual, months)) if months and actual else None
    row = row_of(compute_status(p, data, None, None, as_of), "retrofit_households:黄土岭社区")
    assert row["status"] == status
    assert row["actual"] == pytest.approx(actual)


@pytest.mark.parametrize(("as_of", "elapsed", "expected"), [
    ("2023-03", 0, 0.0),
    ("2023-04", 1, 10.0),   # the start month counts as a whole month
    ("2023-08", 5, 50.0),
    ("2023-12", 9, 90.0),
    ("2024-06", 9, 90.0),   # capped at the deadline
])
def test_expected_is_pro_rata_in_whole_months(plan, as_of, elapsed, expected):
    p = with_targets(plan, retrofit_target(90))
    row = row_of(compute_status(p, None, None, None, as_of), "retrofit_households:黄土岭社区")
    assert row["months_elapsed"] == elapsed
    assert row["months_total"] == 9
    assert row["expected"] == pytest.approx(expected)
    assert expected_by(90, elapsed, 9) == pytest.approx(expected)


def test_gap_is_expected_minus_actual(plan):
    p = with_targets(plan, retrofit_target(90))
    data = monthly(("黄土岭社区", "retrofit_households", "2023-05", 30))
    row = row_of(compute_status(p, data, None, None, "2023-08"), "retrofit_households:黄土岭社区")
    assert row["gap"] == pytest.approx(20)  # 50 expected - 30 actual: positive = short
    ahead = monthly(("黄土岭社区", "retrofit_households", "2023-05", 70))
    assert row_of(compute_status(p, ahead, None, None, "2023-08"), "retrofit_households:黄土岭社区")["gap"] == -20


def test_start_month_comes_from_the_plan(plan):
    p = with_targets(plan, retrofit_target(80), start_month="2023-05")  # 2023-05..12 = 8 months
    row = row_of(compute_status(p, None, None, None, "2023-08"), "retrofit_households:黄土岭社区")
    assert (row["months_elapsed"], row["months_total"], row["expected"]) == (4, 8, 40)


@pytest.mark.parametrize(("actual", "target", "expected", "past", "reported", "status"), [
    (10, 10, 20, True, True, "done"),        # rule 1 before rule 2
    (5, 10, 10, True, True, "overdue"),      # rule 2 before rule 4
    (0, 10, 0, False, False, "not_started"),
    (0, 10, 0, False, True, "on_track"),     # reported zero with nothing expected yet
    (3, 10, 3, False, True, "on_track"),
    (2.4, 10, 3, False, True, "at_risk"),
    (2.39, 10, 3, False, True, "behind"),
    (0.1 + 0.2, 0.3, 0.3, False, True, "done"),  # rounding slack
])
def test_rule_order(actual, target, expected, past, reported, status):
    assert classify([actual], [target], [expected], [past], [reported])[0] == status


def test_labels_cover_every_status():
    from worktrack.views import status_word

    assert {s: status_word(s) for s in ("done", "on_track", "at_risk", "behind", "overdue", "not_started")} == {
        "done": "已完成", "on_track": "正常", "at_risk": "预警", "behind": "滞后", "overdue": "逾期",
        "not_started": "未开始"}
    assert status_word("on_track", "en") == "On track"


def test_late_reports_after_the_deadline_still_count(plan):
    p = with_targets(plan, retrofit_target(6, deadline=dt.date(2023, 5, 31)))
    data = monthly(("黄土岭社区", "retrofit_households", "2023-05", 2),
                   ("黄土岭社区", "retrofit_households", "2023-07", 4))
    assert row_of(compute_status(p, data, None, None, "2023-06"), "retrofit_households:黄土岭社区")["status"] == "overdue"
    assert row_of(compute_status(p, data, None, None, "2023-07"), "retrofit_households:黄土岭社区")["status"] == "done"


# ---------------------------------------------------------------------------
# Forecast: run-rate of the last three reported months


@pytest.mark.parametrize(("reports", "actual", "rate"), [
    ({"2023-04": 1, "2023-05": 2, "2023-06": 3, "2023-07": 4, "2023-08": 5, "2023-09": 6}, 21, 5),
    ({"2023-05": 2, "2023-08": 4}, 6, 3),                                  # fewer than three months
    ({"2023-04": 1, "2023-05": 2, "2023-07": 3, "2023-09": 6}, 12, 11 / 3),  # gaps skip unreported months
    ({"2023-06": 0, "2023-07": 0, "2023-09": 3}, 3, 1),                      # reported zeros count
    ({"2023-09": 6, "2023-10": 100}, 6, 6),                                # later months are not seen
])
def test_forecast_from_run_rate(plan, reports, actual, rate):
    p = with_targets(plan, retrofit_target(90))
    data = monthly(*[("黄土岭社区", "retrofit_households", m, v) for m, v in reports.items()])
    row = row_of(compute_status(p, data, None, None, "2023-09"), "retrofit_households:黄土岭社区")
    assert row["actual"] == pytest.approx(actual)
    assert row["run_rate"] == pytest.approx(rate)
    assert row["forecast"] == pytest.approx(actual + rate * 3)  # October..December remain


def test_forecast_without_reports_is_null_and_past_deadline_is_actual(plan):
    p = with_targets(plan, retrofit_target(90))
    assert math.isnan(row_of(compute_status(p, None, None, None, "2023-09"), "retrofit_households:黄土岭社区")["forecast"])
    data = monthly(("黄土岭社区", "retrofit_households", "2023-12", 7))
    assert row_of(compute_status(p, data, None, None, "2024-02"), "retrofit_households:黄土岭社区")["forecast"] == 7


# ---------------------------------------------------------------------------
# Every-month obligations


def test_unit_obligations_met_and_missed(plan):
    data = monthly(("黄土岭社区", "governance_reports", "2023-04", 2),
                   ("黄土岭社区", "governance_reports", "2023-05", 1),
                   ("黄土岭社区", "governance_reports", "2023-06", 3),
                   ("黄土岭社区", "governance_reports", "2023-07", 5))  # after as_of: not seen
    report = compute_status(plan, data, None, None, "2023-06")
    ob = report.obligations[(report.obligations["metric"] == "governance_reports")
                            & (report.obligations["reporting_unit"] == "黄土岭社区")]
    assert ob[["month", "actual", "required", "met"]].values.tolist() == [
        ["2023-04", 2, 2, True], ["2023-05", 1, 2, False], ["2023-06", 3, 2, True]]
    row = row_of(report, "governance_reports:huangtuling")
    # met this month is never "done": next month it is due again
    assert (row["months_due"], row["months_missed"], row["months_met"], row["actual"], row["status"],
            row["month_state"]) == (3, 1, 2, 3, "on_track", "met")
    other = row_of(report, "governance_reports:xiajiachong")  # never reported: every month missed
    assert (other["months_due"], other["months_missed"], other["status"], other["month_state"]) == (
        3, 3, "behind", "not_reported")
    assert math.isnan(row["forecast"])  # no forecast for an every-month obligation
    assert report.status_counts()["done"] == 0  # obligations are counted apart
    assert report.obligation_counts()["met"] == 1


@pytest.mark.parametrize(("value", "status", "state"), [(2, "on_track", "met"), (1.6, "behind", "missed"),
                                                        (1, "behind", "missed"), (0, "behind", "missed")])
def test_every_month_target_is_judged_on_the_as_of_month(plan, value, status, state):
    data = monthly(("黄土岭社区", "governance_reports", "2023-04", 0),
                   ("黄土岭社区", "governance_reports", "2023-05", value))
    row = row_of(compute_status(plan, data, None, None, "2023-05"), "governance_reports:huangtuling")
    assert (row["status"], row["month_state"]) == (status, state)


def test_status_json_carries_months_met_and_due(plan):
    data = monthly(("黄土岭社区", "governance_reports", "2023-04", 2), ("黄土岭社区", "governance_reports", "2023-05", 1))
    doc = compute_status(plan, data, None, None, "2023-05").as_dict()
    row = next(t for t in doc["targets"] if t["target_id"] == "governance_reports:huangtuling")
    assert (row["months_met"], row["months_due"], row["months_missed"], row["month_state"]) == (1, 2, 1, "missed")
    yearly = next(t for t in doc["targets"] if t["target_id"] == "retrofit_households:street")
    assert yearly["months_met"] is None and yearly["month_state"] is None
    assert doc["obligation_counts"]["total"] == sum(1 for t in doc["targets"] if t["period"] == "month")


# ---------------------------------------------------------------------------
# A month that one unit filed early: the others are not due yet


def test_units_not_yet_due_are_pending_not_behind(plan):
    # 黄土岭社区 filed October on 3 November; the others have until 5 November
    up = uploads(("黄土岭社区", "2023-10", 1, pd.Timestamp("2023-11-03 10:00")),
                 *[(u, m, 1, pd.Timestamp(f"{m}-28 10:00")) for u in [*COMMUNITIES, OFFICE]
                   for m in month_range("2023-04", "2023-09")])
    data = monthly(*[(u, "governance_reports", m, 2) for u in COMMUNITIES for m in month_range("2023-04", "2023-09")],
                   *[(u, "retrofit_households", m, 1) for u in COMMUNITIES for m in month_range("2023-04", "2023-08")],
                   ("黄土岭社区", "governance_reports", "2023-10", 2), ("黄土岭社区", "retrofit_households", "2023-10", 1))
    report = compute_status(plan, data, None, up, "2023-10", today=dt.date(2023, 11, 3))
    assert report.partial and "黄土岭社区" not in report.pending_units and "夏家冲社区" in report.pending_units
    assert report.reporting_progress() == (1, 7)
    waiting = row_of(report, "governance_reports:xiajiachong")
    assert (waiting["month_state"], waiting["status"], waiting["months_due"]) == ("pending", "not_started", 6)
    # the yearly quota of a unit not yet due is judged as of September (6 of 9 months), not October
    retrofit = row_of(report, "retrofit_households:xiajiachong")
    assert retrofit["expected"] == pytest.approx(6 * 6 / 9) and retrofit["status"] == "on_track"
    filed = row_of(report, "retrofit_households:huangtuling")
    assert filed["expected"] == pytest.approx(6 * 7 / 9) and filed["actual"] == 6
    items = attention(report)
    mine = items[items["reporting_unit"] == "夏家冲社区"]
    # nothing missing or behind that is not yet due (the three-heads reviews were never filed at all)
    assert not len(mine[mine["status"] == "missing"])
    assert not len(mine[mine["status"].isin(["behind", "at_risk"]) & (mine["metric"] == "retrofit_households")])
    assert not len(mine[(mine["status"] == "obligation_missed") & (mine["metric"] == "governance_reports")])
    # on 6 November the due day has passed: the missing reports are missing
    later = compute_status(plan, data, None, up, "2023-10", today=dt.date(2023, 11, 6))
    assert not later.partial
    assert row_of(later, "governance_reports:xiajiachong")["month_state"] == "not_reported"


def test_default_month_skips_a_month_filed_early(plan):
    from worktrack.progress import default_as_of

    receipts = pd.DataFrame({"reporting_unit": [*[u for u in [*COMMUNITIES, OFFICE]], "黄土岭社区"],
                             "month": ["2023-09"] * 7 + ["2023-10"]})
    assert default_as_of(plan, receipts, dt.date(2023, 11, 3)) == "2023-09"
    assert default_as_of(plan, receipts, dt.date(2023, 11, 6)) == "2023-10"  # due day passed
    complete = pd.concat([receipts, pd.DataFrame({"reporting_unit": [u for u in [*COMMUNITIES, OFFICE]
                                                                     if u != "黄土岭社区"],
                                                  "month": "2023-10"})])
    assert default_as_of(plan, complete, dt.date(2023, 11, 3)) == "2023-10"  # all in early
    assert default_as_of(plan, receipts, None) == "2023-10"


def test_status_in_parallel_threads_is_stable(plan):
    # Streamlit sessions are threads: the core's caches must hold up under concurrent use
    from concurrent.futures import ThreadPoolExecutor

    frames = [monthly(*[(u, "retrofit_households", "2023-05", float(i % 3)) for u in COMMUNITIES]) for i in range(8)]

    def run(i: int) -> float:
        total = 0.0
        for _ in range(25):
            report = compute_status(plan, frames[i], None, None, "2023-06")
            total = float(report.targets.set_index("target_id").loc["retrofit_households:street", "actual"])
            trajectory(plan, frames[(i + 1) % 8], "retrofit_households:street", "2023-06")
        return total

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(8)))
    assert results == [float((i % 3) * 6) for i in range(8)]


def test_street_scope_obligation_has_null_unit(plan):
    data = monthly((OFFICE, "roundtable_meetings", "2023-04", 1), (OFFICE, "roundtable_meetings", "2023-05", 0),
                   (OFFICE, "roundtable_meetings", "2023-06", 2))
    report = compute_status(plan, data, None, None, "2023-06")
    ob = report.obligations[report.obligations["metric"] == "roundtable_meetings"]
    assert ob["reporting_unit"].isna().all()
    assert ob["met"].tolist() == [True, False, True]
    records = [o for o in report.as_dict()["obligations"] if o["metric"] == "roundtable_meetings"]
    assert [o["reporting_unit"] for o in records] == [None, None, None]


def test_obligations_stop_at_the_deadline_month(plan):
    report = compute_status(plan, None, None, None, "2024-02")
    ob = report.obligations[report.obligations["target_id"] == "roundtable_meetings:street"]
    assert ob["month"].tolist() == month_range("2023-04", "2023-12")


# ---------------------------------------------------------------------------
# Tasks


def test_task_latest_status_and_overdue(plan):
    data = statuses(("黄土岭社区", "T1-1", "2023-05", "进行中"), ("黄土岭社区", "T1-1", "2023-07", "已完成"),
                    ("黄土岭社区", "T1-1", "2023-10", "受阻"),      # after as_of: not seen
                    ("夏家冲社区", "T1-1", "2023-06", "进行中"),
                    ("天剑社区", "T1-1", "2023-04", "未开始"))
    report = compute_status(plan, None, data, None, "2023-09")
    t = report.tasks[report.tasks["item_id"] == "T1-1"].set_index("reporting_unit")
    assert t.loc["黄土岭社区", "status"] == "已完成"
    assert t.loc["黄土岭社区", "month"] == "2023-07"
    assert t.loc["夏家冲社区", "status"] == "进行中"
    assert t.loc["天剑社区", "status"] == "未开始"
    assert pd.isna(t.loc["涂新社区", "status"])  # never reported: null, shown as 未报送
    assert not t["overdue"].any()  # deadline 2023-12-31 not passed
    after = compute_status(plan, None, data, None, "2024-01").tasks
    after = after[after["item_id"] == "T1-1"].set_index("reporting_unit")
    assert after.loc["黄土岭社区", "status"] == "受阻"  # October is the latest now
    assert after["overdue"].all()


def test_completed_task_is_not_overdue(plan):
    data = statuses(("黄土岭社区", "T1-1", "2023-07", "已完成"))
    t = compute_status(plan, None, data, None, "2024-01").tasks
    row = t[(t["item_id"] == "T1-1") & (t["reporting_unit"] == "黄土岭社区")].iloc[0]
    assert (row["status"], row["overdue"]) == ("已完成", False)


@pytest.mark.parametrize(("as_of", "status", "overdue"), [
    ("2023-05", None, False),       # the deadline month itself
    ("2023-06", None, True),        # never reported, past the deadline
    ("2023-06", "进行中", True),
    ("2023-06", "已完成", False),
])
def test_task_overdue_rule(plan, as_of, status, overdue):
    data = statuses(("赤岭路社区", "T2-6-1", "2023-05", status)) if status else None
    t = compute_status(plan, None, data, None, as_of).tasks
    row = t[(t["item_id"] == "T2-6-1") & (t["reporting_unit"] == "赤岭路社区")].iloc[0]
    assert bool(row["overdue"]) is overdue


def test_tasks_only_for_their_reporting_units(plan):
    t = compute_status(plan, None, None, None, "2023-09").tasks
    assert set(t.loc[t["item_id"] == "T2-2-1", "reporting_unit"]) == {"黄土岭社区", "夏家冲社区", OFFICE}
    assert "T2-1-5" not in set(t["item_id"])  # tracked by a metric, not by status
    assert len(t) == sum(len(i.reporting_units) for i in plan.tasks)


# ---------------------------------------------------------------------------
# Reporting completeness and timeliness


@pytest.mark.parametrize(("received_at", "on_time"), [
    (pd.Timestamp("2023-10-01 09:00"), True),
    (pd.Timestamp("2023-10-05 23:59:59"), True),     # the end of the 5th is on time
    (pd.Timestamp("2023-10-06 00:00:00"), False),    # the 6th is late
    (pd.Timestamp("2023-10-05 15:59:00", tz="UTC"), True),   # 23:59 in Changsha
    (pd.Timestamp("2023-10-05 16:30:00", tz="UTC"), False),  # 00:30 on the 6th in Changsha
])
def test_report_on_time_until_end_of_due_day(plan, received_at, on_time):
    report = compute_status(plan, None, None, uploads(("黄土岭社区", "2023-09", 1, received_at)), "2023-09")
    row = report.reporting[(report.reporting["reporting_unit"] == "黄土岭社区")
                           & (report.reporting["month"] == "2023-09")].iloc[0]
    assert bool(row["received"]) and row["on_time"] == on_time and row["version"] == 1
    assert row["due_date"] == dt.date(2023, 10, 5)


def test_report_due_day_comes_from_the_plan(plan):
    p = dataclasses.replace(plan, report_due_day=10, _unit_lookup={})
    report = compute_status(p, None, None, uploads(("黄土岭社区", "2023-09", 1, pd.Timestamp("2023-10-08"))), "2023-09")
    assert report.reporting.iloc[5]["on_time"]


def test_reporting_grid_received_version_missing(plan):
    up = uploads(("黄土岭社区", "2023-04", 1, pd.Timestamp("2023-05-04")),
                 ("黄土岭社区", "2023-05", 3, pd.Timestamp("2023-06-20")),
                 ("黄土岭社区", "2023-07", 1, pd.Timestamp("2023-08-01")))  # after as_of: not in the grid
    report = compute_status(plan, None, None, up, "2023-06")
    grid = report.reporting
    assert len(grid) == len(plan.units) * 3
    mine = grid[grid["reporting_unit"] == "黄土岭社区"]
    assert mine["received"].tolist() == [True, True, False]
    assert mine["version"].tolist()[:2] == [1, 3] and pd.isna(mine["version"].iloc[2])
    assert mine["on_time"].tolist()[:2] == [True, False] and pd.isna(mine["on_time"].iloc[2])
    records = [r for r in report.as_dict()["reporting"] if r["reporting_unit"] == "黄土岭社区"]
    assert records[2] == {"reporting_unit": "黄土岭社区", "month": "2023-06", "received": False, "on_time": None,
                          "version": None, "due_date": "2023-07-05", "received_at": None, "pending": False}


# ---------------------------------------------------------------------------
# Street totals


def test_street_total_includes_units_without_quota(plan):
    data = monthly(*[(c, "fund_raised_yuan", "2023-05", 100_000) for c in COMMUNITIES],
                   (OFFICE, "fund_raised_yuan", "2023-05", 5_000_000),
                   (OFFICE, "fund_raised_yuan", "2023-06", 400_000.5))
    report = compute_status(plan, data, None, None, "2023-06")
    street = row_of(report, "fund_raised_yuan:street")
    assert street["actual"] == pytest.approx(6_000_000.5)
    assert street["reporting_unit"] is None or pd.isna(street["reporting_unit"])
    totals = report.metric_totals.set_index("metric").loc["fund_raised_yuan"]
    assert (totals["quota_sum"], totals["quota_units"], totals["street_target"]) == (3_000_000, 6, 10_000_000)
    assert totals["quota_actual"] == pytest.approx(600_000)
    assert totals["other_actual"] == pytest.approx(5_400_000.5)
    assert totals["month_value"] == pytest.approx(400_000.5)
    office = report.unit_metrics[(report.unit_metrics["reporting_unit"] == OFFICE)
                                 & (report.unit_metrics["metric"] == "fund_raised_yuan")]
    assert office["actual"].item() == pytest.approx(5_400_000.5)


def test_quota_reconciliation_keeps_the_documents_numbers(plan):
    totals = compute_status(plan, None, None, None, "2023-09").metric_totals.set_index("metric")
    assert (totals.loc["retrofit_households", "street_target"], totals.loc["retrofit_households", "quota_sum"]) == (35, 36)


MONTHS = month_range("2023-04", "2023-12")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(COMMUNITIES + [OFFICE]),
                               st.sampled_from(["retrofit_households", "fund_raised_yuan", "people_helped",
                                                "roundtable_meetings", "zuoliang_pilots"]),
                               st.sampled_from(MONTHS),
                               st.one_of(st.integers(0, 50), st.floats(0, 1e6, allow_nan=False))),
                     max_size=60),
       as_of=st.sampled_from(MONTHS))
def test_street_total_is_sum_of_unit_actuals(plan, rows, as_of):
    data = monthly(*rows)
    report = compute_status(plan, data, None, None, as_of)
    seen = data[data["month"] <= as_of]
    for target in plan.targets:
        if target.period != "year":
            continue
        row = row_of(report, target.id)
        mine = seen[seen["item"] == target.metric]
        if target.reporting_unit is None:
            units = report.unit_metrics[report.unit_metrics["metric"] == target.metric]
            assert row["actual"] == pytest.approx(units["actual"].sum(), rel=1e-9, abs=1e-6)
        else:
            mine = mine[mine["reporting_unit"] == target.reporting_unit]
        assert row["actual"] == pytest.approx(mine["value"].sum(), rel=1e-9, abs=1e-6)


# ---------------------------------------------------------------------------
# Unit filter, JSON contract


def test_unit_filter_keeps_the_units_rows_and_its_street_duties(plan):
    report = compute_status(plan, None, None, None, "2023-09", unit="民政办")
    assert report.unit == OFFICE
    assert set(report.targets["target_id"]) == {"roundtable_meetings:street", "research_topic_reports:street"}
    assert set(report.tasks["reporting_unit"]) == {OFFICE}
    assert set(report.reporting["reporting_unit"]) == {OFFICE}
    assert set(report.obligations["target_id"]) == {"roundtable_meetings:street"}
    community = compute_status(plan, None, None, None, "2023-09", unit="天剑社区")
    assert set(community.targets["reporting_unit"]) == {"天剑社区"}
    with pytest.raises(ValueError, match="未知的报送单位"):
        compute_status(plan, None, None, None, "2023-09", unit="火星社区")


@pytest.mark.parametrize(("text", "month"), [("2023-09", "2023-09"), ("2023-9", "2023-09"), ("2023/09", "2023-09"),
                                             ("2023年9月", "2023-09"), (dt.date(2023, 9, 3), "2023-09")])
def test_parse_month(text, month):
    assert parse_month(text) == month


@pytest.mark.parametrize("text", ["2023-13", "2023", "九月", ""])
def test_parse_month_rejects(text):
    with pytest.raises(ValueError):
        parse_month(text)


def test_as_dict_contract(plan):
    data = monthly(("黄土岭社区", "retrofit_households", "2023-05", 2), (OFFICE, "roundtable_meetings", "2023-05", 1),
                   ("黄土岭社区", "fund_raised_yuan", "2023-05", 1234.567))
    report = compute_status(plan, data, statuses(("黄土岭社区", "T1-1", "2023-05", "进行中")),
                            uploads(("黄土岭社区", "2023-05", 2, pd.Timestamp("2023-06-02"))), "2023-09")
    d = json.loads(json.dumps(report.as_dict(), ensure_ascii=False))  # plain JSON, no custom encoder
    assert d["as_of"] == "2023-09"
    assert set(d) >= {"as_of", "targets", "obligations", "tasks", "reporting"}
    assert set(d["targets"][0]) >= {"target_id", "metric", "reporting_unit", "actual", "target", "expected", "gap",
                                    "forecast", "status"}
    assert set(d["obligations"][0]) >= {"metric", "reporting_unit", "month", "actual", "required", "met"}
    assert set(d["tasks"][0]) >= {"item_id", "reporting_unit", "status", "overdue"}
    assert set(d["reporting"][0]) >= {"reporting_unit", "month", "received", "on_time", "version"}
    street = next(t for t in d["targets"] if t["target_id"] == "retrofit_households:street")
    assert street["reporting_unit"] is None
    assert street["actual"] == 2 and isinstance(street["actual"], int) and isinstance(street["target"], int)
    assert street["expected"] == 23.33  # 35 x 6 / 9, rounded
    fund = next(t for t in d["targets"] if t["target_id"] == "fund_raised_yuan:huangtuling")
    assert fund["actual"] == 1234.57
    assert len(d["targets"]) == len(plan.targets)


# ---------------------------------------------------------------------------
# Dashboard helpers


def test_trajectory(plan):
    data = monthly(*[("黄土岭社区", "retrofit_households", m, v) for m, v in
                     zip(["2023-04", "2023-05", "2023-06"], [1, 2, 3], strict=True)])
    tr = trajectory(plan, data, "retrofit_households:huangtuling", "2023-06")
    assert list(tr.columns[:5]) == ["month", "actual", "actual_cumulative", "expected_cumulative", "forecast"]
    assert tr["month"].tolist() == MONTHS
    assert tr["actual_cumulative"].tolist()[:3] == [1, 3, 6] and tr["actual_cumulative"].iloc[3:].isna().all()
    assert tr["expected_cumulative"].iloc[-1] == 6
    assert tr["forecast"].iloc[:2].isna().all()
    assert tr["forecast"].iloc[2:].tolist() == [6, 8, 10, 12, 14, 16, 18]  # run-rate 2 a month
    street = trajectory(plan, data, "retrofit_households:street", "2023-06")
    assert street["actual_cumulative"].iloc[2] == 6
    with pytest.raises(KeyError):
        trajectory(plan, data, "nope", "2023-06")


def test_metric_months_sum_units_per_month_from_the_start_month(plan):
    data = monthly(("黄土岭社区", "fund_raised_yuan", "2023-04", 100), ("天剑社区", "fund_raised_yuan", "2023-04", 50),
                   ("黄土岭社区", "fund_raised_yuan", "2023-06", 7), ("黄土岭社区", "fund_raised_yuan", "2023-09", 1000),
                   ("黄土岭社区", "retrofit_households", "2023-05", 3), (OFFICE, "fund_raised_yuan", "2023-03", 9))
    street = metric_months(plan, data, "fund_raised_yuan", "2023-07")
    assert list(street.index) == ["2023-04", "2023-05", "2023-06", "2023-07"]
    assert street.tolist() == [150, 0, 7, 0]  # before the start month and after as_of: left out
    assert metric_months(plan, data, "fund_raised_yuan", "2023-07", unit="天剑社区").tolist() == [50, 0, 0, 0]
    assert metric_months(plan, data, "fund_raised_yuan", "2023-03").empty


def test_charts_from_one_frame_then_another_use_each_frames_figures(plan):
    # the encoded frame is reused while it lives; a different frame, even of the same length, is encoded anew
    first = monthly(("黄土岭社区", "retrofit_households", "2023-04", 1))
    second = monthly(("黄土岭社区", "retrofit_households", "2023-04", 5))
    for _ in range(2):
        assert trajectory(plan, first, "retrofit_households:street", "2023-04")["actual"].iloc[0] == 1
        assert trajectory(plan, second, "retrofit_households:street", "2023-04")["actual"].iloc[0] == 5
    del first
    third = monthly(("天剑社区", "retrofit_households", "2023-04", 2))
    assert metric_months(plan, third, "retrofit_households", "2023-04").tolist() == [2]


def test_headline_cards(plan):
    data = monthly(("黄土岭社区", "fund_raised_yuan", "2023-05", 100), (OFFICE, "fund_raised_yuan", "2023-06", 900),
                   ("黄土岭社区", "governance_reports", "2023-05", 2), ("黄土岭社区", "governance_reports", "2023-06", 3),
                   (OFFICE, "roundtable_meetings", "2023-06", 1))
    cards = headline(compute_status(plan, data, None, None, "2023-06")).set_index("metric")
    assert list(cards.index) == list(plan.display.featured)
    assert (cards.loc["fund_raised_yuan", "value"], cards.loc["fund_raised_yuan", "change"]) == (1000, 900)
    assert cards.loc["fund_raised_yuan", "target"] == 10_000_000
    assert cards.loc["governance_reports", "target"] == 12  # 6 communities x 2 a month
    assert cards.loc["governance_reports", "per_unit_target"] == 2
    assert (cards.loc["governance_reports", "value"], cards.loc["governance_reports", "change"]) == (3, 1)
    # one unit met June's two reports, five did not report: an every-month obligation is never done
    assert (cards.loc["governance_reports", "units_met"], cards.loc["governance_reports", "units_due"]) == (1, 6)
    assert cards.loc["governance_reports", "month_state"] == "missed"
    assert cards.loc["roundtable_meetings", "status"] == "on_track"
    assert cards.loc["roundtable_meetings", "month_state"] == "met"
    assert (cards.loc["roundtable_meetings", "months_met"], cards.loc["roundtable_meetings", "months_due"]) == (1, 3)
    unit_cards = headline(compute_status(plan, data, None, None, "2023-06", unit="黄土岭社区")).set_index("metric")
    assert unit_cards.loc["fund_raised_yuan", "target"] == 500_000


def test_attention_list(plan):
    data = monthly(("黄土岭社区", "retrofit_households", "2023-04", 1))
    tasks = statuses(("赤岭路社区", "T2-6-1", "2023-05", "进行中"))
    up = uploads(("黄土岭社区", "2023-05", 1, pd.Timestamp("2023-06-09 10:00")))
    items = attention(compute_status(plan, data, tasks, up, "2023-06"))
    assert "text" not in items.columns  # codes and numbers only: words come from the presentation layer
    assert items["status"].iloc[0] == "overdue"
    late = items[(items["status"] == "late")]
    assert late[["reporting_unit", "month"]].values.tolist() == [["黄土岭社区", "2023-05"]]
    task = items[(items["kind"] == "task") & (items["reporting_unit"] == "赤岭路社区")]
    assert task["task_status"].item() == "in_progress" and task["status"].item() == "task_overdue"
    missing = items[(items["status"] == "missing") & (items["reporting_unit"] == "天剑社区")]
    assert missing["month"].tolist() == ["2023-04", "2023-05", "2023-06"]
    behind = items[(items["status"] == "behind") & (items["subject"] == "retrofit_households:huangtuling")]
    assert behind["gap"].item() == pytest.approx(1.0) and behind["responsible"].item() == "黄土岭社区"
    # a street-wide target is answered for by the item's lead unit
    street = items[items["subject"] == "retrofit_households:street"]
    assert street["responsible"].item() == plan.items[plan.metrics["retrofit_households"].item].lead
    # missed obligations: this month and the months before
    missed = items[(items["kind"] == "obligation") & (items["reporting_unit"] == "天剑社区")
                   & (items["metric"] == "governance_reports")]
    assert missed["status"].item() == "obligation_missed"
    assert missed["missed_months"].item() == "2023-04,2023-05,2023-06"


def test_attention_is_ordered_by_severity(plan):
    from worktrack.progress import ATTENTION_SEVERITY

    data = monthly(("黄土岭社区", "retrofit_households", "2023-04", 1))
    tasks = statuses(("涂新社区", "T2-6-3", "2023-06", "受阻"))
    items = attention(compute_status(plan, data, tasks, None, "2023-06"))
    ranks = items["status"].map(ATTENTION_SEVERITY.index).tolist()
    assert ranks == sorted(ranks)
    assert {"blocked", "missing", "obligation_missed", "behind"} <= set(items["status"])


# ---------------------------------------------------------------------------
# Through the real store and the command line


def _submit(store, plan, unit, month, values=None, tasks=(), received=None, note=""):
    """Write a monthly report CSV and submit it through the real intake and store paths."""
    from worktrack.intake import read_report

    lines = ["上报单位,月份,编号,本月数值,分类,备注"]
    for item, value in (values or {}).items():
        category = (plan.categories(item) or ("",))[0]
        lines.append(f"{unit},{month},{item},{value},{category},{note}")
    lines += [f"{unit},{month},{item},{status},,{note}" for item, status in tasks]
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    report = read_report(raw, f"{unit}-{month}.csv", plan)
    assert report.ok, report.flat()
    result = store.submit(report, raw, submitted_by="测试", received_at=received, confirm=True)
    assert result.accepted, result.message
    return result


@pytest.fixture
def filled_store(db_location, plan):
    """The store on each backend (DuckDB, PostgreSQL), filled through the real intake path."""
    from worktrack.store import Store

    store = Store(db_location)
    _submit(store, plan, "黄土岭社区", "2023-04", {"retrofit_households": 1, "governance_reports": 2},
            [("T1-1", "进行中")], dt.datetime(2023, 5, 4, 9))
    _submit(store, plan, "黄土岭社区", "2023-05", {"retrofit_households": 9}, received=dt.datetime(2023, 6, 3, 9))
    _submit(store, plan, "黄土岭社区", "2023-05", {"retrofit_households": 2, "governance_reports": 1},
            [("T1-1", "已完成")], dt.datetime(2023, 6, 8, 9), note="更正")  # supersedes version 1
    _submit(store, plan, OFFICE, "2023-05", {"fund_raised_yuan": 300000, "roundtable_meetings": 1},
            received=dt.datetime(2023, 6, 1, 9))
    return store


def test_status_from_store_uses_active_versions_only(plan, filled_store):
    from worktrack.progress import status_from_store

    report = status_from_store(plan, filled_store, "2023-05")
    assert row_of(report, "retrofit_households:huangtuling")["actual"] == 3  # 1 + version 2's 2, not 9
    assert row_of(report, "fund_raised_yuan:street")["actual"] == 300000
    grid = report.reporting.set_index(["reporting_unit", "month"])
    assert grid.loc[("黄土岭社区", "2023-05"), "version"] == 2
    assert not grid.loc[("黄土岭社区", "2023-05"), "on_time"]  # the active version came on the 8th
    task = report.tasks[(report.tasks["item_id"] == "T1-1") & (report.tasks["reporting_unit"] == "黄土岭社区")]
    assert task["status"].item() == "已完成"
    same = compute_status(plan, filled_store.monthly_values("2023-05"), filled_store.task_statuses("2023-05"),
                          filled_store.active_uploads("2023-05"), "2023-05")
    # status_from_store adds the review marks (includes_pending) that compute_status knows nothing of
    pd.testing.assert_frame_equal(report.targets.drop(columns="includes_pending"), same.targets)

    uploads_now = filled_store.active_uploads()
    v2 = int(uploads_now.loc[(uploads_now["reporting_unit"] == "黄土岭社区") & (uploads_now["month"] == "2023-05"),
                             "upload_id"].item())
    filled_store.rollback(v2, actor="管理员")
    rolled = status_from_store(plan, filled_store, "2023-05")
    assert row_of(rolled, "retrofit_households:huangtuling")["actual"] == 10  # version 1 active again
    assert status_from_store(plan, filled_store).as_of == "2023-05"  # defaults to the latest reported month


def status_on_frames(plan, store, as_of, unit=None, today=None, approved_only=False):
    """The status as it was read before the integer-code path: string frames (every status row of the
    versions asked for, registers counted in pandas) through compute_status, then the review states."""
    from worktrack.progress import attach_reviews, awaiting_approval
    from worktrack.registers.counts import counted_monthly_values

    with store.snapshot() as reader:
        monthly = counted_monthly_values(plan, reader, as_of, approved_only=approved_only)
        tasks = reader.task_statuses(as_of, approved_only=approved_only)  # every row: no task_latest
        uploads = reader.active_receipts(as_of)
        reviews = reader.reviewed_uploads(through=as_of, active_only=True)
        waiting = awaiting_approval(reader.reviewed_uploads(through=as_of), as_of) if approved_only else ()
    report = compute_status(plan, monthly, tasks, uploads, as_of, unit=unit, today=today, review_pending=waiting)
    return attach_reviews(report, reviews[["reporting_unit", "month", "review_state"]], approved_only)


def assert_same_status(fast, slow) -> None:
    for part in ("targets", "obligations", "tasks", "reporting", "unit_metrics", "metric_totals"):
        pd.testing.assert_frame_equal(getattr(fast, part), getattr(slow, part), check_dtype=False, obj=part)
    assert fast.as_dict() == slow.as_dict()


@pytest.mark.parametrize("approved_only", [False, True])
@pytest.mark.parametrize("as_of", ["2023-03", "2023-04", "2023-05", "2023-12"])
@pytest.mark.parametrize("unit", [None, "黄土岭社区"])
def test_status_from_store_codes_agree_with_compute_status_on_frames(plan, filled_store, as_of, unit, approved_only):
    # status_from_store reads integer codes from SQL and the latest task statuses from task_latest;
    # compute_status over the plain frames (every status row, string columns) must give the same report.
    from worktrack.progress import status_from_store

    today = dt.date(2023, 6, 3)
    if approved_only:  # leaders' reading: some versions approved, one waiting
        filled_store.review(1, "approved", actor="reviewer")
        filled_store.review(4, "approved", actor="reviewer")  # the correction of 2023-05 (3) waits
    fast = status_from_store(plan, filled_store, as_of, unit=unit, today=today, approved_only=approved_only)
    assert_same_status(fast, status_on_frames(plan, filled_store, as_of, unit, today, approved_only))


@pytest.mark.parametrize("approved_only", [False, True])
@pytest.mark.parametrize("as_of", ["2023-06", "2023-09", "2023-10"])
def test_status_from_store_agrees_with_the_frames_on_the_demo_database(plan, demo_db, as_of, approved_only):
    # the demo holds reviews, a returned and refiled report, a month under review and registers
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    store = Store(demo_db)
    today = dt.date(2023, 11, 3)
    fast = status_from_store(plan, store, as_of, today=today, approved_only=approved_only)
    assert_same_status(fast, status_on_frames(plan, store, as_of, today=today, approved_only=approved_only))


def test_the_row_tables_are_built_on_first_read_and_travel_built(plan, filled_store):
    # obligations, tasks and reporting (70k, 25k and 36k labelled rows at city scale) are built when
    # first read: their row counts are known before, the built tables are the ones compute_status
    # gives, and a pickled report (Streamlit's cache) carries them built
    import pickle

    from worktrack.progress import status_from_store

    parts = ("obligations", "tasks", "reporting", "unit_metrics")
    report = status_from_store(plan, filled_store, "2023-05")
    counts = {part: report.rows(part) for part in parts}
    assert all(counts.values())
    copy = pickle.loads(pickle.dumps(report))
    assert {part: len(getattr(report, part)) for part in parts} == counts
    same = compute_status(plan, filled_store.monthly_values("2023-05"), filled_store.task_statuses("2023-05"),
                          filled_store.active_uploads("2023-05"), "2023-05")
    for part in parts:
        pd.testing.assert_frame_equal(getattr(copy, part), getattr(report, part), obj=part)
        expected = getattr(same, part)
        if part == "reporting":
            expected = expected.assign(review_state=report.reporting["review_state"])
        pd.testing.assert_frame_equal(getattr(report, part), expected, check_dtype=False, obj=part)
    assert report.rows("tasks") == len(report.tasks)  # and once built, the table's own length
    # one unit's report: its tables filtered to that unit, counted as built
    mine = status_from_store(plan, filled_store, "2023-05", unit="黄土岭社区")
    assert set(mine.reporting["reporting_unit"]) == {"黄土岭社区"}
    assert {part: mine.rows(part) for part in parts} == {part: len(getattr(mine, part)) for part in parts}


def test_a_readers_copy_shares_one_build_and_keeps_its_changes_to_itself(plan, filled_store):
    # the dashboard keeps one report per data version for every session and hands each reader a copy
    import pickle

    from worktrack.progress import status_from_store

    shared = status_from_store(plan, filled_store, "2023-05")
    first, second = shared.reader_copy(), shared.reader_copy()
    assert isinstance(shared.__dict__["_obligations"], _Deferred)  # copying built nothing
    assert isinstance(first.__dict__["_obligations"], _Deferred) and first.rows("obligations") == shared.rows("obligations")
    built = first.obligations
    assert not isinstance(shared.__dict__["_obligations"], _Deferred)  # built on the shared report, once
    pd.testing.assert_frame_equal(second.obligations, built)
    pd.testing.assert_frame_equal(first.monthly_values, shared.monthly_values)
    before = (shared.targets.copy(), shared.obligations.copy(), shared.monthly_values.copy())
    first.targets["label"] = "x"  # what a page may do to its copy
    first.targets.loc[0, "actual"] = -1.0
    first.obligations.loc[0, "actual"] = -1.0
    first.monthly_values.loc[0, "value"] = -1.0
    first.tasks["extra"] = 1
    for mine, kept in zip((shared.targets, shared.obligations, shared.monthly_values), before, strict=True):
        pd.testing.assert_frame_equal(mine, kept)
    pd.testing.assert_frame_equal(second.targets, before[0])
    assert "extra" not in shared.tasks.columns and "extra" not in second.tasks.columns
    assert pickle.loads(pickle.dumps(second)).as_dict() == shared.as_dict()


@given(st.lists(st.tuples(st.integers(-1, 6), st.integers(-1, 3), st.integers(-1, 5),
                          st.floats(-1e6, 1e6, allow_nan=False)), max_size=60))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_monthly_cube_adds_up_rows_of_one_cell_and_drops_unknown_codes(plan, rows):
    # one row per cell is placed, several rows of a cell are added up (registers beside typed rows);
    # a code of -1 or a month outside the year is no cell; the last entity is the street's sum
    from worktrack.progress import _compile, _dense_monthly

    c = _compile(plan)
    n_units, n_metrics, n_months = len(c.units), len(c.metrics), 4
    u, m, t, v = (np.array([r[i] for r in rows], dtype=dtype)
                  for i, dtype in enumerate((np.int64, np.int64, np.int32, float)))
    values, reported = _dense_monthly(c, (u, m, t, v), n_months)
    expected = np.zeros((n_units + 1, n_metrics, n_months))
    flags = np.zeros(expected.shape, dtype=bool)
    for unit, metric, month, value in rows:
        if unit >= 0 and metric >= 0 and 0 <= month < n_months:
            expected[unit, metric, month] += value
            flags[unit, metric, month] = True
    expected[-1], flags[-1] = expected[:-1].sum(axis=0), flags[:-1].any(axis=0)
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(reported, flags)


def test_cli_status_json_and_text(filled_store, capsys):
    from worktrack.cli import main

    # nothing in filled_store has been reviewed: --include-pending gives the figures as filed
    assert main(["status", "--as-of", "2023-05", "--json", "--include-pending"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["as_of"] == "2023-05"
    assert next(t for t in data["targets"] if t["target_id"] == "retrofit_households:huangtuling")["actual"] == 3
    assert main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2023-05"
    assert main(["status", "--as-of", "2023-05", "--unit", "黄土岭", "--include-pending"]) == 0
    text = capsys.readouterr().out
    assert "黄土岭社区" in text and "正常" in text and "迟报" in text and "夏家冲社区" not in text
    # yearly targets and every-month obligations are two tables
    assert text.index("一、年度目标") < text.index("二、每月任务") < text.index("三、需要关注")
    monthly_table = text[text.index("二、每月任务"):text.index("三、需要关注")]
    assert "已完成" not in monthly_table.replace("不计“已完成”", "")


def test_cli_status_json_is_streamed_and_equals_as_dict(plan, filled_store, capsys):
    from worktrack.cli import main
    from worktrack.progress import status_from_store

    filled_store.review(1, "approved", actor="reviewer")
    for approved_only, flags in ((True, []), (False, ["--include-pending"])):
        report = status_from_store(plan, filled_store, "2023-05", approved_only=approved_only)
        expected = json.loads(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
        assert main(["status", "--as-of", "2023-05", "--json", *flags]) == 0
        assert json.loads(capsys.readouterr().out) == expected


def test_cli_status_summary_has_targets_and_counts_only(plan, filled_store, capsys):
    from worktrack.cli import main

    assert main(["status", "--as-of", "2023-05", "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(["status", "--as-of", "2023-05", "--json", "--summary"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert not {"obligations", "tasks", "reporting"} & set(summary)
    assert summary["rows"] == {part: len(full[part]) for part in ("obligations", "tasks", "reporting")}
    assert {k: v for k, v in summary.items() if k != "rows"} == {
        k: v for k, v in full.items() if k not in ("obligations", "tasks", "reporting")}
    assert main(["status", "--as-of", "2023-05", "--json", "--summary", "--unit", "黄土岭"]) == 0
    mine = json.loads(capsys.readouterr().out)
    assert mine["unit"] == "黄土岭社区" and {t["reporting_unit"] for t in mine["targets"]} <= {"黄土岭社区", None}
    assert main(["status", "--as-of", "2023-05", "--summary"]) == 0
    text = capsys.readouterr().out
    assert "一、年度目标" in text and "三、需要关注" not in text


def test_json_records_by_column_match_the_per_cell_conversion(plan, filled_store):
    from worktrack.progress import JSON_TABLES, _json_value, _records, status_from_store

    report = status_from_store(plan, filled_store, "2023-05", today=dt.date(2023, 6, 3))
    for part, columns in JSON_TABLES.items():
        frame = getattr(report, part)
        cols = [c for c in columns if c in frame.columns]
        by_cell = [{c: _json_value(v) for c, v in zip(cols, row, strict=True)}
                   for row in zip(*(frame[c].tolist() for c in cols), strict=True)]
        fast = _records(frame, columns)
        assert fast == by_cell, part
        assert [[type(v) for v in r.values()] for r in fast] == [[type(v) for v in r.values()] for r in by_cell], part


@pytest.mark.parametrize("args", [["--as-of", "2023-13"], ["--as-of", "下个月"], ["--as-of", "2022-12"],
                                  ["--unit", "火星社区"]])
def test_cli_status_usage_errors(db_path, args, capsys):
    from worktrack.cli import main

    assert main(["status", *args]) == 2
    assert "用法错误" in capsys.readouterr().err


def test_compute_status_accepts_object_and_arrow_text(plan):
    rows = [("黄土岭社区", "retrofit_households", "2023-05", 2.0), (OFFICE, "fund_raised_yuan", "2023-05", 5.0)]
    plain = monthly(*rows).astype({"reporting_unit": object, "item": object, "month": object})
    arrow = monthly(*rows).astype({"reporting_unit": "string[pyarrow]", "item": "string[pyarrow]",
                                   "month": "string[pyarrow]"})
    a = compute_status(plan, plain, None, None, "2023-06").targets
    b = compute_status(plan, arrow, None, None, "2023-06").targets
    np.testing.assert_allclose(a["actual"], b["actual"])
    assert row_of(compute_status(plan, plain, None, None, "2023-06"), "retrofit_households:street")["actual"] == 2


@pytest.mark.parametrize(
    ("as_of", "actual", "expected", "status"),
    [("2023-06", 0, 0, "not_started"), ("2023-11", 0, 0, "not_started"), ("2023-12", 0, 1, "behind"),
     ("2023-12", 1, 1, "done"), ("2024-01", 0, 1, "overdue")],
)
def test_one_off_target_at_deadline_is_not_behind_mid_year(plan, as_of, actual, expected, status):
    target = dataclasses.replace(retrofit_target(1, unit=None), pace="at_deadline")
    p = with_targets(plan, target)
    facts = monthly(("街道民政办", "retrofit_households", "2023-12", 1.0)) if actual else None
    row = row_of(compute_status(p, facts, None, None, as_of), target.id)
    assert (row["expected"], row["status"]) == (expected, status)


def test_shipped_year_end_targets_use_at_deadline_pace(plan):
    assert plan.street_target("research_topic_reports").pace == "at_deadline"
    assert plan.unit_target("sanzhang_commendations", "天剑社区").pace == "at_deadline"
    assert plan.street_target("retrofit_households").pace == "linear"


def test_attention_speaks_english_when_asked(plan):
    from worktrack.views import attention_rows

    facts = monthly(("夏家冲社区", "retrofit_households", "2023-04", 0.0))
    report = compute_status(plan, facts, None, None, "2023-09")
    zh, en = attention_rows(report, "zh"), attention_rows(report, "en")
    assert len(zh) == len(en) > 0
    assert "月报未报送" in " ".join(zh["text"])
    assert "report for" in " ".join(en["text"]) and "not received" in " ".join(en["text"])
    assert not any("月报" in text for text in en["text"])


def test_json_record_text_is_what_json_dumps_writes_for_the_records():
    """The status's JSON rows are written a column at a time; the text equals json.dumps of the records."""
    import json

    from worktrack.progress import _json_record_chunks, _record_chunks

    frame = pd.DataFrame({
        "text": pd.Series(["黄土岭社区", 'a "quoted", {braced} text', None, "x, y", "\\back"], dtype="str"),
        "whole": [1.0, 2.5, float("nan"), -3.0, 1e20],
        "count": [1, 2, 3, 4, 5],
        "flag": [True, False, True, False, True],
        "maybe": pd.array([1, None, 3, None, 5], dtype="Int64"),
        "answer": pd.array([True, None, False, True, None], dtype="boolean"),
        "at": pd.to_datetime(["2023-05-01 08:00:00", None, "2023-05-02 09:30:00", "2023-05-03 10:00:00",
                              "2023-05-04 11:00:00"]),
        "at_fine": pd.to_datetime(["2023-05-01 08:00:00.250", None, "2023-05-02 00:00:00.000",
                                   "2023-05-03 00:00:00.000", "2023-05-04 00:00:00.000"]),
        "due": [dt.date(2023, 6, 5), None, dt.date(2023, 6, 5), dt.date(2023, 7, 5), None],
        "listed": [["a"], [], ["b", "c"], None, ["d"]],
        "{odd key}": ["v"] * 5,
    })
    columns = [*frame.columns, "absent"]
    for size in (2, 5000):
        texts = list(_json_record_chunks(frame, columns, size=size))
        expected = [json.dumps(chunk, ensure_ascii=False, default=str)[1:-1]
                    for chunk in _record_chunks(frame, columns, size=size)]
        assert texts == expected
    assert list(_json_record_chunks(frame, ["absent"], size=2)) == ["{}, {}", "{}, {}", "{}"]

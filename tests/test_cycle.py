"""The monthly cycle (worktrack.cycle and the store's reviews and closes), through real databases.

Every report goes through the real intake path (read_report) and Store.submit.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

import worktrack.store as store_module
from worktrack import cycle
from worktrack.progress import status_from_store
from worktrack.store import Store, StoreRefused

OFFICE = "街道民政办"
HTL, XJC, TJ = "黄土岭社区", "夏家冲社区", "天剑社区"


def report_for(plan, unit, month, values=None):
    """A monthly report CSV read by the real intake: (IntakeReport, raw bytes)."""
    from worktrack.intake import read_report

    lines = ["上报单位,月份,编号,本月数值,分类,备注"]
    for item, value in (values or {}).items():
        category = (plan.categories(item) or ("",))[0]
        lines.append(f"{unit},{month},{item},{value},{category},")
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    report = read_report(raw, f"{unit}-{month}.csv", plan)
    assert report.ok, report.flat()
    return report, raw


def submit(store, plan, unit, month, values=None, received=None, by="clerk"):
    """A monthly report CSV through the real intake and store paths; returns the SubmitResult."""
    report, raw = report_for(plan, unit, month, values)
    result = store.submit(report, raw, submitted_by=by, received_at=received, confirm=True)
    assert result.accepted, result.message
    return result


def on_time(month: str) -> dt.datetime:
    year, mon = map(int, month.split("-"))
    return dt.datetime(year + mon // 12, mon % 12 + 1, 3, 9)


@pytest.fixture
def store(db_location):
    """A store on each backend: reviews and closes run on DuckDB and on PostgreSQL."""
    return Store(db_location)


def actual(report, target_id):
    return report.targets.set_index("target_id").loc[target_id, "actual"]


# ---------------------------------------------------------------------------
# Review states and what leaders see


def test_a_new_upload_is_pending_and_leaders_see_only_approved_figures(plan, store):
    first = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2}, on_time("2023-04"))
    assert store.reviewed_uploads()["review_state"].tolist() == ["pending"]
    approved = status_from_store(plan, store, "2023-04", approved_only=True)
    assert actual(approved, "retrofit_households:huangtuling") == 0
    assert approved.approved_only and not approved.includes_pending
    everything = status_from_store(plan, store, "2023-04")
    assert actual(everything, "retrofit_households:huangtuling") == 2
    marks = everything.targets.set_index("target_id")["includes_pending"]
    assert marks["retrofit_households:huangtuling"] and marks["retrofit_households:street"]
    assert not marks["retrofit_households:xiajiachong"]  # nothing of 夏家冲社区 is unreviewed
    store.review(first.upload_id, "approved", actor="reviewer")
    assert actual(status_from_store(plan, store, "2023-04", approved_only=True),
                  "retrofit_households:huangtuling") == 2
    assert not status_from_store(plan, store, "2023-04").includes_pending


def test_a_correction_waiting_for_review_leaves_the_approved_version_in_place(plan, store):
    first = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2}, on_time("2023-04"))
    store.review(first.upload_id, "approved", actor="reviewer")
    submit(store, plan, HTL, "2023-04", {"retrofit_households": 5}, on_time("2023-04"))
    assert actual(status_from_store(plan, store, "2023-04", approved_only=True),
                  "retrofit_households:huangtuling") == 2
    assert actual(status_from_store(plan, store, "2023-04"), "retrofit_households:huangtuling") == 5


def test_returned_report_keeps_its_reason_until_a_new_version_goes_back_to_pending(plan, store):
    first = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2}, on_time("2023-04"))
    with pytest.raises(StoreRefused, match="原因"):
        store.review(first.upload_id, "returned", actor="reviewer", reason="  ")
    store.review(first.upload_id, "returned", actor="reviewer", reason="改造户数与台账不符")
    row = store.reviewed_uploads(unit=HTL, active_only=True).iloc[0]
    assert (row["review_state"], row["review_reason"], row["reviewed_by"]) == ("returned", "改造户数与台账不符",
                                                                               "reviewer")
    assert [r.month for r in cycle.returned_reports(store.reviewed_uploads(unit=HTL, active_only=True))] == \
        ["2023-04"]
    second = submit(store, plan, HTL, "2023-04", {"retrofit_households": 1}, on_time("2023-04"))
    active = store.reviewed_uploads(unit=HTL, active_only=True)
    assert active["upload_id"].tolist() == [second.upload_id]
    assert active["review_state"].tolist() == ["pending"]
    assert cycle.returned_reports(active) == []
    everything = store.reviewed_uploads(unit=HTL).set_index("upload_id")
    assert everything.loc[first.upload_id, "review_state"] == "returned"  # history keeps the return


@pytest.mark.parametrize(("reviewer", "reviewer_unit"), [("clerk", None), ("someone", HTL)])
def test_a_unit_never_reviews_its_own_report(plan, store, reviewer, reviewer_unit):
    first = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2}, by="clerk")
    with pytest.raises(StoreRefused, match="本单位或本人"):
        store.review(first.upload_id, "approved", actor=reviewer, reviewer_unit=reviewer_unit)
    assert store.reviewed_uploads()["review_state"].tolist() == ["pending"]


def test_only_the_active_version_of_an_open_month_can_be_reviewed(plan, store):
    first = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2})
    submit(store, plan, HTL, "2023-04", {"retrofit_households": 3})
    with pytest.raises(StoreRefused, match="不是当前有效版本"):
        store.review(first.upload_id, "approved", actor="reviewer")
    other = submit(store, plan, XJC, "2023-05", {"retrofit_households": 1})
    store.lock_month("2023-05", actor="admin")
    with pytest.raises(StoreRefused, match="已锁定"):
        store.review(other.upload_id, "approved", actor="reviewer")
    with pytest.raises(StoreRefused, match="找不到"):
        store.review(999, "approved", actor="reviewer")


def test_every_review_action_is_audited_and_a_batch_is_all_or_nothing(plan, store):
    a = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2})
    b = submit(store, plan, XJC, "2023-04", {"retrofit_households": 1})
    store.review(a.upload_id, "returned", actor="reviewer", reason="请核对")
    with pytest.raises(StoreRefused):
        store.review_many([b.upload_id, 999], "approved", actor="reviewer")
    assert store.reviewed_uploads().set_index("upload_id").loc[b.upload_id, "review_state"] == "pending"
    store.review_many([b.upload_id], "approved", actor="reviewer")
    log = store.audit_log(action="upload.review")
    assert log["target"].tolist() == [f"upload:{a.upload_id}", f"upload:{b.upload_id}"]
    assert log["new_value"].tolist() == ["returned", "approved"]
    assert json.loads(log["detail"].iloc[0])["reason"] == "请核对"


def test_uploads_that_predate_review_count_as_approved(plan, db_path):
    from conftest import write_legacy_database

    write_legacy_database(db_path, 2, [report_for(plan, HTL, "2023-04", {"retrofit_households": 2})])
    upgraded = Store(db_path)
    assert upgraded.schema_version() == store_module.SCHEMA_VERSION >= 3
    assert upgraded.reviewed_uploads()["review_state"].tolist() == ["approved"]
    assert actual(status_from_store(plan, upgraded, "2023-04", approved_only=True),
                  "retrofit_households:huangtuling") == 2


def test_status_carries_the_review_state_of_every_reporting_cell(plan, store):
    a = submit(store, plan, HTL, "2023-04", {"retrofit_households": 2})
    b = submit(store, plan, XJC, "2023-04", {"retrofit_households": 1})
    store.review(a.upload_id, "approved", actor="reviewer")
    store.review(b.upload_id, "returned", actor="reviewer", reason="请核对")
    data = status_from_store(plan, store, "2023-04", approved_only=True).as_dict()
    cells = {(r["reporting_unit"], r["month"]): r["review_state"] for r in data["reporting"]}
    assert cells[(HTL, "2023-04")] == "approved"
    assert cells[(XJC, "2023-04")] == "returned"
    assert cells[(TJ, "2023-04")] is None  # nothing filed
    assert data["approved_only"] is True


# ---------------------------------------------------------------------------
# Reminders


def test_reminder_states_missing_late_returned_pending_approved(plan, store):
    month = "2023-05"
    approved = submit(store, plan, HTL, month, {"retrofit_households": 1}, on_time(month))
    store.review(approved.upload_id, "approved", actor="reviewer")
    submit(store, plan, XJC, month, {"retrofit_households": 1}, dt.datetime(2023, 6, 9, 10))  # after the 5th
    returned = submit(store, plan, TJ, month, {"retrofit_households": 1}, on_time(month))
    store.review(returned.upload_id, "returned", actor="reviewer", reason="数字有误")
    submit(store, plan, OFFICE, month, {"roundtable_meetings": 1}, on_time(month))
    report = cycle.reminders(plan, store, month, dt.date(2023, 6, 6))
    states = {u.reporting_unit: u.state for u in report.units}
    assert states == {HTL: "approved", XJC: "late", TJ: "returned", OFFICE: "pending",
                      "涂新社区": "missing", "赤岭路社区": "missing", "狮子山社区": "missing"}
    assert report.due_date == dt.date(2023, 6, 5)
    assert report.contact == OFFICE
    assert {u.reporting_unit for u in report.chased()} == {TJ, "涂新社区", "赤岭路社区", "狮子山社区"}
    assert next(u for u in report.units if u.reporting_unit == TJ).review_reason == "数字有误"


# ---------------------------------------------------------------------------
# Review findings


def test_findings_flag_an_outlier_and_a_cumulative_figure(plan, store):
    for month, value in (("2023-04", 1), ("2023-05", 1), ("2023-06", 2)):
        submit(store, plan, HTL, month, {"retrofit_households": value, "governance_reports": 2})
    submit(store, plan, HTL, "2023-07", {"retrofit_households": 4, "governance_reports": 20})
    values = store.monthly_values()
    found = {(f.code, f.item): f for f in cycle.review_findings(plan, values, HTL, "2023-07")}
    # 1 + 1 + 2 = 4 reported before: a July figure of 4 is the year to date typed as the month
    assert found[("cumulative", "retrofit_households")].reference == 4
    # 20 reports against a usual 2 a month (far beyond the 6 of the months before: not a running total)
    assert found[("outlier", "governance_reports")].reference == 2
    assert cycle.review_findings(plan, values, HTL, "2023-06") == []


def test_findings_need_history(plan, store):
    submit(store, plan, HTL, "2023-04", {"retrofit_households": 40})
    assert cycle.review_findings(plan, store.monthly_values(), HTL, "2023-04") == []


def test_approve_in_one_action_takes_only_the_normal_pending_reports(plan, store):
    for month in ("2023-04", "2023-05"):
        for unit in (HTL, XJC, OFFICE):
            result = submit(store, plan, unit, month, {"governance_reports": 2} if unit != OFFICE
                            else {"roundtable_meetings": 1})
            if month == "2023-04":
                store.review(result.upload_id, "approved", actor="reviewer")
    outlier = submit(store, plan, TJ, "2023-05", {"governance_reports": 2})
    submit(store, plan, TJ, "2023-04", {"governance_reports": 2})
    store.review_many([int(i) for i in store.reviewed_uploads(month="2023-04", active_only=True)
                       .query("review_state == 'pending'")["upload_id"]], "approved", actor="reviewer")
    submit(store, plan, TJ, "2023-05", {"governance_reports": 20})  # supersedes `outlier`
    queue = cycle.review_queue(plan, store, "2023-05")
    assert [e.reporting_unit for e in queue] == [HTL, XJC, TJ, OFFICE]  # plan order
    flagged = next(e for e in queue if e.reporting_unit == TJ)
    assert not flagged.looks_normal and flagged.upload_id != outlier.upload_id
    ids = cycle.approvable(queue, reviewer_unit=OFFICE)
    assert ids == [e.upload_id for e in queue if e.reporting_unit in (HTL, XJC)]


def test_side_by_side_shows_last_month_beside_this_one(plan, store):
    submit(store, plan, HTL, "2023-04", {"retrofit_households": 1})
    submit(store, plan, HTL, "2023-05", {"retrofit_households": 3, "governance_reports": 2})
    frame = cycle.side_by_side(plan, store.monthly_values(), HTL, "2023-05").set_index("item")
    assert frame.loc["retrofit_households"].tolist() == [1, 3]
    assert pd.isna(frame.loc["governance_reports", "previous"])


# ---------------------------------------------------------------------------
# Closing and reopening a month


def test_close_is_refused_while_reports_are_pending_or_returned(plan, store):
    a = submit(store, plan, HTL, "2023-04", {"retrofit_households": 1})
    b = submit(store, plan, XJC, "2023-04", {"retrofit_households": 1})
    store.review(b.upload_id, "returned", actor="reviewer", reason="请核对")
    result = cycle.close_month(plan, store, "2023-04", actor="admin", today=dt.date(2023, 5, 12))
    assert not result.closed
    assert [(x["upload_id"], x["review_state"]) for x in result.blocking] == [(a.upload_id, "pending"),
                                                                               (b.upload_id, "returned")]
    assert not store.is_locked("2023-04") and store.current_close("2023-04") is None
    assert store.audit_log(action="month.close").empty


def test_close_locks_the_month_and_refuses_late_uploads_then_reopen_needs_a_reason(plan, store):
    from worktrack.intake import read_report

    a = submit(store, plan, HTL, "2023-04", {"retrofit_households": 1})
    store.review(a.upload_id, "approved", actor="reviewer")
    result = cycle.close_month(plan, store, "2023-04", actor="admin", today=dt.date(2023, 5, 12))
    assert result.closed and store.is_locked("2023-04")
    again = cycle.close_month(plan, store, "2023-04", actor="admin", today=dt.date(2023, 5, 13))
    assert again.already_closed and not again.closed
    raw = f"上报单位,月份,编号,本月数值\n{XJC},2023-04,retrofit_households,1\n".encode()
    late = store.submit(read_report(raw, "late.csv", plan), raw, submitted_by="clerk")
    assert late.status == "locked" and "已锁定" in late.message
    with pytest.raises(StoreRefused, match="原因"):
        store.reopen_month("2023-04", actor="admin", reason=" ")
    assert store.reopen_month("2023-04", actor="admin", reason="夏家冲社区补报")
    assert not store.is_locked("2023-04") and store.current_close("2023-04") is None
    assert not store.reopen_month("2023-04", actor="admin", reason="again")
    closes = store.closes("2023-04")
    assert closes["reopen_reason"].tolist() == ["夏家冲社区补报"]
    actions = store.audit_log()["action"].tolist()
    assert actions.index("month.close") < actions.index("month.reopen")
    assert json.loads(store.audit_log(action="month.reopen")["detail"].iloc[0])["reason"] == "夏家冲社区补报"


def test_a_closed_month_keeps_its_frozen_figures_whatever_happens_later(plan, store):
    for unit in (HTL, XJC):
        for month in ("2023-04", "2023-05"):
            result = submit(store, plan, unit, month, {"retrofit_households": 1}, on_time(month))
            store.review(result.upload_id, "approved", actor="reviewer")
    before = status_from_store(plan, store, "2023-05", today=dt.date(2023, 6, 12), approved_only=True)
    assert cycle.close_month(plan, store, "2023-05", actor="admin", today=dt.date(2023, 6, 12)).closed
    # later: April (still open) gets an approved correction, and June arrives
    fix = submit(store, plan, HTL, "2023-04", {"retrofit_households": 3})
    store.review(fix.upload_id, "approved", actor="reviewer")
    submit(store, plan, HTL, "2023-06", {"retrofit_households": 1})
    live = status_from_store(plan, store, "2023-05", approved_only=True)
    assert actual(live, "retrofit_households:huangtuling") == 4
    frozen = cycle.frozen_pack(plan, store, "2023-05")
    assert frozen.generated == dt.date(2023, 6, 12)
    assert actual(frozen.report, "retrofit_households:huangtuling") == 2
    assert frozen.report.as_dict() == before.as_dict()
    assert frozen.facts.equals(cycle.frozen_pack(plan, store, "2023-05").facts)
    assert cycle.frozen_pack(plan, store, "2023-04") is None  # never closed


# ---------------------------------------------------------------------------
# A month under review, seen with approved-only figures


def _file_two_months(plan, store, approve_may=()):
    """Every community files April and May (two governance reports each); April is approved, May is
    approved only for the units named. Returns the May uploads by unit."""
    communities = [u.name for u in plan.units if u.name != OFFICE]
    may = {}
    for unit in communities:
        april = submit(store, plan, unit, "2023-04", {"governance_reports": 2}, on_time("2023-04"))
        store.review(april.upload_id, "approved", actor="reviewer")
        may[unit] = submit(store, plan, unit, "2023-05", {"governance_reports": 2}, on_time("2023-05"))
        if unit in approve_may:
            store.review(may[unit].upload_id, "approved", actor="reviewer")
    return may


def test_a_month_under_review_is_not_a_month_of_missed_obligations(plan, store):
    # the bug: with approved-only figures, reports waiting for review counted as zeros, so every
    # community "missed" its two governance reports and the overview listed 13 本月未达标 rows
    _file_two_months(plan, store, approve_may=(HTL,))
    report = status_from_store(plan, store, "2023-05", today=dt.date(2023, 6, 20), approved_only=True)
    waiting = set(report.review_pending_units)
    assert HTL not in waiting and XJC in waiting and TJ in waiting
    assert report.partial and not report.pending_units
    # 黄土岭社区's May is approved: judged on it (it filed no review figure: not reported); the street
    # office filed nothing for May at all
    waiting_rows = report.monthly["reporting_unit"].isin(waiting)
    states = report.monthly[waiting_rows].set_index("reporting_unit")["month_state"]
    targets = report.monthly[report.monthly["metric"] == "governance_reports"].set_index("reporting_unit")
    assert targets.loc[HTL, "month_state"] == "met"
    assert (targets.drop(index=[HTL], errors="ignore")["month_state"].dropna() == "pending").all()
    assert "missed" not in set(states.dropna()) and "not_reported" not in set(states.dropna())
    from worktrack.progress import attention

    flagged = attention(report)
    missed = flagged[flagged["status"].isin(["obligation_missed", "missing"])]
    assert set(missed["reporting_unit"].dropna()) <= {HTL, OFFICE}  # and street-wide rows
    # with the 含待审核 switch the same month is judged on the figures as filed
    everything = status_from_store(plan, store, "2023-05", today=dt.date(2023, 6, 20))
    assert not everything.review_pending_units and not everything.partial


def test_a_returned_report_waits_like_one_under_review(plan, store):
    may = _file_two_months(plan, store)
    store.review(may[XJC].upload_id, "returned", actor="reviewer", reason="数字有误")
    report = status_from_store(plan, store, "2023-05", today=dt.date(2023, 6, 20), approved_only=True)
    assert XJC in report.review_pending_units


def test_the_default_month_steps_back_to_the_latest_month_with_approved_figures(plan, store):
    _file_two_months(plan, store)
    today = dt.date(2023, 6, 20)  # May is due and filed by every community, nothing of May approved
    assert status_from_store(plan, store, today=today).as_of == "2023-05"
    assert status_from_store(plan, store, today=today, approved_only=True).as_of == "2023-04"
    store.review(int(store.reviewed_uploads(month="2023-05")["upload_id"].iloc[0]), "approved", actor="reviewer")
    assert status_from_store(plan, store, today=today, approved_only=True).as_of == "2023-05"


def test_words_for_a_month_under_review(plan, store):
    from worktrack.views import headline_cards, partial_banner, summary_line

    _file_two_months(plan, store)
    report = status_from_store(plan, store, "2023-05", today=dt.date(2023, 6, 20), approved_only=True)
    banner = partial_banner(report)
    assert "尚未审核通过" in banner and XJC in banner
    assert "awaiting" not in banner and "not approved yet" in partial_banner(report, "en")
    card = next(c for c in headline_cards(report) if c.metric == "governance_reports")
    assert card.status_label.endswith("本月待审核") and card.tone == "neutral" and card.arrow == "off"
    assert "待审核" in summary_line(report) and "截止日" not in summary_line(report)

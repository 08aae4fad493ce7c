"""The monthly cycle: who has filed (reminders), what a reviewer should look at, closing a month.

Codes and numbers only; `worktrack.views.cycle` turns them into sentences (催报 messages, review
findings, banners) in Chinese or English.

- Reminder states of a unit for a month, first that applies: `missing` (no active upload),
  `returned` (its active upload was returned and nothing new was filed), `late` (filed after the
  due day), `pending` (filed, not reviewed yet), `approved`.
- Review findings on one upload, per metric: `cumulative` (the figure is at least everything the
  unit reported before it, summed over three or more earlier months with data, and at most that plus
  OUTLIER_RATIO usual months: a year-to-date total typed where the month's increment belongs), else
  `outlier` (more than OUTLIER_RATIO times the unit's usual month: the median of its earlier
  non-zero months).
- Closing a month freezes what its meeting pack is built from: the upload ids whose figures
  count (each unit-month's approved version through the month), the uploads reporting completeness
  counts, their review states, and the close date that stands in for "today" and the pack's date.
  Uploads are never changed or deleted, so the ids pin the exact rows for good.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from worktrack.plan import Plan, month_range, parse_month
from worktrack.progress import StatusReport, attach_reviews, compute_status, report_due_date

logger = logging.getLogger(__name__)

RemindState = Literal["missing", "late", "returned", "pending", "approved"]
REMIND_STATES: tuple[str, ...] = ("missing", "returned", "late", "pending", "approved")
OUTLIER_RATIO = 3.0
CUMULATIVE_MIN_MONTHS = 3  # with fewer months, a running total and a good month look alike


# ---------------------------------------------------------------------------
# Reminders (催报)


@dataclass(frozen=True)
class UnitReminder:
    """One unit's filing state for a month; what to chase it for."""

    reporting_unit: str
    state: RemindState
    upload_id: int | None = None
    version: int | None = None
    received_at: dt.datetime | None = None
    review_reason: str = ""


@dataclass(frozen=True)
class ReminderReport:
    """Every reporting unit's state for one month as of a day."""

    month: str
    due_date: dt.date
    as_of_date: dt.date
    contact: str
    units: list[UnitReminder] = field(default_factory=list)

    def chased(self) -> list[UnitReminder]:
        """The units a reminder goes to: not filed, or returned and not refiled."""
        return [u for u in self.units if u.state in ("missing", "returned")]

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month, "due_date": self.due_date.isoformat(), "as_of_date": self.as_of_date.isoformat(),
                "contact": self.contact, "units": [asdict(u) for u in self.units]}


def default_contact(plan: Plan) -> str:
    """Who the units answer to when nothing else is said: the street office."""
    office = next((u.name for u in plan.units if u.kind == "street_office"), None)
    return office or plan.issuers[0]


def reminders(plan: Plan, store: Any, month: str, today: dt.date, contact: str | None = None) -> ReminderReport:
    """Which units have not filed the month, filed late, were returned, wait for review or are approved."""
    month = parse_month(month)
    due = report_due_date(plan, month)
    active = store.reviewed_uploads(month=month, active_only=True)
    by_unit = {r.reporting_unit: r for r in active.itertuples(index=False)}
    deadline = dt.datetime.combine(due + dt.timedelta(days=1), dt.time())
    units = []
    for unit in plan.units:
        row = by_unit.get(unit.name)
        if row is None:
            units.append(UnitReminder(unit.name, "missing"))
            continue
        received = pd.Timestamp(row.received_at).to_pydatetime()
        if row.review_state == "returned":
            state: RemindState = "returned"
        elif received >= deadline:
            state = "late"
        else:
            state = "approved" if row.review_state == "approved" else "pending"
        units.append(UnitReminder(unit.name, state, int(row.upload_id), int(row.version), received,
                                  row.review_reason or ""))
    return ReminderReport(month, due, today, contact or default_contact(plan), units)


# ---------------------------------------------------------------------------
# Review (审核)


@dataclass(frozen=True)
class Finding:
    """Something a reviewer should look at in one report: code, metric, the figure and the yardstick."""

    code: Literal["outlier", "cumulative"]
    item: str
    value: float
    reference: float  # outlier: the usual month; cumulative: everything reported before


def review_findings(plan: Plan, values: pd.DataFrame, reporting_unit: str, month: str) -> list[Finding]:
    """Outliers and cumulative-typed figures in one unit's report for a month.

    values: reporting_unit, item, month, value (metric totals of the active versions).
    """
    return findings_by_unit(plan, values[values["reporting_unit"] == reporting_unit], month).get(reporting_unit, [])


def findings_by_unit(plan: Plan, values: pd.DataFrame, month: str) -> dict[str, list[Finding]]:
    """`review_findings` of every unit in `values` at once, in item order per unit: a figure is a
    year-to-date total when the unit has CUMULATIVE_MIN_MONTHS earlier positive months, their sum is
    above the largest of them and the figure lies between that sum and the sum plus OUTLIER_RATIO usual
    months (the median positive month); otherwise an outlier above OUTLIER_RATIO usual months."""
    own = values[values["item"].isin(plan.metrics)]
    now = own[own["month"] == month].groupby(["reporting_unit", "item"])["value"].sum()
    before = own[(own["month"] < month) & (own["month"] >= plan.start_month)]
    per_month = before.groupby(["reporting_unit", "item", "month"])["value"].sum()
    total = per_month.groupby(level=[0, 1]).sum()
    positive = per_month[per_month > 0].groupby(level=[0, 1])
    usual, largest, months = positive.median(), positive.max(), positive.size()
    found: dict[str, list[Finding]] = {}
    for (unit, item), value in now.items():
        key = (unit, item)
        if value <= 0 or key not in months.index:
            continue
        earlier, typical = float(total[key]), float(usual[key])
        if (months[key] >= CUMULATIVE_MIN_MONTHS and earlier > float(largest[key])
                and earlier <= value <= earlier + OUTLIER_RATIO * typical):
            found.setdefault(unit, []).append(Finding("cumulative", str(item), float(value), earlier))
        elif value > OUTLIER_RATIO * typical:
            found.setdefault(unit, []).append(Finding("outlier", str(item), float(value), typical))
    return found


def side_by_side(plan: Plan, values: pd.DataFrame, reporting_unit: str, month: str) -> pd.DataFrame:
    """This month's figure of every metric the unit reported beside the previous month's:
    item, previous, current (null where a month has no figure)."""
    previous_month = month_range(plan.start_month, month)[-2] if month > plan.start_month else None
    own = values[values["reporting_unit"] == reporting_unit]
    current = own[own["month"] == month].groupby("item")["value"].sum()
    previous = (own[own["month"] == previous_month].groupby("item")["value"].sum() if previous_month
                else pd.Series(dtype=float))
    items = [m for m in plan.metrics if m in current.index or m in previous.index]
    return pd.DataFrame({"item": items, "previous": [previous.get(m) for m in items],
                         "current": [current.get(m) for m in items]})


@dataclass(frozen=True)
class QueueEntry:
    """One active upload of a month awaiting (or past) review, with what looks wrong in it."""

    upload_id: int
    reporting_unit: str
    month: str
    version: int
    review_state: str
    review_reason: str
    submitted_by: str
    findings: tuple[Finding, ...]

    @property
    def looks_normal(self) -> bool:
        return not self.findings


def review_queue(plan: Plan, store: Any, month: str) -> list[QueueEntry]:
    """Every active upload of the month in plan unit order, its review state and findings."""
    month = parse_month(month)
    with store.snapshot() as reader:
        active = reader.reviewed_uploads(month=month, active_only=True)
        values = reader.monthly_values(month)
    order = {u.name: i for i, u in enumerate(plan.units)}
    found = findings_by_unit(plan, values, month)  # every unit at once (one by one took 10 s for a city)
    entries = [QueueEntry(int(r.upload_id), r.reporting_unit, r.month, int(r.version), r.review_state,
                          r.review_reason or "", r.submitted_by, tuple(found.get(r.reporting_unit, ())))
               for r in active.itertuples(index=False)]
    return sorted(entries, key=lambda e: order.get(e.reporting_unit, len(order)))


def approvable(queue: list[QueueEntry], reviewer_unit: str | None = None) -> list[int]:
    """Upload ids to approve in one action: pending, nothing found, not the reviewer's own unit."""
    return [e.upload_id for e in queue
            if e.review_state == "pending" and e.looks_normal and e.reporting_unit != reviewer_unit]


# ---------------------------------------------------------------------------
# Closing a month


def freeze(reader: Any, month: str, close_date: dt.date) -> dict[str, Any]:
    """The as-of state a month's meeting pack is built from, as upload ids (see the module docstring)."""
    approved = reader.approved_upload_ids(month)
    active = reader.reviewed_uploads(through=month, active_only=True)
    return {
        "as_of": month,
        "close_date": close_date.isoformat(),
        "upload_ids": approved,
        "receipt_ids": [int(i) for i in active["upload_id"]],
        "review_states": {str(int(i)): s for i, s in zip(active["upload_id"], active["review_state"], strict=True)},
    }


def close_month(plan: Plan, store: Any, month: str, *, actor: str, today: dt.date):
    """Close a month (store.close_month with the frozen snapshot); the CloseResult says what happened."""
    month = parse_month(month)
    return store.close_month(month, actor=actor, close_date=today,
                             snapshot=lambda reader: freeze(reader, month, today))


@dataclass(frozen=True)
class FrozenPack:
    """What a closed month's pack is regenerated from: the status, the fact rows and the date."""

    report: StatusReport
    facts: pd.DataFrame
    generated: dt.date


def frozen_pack(plan: Plan, store: Any, month: str, unit: str | None = None) -> FrozenPack | None:
    """The closed month's frozen status and facts, exactly as at close; None if the month is not closed."""
    month = parse_month(month)
    with store.snapshot() as reader:
        close = reader.current_close(month)
        if close is None:
            return None
        snap = close["snapshot"]
        ids, receipt_ids = snap["upload_ids"], snap["receipt_ids"]
        monthly = reader.monthly_values(month, upload_ids=ids)
        tasks = reader.task_statuses(month, latest=True, upload_ids=ids)
        receipts = reader.receipts_of(receipt_ids)
        facts = reader.facts(month, upload_ids=ids)
        uploads = reader.uploads()
    generated = dt.date.fromisoformat(snap["close_date"])
    report = compute_status(plan, monthly, tasks, receipts, month, unit=unit, today=generated)
    states = snap["review_states"]
    known = uploads[uploads["upload_id"].isin(receipt_ids)]
    reviews = pd.DataFrame({"reporting_unit": known["reporting_unit"], "month": known["month"],
                            "review_state": [states.get(str(int(i)), "approved") for i in known["upload_id"]]})
    report = attach_reviews(report, reviews, approved_only=True)
    return FrozenPack(report, pack_facts(facts), generated)


def pack_facts(facts: pd.DataFrame) -> pd.DataFrame:
    """Fact rows in the pack's order (month, unit, upload, item, category): reads come in no
    particular order, and a regenerated pack must come out the same byte for byte."""
    return facts.sort_values(["month", "reporting_unit", "upload_id", "item", "category"],
                             kind="stable").reset_index(drop=True)


def returned_reports(active: pd.DataFrame) -> list:
    """The active uploads (with their review, from Store.reviewed_uploads) that were returned, oldest month first."""
    if not len(active):
        return []
    returned = active[active["review_state"] == "returned"].sort_values("month")
    return list(returned.itertuples(index=False))


def awaiting_review(active: pd.DataFrame) -> str | None:
    """The latest month with an active upload still pending review (from Store.reviewed_uploads), or None."""
    pending = active[active["review_state"] == "pending"] if len(active) else active
    return str(pending["month"].max()) if len(pending) else None

"""Plan + monthly facts -> actual / expected / gap / forecast / status, obligations, tasks, reporting.

Everything here is a pure function of the plan and three DataFrames (the store's active-version
reads); `status_from_store` is the only function that touches the store.

Definitions (months are "YYYY-MM"; the plan's start month is `plan.start_month`, the issue month
unless targets.yaml sets `start_month`):

- months_total   = whole months from the start month to the target's deadline month, both
                   included (at least 1). Jinpenling: 2023-04 .. 2023-12 = 9.
- months_elapsed = whole months from the start month to as_of, both included, capped at
                   months_total and at least 0 (as_of 2023-09 -> 6).
- actual         yearly target ("period: year"): the sum of the monthly increments from the start
                 month through as_of (later reports after the deadline still count, so a late
                 completion shows as done). Every-month target ("period: month"): the figure of
                 one month, as_of itself, or the deadline month once as_of is past it.
- target         the plan's value.
- expected       yearly: target x months_elapsed / months_total (0 before the start month);
                 a one-off target with `pace: at_deadline` in targets.yaml (a year-end report or
                 commendation) expects nothing until its deadline month and the whole target then;
                 every-month: the monthly requirement (0 before the start month).
- gap            expected - actual (positive = short of where we should be by now).
- forecast       yearly: actual + run_rate x (months_total - months_elapsed), where run_rate is the
                 mean monthly increment of the last (up to) three months with a report through
                 as_of; null when nothing has been reported yet and months remain.
                 Every-month: run_rate, the monthly figure the recent months point to.
- street totals  a street target's actual is the sum over every reporting unit's values of the
                 metric, units without a quota included (e.g. 街道民政办's fund raising).

Status rules, applied in this order, first match wins:

1. done         actual >= target
2. overdue      as_of is after the deadline month (as_of in the deadline month is not overdue)
3. not_started  nothing reported for the period, actual == 0 and expected == 0 (only before the
                start month, since the start month itself already counts as elapsed)
4. on_track     actual >= expected (exactly on expected is on track)
5. at_risk      actual >= 80 % of expected (exactly 80 % is at risk)
6. behind       otherwise

"Past the deadline" means as_of is a later month than the deadline's month. For every-month
targets expected equals the requirement, so they come out done, at_risk or behind (or overdue
once the deadline month's figure stayed short and as_of is past it).

Comparisons allow a relative rounding slack of 1e-9 so that decimal inputs land on the boundary
they were meant to.

Every-month obligations: for each every-month target, each month from the start month through
min(as_of, deadline month) is due (the as_of month counts as due); met = that month's figure >=
the requirement. A street-scope every-month target (a street-wide meeting a month) sums every unit's
figure and has reporting_unit null.

Tasks (status-tracked items x their reporting units): the status of the latest report month <=
as_of. A task nobody has reported on has status null (the UI shows 未报送; "未开始" is kept for
units that said so). overdue = as_of after the deadline month and status is not 已完成.

Reporting completeness: every reporting unit x every month start..as_of. received = an active
upload exists; version = its version number; on_time = received_at <= the end of day
`plan.report_due_day` of the following month (the active version's time counts, so a correction
uploaded after the due day makes the month late). Naive timestamps are read as local
(Asia/Shanghai) time; timezone-aware ones are converted to it.

Review (the monthly cycle): `status_from_store(..., approved_only=True)` takes each unit-month's
latest approved version (what leaders see by default); otherwise every active version, and
targets["includes_pending"] marks figures that include unreviewed reports. Reporting cells carry
the active upload's review_state (pending / approved / returned) either way (`attach_reviews`).

Unit filter: a report for one unit keeps that unit's rows, plus street-scope targets whose metric
only that unit reports (e.g. 街道民政办's roundtable meetings). `metric_totals` stays street-wide.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from worktrack.plan import CADENCES, Plan, Target, month_range, parse_month
from worktrack.registers.counts import counted_register_values, register_filed
from worktrack.store import REVIEW_STATES

STATUSES = ("done", "overdue", "not_started", "on_track", "at_risk", "behind")  # rule order
YEARLY_STATUSES = ("done", "on_track", "at_risk", "behind", "overdue", "exceeded", "not_started")
# The state of an every-month obligation for one month (never "done": next month it is due again).
MONTH_STATES = ("met", "missed", "not_reported", "pending", "open", "not_due")
AT_RISK_SHARE = 0.8
RUN_RATE_MONTHS = 3
TASK_DONE = "已完成"
# Task status words as reported (the template's choices) -> codes.
TASK_WORDS = {"未开始": "not_started", "进行中": "in_progress", "已完成": "done", "受阻": "blocked"}
LOCAL_TZ = "Asia/Shanghai"
# Attention rows, most urgent first.
ATTENTION_SEVERITY = ("exceeded", "overdue", "behind", "task_overdue", "blocked", "obligation_missed", "missing", "at_risk",
                      "obligation_earlier", "late")
_SEVERITY = {s: i for i, s in enumerate(ATTENTION_SEVERITY)}

TARGET_COLUMNS = ["target_id", "metric", "reporting_unit", "actual", "target", "expected", "gap", "forecast",
                  "status"]
OBLIGATION_COLUMNS = ["metric", "reporting_unit", "month", "actual", "required", "met"]
TASK_COLUMNS = ["item_id", "reporting_unit", "status", "overdue"]
REPORTING_COLUMNS = ["reporting_unit", "month", "received", "on_time", "version"]


# ---------------------------------------------------------------------------
# Months


def month_ordinal(month: str) -> int:
    """'2023-04' -> 2023 * 12 + 3, so month differences are plain subtraction."""
    y, m = month.split("-")
    return int(y) * 12 + int(m) - 1


def _ordinal_to_month(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _loose_ordinal(value: Any) -> int | None:
    try:
        return month_ordinal(parse_month(value))
    except (ValueError, TypeError):
        return None


def report_due_date(plan: Plan, month: str) -> dt.date:
    """The last day a month's report counts as on time: report_due_day of the following month."""
    nxt = month_ordinal(month) + 1
    return dt.date(nxt // 12, nxt % 12 + 1, plan.report_due_day)


# ---------------------------------------------------------------------------
# The plan, flattened to arrays once per plan object


@dataclass
class _Compiled:
    start_ord: int
    units: list[str]
    unit_index: dict[str, int]
    metrics: list[str]
    metric_index: dict[str, int]
    targets: list[Target]
    t_metric: np.ndarray  # metric code
    t_entity: np.ndarray  # unit code, or len(units) for street scope
    t_value: np.ndarray
    t_monthly: np.ndarray  # bool: period == "month"
    t_at_deadline: np.ndarray  # bool: a one-off expected only at its deadline (pace: at_deadline)
    t_kind: np.ndarray  # object: the target's kind (plan.TARGET_KINDS)
    t_cadence: np.ndarray  # months per period of an every-period target (1, 3 or 6)
    t_opening: np.ndarray  # float: opening balance (stock) or starting level (level); NaN if none
    t_deadline: np.ndarray  # deadline month index relative to the start month
    t_sole_unit: np.ndarray  # street targets: code of the only unit reporting the metric, else -1
    items: list[str]
    item_index: dict[str, int]
    pair_item: np.ndarray  # status-tracked item x reporting unit pairs
    pair_unit: np.ndarray
    item_deadline: np.ndarray  # per item, relative month index
    reporting_units: np.ndarray  # codes of units with anything to report
    reported_by: np.ndarray  # bool [unit, metric]
    metric_period: list[str]  # "month" when the metric's targets are every-month ones, else "year"
    unit_labels: pd.Series  # unit names, then None for the street total
    metric_labels: pd.Series
    item_labels: pd.Series
    target_labels: pd.Series
    metric_lower: np.ndarray  # bool per metric: less is better
    # per target, fixed by the plan: computed once (at city scale 6k targets, every status)
    t_amended: list[int] = field(default_factory=list)  # targets whose value changed during the year
    t_special: list[int] = field(default_factory=list)  # stock, level, ceiling, quarterly/half-yearly
    t_rate_levels: list[int] = field(default_factory=list)  # level targets of a computed rate
    t_columns: dict[str, Any] = field(default_factory=dict)  # the targets table's plan columns


_TEXT = pd.Series(["text"]).dtype
# Streamlit sessions are threads: both caches below are read and written under one lock.
_CACHE_LOCK = threading.Lock()
_COMPILED: dict[int, tuple[weakref.ref, _Compiled]] = {}


def _compile(plan: Plan) -> _Compiled:
    with _CACHE_LOCK:
        cached = _COMPILED.get(id(plan))
        if cached is not None and cached[0]() is plan:
            return cached[1]
    compiled = _build_compiled(plan)
    with _CACHE_LOCK:
        _COMPILED.clear()  # one plan at a time is the normal case; never grow without bound
        _COMPILED[id(plan)] = (weakref.ref(plan), compiled)
    return compiled


def _build_compiled(plan: Plan) -> _Compiled:
    start = month_ordinal(plan.start_month)
    units = [u.name for u in plan.units]
    unit_index = {name: i for i, name in enumerate(units)}
    metrics = list(plan.metrics)
    metric_index = {m: i for i, m in enumerate(metrics)}
    targets = list(plan.targets)
    street = len(units)

    def rel(date: dt.date) -> int:
        return date.year * 12 + date.month - 1 - start

    reported_by = np.zeros((len(units), len(metrics)), dtype=bool)
    for m in plan.metrics.values():
        reported_by[[unit_index[n] for n in m.reported_by if n in unit_index], metric_index[m.id]] = True
    sole = {m.id: (unit_index.get(m.reported_by[0], -1) if len(m.reported_by) == 1 else -1)
            for m in plan.metrics.values()}
    tasks = plan.tasks
    items = [i.id for i in tasks]
    pairs = [(k, unit_index[n]) for k, item in enumerate(tasks) for n in item.reporting_units if n in unit_index]
    reporting = reported_by.any(axis=1)
    for _, u in pairs:
        reporting[u] = True
    compiled = _Compiled(
        start_ord=start, units=units, unit_index=unit_index, metrics=metrics, metric_index=metric_index,
        targets=targets,
        t_metric=np.array([metric_index[t.metric] for t in targets], dtype=np.int64),
        t_entity=np.array([street if t.reporting_unit is None else unit_index[t.reporting_unit] for t in targets],
                          dtype=np.int64),
        t_value=np.array([t.value for t in targets], dtype=float),
        t_monthly=np.array([t.period == "month" for t in targets], dtype=bool),
        t_at_deadline=np.array([t.pace == "at_deadline" for t in targets], dtype=bool),
        t_kind=np.array([t.kind for t in targets] or ["cumulative"], dtype=object)[:len(targets)],
        t_cadence=np.array([CADENCES[t.cadence] for t in targets], dtype=np.int64),
        t_opening=np.array([np.nan if t.opening is None else t.opening for t in targets], dtype=float),
        t_deadline=np.array([rel(t.deadline) for t in targets], dtype=np.int64),
        t_sole_unit=np.array([sole[t.metric] if t.reporting_unit is None else -1 for t in targets], dtype=np.int64),
        items=items, item_index={i: k for k, i in enumerate(items)},
        pair_item=np.array([p[0] for p in pairs], dtype=np.int64),
        pair_unit=np.array([p[1] for p in pairs], dtype=np.int64),
        item_deadline=np.array([rel(i.deadline) for i in tasks], dtype=np.int64),
        reporting_units=np.flatnonzero(reporting), reported_by=reported_by,
        metric_period=[next((t.period for t in targets if t.metric == m), "year") for m in metrics],
        unit_labels=_labels([*units, None]), metric_labels=_labels(metrics), item_labels=_labels(items),
        target_labels=_labels([t.id for t in targets]),
        metric_lower=np.array([plan.metrics[m].direction == "lower" for m in metrics], dtype=bool),
    )
    c = compiled
    kinds, cadences = c.t_kind, c.t_cadence
    c.t_amended = [i for i, t in enumerate(targets) if t.history]
    c.t_special = [i for i in range(len(targets))
                   if kinds[i] in ("stock", "level", "ceiling") or (kinds[i] == "every_period" and cadences[i] > 1)]
    c.t_rate_levels = [i for i, t in enumerate(targets) if t.kind == "level" and plan.metrics[t.metric].is_rate]
    c.t_columns = {
        "target_id": c.target_labels.array,
        "metric": _take(c.metric_labels, c.t_metric),
        "reporting_unit": _take(c.unit_labels, c.t_entity),
        "original_target": c.t_value,
        "scope": _text(np.where(c.t_entity == street, "street", "unit")),
        "period": _text(np.where(c.t_monthly, "month", "year")),
        "kind": c.t_kind,
        "cadence": np.array([{1: "month", 3: "quarter", 6: "half_year"}[int(q)] for q in cadences], dtype=object),
        "deadline": np.array([t.deadline for t in targets] or [None], dtype=object)[:len(targets)],
        "direction": _text(np.where(c.metric_lower[c.t_metric], "lower", "higher")),
    }
    return compiled


def _labels(values: list) -> pd.Series:
    """Labels in pandas' default text dtype (Arrow-backed `str` on pandas 3), None kept as missing."""
    return pd.Series(values, dtype=object).astype(_TEXT)


def _take(labels: pd.Series, codes: np.ndarray):
    """labels[codes] as a column, without converting every string through Python objects."""
    return labels.take(np.asarray(codes, dtype=np.int64)).array


@functools.lru_cache(maxsize=64)
def _month_labels(start: str, end: str | None) -> pd.Series:
    """The months from start through end as labels (none when end is None); shared, never changed."""
    return _labels(month_range(start, end) if end is not None else [])


def _text(values: np.ndarray):
    """A column of a few distinct words in the default text dtype: each distinct word converted
    once (a DataFrame would convert every cell of an object array one by one)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return _labels(list(uniques)).array.take(codes, allow_fill=True)  # code -1 (missing) stays missing


def _encode(series: pd.Series, lookup: dict[str, int], fallback=None) -> np.ndarray:
    """Strings -> plan codes (-1 when unknown), hashing each distinct value once."""
    codes, uniques = pd.factorize(series)
    table = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the extra slot serves code -1 (missing)
    for j, value in enumerate(uniques):
        code = lookup.get(value, -1)
        if code < 0 and fallback is not None:
            code = fallback(value)
        table[j] = code
    return table[codes]


def _encode_months(series: pd.Series, offset: int) -> np.ndarray:
    """Month labels -> month index relative to `offset`; a large negative number when unreadable."""
    codes, uniques = pd.factorize(series)
    bad = np.iinfo(np.int64).min // 4
    table = np.full(len(uniques) + 1, bad, dtype=np.int64)
    for j, value in enumerate(uniques):
        ordinal = _loose_ordinal(value)
        if ordinal is not None:
            table[j] = ordinal - offset
    return table[codes]


def _unit_fallback(plan: Plan, compiled: _Compiled):
    def resolve(value: Any) -> int:
        unit = plan.find_unit(str(value)) if isinstance(value, str) else None
        return compiled.unit_index[unit.name] if unit is not None else -1
    return resolve


_ENCODED: dict[int, tuple[weakref.ref, _Compiled, int, tuple[np.ndarray, ...]]] = {}
_ENCODED_KEEP = 4


def _monthly_codes(plan: Plan, c: _Compiled, monthly: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(unit, metric, month index, value) arrays of a monthly-values frame, encoded once per frame.

    A page draws several charts from one frame (five sparklines, a trajectory per target); at city
    scale encoding its 250k rows takes ~20 ms, so it is done once and kept while the frame lives.
    Frames from the store are never changed in place, which is what makes keying by identity safe
    (the row count is checked as well).
    """
    key = id(monthly)
    with _CACHE_LOCK:
        hit = _ENCODED.get(key)
    if hit is not None and hit[0]() is monthly and hit[1] is c and hit[2] == len(monthly):
        return hit[3]
    codes = _with_rates(plan, c, (
        _encode(monthly["reporting_unit"], c.unit_index, _unit_fallback(plan, c)),
        _encode(monthly["item"], c.metric_index),
        _encode_months(monthly["month"], c.start_ord),
        np.nan_to_num(pd.to_numeric(monthly["value"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)),
    ))
    with _CACHE_LOCK:
        for stale in [k for k, v in _ENCODED.items() if v[0]() is None]:
            del _ENCODED[stale]
        while len(_ENCODED) >= _ENCODED_KEEP:
            del _ENCODED[next(iter(_ENCODED))]
        _ENCODED[key] = (weakref.ref(monthly), c, len(monthly), codes)
    return codes


def _frame(data: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if data is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"数据缺少列：{', '.join(missing)}")
    return data


# ---------------------------------------------------------------------------
# Status rules


def _at_least(actual: np.ndarray, bound: np.ndarray) -> np.ndarray:
    return actual >= bound - 1e-9 * np.maximum(1.0, np.abs(bound))


def classify(actual, target, expected, past_deadline, reported) -> np.ndarray:
    """The status rules of the module docstring, vectorised; returns an array of status codes."""
    actual, target, expected = (np.asarray(x, dtype=float) for x in (actual, target, expected))
    past_deadline, reported = np.asarray(past_deadline, dtype=bool), np.asarray(reported, dtype=bool)
    conditions = [
        _at_least(actual, target),
        past_deadline,
        ~reported & (actual == 0) & (expected == 0),
        _at_least(actual, expected),
        _at_least(actual, AT_RISK_SHARE * expected),
    ]
    return np.select(conditions, ["done", "overdue", "not_started", "on_track", "at_risk"], "behind").astype(object)


def expected_by(target: float, months_elapsed: int, months_total: int) -> float:
    """Pro-rata expectation in whole months: target x elapsed / total, elapsed capped at total."""
    total = max(months_total, 1)
    return target * min(max(months_elapsed, 0), total) / total


# ---------------------------------------------------------------------------
# The report


class _Deferred:
    """A table built when first read: the function that builds it, and how many rows it will have."""

    __slots__ = ("build", "rows")

    def __init__(self, build: Callable[[], pd.DataFrame], rows: int) -> None:
        self.build, self.rows = build, rows


DEFERRED_TABLES = ("obligations", "tasks", "reporting", "unit_metrics")


def _shared_table(report: StatusReport, part: str) -> pd.DataFrame:
    """A reader's shallow copy of one of a shared report's tables, built on the shared report."""
    return getattr(report, part).copy(deep=False)


class _Table:
    """A StatusReport table that may be given as a `_Deferred`: built on first read, then kept.

    At city scale the obligations, tasks, reporting and unit-metric tables (`DEFERRED_TABLES`) are
    70k, 25k, 36k and 9k rows of labels; the headline figures, the counts and
    `json_chunks(summary=True)` never read them whole, a screen reads them from the cached report.
    (A dataclass field whose descriptor has no class-level value has no default.)"""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> pd.DataFrame:
        if obj is None:
            raise AttributeError(self.slot)
        value = obj.__dict__[self.slot]
        if isinstance(value, _Deferred):
            value = obj.__dict__[self.slot] = value.build()
        return value

    def __set__(self, obj: Any, value: pd.DataFrame | _Deferred) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class StatusReport:
    """Progress as of one month; parts are DataFrames, `as_dict` is the JSON contract."""

    plan: Plan = field(repr=False)
    as_of: str
    unit: str | None
    targets: pd.DataFrame
    obligations: pd.DataFrame = _Table()  # type: ignore[assignment]
    tasks: pd.DataFrame = _Table()  # type: ignore[assignment]
    reporting: pd.DataFrame = _Table()  # type: ignore[assignment]
    unit_metrics: pd.DataFrame = _Table()  # type: ignore[assignment]  # every unit x metric it reports
    metric_totals: pd.DataFrame  # street-wide per metric, with quota reconciliation
    pending_units: tuple[str, ...] = ()  # units whose as_of report is missing but not yet due
    today: dt.date | None = None
    # the figures it was computed from (`monthly_values`): a frame, or a function that builds it when
    # first asked for (250k rows of labels at city scale that most callers never read)
    figures: pd.DataFrame | Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    # Review (the monthly cycle): True when the figures come from approved reports only; with False,
    # targets["includes_pending"] marks every figure that includes data nobody has reviewed yet.
    approved_only: bool = False
    # approved-only figures: units whose as_of report is filed but not yet approved (waiting for review,
    # or returned and not refiled); like pending units they are judged on the month before
    review_pending_units: tuple[str, ...] = ()

    def __getstate__(self) -> dict[str, Any]:
        # a pickled report (Streamlit's cache) carries its tables built, not the functions that build them
        for part in DEFERRED_TABLES:
            getattr(self, part)
        return dict(self.__dict__)

    def reader_copy(self) -> StatusReport:
        """A copy to hand to one reader of a report that several share (a dashboard's cache): its
        tables are shallow copies, so with pandas' copy-on-write a reader that changes one changes
        its copy only; a table this report has not built yet is built here when the copy first reads
        it, so the readers share one build. Nothing is pickled or copied in depth."""
        clone = object.__new__(StatusReport)  # not copy.copy: that would pickle, building every table
        clone.__dict__.update(self.__dict__)
        for name in ("targets", "metric_totals"):
            clone.__dict__[name] = self.__dict__[name].copy(deep=False)
        for part in DEFERRED_TABLES:
            value = self.__dict__["_" + part]
            clone.__dict__["_" + part] = (_Deferred(functools.partial(_shared_table, self, part), value.rows)
                                          if isinstance(value, _Deferred) else value.copy(deep=False))
        if callable(self.figures):
            clone.figures = functools.partial(_shared_table, self, "monthly_values")
        elif self.figures is not None:
            clone.figures = self.figures.copy(deep=False)
        return clone

    def rows(self, part: str) -> int:
        """Row count of the obligations, tasks, reporting or unit_metrics table, without building it."""
        value = self.__dict__["_" + part]
        return value.rows if isinstance(value, _Deferred) else len(value)

    @property
    def monthly_values(self) -> pd.DataFrame | None:
        """[reporting_unit, item, month, value]: the monthly figures the status was computed from."""
        if callable(self.figures):
            self.figures = self.figures()
        return self.figures

    @property
    def yearly(self) -> pd.DataFrame:
        """Targets to reach by a deadline (the cumulative ones)."""
        return self.targets[self.targets["period"] != "month"]

    @property
    def monthly(self) -> pd.DataFrame:
        """Every-month obligations, with this month's state."""
        return self.targets[self.targets["period"] == "month"]

    @property
    def partial(self) -> bool:
        """The as_of month still waits for reports that are not yet due, or (approved-only) for reviews."""
        return bool(self.pending_units or self.review_pending_units)

    def reporting_progress(self) -> tuple[int, int]:
        """(units that filed the as_of month, units that report at all)."""
        r = self.reporting[self.reporting["month"] == self.as_of]
        return int(r["received"].sum()), int(len(r))

    def obligation_summary(self) -> pd.DataFrame:
        """Months due, met and missed per every-month target."""
        monthly = self.targets[self.targets["period"] == "month"]
        return monthly[["target_id", "metric", "reporting_unit", "months_due", "months_missed"]].reset_index(
            drop=True)

    def status_counts(self) -> dict[str, int]:
        """How many yearly targets are in each status (every status present, zeros included).

        Every-month obligations are counted apart (`obligation_counts`): one met month does not make
        an obligation done."""
        counts = self.yearly["status"].value_counts()
        out = {s: int(counts.get(s, 0)) for s in YEARLY_STATUSES}
        if not out["exceeded"] and "ceiling" not in set(self.targets.get("kind", ())):
            del out["exceeded"]  # only plans with ceilings know the word
        return out

    def obligation_counts(self) -> dict[str, int]:
        """Every-month obligations by this month's state, and the months missed so far this year."""
        m = self.monthly
        counts = m["month_state"].value_counts()
        out = {s: int(counts.get(s, 0)) for s in MONTH_STATES}
        out["total"] = int(len(m))
        out["months_missed"] = int(m["months_missed"].fillna(0).sum())
        return out

    def as_dict(self) -> dict[str, Any]:
        """The pinned JSON contract (extra keys allowed, none renamed)."""
        out: dict[str, Any] = {"as_of": self.as_of, "unit": self.unit}
        for part, columns in JSON_TABLES.items():
            out[part] = _records(getattr(self, part), columns)
        return {**out, **self._json_counts()}

    def _json_counts(self) -> dict[str, Any]:
        return {
            "status_counts": self.status_counts(),
            "obligation_counts": self.obligation_counts(),
            "pending_units": list(self.pending_units),
            "review_pending_units": list(self.review_pending_units),
            "partial": self.partial,
            "approved_only": self.approved_only,
            "includes_pending": self.includes_pending,
        }

    @property
    def includes_pending(self) -> bool:
        """Some figure includes reports that are not approved (never with approved_only)."""
        return "includes_pending" in self.targets.columns and bool(self.targets["includes_pending"].any())

    def json_chunks(self, summary: bool = False, indent: int = 2) -> Iterator[str]:
        """`as_dict()` as JSON text, piece by piece, a few thousand rows at a time: what is written
        never exists as a whole in memory (at city scale the full text is ~35 MB).

        summary=True leaves out the per-row parts (obligations, tasks, reporting) and gives their
        row counts instead (`rows`); targets and every count stay.
        """
        pad = " " * indent

        def dump(value: Any) -> str:
            return json.dumps(value, ensure_ascii=False, default=str)

        yield "{\n"
        head: dict[str, Any] = {"as_of": self.as_of, "unit": self.unit}
        first = True
        for key, value in head.items():
            yield f"{'' if first else ',' + chr(10)}{pad}{dump(key)}: {dump(value)}"
            first = False
        for part, columns in JSON_TABLES.items():
            if summary and part != "targets":
                continue
            yield f",\n{pad}{dump(part)}: ["
            sep = "\n"
            for chunk in _json_record_chunks(getattr(self, part), columns):
                yield sep + pad * 2 + chunk
                sep = ",\n"
            yield ("\n" + pad if sep != "\n" else "") + "]"
        tail = self._json_counts()
        if summary:
            tail["rows"] = {part: int(self.rows(part)) for part in JSON_TABLES if part != "targets"}
        for key, value in tail.items():
            yield f",\n{pad}{dump(key)}: {dump(value)}"
        yield "\n}\n"


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        value = round(value, 2)
        return int(value) if value.is_integer() else value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _json_column(column: pd.Series) -> list[Any]:
    """`_json_value` of every cell of a column; numeric and boolean columns without a per-cell dispatch."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if kind == "f":
        values = column.to_numpy()
        whole = np.isfinite(values) & (values == np.floor(values)) & (np.abs(values) < 2.0 ** 53)
        if whole.all():  # counts and whole amounts: as ints, no per-cell rounding
            return values.astype(np.int64).tolist()
        out = values.astype(object)
        out[whole] = values[whole].astype(np.int64).tolist()
        rest = np.flatnonzero(~whole)
        out[rest] = [None if v != v else (int(r) if (r := round(v, 2)).is_integer() else r)
                     for v in values[rest].tolist()]
        return out.tolist()
    if kind in "iub" and kind:
        return column.to_numpy().tolist()
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype) or (not kind and (pd.api.types.is_integer_dtype(dtype)
                                                           or pd.api.types.is_bool_dtype(dtype))):
        return column.to_numpy(dtype=object, na_value=None).tolist()  # str / int / bool, missing as None
    return _per_distinct(column, _json_value, None)  # dates, timestamps, mixed objects


def _per_distinct(column: pd.Series, convert: Callable[[Any], Any], missing: Any) -> list[Any]:
    """`convert` of every cell, called once per distinct value; missing cells give `missing`."""
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    except TypeError:  # unhashable cells (lists): one by one
        return [convert(v) for v in column.tolist()]
    converted = np.array([convert(v) for v in uniques] + [missing], dtype=object)
    return converted[codes].tolist()  # code -1 (missing) takes the trailing value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    return [record for chunk in _record_chunks(frame, columns) for record in chunk]


def _record_chunks(frame: pd.DataFrame, columns: list[str], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """The JSON records of a frame, `size` rows at a time."""
    cols = [c for c in columns if c in frame.columns]
    for start in range(0, len(frame), size):
        part = frame.iloc[start:start + size]
        data = [_json_column(part[c]) for c in cols]
        yield [dict(zip(cols, row, strict=True)) for row in zip(*data, strict=True)]


_encode_string = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring


def _json_texts(column: pd.Series) -> list[str]:
    """Each cell of a column as JSON text, the text `json.dumps` gives `_json_value` of it.

    Numbers and booleans go through the C encoder as one list; any other column is factorised and
    each distinct value encoded once (unit names, item ids and states repeat thousands of times)."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if kind in "fiub" and kind:
        values = _json_column(column)
        # numbers, booleans and nulls only: ", " cannot occur inside one of them
        return json.dumps(values)[1:-1].split(", ") if values else []

    if kind == "M":  # naive timestamps (received_at): whole seconds need no per-cell isoformat()
        values = column.to_numpy()
        seconds = values.astype("datetime64[s]")
        missing = np.isnat(values)
        if bool((seconds[~missing] == values[~missing]).all()):
            texts = np.datetime_as_string(seconds, unit="s").tolist()
            return ["null" if gone else f'"{text}"' for text, gone in zip(texts, missing.tolist(), strict=True)]

    def dump(value: Any) -> str:
        if type(value) is str:  # most distinct values: the C string encoder json.dumps itself calls
            return _encode_string(value)
        return json.dumps(_json_value(value), ensure_ascii=False, default=str)

    return _per_distinct(column, dump, "null")


def _json_record_chunks(frame: pd.DataFrame, columns: list[str], size: int = 5000) -> Iterator[str]:
    """The JSON records of a frame, `size` rows at a time, each chunk one text: the records as
    `json.dumps` of `_record_chunks`' lists writes them, without the brackets. Built a column at a
    time and joined by one format string per row: no dict per row, no encoder walk over them."""
    cols = [c for c in columns if c in frame.columns]
    braces = str.maketrans({"{": "{{", "}": "}}"})
    row = "{{" + ", ".join(json.dumps(c, ensure_ascii=False).translate(braces) + ": {}" for c in cols) + "}}"
    for start in range(0, len(frame), size):
        part = frame.iloc[start:start + size]
        if not cols:
            yield ", ".join(["{}"] * len(part))
            continue
        yield ", ".join(map(row.format, *(_json_texts(part[c]) for c in cols)))


JSON_TABLES = {
    "targets": [*TARGET_COLUMNS, "scope", "period", "deadline", "percent", "reported", "run_rate", "month_value",
                "months_elapsed", "months_total", "months_due", "months_missed", "months_met", "month_state",
                "direction", "pending", "kind", "cadence", "original_target", "includes_pending"],
    "obligations": [*OBLIGATION_COLUMNS, "target_id", "reported"],
    "tasks": [*TASK_COLUMNS, "month", "deadline", "note", "state"],
    "reporting": [*REPORTING_COLUMNS, "due_date", "received_at", "pending", "review_state"],
}


def compute_status(plan: Plan, monthly: pd.DataFrame | None, tasks: pd.DataFrame | None,
                   uploads: pd.DataFrame | None, as_of: str, unit: str | None = None,
                   today: dt.date | None = None, review_pending: Iterable[str] = ()) -> StatusReport:
    """Progress of every target, obligation, task and report as of a month (pure, vectorised).

    `today` (a date) marks which missing reports are not yet due: a unit whose as_of report is
    missing while its due day has not passed is "pending" and is judged on the months before.
    Without it nothing is pending. `review_pending` names units whose as_of report is filed but whose
    figures are not counted yet (approved-only figures, report not approved): they are judged on
    the months before in the same way, never as missing."""
    as_of = parse_month(as_of)
    c = _compile(plan)
    monthly = _frame(monthly, ["reporting_unit", "item", "month", "value"])
    monthly_codes = _monthly_codes(plan, c, monthly) if len(monthly) else None
    tasks = _frame(tasks, ["reporting_unit", "item", "month", "status", "note"])
    task_codes = None
    if len(tasks):
        task_codes = {"unit": _encode(tasks["reporting_unit"], c.unit_index, _unit_fallback(plan, c)),
                      "item": _encode(tasks["item"], c.item_index),
                      "month": _encode_months(tasks["month"], c.start_ord),
                      "status": tasks["status"].reset_index(drop=True), "note": tasks["note"].reset_index(drop=True)}
    uploads = _frame(uploads, ["reporting_unit", "month", "version", "received_at"])
    upload_codes = None
    if len(uploads):
        upload_codes = {"unit": _encode(uploads["reporting_unit"], c.unit_index, _unit_fallback(plan, c)),
                        "month": _encode_months(uploads["month"], c.start_ord),
                        "version": pd.to_numeric(uploads["version"], errors="coerce").fillna(0).to_numpy(
                            dtype=np.int64),
                        "received_at": _local_naive(uploads["received_at"]).to_numpy(dtype="datetime64[ns]")}
    return _compute(plan, c, monthly_codes, task_codes, upload_codes, as_of, unit, today, monthly,
                    review_pending=review_pending)


def _with_rates(plan: Plan, c: _Compiled, codes: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, ...] | None:
    """The codes with each rate's rows (numerator / denominator x 100) computed for every unit and month
    that reported both figures with a denominator above 0; rows coded as a rate are replaced, not kept."""
    rates = [m for m in plan.metrics.values() if m.is_rate and m.id in c.metric_index]
    if codes is None or not rates or not len(codes[0]):
        return codes
    u, m, t, v = codes
    ok = (u >= 0) & (t >= 0)
    span = int(t[ok].max()) + 1 if ok.any() else 1
    key = np.where(ok, u * span + t, -1)
    added = []
    keep = np.ones(len(u), dtype=bool)
    for rate in rates:
        r_code = c.metric_index[rate.id]
        keep &= m != r_code
        n_code, d_code = c.metric_index[rate.numerator], c.metric_index[rate.denominator]
        size = int(key.max()) + 1 if len(key) else 0
        num_rows, den_rows = ok & (m == n_code), ok & (m == d_code)
        num = np.bincount(key[num_rows], weights=v[num_rows], minlength=size)
        den = np.bincount(key[den_rows], weights=v[den_rows], minlength=size)
        both = (np.bincount(key[num_rows], minlength=size) > 0) & (np.bincount(key[den_rows], minlength=size) > 0)
        both &= den > 0
        where = np.flatnonzero(both)
        added.append((where // span, np.full(len(where), r_code), where % span, 100.0 * num[where] / den[where]))
    parts = [(u[keep], m[keep], t[keep], v[keep]), *added]
    return tuple(np.concatenate([p[i].astype(codes[i].dtype, copy=False) for p in parts]) for i in range(4))


def _compute(plan: Plan, c: _Compiled, monthly_codes: tuple[np.ndarray, ...] | None,
             task_codes: dict | Callable[[], dict] | None,
             upload_codes: dict | None, as_of: str, unit: str | None, today: dt.date | None,
             monthly: pd.DataFrame | None = None, review_pending: Iterable[str] = (),
             unreviewed: tuple[np.ndarray, np.ndarray] | None = None, approved_only: bool = False) -> StatusReport:
    """compute_status on integer codes: (unit, metric, month, value) arrays, and dicts of task and
    upload columns whose units, items and months are codes (see `compute_status` for the rules); the
    task dict may come as a function giving it (asked when the tasks table is built).
    monthly: the figures as a frame for the report to carry; built from the codes when not given.
    unreviewed: which units (bool per unit code) have an unreviewed report in the as-of month and in
    any month: the targets get `includes_pending` (`_mark_pending`'s rule, on codes)."""
    unit_name = None
    if unit is not None:
        found = plan.find_unit(unit)
        if found is None:
            raise ValueError(f"未知的报送单位“{unit}”")
        unit_name = found.name
    a = month_ordinal(as_of) - c.start_ord  # as_of month index relative to the start month
    n_months = max(a + 1, 0)
    month_labels = _month_labels(plan.start_month, as_of if n_months else None)

    values, reported = _dense_monthly(c, _with_rates(plan, c, monthly_codes), n_months)
    reporting: pd.DataFrame | _Deferred = _Deferred(
        functools.partial(_reporting, plan, c, upload_codes, n_months, month_labels, today),
        len(c.reporting_units) * n_months)
    # units whose as_of report is missing while its due day has not passed (the reporting table's
    # pending cells of the as_of month)
    pending = np.zeros(len(c.units), dtype=bool)
    if n_months and today is not None and today <= report_due_date(plan, as_of):
        filed = np.zeros(len(c.units), dtype=bool)
        if upload_codes is not None and len(upload_codes["unit"]):
            u, t = (np.asarray(upload_codes[k], dtype=np.int64) for k in ("unit", "month"))
            filed[u[(u >= 0) & (t == a)]] = True
        pending[c.reporting_units] = ~filed[c.reporting_units]
    waiting = np.zeros(len(c.units), dtype=bool)
    for name in review_pending:
        if name in c.unit_index and not pending[c.unit_index[name]]:
            waiting[c.unit_index[name]] = True
    pending_units = tuple(c.units[i] for i in np.flatnonzero(pending) if unit_name is None or c.units[i] == unit_name)
    review_units = tuple(c.units[i] for i in np.flatnonzero(waiting) if unit_name is None or c.units[i] == unit_name)
    pending |= waiting
    targets, obligations = _targets(plan, c, values, reported, a, month_labels, pending)
    if unreviewed is not None:
        targets["includes_pending"] = _includes_pending(c, *unreviewed, approved_only)
    unit_metrics, metric_totals = _metric_tables(c, values, reported)
    task_frame: pd.DataFrame | _Deferred = _Deferred(functools.partial(_tasks, plan, c, task_codes, a),
                                                     len(c.pair_item))

    if unit_name is not None:  # one unit's tables are small: built here
        code = c.unit_index[unit_name]
        keep = (targets["reporting_unit"] == unit_name).to_numpy(dtype=bool, na_value=False) | (c.t_sole_unit == code)
        sole_targets = set(targets.loc[keep & targets["reporting_unit"].isna(), "target_id"])
        targets = targets[keep].reset_index(drop=True)
        obligations = obligations.build()
        obligations = obligations[(obligations["reporting_unit"] == unit_name)
                                  | obligations["target_id"].isin(sole_targets)].reset_index(drop=True)
        task_frame = task_frame.build()
        task_frame = task_frame[task_frame["reporting_unit"] == unit_name].reset_index(drop=True)
        reporting = reporting.build()
        reporting = reporting[reporting["reporting_unit"] == unit_name].reset_index(drop=True)
        unit_metrics = unit_metrics.build()
        unit_metrics = unit_metrics[unit_metrics["reporting_unit"] == unit_name].reset_index(drop=True)
    if monthly is None:
        monthly = functools.partial(_monthly_frame, c, monthly_codes)
    return StatusReport(plan, as_of, unit_name, targets, obligations, task_frame, reporting, unit_metrics,
                        metric_totals, pending_units, today, monthly, review_pending_units=review_units,
                        approved_only=approved_only)


def _includes_pending(c: _Compiled, now: np.ndarray, any_month: np.ndarray, approved_only: bool) -> np.ndarray:
    """`_pending_rule` for every target of the plan, from unit masks (bool per unit code)."""
    if approved_only:
        return np.zeros(len(c.t_entity), dtype=bool)
    return _pending_rule(c.t_monthly, c.t_entity == len(c.units), np.append(now, False)[c.t_entity],
                         np.append(any_month, False)[c.t_entity], bool(now.any()), bool(any_month.any()))


def _pending_rule(monthly: np.ndarray, street: np.ndarray, in_now: np.ndarray, in_any: np.ndarray,
                  any_now: bool, any_any: bool) -> np.ndarray:
    """Which targets' figures include unreviewed reports: an every-month target reads the as-of month
    (its unit has one there: in_now), the others every month (in_any); a street target includes every
    unit's reports (some unit has one: any_now, any_any)."""
    return np.where(monthly, np.where(street, any_now, in_now), np.where(street, any_any, in_any)).astype(bool)


def _monthly_frame(c: _Compiled, codes: tuple[np.ndarray, ...] | None) -> pd.DataFrame:
    """[reporting_unit, item, month, value] from monthly codes: the rows of the plan's units and metrics
    (the only ones the status counts), named as the plan names them."""
    if codes is None or not len(codes[0]):
        return pd.DataFrame({"reporting_unit": pd.Series(dtype=object), "item": pd.Series(dtype=object),
                             "month": pd.Series(dtype=object), "value": pd.Series(dtype=float)})
    u, m, t, v = codes
    ok = (u >= 0) & (m >= 0)
    u, m, t, v = u[ok], m[ok], t[ok], v[ok]
    months, month_codes = np.unique(t, return_inverse=True)
    return pd.DataFrame({
        "reporting_unit": _take(c.unit_labels, u),
        "item": _take(c.metric_labels, m),
        "month": _take(_labels([_ordinal_to_month(int(o) + c.start_ord) for o in months]), month_codes),
        "value": v.astype(float),
    })


def _dense_monthly(c: _Compiled, codes: tuple[np.ndarray, ...] | None, n_months: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Values and reported flags as [entity, metric, month]; the last entity is the street total.

    Built in place in arrays that already hold the street's row: at city scale each large temporary
    is megabytes of fresh memory, and touching fresh memory is what this step spends its time on."""
    n_units, n_metrics = len(c.units), len(c.metrics)
    shape = (n_units + 1, n_metrics, n_months)
    size = n_units * n_metrics * n_months
    if codes is not None and len(codes[0]) and n_months:
        u, m, t, v = codes
        # usually every row counts (four reductions tell): no mask and no copies then
        if min(u.min(), m.min(), t.min()) < 0 or t.max() >= n_months:
            ok = (u >= 0) & (m >= 0) & (t >= 0) & (t < n_months)
            u, m, t, v = u[ok], m[ok], t[ok], v[ok]
        flat = np.multiply(u, n_metrics, dtype=np.int64)  # a new array: the codes are left as they are
        flat += m
        flat *= n_months
        flat += t
        # the street's row is allocated with the units' (never indexed by a unit's row)
        reported = np.zeros(shape, dtype=bool)
        reported.reshape(-1)[flat] = True
        if np.count_nonzero(reported) == len(flat):  # one row per cell (the usual case): placed, not summed
            values = np.zeros(shape)
            values.reshape(-1)[flat] = v
        else:
            values = np.bincount(flat, weights=v, minlength=size + n_metrics * n_months).reshape(shape)
    else:
        values, reported = np.zeros(shape), np.zeros(shape, dtype=bool)
    values[-1] = values[:-1].sum(axis=0)
    reported[-1] = reported[:-1].any(axis=0)
    return values, reported


def _run_rate(values: np.ndarray, reported: np.ndarray) -> np.ndarray:
    """Mean increment over the last (up to) three reported months; NaN when none."""
    from_end = np.flip(np.cumsum(np.flip(reported, axis=-1), axis=-1, dtype=np.int16), axis=-1)
    recent = reported & (from_end <= RUN_RATE_MONTHS)
    count = recent.sum(axis=-1)
    total = np.sum(values, axis=-1, where=recent)  # no masked copy of the cube
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _targets(plan: Plan, c: _Compiled, values: np.ndarray, reported: np.ndarray, a: int,
             month_labels: pd.Series, pending: np.ndarray) -> tuple[pd.DataFrame, _Deferred]:
    n_months = values.shape[-1]
    n_units = len(c.units)
    ent, met, value = c.t_entity, c.t_metric, c.t_value
    amended = c.t_amended
    if amended:  # a target changed during the year: the value in force in the as-of month counts
        value = value.copy()
        as_of_month = _ordinal_to_month(c.start_ord + a)
        for i in amended:
            value[i] = c.targets[i].value_as_of(as_of_month)
    monthly = c.t_monthly & (c.t_cadence == 1)  # quarters and half years are judged below, target by target
    total = np.maximum(c.t_deadline + 1, 1)
    past = a > c.t_deadline
    # A unit whose as_of report is not yet due is judged as of the month before; a street target
    # waits while any unit that reports its metric is pending.
    street_pending = (c.reported_by & pending[:, None]).any(axis=0)
    target_pending = np.where(ent < n_units, pending[np.minimum(ent, n_units - 1)] if n_units else False,
                              street_pending[met]) & (a <= c.t_deadline) & (a >= 0)
    elapsed = np.clip(a + 1 - target_pending, 0, total)
    cumulative = values.sum(axis=-1)[ent, met]
    any_reported = reported.any(axis=-1)[ent, met]
    rate = _run_rate(values, reported)[ent, met]

    # every-month targets are judged on one month: as_of, or the deadline month once past it
    eval_month = np.minimum(a, c.t_deadline)
    has_month = (eval_month >= 0) & (eval_month < n_months)
    idx = np.clip(eval_month, 0, max(n_months - 1, 0))
    if n_months:
        month_figure = np.where(has_month, values[ent, met, idx], 0.0)
        month_reported = has_month & reported[ent, met, idx]
        as_of_figure = values[ent, met, n_months - 1] if a < n_months else np.zeros(len(ent))
    else:
        month_figure = np.zeros(len(ent))
        month_reported = np.zeros(len(ent), dtype=bool)
        as_of_figure = np.zeros(len(ent))

    actual = np.where(monthly, month_figure, cumulative)
    pro_rata = np.where(c.t_at_deadline, np.where(elapsed >= total, value, 0.0), value * elapsed / total)
    expected = np.where(monthly, np.where(eval_month >= 0, value, 0.0), pro_rata)
    remaining = total - elapsed
    # no forecast for every-month obligations: each month stands alone
    forecast = np.where(monthly, np.nan, np.where(remaining > 0, actual + rate * remaining, actual))
    status = classify(actual, value, expected, past, np.where(monthly, month_reported, any_reported))

    # every-month obligations: this month's state, and never "done"
    month_met = _at_least(month_figure, value)
    month_state = np.select(
        [eval_month < 0, target_pending & monthly, month_met, month_reported],
        ["not_due", "pending", "met", "missed"], "not_reported").astype(object)
    monthly_status = np.select([month_state == "met", np.isin(month_state, ["pending", "not_due"])],
                               ["on_track", "not_started"], "behind").astype(object)
    status = np.where(monthly, monthly_status, status)

    # obligations: one row per every-month target per due month (a pending month is not due yet)
    obl_targets = np.flatnonzero(monthly)
    n_due = np.clip(np.minimum(a, c.t_deadline[obl_targets]) + 1 - target_pending[obl_targets], 0, n_months)
    # months missed counted on a [target, month] view of the cube (the rows are made with the table)
    missed = np.zeros(len(ent))
    if len(obl_targets) and n_months:
        figures = values[ent[obl_targets], met[obl_targets]]
        due_months = np.arange(n_months) < n_due[:, None]
        missed[obl_targets] = (due_months & ~_at_least(figures, value[obl_targets, None])).sum(axis=1)
    due = np.zeros(len(ent))
    due[obl_targets] = n_due

    gap = expected - actual
    months_met = np.where(monthly, due - missed, np.nan)
    due = np.where(monthly, due, np.nan)
    missed = np.where(monthly, missed, np.nan)
    extra_rows = _other_kinds(plan, c, values, reported, a, target_pending, n_units, locals())
    if extra_rows:
        actual, expected, gap, forecast, status, month_state, due, missed, months_met, extra_obligations = extra_rows
    else:
        extra_obligations = []

    with np.errstate(invalid="ignore", divide="ignore"):
        percent = actual / value * 100
    # a computed rate's two figures behind `actual` (NaN for every other target)
    rate_numerator, rate_denominator = np.full(len(value), np.nan), np.full(len(value), np.nan)
    for i in c.t_rate_levels:
        rate_numerator[i], rate_denominator[i] = _rate_parts(plan, c, values, reported, int(ent[i]), int(met[i]),
                                                             n_units)
    plan_columns = c.t_columns
    targets = pd.DataFrame({
        "target_id": plan_columns["target_id"],
        "metric": plan_columns["metric"],
        "reporting_unit": plan_columns["reporting_unit"],
        "actual": actual,
        "target": value,
        "original_target": plan_columns["original_target"],
        "expected": expected,
        "gap": gap,
        "forecast": forecast,
        "status": _text(status),
        "scope": plan_columns["scope"],
        "period": plan_columns["period"],
        "kind": plan_columns["kind"],
        "cadence": plan_columns["cadence"],
        "deadline": plan_columns["deadline"],
        "percent": percent,
        "reported": np.where(monthly, month_reported, any_reported),
        "run_rate": rate,
        "month_value": as_of_figure,
        "months_elapsed": elapsed,
        "months_total": total,
        "months_due": pd.array(due, dtype="Int64"),
        "months_missed": pd.array(missed, dtype="Int64"),
        "months_met": pd.array(months_met, dtype="Int64"),
        "month_state": pd.array(np.where(c.t_monthly, month_state, None), dtype=object),
        "direction": plan_columns["direction"],
        "pending": target_pending,
        "rate_numerator": rate_numerator,
        "rate_denominator": rate_denominator,
    })
    obligations = _Deferred(functools.partial(
        _obligation_frame, c, month_labels, obl_targets, n_due, ent, met, value, values, reported, extra_obligations),
        int(n_due.sum()) + len(extra_obligations))
    return targets, obligations


def _obligation_frame(c: _Compiled, month_labels: pd.Series, obl_targets: np.ndarray, n_due: np.ndarray,
                      ent: np.ndarray, met: np.ndarray, value: np.ndarray, values: np.ndarray, reported: np.ndarray,
                      extra: list[dict]) -> pd.DataFrame:
    """One row per every-month target (`obl_targets`) per due month (its first `n_due` months), and per
    due quarter or half year (`extra`); values, reported: the [entity, metric, month] cube."""
    rows = np.repeat(obl_targets, n_due)
    month_idx = np.arange(len(rows)) - np.repeat(np.cumsum(n_due) - n_due, n_due)
    ent, met = ent[rows], met[rows]
    actual = values[ent, met, month_idx] if len(rows) else np.zeros(0)
    obligations = pd.DataFrame({
        "metric": _take(c.metric_labels, met),
        "reporting_unit": _take(c.unit_labels, ent),
        "month": _take(month_labels, month_idx),
        "actual": actual,
        "required": value[rows],
        "met": _at_least(actual, value[rows]),
        "target_id": _take(c.target_labels, rows),
        "reported": reported[ent, met, month_idx] if len(rows) else np.zeros(0, dtype=bool),
    })
    if extra:
        obligations = pd.concat([obligations, pd.DataFrame(extra)], ignore_index=True)
    return obligations


def _other_kinds(plan: Plan, c: _Compiled, values: np.ndarray, reported: np.ndarray, a: int,
                 target_pending: np.ndarray, n_units: int, arrays: dict) -> tuple | None:
    """Stock, level, ceiling and quarterly or half-yearly targets, one by one (a plan has a handful).

    stock     actual = opening + the increments; expected grows from the opening to the target.
    level     actual = the latest reported value (the street: the units' latest values added up, or
              their mean for a percentage); expected grows from `opening` to the target, or is the
              target itself when no opening is given (a level to hold).
    ceiling   actual = the increments added up; the pro-rata ceiling is target x elapsed / total.
              exceeded once the actual passes the ceiling, at_risk while above the pro-rata ceiling,
              done once the deadline passed within it; gap = actual - pro-rata ceiling (positive is bad).
    every period of a quarter or half year: each calendar period's figures add up; a period is due
              once its last month is reported or due; the current one is pending until then.
    """
    kinds = c.t_kind
    special = c.t_special
    if not special:
        return None
    actual, expected, gap = arrays["actual"].copy(), arrays["expected"].copy(), arrays["gap"].copy()
    forecast, status = arrays["forecast"].copy(), arrays["status"].copy()
    month_state = arrays["month_state"].copy()
    due, missed, months_met = arrays["due"].copy(), arrays["missed"].copy(), arrays["months_met"].copy()
    elapsed, total, past = arrays["elapsed"], arrays["total"], arrays["past"]
    rate, any_reported = arrays["rate"], arrays["any_reported"]
    month_labels = arrays["month_labels"]
    n_months = values.shape[-1]
    obligations = []
    value = arrays["value"]
    for i in special:
        e, m, v = int(c.t_entity[i]), int(c.t_metric[i]), float(value[i])
        series, seen = values[e, m], reported[e, m]
        kind = kinds[i]
        remaining = total[i] - elapsed[i]
        if kind == "stock":
            opening = float(c.t_opening[i])
            actual[i] = opening + series.sum()
            expected[i] = opening + (v - opening) * elapsed[i] / total[i]
            forecast[i] = actual[i] + (rate[i] * remaining if remaining > 0 and not np.isnan(rate[i]) else 0)
            # judged on what was added: the opening balance alone is not progress
            status[i] = classify([actual[i] - opening], [v - opening], [expected[i] - opening], [past[i]],
                                 [any_reported[i]])[0]
        elif kind == "level":
            actual[i] = _latest_level(plan, c, values, reported, e, m, n_units)
            opening = c.t_opening[i]
            expected[i] = v if np.isnan(opening) else opening + (v - opening) * elapsed[i] / total[i]
            if a < 0:
                expected[i] = 0.0
            forecast[i] = np.nan
            status[i] = classify([actual[i]], [v], [expected[i]], [past[i]], [any_reported[i]])[0]
        elif kind == "ceiling":
            actual[i] = series.sum()
            expected[i] = v * elapsed[i] / total[i]
            forecast[i] = actual[i] + (rate[i] * remaining if remaining > 0 and not np.isnan(rate[i]) else 0)
            over = actual[i] > v + 1e-9 * max(1.0, abs(v))
            status[i] = ("exceeded" if over else "done" if past[i] else "not_started" if a < 0
                         else "on_track" if actual[i] <= expected[i] + 1e-9 else "at_risk")
            gap[i] = actual[i] - expected[i]
            continue
        else:  # every quarter / half year
            q = int(c.t_cadence[i])
            last = min(a, int(c.t_deadline[i]))
            absolute = c.start_ord + np.arange(max(last + 1, 0))
            periods = absolute // q
            done_periods, met_periods, state, figure = 0, 0, "not_due", 0.0
            for p in dict.fromkeys(periods.tolist()):
                months = np.flatnonzero(periods == p)
                end_rel = (p + 1) * q - 1 - c.start_ord  # the period's last month, relative to the start
                figure = float(series[months].sum()) if len(months) else 0.0
                complete = end_rel <= last and not (end_rel == a and target_pending[i])
                met = figure >= v - 1e-9 * max(1.0, abs(v))
                if complete:
                    done_periods += 1
                    met_periods += met
                    state = "met" if met else ("missed" if seen[months].any() else "not_reported")
                    obligations.append({"metric": c.metrics[m], "reporting_unit": c.unit_labels.iloc[e],
                                        "month": month_labels.iloc[min(end_rel, n_months - 1)], "actual": figure,
                                        "required": v, "met": bool(met), "target_id": c.targets[i].id,
                                        "reported": bool(seen[months].any())})
                else:  # the period is still running: met already, or open
                    state = "met" if met else "open"
            actual[i], expected[i] = figure, (v if last >= 0 else 0.0)
            due[i], missed[i], months_met[i] = done_periods, done_periods - met_periods, met_periods
            month_state[i] = state
            forecast[i] = np.nan
            status[i] = {"met": "on_track", "open": "not_started", "not_due": "not_started"}.get(state, "behind")
        gap[i] = expected[i] - actual[i]
    return actual, expected, gap, forecast, status, month_state, due, missed, months_met, obligations


def _latest_level(plan: Plan, c: _Compiled, values: np.ndarray, reported: np.ndarray, e: int, m: int,
                  n_units: int) -> float:
    """A level's value: the latest reported figure; for the street, the units' latest figures added up
    (their mean for a percentage)."""
    def latest(unit: int) -> float | None:
        seen = np.flatnonzero(reported[unit, m])
        return float(values[unit, m, seen[-1]]) if len(seen) else None

    if e < n_units:
        found = latest(e)
        return 0.0 if found is None else found
    if plan.metrics[c.metrics[m]].is_rate:  # the street's rate: the units' latest figures added up, then divided
        num, den = _rate_parts(plan, c, values, reported, e, m, n_units)
        return 100.0 * num / den if den > 0 else 0.0
    figures = [f for f in (latest(u) for u in range(n_units)) if f is not None]
    if not figures:
        return 0.0
    return float(np.mean(figures)) if plan.metrics[c.metrics[m]].measure == "%" else float(sum(figures))


def _rate_parts(plan: Plan, c: _Compiled, values: np.ndarray, reported: np.ndarray, e: int, m: int,
                n_units: int) -> tuple[float, float]:
    """A rate's numerator and denominator behind its level: the unit's latest month with both figures;
    for the street, every unit's latest such figures added up."""
    metric = plan.metrics[c.metrics[m]]
    n_code, d_code = c.metric_index[metric.numerator], c.metric_index[metric.denominator]
    num = den = 0.0
    for unit in ([e] if e < n_units else range(n_units)):
        seen = np.flatnonzero(reported[unit, m])
        if len(seen):
            num += float(values[unit, n_code, seen[-1]])
            den += float(values[unit, d_code, seen[-1]])
    return num, den


def _metric_tables(c: _Compiled, values: np.ndarray, reported: np.ndarray) -> tuple[_Deferred, pd.DataFrame]:
    n_units, n_metrics, n_months = len(c.units), len(c.metrics), values.shape[-1]
    cumulative = values.sum(axis=-1)
    this_month = values[..., -1] if n_months else np.zeros(values.shape[:2])
    last_month = values[..., -2] if n_months >= 2 else np.zeros(values.shape[:2])
    months_reported = reported.sum(axis=-1)

    # every unit x metric it reports (or has figures for)
    keep = c.reported_by | (months_reported[:n_units] > 0)
    u_idx, m_idx = np.nonzero(keep)
    unit_metrics = _Deferred(lambda: pd.DataFrame({
        "reporting_unit": _take(c.unit_labels, u_idx),
        "metric": _take(c.metric_labels, m_idx),
        "actual": cumulative[u_idx, m_idx],
        "month_value": this_month[u_idx, m_idx],
        "previous_month_value": last_month[u_idx, m_idx],
        "months_reported": months_reported[u_idx, m_idx],
    }), len(u_idx))

    # street-wide totals with the quota split: units with a quota vs everyone else
    quota = np.zeros((n_units, n_metrics), dtype=bool)
    unit_targets = c.t_entity < n_units
    quota[c.t_entity[unit_targets], c.t_metric[unit_targets]] = True
    street_value = np.full(n_metrics, np.nan)
    street_mask = ~unit_targets
    street_value[c.t_metric[street_mask]] = c.t_value[street_mask]
    quota_sum = np.bincount(c.t_metric[unit_targets], weights=c.t_value[unit_targets], minlength=n_metrics)
    quota_count = np.bincount(c.t_metric[unit_targets], minlength=n_metrics)
    quota_actual = np.where(quota, cumulative[:n_units], 0.0).sum(axis=0)
    metric_totals = pd.DataFrame({
        "metric": c.metric_labels.array,
        "period": c.metric_period,
        "actual": cumulative[n_units],
        "month_value": this_month[n_units],
        "previous_month_value": last_month[n_units],
        "street_target": street_value,
        "quota_sum": np.where(quota_count > 0, quota_sum, np.nan),
        "quota_units": quota_count,
        "quota_actual": quota_actual,
        "other_actual": cumulative[n_units] - quota_actual,
    })
    return unit_metrics, metric_totals


def _tasks(plan: Plan, c: _Compiled, tasks: dict | Callable[[], dict] | None, a: int) -> pd.DataFrame:
    if callable(tasks):  # the store's rows, translated to codes when the table is first built
        tasks = tasks()
    n_items = len(c.items)
    n_pairs = len(c.pair_item)
    best = np.full(len(c.units) * n_items, -1, dtype=np.int64)
    n = len(tasks["unit"]) if tasks is not None else 0
    t = np.zeros(n, dtype=np.int64)
    if n and n_items:
        u, i, t = (np.asarray(tasks[k], dtype=np.int64) for k in ("unit", "item", "month"))
        ok = (u >= 0) & (i >= 0) & (t <= a) & (t > np.iinfo(np.int64).min // 4)
        # latest month wins; within a month the later row wins
        t_ok = t[ok]
        score = (t_ok - (t_ok.min() if len(t_ok) else 0)) * n + np.flatnonzero(ok)
        np.maximum.at(best, u[ok] * n_items + i[ok], score)
    chosen = best[c.pair_unit * n_items + c.pair_item] if n_pairs else np.zeros(0, dtype=np.int64)
    has = chosen >= 0
    rows = np.where(has, chosen % max(n, 1), 0)

    # the chosen row of each pair, -1 (missing) where nothing was reported: one take each
    fill = np.where(has, rows, -1)

    def pick(column: str) -> pd.Series:
        if not n:
            return pd.Series([None] * n_pairs, dtype=object)
        return pd.Series(tasks[column].array.take(fill, allow_fill=True))  # type: ignore[index]

    status = pick("status")
    note = pick("note")
    distinct, inverse = np.unique(t[rows] if n else np.zeros(n_pairs, dtype=np.int64), return_inverse=True)
    month_names = _labels([_ordinal_to_month(int(o) + c.start_ord) for o in distinct])
    month = pd.Series(month_names.array.take(np.where(has, inverse, -1), allow_fill=True))
    past = a > c.item_deadline[c.pair_item] if n_pairs else np.zeros(0, dtype=bool)
    deadlines = np.array([plan.items[i].deadline for i in c.items] or [None], dtype=object)
    # status words -> codes, each distinct word once
    word_codes, words = pd.factorize(status)
    state = pd.Series(np.array([TASK_WORDS.get(w, "not_reported") for w in words] + ["not_reported"],
                               dtype=object)[word_codes])
    return pd.DataFrame({
        "item_id": _take(c.item_labels, c.pair_item),
        "reporting_unit": _take(c.unit_labels, c.pair_unit),
        "status": status.array,
        "state": _text(state.to_numpy(dtype=object)),
        "overdue": past & (status != TASK_DONE).to_numpy(dtype=bool),
        "month": month.array,
        "deadline": deadlines[c.pair_item] if n_pairs else np.array([], dtype=object),
        "note": note,
    })


def _local_naive(received: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(received, errors="coerce")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return stamps


def _reporting(plan: Plan, c: _Compiled, uploads: dict | None, n_months: int, month_labels: pd.Series,
               today: dt.date | None = None) -> pd.DataFrame:
    shape = (len(c.units), n_months)
    version = np.full(shape, -1, dtype=np.int64)
    received_at = np.full(shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    with_reviews = uploads is not None and "review" in uploads
    review = np.full(shape, -1, dtype=np.int64)
    if uploads is not None and len(uploads["unit"]) and n_months:
        u, t = (np.asarray(uploads[k], dtype=np.int64) for k in ("unit", "month"))
        v = np.asarray(uploads["version"], dtype=np.int64)
        stamps = np.asarray(uploads["received_at"]).astype("datetime64[ns]")
        ok = np.flatnonzero((u >= 0) & (t >= 0) & (t < n_months))
        ok = ok[np.argsort(v[ok], kind="stable")]  # should two versions be active, the highest wins
        version[u[ok], t[ok]] = v[ok]
        received_at[u[ok], t[ok]] = stamps[ok]
        if with_reviews:
            review[u[ok], t[ok]] = np.asarray(uploads["review"], dtype=np.int64)[ok]
    uu = np.repeat(c.reporting_units, n_months)
    tt = np.tile(np.arange(n_months), len(c.reporting_units))
    version, received_at, review = version[uu, tt], received_at[uu, tt], review[uu, tt]
    received = version >= 0
    due_dates = np.array([report_due_date(plan, m) for m in month_labels] + [None], dtype=object)[:n_months]
    # on time = before midnight at the end of the due day, local time
    deadline = (np.array(list(due_dates), dtype="datetime64[D]") + np.timedelta64(1, "D")).astype("datetime64[ns]")
    on_time = pd.array(received_at < deadline[tt], dtype="boolean")
    on_time[~received | np.isnat(received_at)] = pd.NA
    versions = pd.array(version, dtype="Int64")
    versions[~received] = pd.NA
    # missing but not yet due: nobody is late yet
    not_due = (np.array([today <= d for d in due_dates], dtype=bool) if today is not None and n_months
               else np.zeros(n_months, dtype=bool))
    frame = pd.DataFrame({
        "reporting_unit": _take(c.unit_labels, uu),
        "month": _take(month_labels, tt),
        "received": received,
        "on_time": on_time,
        "version": versions,
        "due_date": due_dates[tt],
        "received_at": received_at,
        "pending": ~received & not_due[tt] if n_months else np.zeros(0, dtype=bool),
    })
    if with_reviews:  # the active upload's review state, as `attach_reviews` gives it (None: nothing filed)
        frame["review_state"] = _REVIEW_LABELS[review + 1]
    return frame


_REVIEW_LABELS = np.array([None, *REVIEW_STATES], dtype=object)  # code -1 (nothing filed) -> None


# ---------------------------------------------------------------------------
# Through the store


def status_from_store(plan: Plan, store: Any, as_of: str | None = None, unit: str | None = None,
                      today: dt.date | None = None, approved_only: bool = False) -> StatusReport:
    """Read the status's parts from one store snapshot and compute the status.

    The store hands back integer codes (units, metrics, items and months as the plan numbers them),
    so no string of the 250k monthly rows reaches pandas; the tasks come from the store's table of
    latest statuses (26k rows at city scale instead of a window over a million); of the uploads only
    what reporting completeness uses. approved_only: figures and task statuses from each unit-month's
    latest approved version (what leaders see by default); otherwise from the active versions,
    reviewed or not. A unit's register figures replace its typed totals. Reporting completeness
    counts every active upload either way (filing is filing) and carries its review state. The result
    equals `compute_status` over the plain frames, followed by `attach_reviews`.
    """
    c = _compile(plan)
    with store.for_plan(plan.id).snapshot() as reader:  # another plan's reports are not this plan's figures
        # every upload's review state, read once: the active ones for the reporting cells, all of them
        # for which unit-months have an approved version
        if as_of is None:
            approved = approved_receipts(reader.review_cells()) if approved_only and today is not None else None
            as_of = (default_as_of(plan, reader.active_receipts(), today, approved=approved)
                     if today is not None else reader.latest_month() or plan.start_month)
        as_of = parse_month(as_of)
        # which units filed the as-of month without an approved version yet (approved-only figures
        # judge them on the month before): that month's uploads, every state
        waiting = awaiting_approval(reader.review_cells(month=as_of), as_of) if approved_only else ()
        # a unit name not spelt as in the plan (an alias, another form) is resolved once per name
        codes = reader.status_codes(c.unit_index, c.metric_index, c.item_index, c.start_ord, as_of, approved_only,
                                    resolve_unit=_unit_fallback(plan, c))
        monthly = codes["monthly"]
        value = np.asarray(monthly["value"], dtype=float)
        monthly_codes = (monthly["unit"], monthly["metric"], monthly["month"],
                         np.nan_to_num(value) if np.isnan(value).any() else value)
        # a unit's registers replace its typed totals (`counted_monthly_values` on codes)
        filed = register_filed(plan, reader)
        if filed:
            monthly_codes = _with_register_figures(plan, c, monthly_codes, filed,
                                                   counted_register_values(plan, reader, as_of), c.unit_index,
                                                   approved_only=approved_only)
    receipts = codes["receipts"]
    # units with an active upload not yet approved, in any month through as_of and in as_of itself
    ru = np.asarray(receipts["unit"], dtype=np.int64)
    open_ = (np.asarray(receipts["review"]) != REVIEW_STATES.index("approved")) & (ru >= 0)
    now = open_ & (np.asarray(receipts["month"], dtype=np.int64) == month_ordinal(as_of) - c.start_ord)
    units_now, units_any = np.zeros(len(c.units), dtype=bool), np.zeros(len(c.units), dtype=bool)
    units_now[ru[now]] = True
    units_any[ru[open_]] = True
    # its reporting cells carry their review states
    return _compute(plan, c, monthly_codes, codes["tasks"], receipts, as_of, unit, today, review_pending=waiting,
                    unreviewed=(units_now, units_any), approved_only=approved_only)


def _with_register_figures(plan: Plan, c: _Compiled, codes: tuple[np.ndarray, ...], filed: set[tuple[str, str]],
                           counted: pd.DataFrame, units: dict[str, int], approved_only: bool = False
                           ) -> tuple[np.ndarray, ...]:
    """Monthly codes with the typed rows of every filed (unit, metric) replaced by the register figures
    (the rules of `registers.counts.counted_monthly_values`, on codes): a month the unit reported keeps
    a row (0 when its register counts nothing there); approved-only figures take a unit's register
    figures only for the months whose monthly report is approved (the typed rows read are approved ones)."""
    u, m, t, v = codes
    fallback = _unit_fallback(plan, c)
    n_metrics = max(len(c.metrics), 1)
    n_months = int(max(t.max() if len(t) else 0, 0)) + 1
    pairs = {(units[name] if name in units else fallback(name), c.metric_index.get(metric, -1))
             for name, metric in filed}
    pairs = {(uc, mc) for uc, mc in pairs if uc >= 0 and mc >= 0}
    unit_months = set((u * 100_000 + t)[(u >= 0) & (t >= 0)].tolist()) if approved_only else None
    replaced = np.zeros(len(u), dtype=bool)
    if pairs:
        replaced = np.isin(u * n_metrics + m, [uc * n_metrics + mc for uc, mc in pairs]) & (u >= 0) & (m >= 0)
    ru, rm, rt = u[replaced], m[replaced], t[replaced]
    u, m, t, v = u[~replaced], m[~replaced], t[~replaced], v[~replaced]
    parts_u, parts_m, parts_t, parts_v = [u, ru], [m, rm], [t, rt], [v, np.zeros(len(ru))]
    if len(counted):
        cu, cm, ct, cv = _monthly_codes(plan, c, counted)
        if unit_months is not None:
            keep = np.isin(cu * 100_000 + ct, list(unit_months))
            cu, cm, ct, cv = cu[keep], cm[keep], ct[keep], cv[keep]
        parts_u.append(cu)
        parts_m.append(cm)
        parts_t.append(ct)
        parts_v.append(cv)
    u, m, t, v = (np.concatenate(parts_u), np.concatenate(parts_m), np.concatenate(parts_t),
                  np.concatenate(parts_v).astype(float))
    # one row per (unit, metric, month) of the replaced pairs: their zeros and figures added up
    ok = (u >= 0) & (m >= 0) & (t >= 0)
    if ok.all() and len(u):
        n_months = max(n_months, int(t.max()) + 1)
        key = (u.astype(np.int64) * n_metrics + m) * n_months + t
        keys, inverse = np.unique(key, return_inverse=True)
        if len(keys) < len(key):
            sums = np.bincount(inverse, weights=v)
            t = (keys % n_months).astype(t.dtype)
            m = ((keys // n_months) % n_metrics).astype(m.dtype)
            u = (keys // n_months // n_metrics).astype(u.dtype)
            v = sums
    return u, m, t, v


def approved_receipts(reviews: pd.DataFrame) -> pd.DataFrame:
    """reporting_unit, month of every unit-month with an approved version that was not rolled back.

    reviews: every upload with its review_state (StoreReader.reviewed_uploads)."""
    ok = reviews[(reviews["review_state"] == "approved") & (reviews["state"] != "rolled_back")]
    return ok[["reporting_unit", "month"]].drop_duplicates().reset_index(drop=True)


def awaiting_approval(reviews: pd.DataFrame, month: str) -> tuple[str, ...]:
    """Units that filed `month` but have no approved version of it yet (waiting for review, or
    returned and not refiled): approved-only figures do not count them, nor judge them as missing."""
    filed = reviews[(reviews["month"] == month) & (reviews["state"] == "active")]
    approved = set(approved_receipts(reviews[reviews["month"] == month])["reporting_unit"])
    return tuple(sorted(set(filed["reporting_unit"]) - approved))


def attach_reviews(report: StatusReport, reviews: pd.DataFrame, approved_only: bool) -> StatusReport:
    """Add the review state of every reporting cell (null where nothing was filed) and, unless the
    figures are approved-only, mark each target whose figure includes unreviewed reports.

    reviews: reporting_unit, month, review_state (pending / approved / returned) of the active uploads.
    """
    # by column, not by cell: at city scale 36,000 reporting cells and 70,000 targets
    reviews = reviews[["reporting_unit", "month", "review_state"]].drop_duplicates(["reporting_unit", "month"],
                                                                                    keep="last")
    reporting = report.reporting.copy()
    found = reporting[["reporting_unit", "month"]].astype(object).merge(
        reviews.astype(object), on=["reporting_unit", "month"], how="left")["review_state"]
    received = reporting["received"].to_numpy(dtype=bool)
    found = found.to_numpy(dtype=object)
    reporting["review_state"] = [s if r and isinstance(s, str) else None for s, r in
                                 zip(found, received, strict=True)]
    report.reporting = reporting
    unreviewed = reviews[reviews["review_state"] != "approved"]
    return _mark_pending(report, set(unreviewed.loc[unreviewed["month"] == report.as_of, "reporting_unit"]),
                         set(unreviewed["reporting_unit"]), approved_only)


def _mark_pending(report: StatusReport, units_now: set[str], units_any: set[str], approved_only: bool) -> StatusReport:
    """Mark each target whose figure includes unreviewed reports (never with approved-only figures):
    units_now have one in the as-of month (what every-month targets read), units_any in any month."""
    targets = report.targets.copy(deep=False)  # a new column only: the rows are shared
    if approved_only or not len(targets):
        targets["includes_pending"] = False
    else:
        unit = targets["reporting_unit"].astype(object)  # isin on objects: 3x faster than on Arrow text
        street = unit.isna().to_numpy()
        monthly = (targets["period"] == "month").to_numpy(dtype=bool)
        in_now = unit.isin(units_now).to_numpy(dtype=bool)
        in_any = unit.isin(units_any).to_numpy(dtype=bool)
        targets["includes_pending"] = _pending_rule(monthly, street, in_now, in_any, bool(units_now),
                                                    bool(units_any))
    report.targets, report.approved_only = targets, approved_only
    return report


# ---------------------------------------------------------------------------
# Dashboard helpers


def trajectory(plan: Plan, monthly: pd.DataFrame | None, target_id: str, as_of: str) -> pd.DataFrame:
    """Month-by-month actual vs expected vs forecast for one target, start month to deadline.

    Columns: month, actual (the month's figure), actual_cumulative (null after as_of),
    expected_cumulative, forecast (from as_of on: the as_of cumulative plus the run-rate of the
    last three reported months for each later month; null before as_of). For every-month targets
    the cumulative columns add up the monthly figures and requirements.
    """
    as_of = parse_month(as_of)
    target = next((t for t in plan.targets if t.id == target_id), None)
    if target is None:
        raise KeyError(target_id)
    c = _compile(plan)
    start = c.start_ord
    deadline = target.deadline.year * 12 + target.deadline.month - 1
    a = month_ordinal(as_of)
    ordinals = np.arange(start, max(deadline, a, start) + 1)
    n = len(ordinals)
    values, reported = np.zeros(n), np.zeros(n, dtype=bool)
    data = _frame(monthly, ["reporting_unit", "item", "month", "value"])
    if len(data):
        u, m, t, v = _monthly_codes(plan, c, data)
        want = (m == c.metric_index[target.metric]) & (u >= 0) & (t >= 0) & (t <= a - start)
        if target.reporting_unit is not None:
            want &= u == c.unit_index[target.reporting_unit]
        values = np.bincount(t[want], weights=v[want], minlength=n).astype(float)
        reported = np.bincount(t[want], minlength=n) > 0
    through = ordinals <= a
    total = max(deadline - start + 1, 1)
    position = np.clip(ordinals - start + 1, 0, total)
    opening = 0.0 if target.opening is None else float(target.opening)
    if target.kind == "level":  # a level is not added up: the latest figure holds until the next report
        latest = pd.Series(np.where(reported, values, np.nan)).ffill().fillna(0.0).to_numpy()
        actual_cum = np.where(through, latest, np.nan)
        expected = (np.full(n, target.value) if target.opening is None
                    else opening + (target.value - opening) * position / total)
    else:
        base = opening if target.kind == "stock" else 0.0
        actual_cum = np.where(through, base + np.cumsum(values), np.nan)
        # the value in force month by month (a target amended in July counts the new value from July)
        in_force = np.array([target.value_as_of(_ordinal_to_month(int(o))) for o in ordinals], dtype=float)
        if target.period == "month":
            expected = np.cumsum(np.where(position > 0, in_force, 0.0))
        elif target.pace == "at_deadline":
            expected = np.where(position >= total, in_force, 0.0)
        else:
            expected = base + (in_force - base) * position / total
    rate = _run_rate(values[through], reported[through])
    forecast = np.full(n, np.nan)
    if a >= start and not np.isnan(rate) and target.period != "month" and target.kind != "level":
        at = a - start
        forecast[at:] = actual_cum[at] + rate * np.minimum(ordinals[at:] - a, max(deadline - a, 0))
    return pd.DataFrame({
        "month": [_ordinal_to_month(int(o)) for o in ordinals],
        "actual": np.where(through, values, np.nan),
        "actual_cumulative": actual_cum,
        "expected_cumulative": expected.astype(float),
        "forecast": forecast,
    })


def metric_months(plan: Plan, monthly: pd.DataFrame | None, metric: str, as_of: str,
                  unit: str | None = None) -> pd.Series:
    """Each month's figure of one metric from the start month to as_of: all units summed, or one unit.

    Indexed by month label; months without a report are 0.
    """
    as_of = parse_month(as_of)
    c = _compile(plan)
    months = month_range(plan.start_month, as_of) if as_of >= plan.start_month else []
    values = np.zeros(len(months))
    data = _frame(monthly, ["reporting_unit", "item", "month", "value"])
    if len(data) and months and metric in c.metric_index:
        u, m, t, v = _monthly_codes(plan, c, data)
        want = (m == c.metric_index[metric]) & (u >= 0) & (t >= 0) & (t < len(months))
        if unit is not None:
            found = plan.find_unit(unit)
            want &= u == (c.unit_index[found.name] if found is not None else -2)
        values = np.bincount(t[want], weights=v[want], minlength=len(months)).astype(float)
    return pd.Series(values, index=pd.Index(months, name="month"), name="value")


def headline(report: StatusReport) -> pd.DataFrame:
    """One row per featured metric (the plan's display block): codes and numbers, no words.

    Street report: the street target's figures when the metric has one, else the sums over the
    unit quotas judged with the same rules. Unit report: that unit's own target. Yearly metrics:
    value is cumulative and change is this month's increment. Every-month metrics: value is the
    month's figure, change is the difference from the previous month, and the state is this
    month's (units_met of units_due met it; months_met of months_due for a single obligation).
    """
    plan = report.plan
    rows = []
    totals = report.metric_totals.set_index("metric")
    for metric_id in plan.display.featured:
        metric = plan.metrics.get(metric_id)
        if metric is None:
            continue
        mine = report.targets[report.targets["metric"] == metric_id]
        street = mine[mine["scope"] == "street"]
        units = mine[mine["scope"] == "unit"]
        if report.unit is not None:
            units = units[units["reporting_unit"] == report.unit]
        chosen = street if report.unit is None and len(street) else units
        if not len(chosen):
            continue
        period = chosen["period"].iloc[0]
        if len(chosen) == 1:
            row = chosen.iloc[0]
            value, target, expected, status = row["actual"], row["target"], row["expected"], row["status"]
        else:
            value, target, expected = chosen["actual"].sum(), chosen["target"].sum(), chosen["expected"].sum()
            last_deadline = max(chosen["deadline"])
            past = month_ordinal(report.as_of) > last_deadline.year * 12 + last_deadline.month - 1
            status = classify([value], [target], [expected], [past], [bool(chosen["reported"].any())])[0]
        if report.unit is None:
            this_month = totals.loc[metric_id, "month_value"]
            previous = totals.loc[metric_id, "previous_month_value"]
        else:
            um = report.unit_metrics[report.unit_metrics["metric"] == metric_id]
            this_month = um["month_value"].sum()
            previous = um["previous_month_value"].sum()
        monthly = period == "month"
        states = chosen["month_state"] if monthly else pd.Series(dtype=object)
        units_due = int(states.isin(["met", "missed", "not_reported"]).sum())
        units_met = int((states == "met").sum())
        if monthly:
            status = ("not_started" if units_due == 0 else "on_track" if units_met == units_due else "behind")
            state = "pending" if units_due == 0 and states.eq("pending").any() else (
                "not_due" if units_due == 0 else "met" if units_met == units_due else "missed")
            per_unit = float(chosen["target"].iloc[0])
        else:
            state, per_unit = None, math.nan
        short = units[~units["status"].isin(["done", "on_track", "not_started"])]
        ceiling = bool((chosen["kind"] == "ceiling").any())
        rows.append({
            "metric": metric_id, "measure": metric.measure, "period": period,
            "direction": "lower" if ceiling else metric.direction, "kind": chosen["kind"].iloc[0],
            "value": float(value), "target": float(target), "expected": float(expected),
            "percent": float(value) / float(target) * 100 if target and not monthly else math.nan,
            "change": float(this_month - previous if monthly else this_month),
            "this_month": float(this_month), "previous_month": float(previous),
            "status": status, "month_state": state, "per_unit_target": per_unit,
            "units_due": units_due, "units_met": units_met,
            "months_due": int(chosen["months_due"].fillna(0).sum()) if monthly else 0,
            "months_met": int(chosen["months_met"].fillna(0).sum()) if monthly else 0,
            "months_missed": int(chosen["months_missed"].fillna(0).sum()) if monthly else 0,
            "units_total": int(len(units)), "units_short": int(len(short)),
            "pending": bool(chosen["pending"].any()),
        })
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


HEADLINE_COLUMNS = ["metric", "measure", "period", "direction", "kind", "value", "target", "expected", "percent", "change",
                    "this_month", "previous_month", "status", "month_state", "per_unit_target", "units_due",
                    "units_met", "months_due", "months_met", "months_missed", "units_total", "units_short", "pending"]


def responsible_unit(plan: Plan, reporting_unit: Any, metric: str | None = None, item: str | None = None) -> str:
    """Who answers for a row: the reporting unit itself, or for a street-wide target the item's lead unit."""
    if isinstance(reporting_unit, str) and reporting_unit:
        return reporting_unit
    item_id = plan.metrics[metric].item if metric in plan.metrics else item
    node = plan.items.get(item_id) if item_id else None
    if node is not None and node.lead:
        return node.lead
    lead = plan.group_lead(item_id) if item_id else None
    return lead or ""


ATTENTION_COLUMNS = ["kind", "status", "reporting_unit", "responsible", "subject", "metric", "item_id", "month",
                     "actual", "expected", "gap", "target", "deadline", "months_missed", "months_due",
                     "missed_months", "task_status", "note", "received_at", "due_date", "overdue"]


def attention(report: StatusReport) -> pd.DataFrame:
    """What needs a leader's attention, most urgent first: codes and numbers for the presentation layer.

    kind: target (a yearly target 逾期/滞后/预警), task (受阻, or past its deadline), obligation (an
    every-month obligation missed this month, or met now but missed earlier this year), report
    (missing or late). status orders the rows (ATTENTION_SEVERITY). Each row names the responsible
    unit (the reporting unit, or the lead unit of a street-wide target) and what is due.
    """
    plan = report.plan
    parts = []
    t = report.yearly[report.yearly["status"].isin(["behind", "overdue", "at_risk", "exceeded"])]
    if len(t):
        parts.append(pd.DataFrame({
            "kind": "target", "status": t["status"].to_numpy(dtype=object),
            "reporting_unit": t["reporting_unit"].to_numpy(dtype=object),
            "responsible": [responsible_unit(plan, u, m) for u, m in zip(t["reporting_unit"], t["metric"],
                                                                       strict=True)],
            "subject": t["target_id"].to_numpy(dtype=object), "metric": t["metric"].to_numpy(dtype=object),
            "month": report.as_of, "actual": t["actual"].to_numpy(dtype=float),
            "expected": t["expected"].to_numpy(dtype=float), "gap": t["gap"].to_numpy(dtype=float),
            "target": t["target"].to_numpy(dtype=float), "deadline": t["deadline"].to_numpy(dtype=object),
        }))
    o = report.monthly[(report.monthly["month_state"].isin(["missed", "not_reported"]))
                       | (report.monthly["months_missed"].fillna(0) > 0)]
    if len(o):
        ob = report.obligations[~report.obligations["met"]]
        missed_months = ob.groupby("target_id")["month"].agg(lambda ms: ",".join(sorted(ms)))
        this_month = o["month_state"].isin(["missed", "not_reported"]).to_numpy(dtype=bool)
        parts.append(pd.DataFrame({
            "kind": "obligation",
            "status": np.where(this_month, "obligation_missed", "obligation_earlier").astype(object),
            "reporting_unit": o["reporting_unit"].to_numpy(dtype=object),
            "responsible": [responsible_unit(plan, u, m) for u, m in zip(o["reporting_unit"], o["metric"],
                                                                       strict=True)],
            "subject": o["target_id"].to_numpy(dtype=object), "metric": o["metric"].to_numpy(dtype=object),
            "month": report.as_of, "actual": o["actual"].to_numpy(dtype=float),
            "target": o["target"].to_numpy(dtype=float), "deadline": o["deadline"].to_numpy(dtype=object),
            "months_missed": o["months_missed"].fillna(0).to_numpy(dtype=float),
            "months_due": o["months_due"].fillna(0).to_numpy(dtype=float),
            "missed_months": o["target_id"].map(missed_months).fillna("").to_numpy(dtype=object),
            "task_status": o["month_state"].to_numpy(dtype=object),
        }))
    k = report.tasks[report.tasks["overdue"] | (report.tasks["state"] == "blocked")]
    if len(k):
        parts.append(pd.DataFrame({
            "kind": "task",
            "status": np.where(k["overdue"].to_numpy(dtype=bool), "task_overdue", "blocked").astype(object),
            "reporting_unit": k["reporting_unit"].to_numpy(dtype=object),
            "responsible": k["reporting_unit"].to_numpy(dtype=object),
            "subject": k["item_id"].to_numpy(dtype=object), "item_id": k["item_id"].to_numpy(dtype=object),
            "month": k["month"].to_numpy(dtype=object), "deadline": k["deadline"].to_numpy(dtype=object),
            "task_status": k["state"].to_numpy(dtype=object),
            "note": k["note"].fillna("").to_numpy(dtype=object),
            "overdue": k["overdue"].to_numpy(dtype=bool),
        }))
    r = report.reporting
    missing = r[~r["received"] & ~r["pending"]]
    if len(missing):
        parts.append(pd.DataFrame({
            "kind": "report", "status": "missing", "reporting_unit": missing["reporting_unit"].to_numpy(dtype=object),
            "responsible": missing["reporting_unit"].to_numpy(dtype=object),
            "subject": missing["month"].to_numpy(dtype=object), "month": missing["month"].to_numpy(dtype=object),
            "due_date": missing["due_date"].to_numpy(dtype=object),
        }))
    late = r[r["received"] & r["on_time"].eq(False).fillna(False).astype(bool)]
    if len(late):
        parts.append(pd.DataFrame({
            "kind": "report", "status": "late", "reporting_unit": late["reporting_unit"].to_numpy(dtype=object),
            "responsible": late["reporting_unit"].to_numpy(dtype=object),
            "subject": late["month"].to_numpy(dtype=object), "month": late["month"].to_numpy(dtype=object),
            "received_at": late["received_at"].to_numpy(), "due_date": late["due_date"].to_numpy(dtype=object),
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ATTENTION_COLUMNS})
    out = pd.concat(parts, ignore_index=True).reindex(columns=ATTENTION_COLUMNS)
    order = out["status"].map(_SEVERITY)
    return (out.assign(_order=order).sort_values(["_order", "month"], kind="stable").drop(columns="_order")
            .reset_index(drop=True))


def default_as_of(plan: Plan, receipts: pd.DataFrame, today: dt.date | None,
                  approved: pd.DataFrame | None = None) -> str:
    """The month a leader lands on: the latest month whose reporting is complete or whose due day
    has passed (a month that one unit filed early is not the default while the others are not due).

    receipts: reporting_unit, month of the active uploads. Without `today`, the latest month with data.
    approved (approved-only figures): reporting_unit, month of the approved unit-months; the default
    then steps back to the latest month that has approved figures, so a month still under review
    does not open as a month of zeros.
    """
    month = _default_as_of(plan, receipts, today)
    if approved is None or not len(approved):
        return month
    with_figures = {m for m in approved["month"].dropna().astype(str) if m <= month}
    return max(with_figures) if with_figures else month


def _default_as_of(plan: Plan, receipts: pd.DataFrame, today: dt.date | None) -> str:
    received = set(receipts["month"].dropna().astype(str).unique()) if len(receipts) else set()
    months = sorted(received & set(plan.months))
    if not months:
        return plan.start_month
    if today is None:
        return months[-1]
    c = _compile(plan)
    expected = {c.units[i] for i in c.reporting_units}
    if expected:  # months in which every reporting unit has filed
        mine = receipts[receipts["reporting_unit"].isin(expected)]
        per_month = mine.assign(month=mine["month"].astype(str)).drop_duplicates(["month", "reporting_unit"])
        filed = {str(m) for m, n in per_month.groupby("month").size().items() if n == len(expected)}
    else:
        filed = received
    for month in reversed(months):
        if month in filed or today > report_due_date(plan, month):
            return month
    return months[0]

"""District roll-up: every street plan's headline targets from one pass over a shared store.

A district keeps several street plans in one database (uploads carry `plan_id`). The roll-up gives,
for each plan, its featured metrics' street-scope targets (the plan's `display.featured`): actual,
target, expected and status, as each plan's own full status (`progress.status_from_store`) gives
them, without computing every plan's full status.

One snapshot, three reads for all plans at once: the metric totals as integer codes with the plan
of each upload (active versions, or each unit-month's latest approved one), the as-of month's
uploads with their review states (approved-only figures judge a unit that filed without approval
on the month before, as the status does), and which plans have registers filed. Each plan's rows
then go through progress's own rules (`_with_rates`, `_dense_monthly`, `_targets`, hence
`classify` and the expected pace), so the figures equal the plan's full status target by target.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from worktrack import progress
from worktrack.plan import Plan, parse_month
from worktrack.registers.counts import counted_register_values, register_filed

log = logging.getLogger(__name__)

ROLLUP_COLUMNS = ["plan_id", "plan_title", "target_id", "metric", "actual", "target", "expected", "percent",
                  "status", "pending"]

# Compiled plans, one per plan object (progress keeps only one plan at a time; a district has many).
_LOCK = threading.Lock()
_COMPILED: dict[int, tuple[weakref.ref, Any]] = {}


def _compiled(plan: Plan):
    with _LOCK:
        cached = _COMPILED.get(id(plan))
        if cached is not None and cached[0]() is plan:
            return cached[1]
    compiled = progress._build_compiled(plan)
    with _LOCK:
        for key in [k for k, (ref, _) in _COMPILED.items() if ref() is None]:
            del _COMPILED[key]
        _COMPILED[id(plan)] = (weakref.ref(plan), compiled)
    return compiled


def headline_targets(plan: Plan) -> list[str]:
    """The ids of the plan's headline targets: street-scope targets of its featured metrics."""
    featured = set(plan.display.featured)
    return [t.id for t in plan.targets if t.scope == "street" and t.metric in featured]


def rollup(plans: Iterable[Plan], store: Any, as_of: str, approved_only: bool = False) -> pd.DataFrame:
    """One row per headline target of every plan (plans in the order given, targets in plan order):
    plan_id, plan_title, target_id, metric, actual, target, expected, percent, status, pending.

    store: the unscoped store holding every plan's uploads. The figures equal the plan's
    `status_from_store(plan, store, as_of, approved_only=approved_only)` street targets."""
    plans = list(plans)
    as_of = parse_month(as_of)
    ids = [p.id for p in plans]
    if len(set(ids)) != len(ids):
        raise ValueError("two plans share one plan id")
    with store.for_plan(None).snapshot() as reader:
        stored = reader.stored_metric_codes(as_of, approved_only, with_plan=True)
        names = reader.name_codes()
        waiting: dict[str, tuple[str, ...]] = {}
        if approved_only:
            cells = reader.review_cells(month=as_of)
            for plan_id, part in cells.groupby("plan_id", sort=False, dropna=False):
                waiting[plan_id] = progress.awaiting_approval(part, as_of)
        with_registers = reader.plans_with_registers()
        registers = {}
        for plan in plans:
            if plan.id in with_registers:
                scoped = reader.for_plan(plan.id)
                filed = register_filed(plan, scoped)
                if filed:
                    registers[plan.id] = (filed, counted_register_values(plan, scoped, as_of))

    plan_column = np.asarray(stored["plan_id"], dtype=object)
    unit_code = np.asarray(stored["unit_code"], dtype=np.int64)
    item_code = np.asarray(stored["item_code"], dtype=np.int64)
    month_index = np.asarray(stored["month_index"], dtype=np.int64)
    value = np.nan_to_num(np.asarray(stored["value"], dtype=float))
    groups = pd.Series(np.arange(len(plan_column))).groupby(plan_column, sort=False).indices \
        if len(plan_column) else {}
    unit_size = max(names["unit"], default=-1) + 1
    item_size = max(names["item"], default=-1) + 1

    frames = []
    for plan in plans:
        c = _compiled(plan)
        rows = groups.get(plan.id, np.zeros(0, dtype=np.int64))
        # the store's codes translated to the plan's: a unit spelt otherwise resolved as the status does
        units = np.full(unit_size, -1, dtype=np.int64)
        present = np.unique(unit_code[rows]) if len(rows) else np.zeros(0, dtype=np.int64)
        fallback = None
        unit_map = dict(c.unit_index)
        for code in present.tolist():
            name = names["unit"][code]
            if name not in unit_map:
                fallback = fallback or progress._unit_fallback(plan, c)
                unit_map[name] = fallback(name)
            units[code] = unit_map[name]
        items = np.full(item_size, -1, dtype=np.int64)
        for code, name in names["item"].items():
            items[code] = c.metric_index.get(name, -1)
        codes = (units[unit_code[rows]], items[item_code[rows]], month_index[rows] - c.start_ord, value[rows])
        if plan.id in registers:
            filed, counted = registers[plan.id]
            codes = progress._with_register_figures(plan, c, codes, filed, counted, unit_map,
                                                    approved_only=approved_only)
        frames.append(_headline_frame(plan, c, codes, as_of, waiting.get(plan.id, ())))
    log.debug("roll-up of %d plans as of %s (approved only: %s): %d metric rows read", len(plans), as_of,
              approved_only, len(plan_column))
    if not frames:
        return pd.DataFrame(columns=ROLLUP_COLUMNS)
    return pd.concat(frames, ignore_index=True)[ROLLUP_COLUMNS]


def _headline_frame(plan: Plan, c, codes: tuple[np.ndarray, ...], as_of: str,
                    review_pending: tuple[str, ...]) -> pd.DataFrame:
    """The plan's headline targets from its monthly codes, by the status's own target rules."""
    a = progress.month_ordinal(as_of) - c.start_ord
    n_months = max(a + 1, 0)
    month_labels = progress._labels(progress.month_range(plan.start_month, as_of) if n_months else [])
    values, reported = progress._dense_monthly(c, progress._with_rates(plan, c, codes), n_months)
    # nothing is "not yet due" without a today; a unit waiting for approval is judged on the month before
    pending = np.zeros(len(c.units), dtype=bool)
    for name in review_pending:
        if name in c.unit_index:
            pending[c.unit_index[name]] = True
    targets, _ = progress._targets(plan, c, values, reported, a, month_labels, pending)
    wanted = set(headline_targets(plan))
    chosen = targets[targets["target_id"].isin(wanted)]
    return pd.DataFrame({
        "plan_id": plan.id, "plan_title": plan.title, "target_id": chosen["target_id"].to_numpy(dtype=object),
        "metric": chosen["metric"].to_numpy(dtype=object), "actual": chosen["actual"].to_numpy(dtype=float),
        "target": chosen["target"].to_numpy(dtype=float), "expected": chosen["expected"].to_numpy(dtype=float),
        "percent": chosen["percent"].to_numpy(dtype=float), "status": chosen["status"].to_numpy(dtype=object),
        "pending": chosen["pending"].to_numpy(dtype=bool),
    })

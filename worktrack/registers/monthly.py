"""The monthly report beside the registers: rows of a metric a unit counts from a register.

Once a unit files a register of a kind, the monthly figures of the metric the plan ties to it
(`register:` in targets.yaml) are counted from the register (`counts.counted_monthly_values`), and
a typed value for that metric is not used. So:
- the monthly template pre-fills those rows with the register's count and marks them read-only;
- a typed value that differs is **ignored, not refused**: the file is accepted (its other figures
  matter), the value is kept in the stored file as sent, and the check says, row by row, that the
  register's count is used instead (finding `register-figure`, shown with the normalisations).
Refusing would block a whole month's report over a figure nobody reads; ignoring silently would
leave the clerk believing the typed number counts.
"""

from __future__ import annotations

import logging
from typing import Any

from worktrack.intake import Finding, IntakeReport
from worktrack.plan import Plan
from worktrack.registers.counts import register_figures

logger = logging.getLogger(__name__)

REGISTER_FIGURE = "register-figure"


def register_fed_items(plan: Plan, reader: Any, unit: str) -> dict[str, str]:
    """metric id -> register kind, for every metric `unit` counts from a register it has filed."""
    filers = reader.register_filers()
    fed = {}
    for kind, filer in filers:
        metric = plan.metric_for_register(kind)
        if filer == unit and metric is not None:
            fed[metric.id] = kind
    return fed


def prefilled_values(plan: Plan, reader: Any, unit: str, month: str) -> dict[tuple[str, str], float]:
    """(metric id, category) -> the month's figure counted from the unit's registers; 0 where none."""
    fed = register_fed_items(plan, reader, unit)
    if not fed:
        return {}
    figures = register_figures(plan, reader, through=month)
    mine = figures[(figures["reporting_unit"] == unit) & (figures["month"] == month) & figures["item"].isin(fed)]
    counted = {(item, category or ""): float(value)
               for item, category, value in zip(mine["item"], mine["category"], mine["value"], strict=True)}
    return {(row.item, row.category or ""): counted.get((row.item, row.category or ""), 0.0)
            for row in plan.template_rows(unit) if row.item in fed}


def note_register_figures(plan: Plan, reader: Any, report: IntakeReport) -> list[Finding]:
    """Add a `register-figure` note to the report for each typed value the unit's register replaces."""
    unit, month = report.reporting_unit, report.month
    if not unit or not month or report.errors:
        return []
    prefilled = prefilled_values(plan, reader, unit, month)
    notes = []
    for row in report.rows:
        key = (row.item, row.category or "")
        if key not in prefilled or row.value is None:
            continue
        counted = prefilled[key]
        if abs(float(row.value) - counted) < 1e-9:
            continue
        metric = plan.metrics[row.item]
        where = f"（{row.category}）" if row.category else ""
        notes.append(Finding(REGISTER_FIGURE, f"第 {row.row} 行 {metric.name}{where}由本单位的台账统计，本月为 "
                             f"{counted:g} {metric.measure}；填写的 {float(row.value):g} 不计入，以台账为准。"
                             "（这一行在模板里已预填，无需填写。）", row=row.row, column="本月数值",
                             value=f"{float(row.value):g}"))
    report.normalised.extend(notes)
    return notes

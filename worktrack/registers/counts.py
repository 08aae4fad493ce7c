"""Figures counted from registers: each household and person once, across months and communities.

For a unit that files a register of a kind, the monthly figures of the metric the plan ties to that
kind (`register:` in targets.yaml) come from the register rows instead of typed totals:
- retrofit households: distinct households (ID-number hash) by the month of their acceptance date;
  a household is counted once, in the month and for the unit of its earliest acceptance;
- fund raised: the sum of donations by the month of the donation date and by channel, cash and
  goods (valuation) apart; a receipt number is counted once per unit;
- people helped: distinct people by the month of their first help (and its aid category), once.
In the approved-only view (what leaders see by default) a unit's register figures count for the
months whose monthly report is approved, as its typed figures do.
The same household or person registered by two units is counted for the first (earliest date, then
the plan's order of units) and listed by `duplicates` for the street office to settle.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from worktrack.plan import REGISTER_MEASURES, Plan

logger = logging.getLogger(__name__)

FIGURE_COLUMNS = ["reporting_unit", "item", "category", "month", "value", "cash", "goods"]
PERSON_KINDS = ("retrofit_register", "help_register")


def _ordered(plan: Plan, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows with a date, earliest first; on the same day the plan's order of units, then upload order."""
    rows = rows[rows["event_date"].notna()].copy()
    rank = {name: i for i, name in enumerate(plan.unit_names)}
    rows["unit_rank"] = rows["reporting_unit"].map(rank).fillna(len(rank))
    rows["event_date"] = pd.to_datetime(rows["event_date"])
    return rows.sort_values(["event_date", "unit_rank", "upload_id", "source_row"], kind="stable")


def register_figures(plan: Plan, reader: Any, through: str | None = None) -> pd.DataFrame:
    """Per unit, metric, category and month: the figure counted from active register rows (in the database)."""
    frames = []
    for kind in REGISTER_MEASURES:
        metric = plan.metric_for_register(kind)
        if metric is None:
            continue
        once_per = "person" if kind in PERSON_KINDS else "receipt"
        found = reader.register_figures(kind, list(plan.unit_names), once_per=once_per, through=through)
        if found.empty:
            continue
        if not plan.categories(metric.id):
            found = found.assign(category="").groupby(["reporting_unit", "category", "month"], as_index=False)[
                ["value", "cash", "goods"]].sum()
        if once_per == "person":
            found = found.assign(cash=float("nan"), goods=float("nan"))
        frames.append(found.assign(item=metric.id))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("value", "cash", "goods") else "object")
                             for c in FIGURE_COLUMNS})
    return pd.concat(frames, ignore_index=True)[FIGURE_COLUMNS]


def duplicates(plan: Plan, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Households and people registered by more than one unit: who counts them, who else registered them."""
    out = []
    for kind in PERSON_KINDS:
        ordered = _ordered(plan, rows[rows["kind"] == kind]) if len(rows) else pd.DataFrame()
        if ordered.empty:
            continue
        # one pass: the units of each key in order of first registration, and each key's first row
        per_unit = ordered.drop_duplicates(["person_key", "reporting_unit"], keep="first")
        shared = per_unit[per_unit.duplicated("person_key", keep=False)]
        if shared.empty:
            continue
        units = shared.groupby("person_key", sort=False)["reporting_unit"].agg(list)
        firsts = shared.drop_duplicates("person_key", keep="first")
        for first in firsts.itertuples(index=False):
            listed = units[first.person_key]
            out.append({"kind": kind, "id_masked": first.id_masked, "name_masked": first.name_masked,
                        "counted_for": listed[0], "also_registered_by": listed[1:],
                        "first_date": first.event_date.date().isoformat()})
    return out


def register_filed(plan: Plan, reader: Any) -> set[tuple[str, str]]:
    """(unit, metric) pairs whose figures come from registers: every unit with an active register of a
    kind the plan ties to a metric."""
    filed = set()
    for kind, unit in reader.register_filers():
        metric = plan.metric_for_register(kind)
        if metric is not None:
            filed.add((unit, metric.id))
    return filed


def counted_register_values(plan: Plan, reader: Any, through: str | None = None) -> pd.DataFrame:
    """[reporting_unit, item, month, value]: the register figures that replace typed totals."""
    counted = register_figures(plan, reader, through).groupby(["reporting_unit", "item", "month"],
                                                               as_index=False)["value"].sum()
    return counted[["reporting_unit", "item", "month", "value"]]


def counted_monthly_values(plan: Plan, reader: Any, through: str | None = None, approved_only: bool = False
                           ) -> pd.DataFrame:
    """The store's monthly values with every (unit, metric) that files a register counted from it."""
    monthly = reader.monthly_values(through, approved_only)
    filed = register_filed(plan, reader)
    if not filed:
        return monthly
    figures = register_figures(plan, reader, through)
    typed = pd.MultiIndex.from_arrays([monthly["reporting_unit"], monthly["item"]]).isin(list(filed)) \
        if len(monthly) else pd.Series([], dtype=bool)
    kept = monthly[~typed] if len(monthly) else monthly
    counted = figures.groupby(["reporting_unit", "item", "month"], as_index=False)["value"].sum()
    if approved_only and len(counted):
        # Register rows are not reviewed one by one: the street office reviews a unit's month as a whole
        # (its monthly report). Approved-only figures count a unit's register figures for the months
        # whose monthly report is approved, as they count its typed figures.
        approved = pd.MultiIndex.from_arrays([monthly["reporting_unit"], monthly["month"]]).unique()
        counted = counted[pd.MultiIndex.from_arrays([counted["reporting_unit"], counted["month"]]).isin(approved)]
    # A month the unit reported whose register counts nothing is a 0, not a missing month (run rates and
    # per-month checks tell the two apart): the typed rows' months stay, with the register's figure.
    keys = ["reporting_unit", "item", "month"]
    replaced = monthly.loc[typed, keys] if len(monthly) else monthly[keys]
    counted = counted[keys].astype(replaced.dtypes.to_dict()).assign(value=counted["value"].astype("float64"))
    counted = replaced.merge(counted, how="outer", on=keys)
    counted["value"] = counted["value"].fillna(0.0)
    logger.debug("register figures replace %d typed rows for %d unit-metrics", len(replaced), len(filed))
    # the same column types as the store's frame: the status computation is tuned for them
    return pd.concat([kept, counted[[*keys, "value"]]], ignore_index=True).astype(monthly.dtypes.to_dict())

"""Baselines: the same status computed without worktrack, three ways.

- `read_reports` + `compute` (what an analyst does): pandas from the report CSV files.
- `read_parquet` + `compute` (fair): pandas from one Parquet file of the active facts, typed.
- `duckdb_status` (fair): DuckDB SQL over the same Parquet file.

The Parquet file (`write_parquet`) holds the facts of the active uploads, as the store holds them
(unit, month, item, category, value, status), and a second one the active uploads' unit, month,
version and time received (what the CSV baseline takes from files.csv). Writing them is not timed.

The pandas-from-CSV baseline:

What a capable analyst would write without worktrack: read the list of received files, keep the
latest version of each unit-month, read those CSV files with `pandas.read_csv`, concatenate them,
and compute per target and unit the cumulative actual (or the month's figure for every-month
targets), expected-by-now, status with worktrack's rules (done / overdue / not_started /
on_track / at_risk / behind), the months missed of every-month targets, each task's latest status
and reporting completeness (received, on time) per unit and month. No forecast. It reads the
targets from the plan object, as worktrack does, so plan parsing is outside both timings.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from worktrack.plan import Plan, month_range

AT_RISK_SHARE = 0.8
COLUMNS = {"上报单位": "reporting_unit", "月份": "month", "编号": "item", "本月数值": "value", "分类": "category"}


def read_reports(root: Path, as_of: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(active files of the manifest through as_of, all their rows concatenated)."""
    manifest = pd.read_csv(root / "files.csv", dtype=str)
    manifest["version"] = manifest["version"].astype(int)
    manifest = manifest[manifest["month"] <= as_of]
    active = manifest.sort_values("version").drop_duplicates(["reporting_unit", "month"], keep="last")
    frames = [pd.read_csv(root / name, skiprows=1, dtype=str, encoding="utf-8-sig", usecols=list(COLUMNS))
              for name in active["file"]]
    rows = pd.concat(frames, ignore_index=True).rename(columns=COLUMNS)
    return active, rows


def compute(plan: Plan, active: pd.DataFrame, rows: pd.DataFrame, as_of: str) -> dict[str, pd.DataFrame]:
    """Targets, tasks and reporting as of a month, from the concatenated rows."""
    start = plan.start_month
    months = month_range(start, as_of)
    position = {m: i for i, m in enumerate(months)}
    a = len(months) - 1

    is_metric = rows["item"].isin(list(plan.metrics))
    metric_rows = rows[is_metric].assign(value=lambda f: pd.to_numeric(f["value"], errors="coerce").fillna(0.0))
    per_month = metric_rows.groupby(["reporting_unit", "item", "month"], as_index=False)["value"].sum()
    street_month = per_month.groupby(["item", "month"], as_index=False)["value"].sum()
    street_month["reporting_unit"] = None
    figures = pd.concat([per_month, street_month], ignore_index=True)
    figures["reporting_unit"] = figures["reporting_unit"].fillna("*street*")

    targets = pd.DataFrame({
        "target_id": [t.id for t in plan.targets],
        "metric": [t.metric for t in plan.targets],
        "reporting_unit": [t.reporting_unit or "*street*" for t in plan.targets],
        "target": [t.value for t in plan.targets],
        "period": [t.period for t in plan.targets],
        "pace": [t.pace for t in plan.targets],
        "deadline_month": [f"{t.deadline.year:04d}-{t.deadline.month:02d}" for t in plan.targets],
    })
    targets["deadline_index"] = targets["deadline_month"].map(lambda m: len(month_range(start, m)) - 1)
    targets["eval_month"] = np.where(targets["deadline_month"] < as_of, targets["deadline_month"], as_of)

    cumulative = figures.groupby(["reporting_unit", "item"], as_index=False).agg(
        cumulative=("value", "sum"), months_reported=("value", "size"))
    targets = targets.merge(cumulative, how="left", left_on=["reporting_unit", "metric"],
                            right_on=["reporting_unit", "item"]).drop(columns="item")
    one_month = figures.rename(columns={"value": "month_figure", "month": "eval_month"})
    targets = targets.merge(one_month, how="left", left_on=["reporting_unit", "metric", "eval_month"],
                            right_on=["reporting_unit", "item", "eval_month"]).drop(columns="item")

    monthly = targets["period"] == "month"
    targets["actual"] = np.where(monthly, targets["month_figure"].fillna(0.0), targets["cumulative"].fillna(0.0))
    targets["reported"] = np.where(monthly, targets["month_figure"].notna(), targets["months_reported"].notna())
    total = targets["deadline_index"] + 1
    elapsed = np.clip(a + 1, 0, total)
    linear = targets["target"] * elapsed / total
    at_deadline = np.where(elapsed >= total, targets["target"], 0.0)
    targets["expected"] = np.where(monthly, targets["target"],
                                   np.where(targets["pace"] == "at_deadline", at_deadline, linear))
    targets["gap"] = targets["expected"] - targets["actual"]
    past = a > targets["deadline_index"]

    def at_least(actual, bound):
        return actual >= bound - 1e-9 * np.maximum(1.0, np.abs(bound))

    targets["status"] = np.select(
        [at_least(targets["actual"], targets["target"]), past,
         ~targets["reported"] & (targets["actual"] == 0) & (targets["expected"] == 0),
         at_least(targets["actual"], targets["expected"]),
         at_least(targets["actual"], AT_RISK_SHARE * targets["expected"])],
        ["done", "overdue", "not_started", "on_track", "at_risk"], "behind")
    # every-month targets are judged month by month, never done: this month met or not
    targets["status"] = np.where(monthly, np.where(at_least(targets["actual"], targets["target"]), "on_track",
                                                   "behind"), targets["status"])

    # every-month targets: each due month from the start through min(as_of, deadline)
    due = targets.loc[monthly, ["target_id", "reporting_unit", "metric", "target", "deadline_index"]]
    due = due.merge(pd.DataFrame({"month": months}), how="cross")
    due = due[due["month"].map(position) <= due["deadline_index"]]
    due = due.merge(figures, how="left", left_on=["reporting_unit", "metric", "month"],
                    right_on=["reporting_unit", "item", "month"])
    due["met"] = at_least(due["value"].fillna(0.0), due["target"])
    missed = (~due["met"]).groupby(due["target_id"]).sum()
    targets["months_missed"] = targets["target_id"].map(missed)
    targets["reporting_unit"] = targets["reporting_unit"].replace("*street*", None)

    # tasks: the latest status word of each unit and item (typed facts carry it in `status`)
    words = rows["status"] if "status" in rows.columns else rows["value"]
    candidates = rows[~is_metric & words.notna()]
    said = words[candidates.index]
    task_rows = candidates.assign(word=said)[said.str.strip() != ""]
    tasks = (task_rows.sort_values("month", kind="stable").drop_duplicates(["reporting_unit", "item"], keep="last")
             [["reporting_unit", "item", "month", "word"]].rename(columns={"word": "status"}))

    # reporting completeness: every reporting unit x every month, received and on time
    reporters = [u.name for u in plan.units if plan.template_rows(u.name)]
    grid = pd.MultiIndex.from_product([reporters, months], names=["reporting_unit", "month"]).to_frame(index=False)
    received = active[["reporting_unit", "month", "version", "received_at"]]
    reporting = grid.merge(received, how="left", on=["reporting_unit", "month"])
    reporting["received"] = reporting["version"].notna()
    due_day = {m: _due(m, plan.report_due_day) for m in months}
    deadline = pd.to_datetime(reporting["month"].map(due_day))
    on_time = (pd.to_datetime(reporting["received_at"]) < deadline).astype("boolean")
    reporting["on_time"] = on_time.mask(~reporting["received"])
    columns = ["target_id", "metric", "reporting_unit", "actual", "target", "expected", "gap", "status", "months_missed"]
    return {"targets": targets[columns], "tasks": tasks, "reporting": reporting}


def write_parquet(store, as_of: str, directory: Path) -> tuple[Path, Path]:
    """The active facts and the active uploads through as_of, one Parquet file each (not timed)."""
    directory.mkdir(parents=True, exist_ok=True)
    facts, uploads = directory / "facts.parquet", directory / "uploads.parquet"
    with store.snapshot() as reader:
        con = reader._con
        con.execute("COPY (SELECT f.reporting_unit, f.month, f.item, f.category, f.value, f.status FROM facts f "
                    "JOIN uploads u USING (upload_id) WHERE u.state = 'active' AND f.month <= ? "
                    "ORDER BY f.upload_id, f.source_row) TO '" + str(facts) + "' (FORMAT parquet)", [as_of])
        con.execute("COPY (SELECT reporting_unit, month, version, received_at FROM uploads WHERE state = 'active' "
                    "AND month <= ?) TO '" + str(uploads) + "' (FORMAT parquet)", [as_of])
    return facts, uploads


def read_parquet(facts: Path, uploads: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(active uploads, active facts) from the Parquet files, as `compute` takes them."""
    return pd.read_parquet(uploads), pd.read_parquet(facts)


def duckdb_status(plan: Plan, facts: Path, uploads: Path, as_of: str) -> dict[str, pd.DataFrame]:
    """The baseline's status in DuckDB SQL over the Parquet files (a fresh in-memory connection)."""
    import duckdb

    start = plan.start_month
    months = month_range(start, as_of)
    a = len(months) - 1
    con = duckdb.connect()
    try:
        con.register("plan_targets", pd.DataFrame({
            "target_id": [t.id for t in plan.targets],
            "metric": [t.metric for t in plan.targets],
            "unit": [t.reporting_unit or "*street*" for t in plan.targets],
            "target": [float(t.value) for t in plan.targets],
            "monthly": [t.period == "month" for t in plan.targets],
            "at_deadline": [t.pace == "at_deadline" for t in plan.targets],
            "deadline_index": [len(month_range(start, f"{t.deadline.year:04d}-{t.deadline.month:02d}")) - 1
                               for t in plan.targets],
        }))
        con.register("plan_months", pd.DataFrame({"month": months, "idx": range(len(months))}))
        reporters = [u.name for u in plan.units if plan.template_rows(u.name)]
        con.register("reporters", pd.DataFrame({"reporting_unit": reporters}))
        con.register("metric_ids", pd.DataFrame({"item": list(plan.metrics)}))
        f, up = "'" + str(facts) + "'", "'" + str(uploads) + "'"
        con.execute(f"""
            CREATE TEMP TABLE figures AS
            SELECT coalesce(reporting_unit, '*street*') AS unit, item, month, sum(coalesce(value, 0)) AS value
            FROM read_parquet({f}) SEMI JOIN metric_ids USING (item) WHERE month <= ?
            GROUP BY GROUPING SETS ((reporting_unit, item, month), (item, month))""", [as_of])
        targets = con.execute(f"""
            WITH t AS (
                SELECT p.*, least(p.deadline_index, {a}) AS eval_index,
                       c.cumulative, c.cumulative IS NOT NULL AS any_reported, m.value AS month_figure
                FROM plan_targets p
                LEFT JOIN (SELECT unit, item, sum(value) AS cumulative FROM figures GROUP BY ALL) c
                       ON c.unit = p.unit AND c.item = p.metric
                LEFT JOIN plan_months em ON em.idx = least(p.deadline_index, {a})
                LEFT JOIN figures m ON m.unit = p.unit AND m.item = p.metric AND m.month = em.month
            ), v AS (
                SELECT *, CASE WHEN monthly THEN coalesce(month_figure, 0) ELSE coalesce(cumulative, 0) END AS actual,
                       CASE WHEN monthly THEN month_figure IS NOT NULL ELSE any_reported END AS reported,
                       CASE WHEN monthly THEN target
                            WHEN at_deadline THEN CASE WHEN least({a} + 1, deadline_index + 1) >= deadline_index + 1
                                                       THEN target ELSE 0 END
                            ELSE target * least({a} + 1, deadline_index + 1) / (deadline_index + 1) END AS expected
                FROM t
            ), missed AS (
                SELECT p.target_id, count(*) FILTER (WHERE coalesce(fm.value, 0)
                           < p.target - 1e-9 * greatest(1, abs(p.target))) AS months_missed
                FROM plan_targets p JOIN plan_months pm ON pm.idx <= p.deadline_index
                LEFT JOIN figures fm ON fm.unit = p.unit AND fm.item = p.metric AND fm.month = pm.month
                WHERE p.monthly GROUP BY p.target_id
            )
            SELECT v.target_id, v.metric, CASE WHEN v.unit = '*street*' THEN NULL ELSE v.unit END AS reporting_unit,
                   v.actual, v.target, v.expected, v.expected - v.actual AS gap,
                   CASE WHEN v.monthly THEN CASE WHEN v.actual >= v.target - 1e-9 * greatest(1, abs(v.target))
                                                 THEN 'on_track' ELSE 'behind' END
                        WHEN v.actual >= v.target - 1e-9 * greatest(1, abs(v.target)) THEN 'done'
                        WHEN {a} > v.deadline_index THEN 'overdue'
                        WHEN NOT v.reported AND v.actual = 0 AND v.expected = 0 THEN 'not_started'
                        WHEN v.actual >= v.expected - 1e-9 * greatest(1, abs(v.expected)) THEN 'on_track'
                        WHEN v.actual >= 0.8 * v.expected - 1e-9 * greatest(1, abs(0.8 * v.expected)) THEN 'at_risk'
                        ELSE 'behind' END AS status,
                   missed.months_missed
            FROM v LEFT JOIN missed USING (target_id)""").df()
        tasks = con.execute(f"""
            SELECT reporting_unit, item, month, status FROM read_parquet({f})
            WHERE status IS NOT NULL AND trim(status) <> '' AND month <= ?
            QUALIFY row_number() OVER (PARTITION BY reporting_unit, item ORDER BY month DESC) = 1""", [as_of]).df()
        con.register("due_days", pd.DataFrame({"month": months,
                                               "due": [_due(m, plan.report_due_day) for m in months]}))
        reporting = con.execute(f"""
            SELECT r.reporting_unit, m.month, u.version, u.received_at, u.version IS NOT NULL AS received,
                   CASE WHEN u.version IS NULL THEN NULL ELSE u.received_at < d.due END AS on_time
            FROM reporters r CROSS JOIN plan_months m JOIN due_days d USING (month)
            LEFT JOIN read_parquet({up}) u ON u.reporting_unit = r.reporting_unit AND u.month = m.month""").df()
    finally:
        con.close()
    return {"targets": targets, "tasks": tasks, "reporting": reporting}


def _due(month: str, day: int) -> dt.datetime:
    """Midnight after the due day of the following month."""
    y, m = map(int, month.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return dt.datetime(y, m, day) + dt.timedelta(days=1)


def baseline_status(plan: Plan, root: Path, as_of: str) -> dict[str, pd.DataFrame]:
    """Read the files and compute: the whole baseline, as timed."""
    active, rows = read_reports(root, as_of)
    return compute(plan, active, rows, as_of)


def disagreements(report, baseline: dict[str, pd.DataFrame]) -> dict[str, int]:
    """How many targets, tasks and reporting cells the baseline and worktrack disagree on."""
    mine = report.targets.set_index("target_id")
    theirs = baseline["targets"].set_index("target_id").reindex(mine.index)
    targets = int((~np.isclose(mine["actual"], theirs["actual"])
                   | ~np.isclose(mine["expected"], theirs["expected"])
                   | (mine["status"] != theirs["status"])).sum())
    monthly = mine["period"] == "month"
    missed = int((mine.loc[monthly, "months_missed"].astype(float)
                  != theirs.loc[monthly, "months_missed"].astype(float)).sum())
    tasks_mine = report.tasks.dropna(subset=["status"]).set_index(["reporting_unit", "item_id"])["status"]
    tasks_theirs = baseline["tasks"].set_index(["reporting_unit", "item"])["status"]
    tasks_theirs.index.names = tasks_mine.index.names
    joined = pd.concat([tasks_mine.rename("mine"), tasks_theirs.rename("theirs")], axis=1)
    tasks = int((joined["mine"] != joined["theirs"]).sum())
    rep_mine = report.reporting.set_index(["reporting_unit", "month"])[["received", "on_time"]]
    rep_theirs = baseline["reporting"].set_index(["reporting_unit", "month"])[["received", "on_time"]]
    rep_theirs = rep_theirs.reindex(rep_mine.index)
    reporting = int(((rep_mine["received"] != rep_theirs["received"])
                     | (rep_mine["on_time"].astype("boolean").fillna(False)
                        != rep_theirs["on_time"].astype("boolean").fillna(False))).sum())
    return {"targets": targets, "months_missed": missed, "tasks": tasks, "reporting": reporting,
            "checked_targets": len(mine), "checked_tasks": len(joined), "checked_reporting": len(rep_mine)}

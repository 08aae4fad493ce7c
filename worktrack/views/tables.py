"""Progress reports shaped into the tables the screens and the meeting pack show (pure, no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from worktrack.i18n import translate
from worktrack.plan import Plan, month_range
from worktrack.progress import StatusReport, metric_months, month_ordinal
from worktrack.views.cycle import marked
from worktrack.views.format import (
    cadence_text,
    date_label,
    format_amount,
    metric_name,
    month_label,
    short_month_label,
    status_label,
    task_word,
)
from worktrack.views.words import month_state_text


def metric_series(plan: Plan, monthly: pd.DataFrame, metric: str, as_of: str, unit: str | None = None,
                  cumulative: bool | None = None) -> pd.DataFrame:
    """Month-by-month figure of one metric (street sum or one unit), from the start month to as_of."""
    values = metric_months(plan, monthly, metric, as_of, unit)
    if cumulative is None:
        cumulative = all(t.period == "year" for t in plan.targets_for(metric))
    if cumulative:
        values = values.cumsum()
    return pd.DataFrame({"month": list(values.index), "value": values.to_numpy(dtype=float)})


def unit_comparison_rows(report: StatusReport, metric: str) -> pd.DataFrame:
    """Per-unit quota rows of a metric: reporting_unit, actual, target, expected, status."""
    t = report.targets
    rows = t[(t["metric"] == metric) & (t["scope"] == "unit")]
    return rows[["reporting_unit", "actual", "target", "expected", "status"]].reset_index(drop=True)


def most_behind(rows: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Of `unit_comparison_rows`, at most `limit`: the units furthest behind their expected progress
    (lowest actual ÷ expected; a unit expected to have nothing yet is not behind; the larger target first
    among equals), kept in their original order. Fewer rows than the limit come back unchanged."""
    if len(rows) <= limit:
        return rows
    expected = rows["expected"].astype(float)
    pace = (rows["actual"].astype(float) / expected.where(expected > 0)).fillna(1.0)
    order = np.lexsort((-rows["target"].astype(float).to_numpy(), pace.to_numpy()))[:limit]
    return rows.iloc[np.sort(order)].reset_index(drop=True)


def reporting_grid(report: StatusReport, lang: str = "zh") -> pd.DataFrame:
    """Unit x month: report on time / late / missing, plus the governance-report obligation."""
    r = report.reporting
    if not len(r):
        return pd.DataFrame()
    # Cells are placed by position (a city has 36,000 of them): rows in order of first appearance,
    # months sorted.
    unit_codes, units = pd.factorize(r["reporting_unit"])
    months, month_codes = np.unique(r["month"].to_numpy(dtype=object), return_inverse=True)
    received = r["received"].to_numpy(dtype=bool)
    pending = r["pending"].to_numpy(dtype=bool) if "pending" in r else np.zeros(len(r), dtype=bool)
    late = received & r["on_time"].astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)
    words = np.array([translate("grid.on_time", lang), translate("grid.late", lang), translate("grid.missing", lang),
                      translate("grid.pending", lang)], dtype=object)
    cells = np.full((len(units), len(months)), "", dtype=object)
    cells[unit_codes, month_codes] = words[np.where(pending, 3, np.where(~received, 2, np.where(late, 1, 0)))]
    # the first every-month obligation that units report (e.g. two governance reports a month), per cell
    ob = report.obligations
    gov = ob[ob["reporting_unit"].notna()]
    gov = gov[gov["metric"] == gov["metric"].iloc[0]] if len(gov) else gov
    if len(gov):
        name = metric_name(report.plan, gov["metric"].iloc[0], lang)
        rows = pd.Index(units).get_indexer(gov["reporting_unit"])
        columns = pd.Index(months).get_indexer(gov["month"])
        there = (rows >= 0) & (columns >= 0)
        met = gov["met"].to_numpy(dtype=bool)[there]
        count = gov["actual"].fillna(0).to_numpy(dtype=float).astype(int)[there]
        # one translated phrase per distinct (met, count), not one per cell
        phrases = {key: " · " + translate("grid.reports_met" if key[0] else "grid.reports_missed", lang, n=key[1],
                                          name=name)
                   for key in set(zip(met.tolist(), count.tolist(), strict=True))}
        suffix = np.array([phrases[key] for key in zip(met.tolist(), count.tolist(), strict=True)], dtype=object)
        cells[rows[there], columns[there]] = cells[rows[there], columns[there]] + suffix
    labels = [short_month_label(m, lang) if len(months) <= 12 else month_label(m, lang) for m in months]
    grid = pd.DataFrame(cells, index=pd.Index(list(units), name=translate("grid.unit", lang)), columns=labels)
    return grid


def scorecard(report: StatusReport, unit: str, lang: str = "zh") -> pd.DataFrame:
    """Every target that applies to one unit: actual, expected, target and status.

    Yearly targets show the status; every-month obligations show this month's state and how many
    months were met so far (never "done")."""
    plan = report.plan
    t = report.targets[report.targets["reporting_unit"] == unit]
    status = []
    for r in t.itertuples():
        if r.period == "month":
            cadence = getattr(r, "cadence", None)
            status.append(f"{month_state_text(report, r.month_state, lang, cadence)} · "
                          + cadence_text("periods_met", cadence, lang, "card.months_met", met=int(r.months_met),
                                         due=int(r.months_due)))
        else:
            status.append(status_label(r.status, lang))

    def amounts(column: str, expected: bool = False) -> list[str]:
        return [format_amount(v, plan.metrics[m].measure, lang, metric=plan.metrics[m], expected=expected)
                for v, m in zip(t[column], t["metric"], strict=True)]

    return pd.DataFrame({
        translate("community.col_metric", lang): [metric_name(plan, m, lang) for m in t["metric"]],
        translate("community.col_period", lang): t["period"].map(
            lambda p: translate("plan_page.every_month", lang) if p == "month" else translate("community.yearly", lang)
        ).to_numpy(),
        # 含待审核 beside every figure that includes reports nobody has reviewed yet
        translate("community.col_actual", lang): [
            marked(text, flag, lang) for text, flag in zip(
                amounts("actual"), t["includes_pending"] if "includes_pending" in t.columns else [False] * len(t),
                strict=True)],
        translate("community.col_expected", lang): amounts("expected", expected=True),
        translate("community.col_target", lang): amounts("target"),
        translate("community.col_status", lang): status,
    })


def task_table(report: StatusReport, unit: str | None = None, lang: str = "zh", notes: bool = True) -> pd.DataFrame:
    """Tasks with their latest status, deadline and overdue flag (one unit or all)."""
    plan = report.plan
    k = report.tasks if unit is None else report.tasks[report.tasks["reporting_unit"] == unit]
    items = plan.items
    overdue_word = translate("status.overdue", lang)
    table = pd.DataFrame({
        translate("tasks.col_number", lang): k["item_id"].map(lambda i: items[i].number).to_numpy(),
        translate("tasks.col_title", lang): k["item_id"].map(lambda i: items[i].title).to_numpy(),
        translate("tasks.col_unit", lang): k["reporting_unit"].to_numpy(),
        translate("tasks.col_status", lang): [task_word(w, lang) for w in k["status"]],
        translate("tasks.col_deadline", lang): k["item_id"].map(lambda i: date_label(items[i].deadline, lang)).to_numpy(),
        translate("tasks.col_overdue", lang): k["overdue"].map(lambda o: f"✖ {overdue_word}" if o else "").to_numpy(),
    })
    if notes:
        table[translate("tasks.col_note", lang)] = k["note"].fillna("").to_numpy() if "note" in k else ""
    return table


def community_ranks(report: StatusReport, lang: str = "zh") -> pd.DataFrame:
    """Each community's standing on the featured metrics, normalised to its quota (or share of months met)."""
    plan = report.plan
    communities = [u.name for u in plan.communities]
    t = report.targets
    data: dict[str, list] = {translate("grid.unit", lang): communities}
    for metric in plan.display.featured:
        name = metric_name(plan, metric, lang)
        rows = t[(t["metric"] == metric) & (t["scope"] == "unit")].set_index("reporting_unit")
        if not len(rows):
            um = report.unit_metrics[report.unit_metrics["metric"] == metric].set_index("reporting_unit")
            if not len(um) or not set(communities) & set(um.index):
                continue
            data[translate("rank.total", lang, name=name)] = [
                float(um.loc[c, "actual"]) if c in um.index else 0.0 for c in communities]
            continue
        if rows["period"].iloc[0] == "month":
            due = rows["months_due"].astype(float)
            missed = rows["months_missed"].astype(float)
            share = ((due - missed) / due.where(due > 0)).reindex(communities)
            label = translate("rank.months_share", lang, name=name)
        else:
            share = (rows["actual"] / rows["target"]).reindex(communities)
            label = translate("rank.quota_share", lang, name=name)
        data[label] = [None if pd.isna(v) else round(float(v) * 100, 1) for v in share]
    frame = pd.DataFrame(data)
    score_cols = [c for c in frame.columns[1:]]
    if score_cols:
        ranks = frame[score_cols].rank(ascending=False, method="min")
        frame[translate("rank.average", lang)] = ranks.mean(axis=1).round(1).to_numpy()
    return frame


def months_between(start: str, end: str) -> int:
    return month_ordinal(end) - month_ordinal(start) + 1


def community_history(plan: Plan, monthly: pd.DataFrame, unit: str, as_of: str, lang: str = "zh") -> pd.DataFrame:
    """Metric x month table of one unit's reported monthly figures (not cumulative)."""
    months = month_range(plan.start_month, as_of) if as_of >= plan.start_month else []
    rows = monthly[monthly["reporting_unit"] == unit]
    table = rows.pivot_table(index="item", columns="month", values="value", aggfunc="sum").reindex(columns=months)
    metrics = [m for m in plan.metrics_for_unit(unit) if m.id in table.index]
    out = pd.DataFrame(
        {short_month_label(m, lang) if len(months) <= 12 else month_label(m, lang):
         [format_amount(table.loc[x.id, m], x.measure, lang, metric=x) if not pd.isna(table.loc[x.id, m]) else "-"
          for x in metrics] for m in months},
        index=[metric_name(plan, x.id, lang) for x in metrics],
    )
    out.index.name = translate("community.col_metric", lang)
    return out


# Worst first: an item shows the most urgent status among its tasks and targets.
STATUS_SEVERITY = ("exceeded", "overdue", "behind", "at_risk", "not_started", "on_track", "done")
TASK_WORD_STATUS = {"已完成": "done", "进行中": "on_track", "受阻": "behind", "未开始": "not_started"}


def item_statuses(report: StatusReport) -> pd.DataFrame:
    """One row per plan item: its worst status over units and targets, and a short tally.

    Task words map to statuses (已完成 done, 进行中 on_track, 受阻 behind, 未开始 / not reported
    not_started) and an overdue task is overdue; a metric item takes its targets' statuses.
    Every-month obligations never make an item done: for them the tally is this month's (met of
    due) and the months missed so far.
    Columns: item_id, status, done_units, total_units, targets, monthly_due, monthly_met, months_missed.
    """
    plan = report.plan
    tasks = report.tasks
    task_status = tasks["status"].map(TASK_WORD_STATUS).fillna("not_started").where(~tasks["overdue"], "overdue")
    rank = {s: i for i, s in enumerate(STATUS_SEVERITY)}
    metric_item = {m.id: m.item for m in plan.metrics.values()}
    # grouped once over every task and target (a city has 25,000 tasks and 6,000 targets)
    ranked = pd.DataFrame({
        "item": np.concatenate([tasks["item_id"].to_numpy(dtype=object),
                                report.targets["metric"].map(metric_item).to_numpy(dtype=object)]),
        "rank": np.concatenate([task_status.map(rank).fillna(99).to_numpy(dtype=float),
                                report.targets["status"].map(rank).fillna(99).to_numpy(dtype=float)]),
    })
    worst = ranked.groupby("item")["rank"].min()
    done = (tasks["status"] == "已完成").groupby(tasks["item_id"]).sum()
    total = tasks.groupby("item_id").size()
    n_targets = report.targets["metric"].map(metric_item).value_counts()
    monthly = report.monthly
    monthly_item = monthly["metric"].map(metric_item)
    monthly_due = monthly["month_state"].isin(["met", "missed", "not_reported"]).groupby(monthly_item).sum()
    monthly_met = (monthly["month_state"] == "met").groupby(monthly_item).sum()
    months_missed = monthly["months_missed"].fillna(0).astype(int).groupby(monthly_item).sum()
    ids = list(plan.items)
    worst_rank = worst.reindex(ids)
    status = [None if pd.isna(r) else (STATUS_SEVERITY[int(r)] if r < len(STATUS_SEVERITY) else None)
              for r in worst_rank]
    return pd.DataFrame({
        "item_id": ids,
        "status": status,
        "done_units": done.reindex(ids, fill_value=0).astype(int).to_numpy(),
        "total_units": total.reindex(ids, fill_value=0).astype(int).to_numpy(),
        "targets": n_targets.reindex(ids, fill_value=0).astype(int).to_numpy(),
        "monthly_due": monthly_due.reindex(ids, fill_value=0).astype(int).to_numpy(),
        "monthly_met": monthly_met.reindex(ids, fill_value=0).astype(int).to_numpy(),
        "months_missed": months_missed.reindex(ids, fill_value=0).astype(int).to_numpy(),
        "has_monthly": pd.Index(ids).isin(set(monthly_item)),
    }, columns=["item_id", "status", "done_units", "total_units", "targets", "monthly_due", "monthly_met",
                "months_missed", "has_monthly"])


def group_targets_by_node(plan: Plan) -> dict[str, list[str]]:
    """Metric ids per plan node (item or group) they come from, in plan order."""
    out: dict[str, list[str]] = {}
    for metric in plan.metrics.values():
        out.setdefault(metric.item, []).append(metric.id)
    return out


def item_unit_statuses(report: StatusReport, item_id: str, lang: str = "zh") -> pd.DataFrame:
    """Each unit's latest status word for one task, with its month and note."""
    k = report.tasks[report.tasks["item_id"] == item_id]
    overdue = np.where(k["overdue"].to_numpy(dtype=bool), f"✖ {translate('status.overdue', lang)}", "")
    # columns stay in pandas' text arrays: a city's 1,000 rows per item are not boxed to Python and back
    return pd.DataFrame({
        translate("tasks.col_unit", lang): k["reporting_unit"].array,
        translate("tasks.col_status", lang): pd.array([task_word(w, lang) for w in k["status"]],
                                                      dtype=k["reporting_unit"].dtype),
        translate("tasks.col_overdue", lang): pd.array(overdue, dtype=k["reporting_unit"].dtype),
        translate("tasks.col_note", lang): k["note"].fillna("").array,
    })


def deadline_window(item_deadline, as_of: str, window: str) -> bool:
    """Filter items by deadline: 'all', 'past' (deadline before the end of as_of), 'next3' (within 3 months)."""
    if window == "all":
        return True
    as_of_ord = month_ordinal(as_of)
    due_ord = item_deadline.year * 12 + item_deadline.month - 1
    if window == "past":
        return due_ord <= as_of_ord
    if window == "next3":
        return as_of_ord < due_ord <= as_of_ord + 3
    return True

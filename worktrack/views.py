"""Progress reports shaped into the tables the screens and the meeting pack show (pure, no Streamlit)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from worktrack.charts import format_amount, month_label, short_month_label, status_label
from worktrack.i18n import translate
from worktrack.plan import Plan, month_range
from worktrack.progress import HEADLINE_METRICS, StatusReport, metric_months, month_ordinal

NOT_REPORTED = {"zh": "未报送", "en": "Not reported"}


def metric_series(plan: Plan, monthly: pd.DataFrame, metric: str, as_of: str, unit: str | None = None,
                  cumulative: bool | None = None) -> pd.DataFrame:
    """Month-by-month figure of one metric (street sum or one unit), from the start month to as_of."""
    values = metric_months(plan, monthly, metric, as_of, unit)
    if cumulative is None:
        cumulative = all(t.period == "year" for t in plan.targets_for(metric))
    if cumulative:
        values = values.cumsum()
    return pd.DataFrame({"month": list(values.index), "value": values.to_numpy(dtype=float)})


def headline_cards(report: StatusReport, headline: pd.DataFrame, lang: str = "zh") -> list[dict]:
    """The five headline cards: formatted value, target, percent, change, status label."""
    cards = []
    for row in headline.itertuples():
        metric = report.plan.metrics[row.metric]
        monthly = row.period == "month"
        target_text = (translate("overview.per_month_target", lang, target=format_amount(row.target, row.measure))
                       if monthly else format_amount(row.target, row.measure))
        cards.append({
            "metric": row.metric,
            "name": metric.short_name if lang == "zh" else translate(f"metric.{row.metric}", lang),
            "value": format_amount(row.value, row.measure, compact=True),
            "target": target_text,
            "percent": None if row.percent is None or math.isnan(row.percent) else f"{row.percent:.0f}%",
            "change": format_amount(row.change, row.measure, compact=True),
            "change_raw": float(row.change),
            "status": row.status,
            "status_label": status_label(row.status, lang),
            "period": row.period,
        })
    return cards


def attention_table(report: StatusReport, attention: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The attention list with translated column names, status labels first."""
    kind_status = {"task_overdue": "overdue", "missing": "behind", "late": "at_risk"}
    labels = attention["status"].map(lambda s: status_label(kind_status.get(s, s), lang)
                                     if s in kind_status or s in ("behind", "overdue") else s)
    kind_names = attention["status"].map(lambda s: translate(f"attention.{s}", lang))
    return pd.DataFrame({
        translate("attention.col_status", lang): labels.to_numpy(),
        translate("attention.col_kind", lang): kind_names.to_numpy(),
        translate("attention.col_unit", lang): attention["reporting_unit"].fillna(
            translate("plan_page.target_street", lang)).to_numpy(),
        translate("attention.col_text", lang): attention["text"].to_numpy(),
    })


def unit_comparison_rows(report: StatusReport, metric: str) -> pd.DataFrame:
    """Per-unit quota rows of a metric: reporting_unit, actual, target, expected, status."""
    t = report.targets
    rows = t[(t["metric"] == metric) & (t["scope"] == "unit")]
    return rows[["reporting_unit", "actual", "target", "expected", "status"]].reset_index(drop=True)


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
    late = received & r["on_time"].astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)
    words = np.array([translate("grid.on_time", lang), translate("grid.late", lang), translate("grid.missing", lang)],
                     dtype=object)
    cells = np.full((len(units), len(months)), "", dtype=object)
    cells[unit_codes, month_codes] = words[np.where(~received, 2, np.where(late, 1, 0))]
    ob = report.obligations
    gov = ob[ob["metric"] == "governance_reports"]
    if len(gov):
        rows = pd.Index(units).get_indexer(gov["reporting_unit"])
        columns = pd.Index(months).get_indexer(gov["month"])
        there = (rows >= 0) & (columns >= 0)
        met = gov["met"].to_numpy(dtype=bool)[there]
        count = gov["actual"].fillna(0).to_numpy(dtype=float).astype(int)[there]
        # one translated phrase per distinct (met, count), not one per cell
        phrases = {key: " · " + translate("grid.reports_met" if key[0] else "grid.reports_missed", lang, n=key[1])
                   for key in set(zip(met.tolist(), count.tolist(), strict=True))}
        suffix = np.array([phrases[key] for key in zip(met.tolist(), count.tolist(), strict=True)], dtype=object)
        cells[rows[there], columns[there]] = cells[rows[there], columns[there]] + suffix
    labels = [short_month_label(m, lang) if len(months) <= 12 else month_label(m, lang) for m in months]
    grid = pd.DataFrame(cells, index=pd.Index(list(units), name=translate("grid.unit", lang)), columns=labels)
    return grid


def scorecard(report: StatusReport, unit: str, lang: str = "zh") -> pd.DataFrame:
    """Every target that applies to one unit, with actual, target, expected and status label."""
    plan = report.plan
    t = report.targets[report.targets["reporting_unit"] == unit]
    names = {m.id: (m.short_name if lang == "zh" else translate(f"metric.{m.id}", lang)) for m in plan.metrics.values()}
    measures = {m.id: m.measure for m in plan.metrics.values()}
    return pd.DataFrame({
        translate("community.col_metric", lang): t["metric"].map(names).to_numpy(),
        translate("community.col_period", lang): t["period"].map(
            lambda p: translate("plan_page.every_month", lang) if p == "month" else translate("community.yearly", lang)
        ).to_numpy(),
        translate("community.col_actual", lang): [format_amount(v, measures[m]) for v, m in zip(t["actual"], t["metric"],
                                                                                                  strict=True)],
        translate("community.col_expected", lang): [format_amount(v, measures[m]) for v, m in
                                                    zip(t["expected"], t["metric"], strict=True)],
        translate("community.col_target", lang): [format_amount(v, measures[m]) for v, m in zip(t["target"], t["metric"],
                                                                                                  strict=True)],
        translate("community.col_status", lang): t["status"].map(lambda s: status_label(s, lang)).to_numpy(),
    })


def task_table(report: StatusReport, unit: str | None = None, lang: str = "zh") -> pd.DataFrame:
    """Tasks with their latest status, deadline and overdue flag (one unit or all)."""
    plan = report.plan
    k = report.tasks if unit is None else report.tasks[report.tasks["reporting_unit"] == unit]
    items = plan.items
    overdue_word = translate("status.overdue", lang)
    return pd.DataFrame({
        translate("tasks.col_number", lang): k["item_id"].map(lambda i: items[i].number).to_numpy(),
        translate("tasks.col_title", lang): k["item_id"].map(lambda i: items[i].title).to_numpy(),
        translate("tasks.col_unit", lang): k["reporting_unit"].to_numpy(),
        translate("tasks.col_status", lang): k["status"].fillna(NOT_REPORTED.get(lang, "未报送")).to_numpy(),
        translate("tasks.col_deadline", lang): k["item_id"].map(lambda i: items[i].deadline.isoformat()).to_numpy(),
        translate("tasks.col_overdue", lang): k["overdue"].map(lambda o: f"✖ {overdue_word}" if o else "").to_numpy(),
        translate("tasks.col_note", lang): k["note"].fillna("").to_numpy() if "note" in k else "",
    })


def community_ranks(report: StatusReport, lang: str = "zh") -> pd.DataFrame:
    """Each community's standing on the headline metrics, normalised to its quota (or share of months met)."""
    plan = report.plan
    communities = [u.name for u in plan.communities]
    t = report.targets
    data: dict[str, list] = {translate("grid.unit", lang): communities}
    for metric in HEADLINE_METRICS:
        rows = t[(t["metric"] == metric) & (t["scope"] == "unit")].set_index("reporting_unit")
        if not len(rows):
            um = report.unit_metrics[report.unit_metrics["metric"] == metric].set_index("reporting_unit")
            if not len(um) or not set(communities) & set(um.index):
                continue
            values = [float(um.loc[c, "actual"]) if c in um.index else 0.0 for c in communities]
            label = translate(f"rank.{metric}", lang)
            data[label] = values
            continue
        if rows["period"].iloc[0] == "month":
            due = rows["months_due"].astype(float)
            missed = rows["months_missed"].astype(float)
            share = ((due - missed) / due.where(due > 0)).reindex(communities)
        else:
            share = (rows["actual"] / rows["target"]).reindex(communities)
        data[translate(f"rank.{metric}", lang)] = [None if pd.isna(v) else round(float(v) * 100, 1) for v in share]
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
         [format_amount(table.loc[x.id, m], x.measure, compact=True) if not pd.isna(table.loc[x.id, m]) else "-"
          for x in metrics] for m in months},
        index=[x.short_name if lang == "zh" else translate(f"metric.{x.id}", lang) for x in metrics],
    )
    out.index.name = translate("community.col_metric", lang)
    return out


# Worst first: an item shows the most urgent status among its tasks and targets.
STATUS_SEVERITY = ("overdue", "behind", "at_risk", "not_started", "on_track", "done")
TASK_WORD_STATUS = {"已完成": "done", "进行中": "on_track", "受阻": "behind", "未开始": "not_started"}


def item_statuses(report: StatusReport) -> pd.DataFrame:
    """One row per plan item: its worst status over units and targets, and a short tally.

    Task words map to statuses (已完成 done, 进行中 on_track, 受阻 behind, 未开始 / not reported
    not_started) and an overdue task is overdue; a metric item takes its targets' statuses.
    Columns: item_id, status, done_units, total_units, targets.
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
    }, columns=["item_id", "status", "done_units", "total_units", "targets"])


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
        translate("tasks.col_status", lang): k["status"].fillna(NOT_REPORTED.get(lang, "未报送")).array,
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

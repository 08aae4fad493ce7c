"""Sentences and cards: what a person reads about the progress report, in Chinese or English.

The progress engine returns codes and numbers; this module is the only place that turns them
into words (the pages, the meeting deck and every export read from here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from worktrack.i18n import translate
from worktrack.plan import Plan, reconcile
from worktrack.progress import ATTENTION_SEVERITY, StatusReport, attention, headline, report_due_date
from worktrack.views.cycle import marked
from worktrack.views.format import (
    cadence_text,
    date_label,
    format_amount,
    format_percent,
    is_missing,
    metric_name,
    month_label,
    month_state_label,
    node_label,
    short_month_label,
    status_label,
    task_word,
    unit_label,
)


@dataclass(frozen=True)
class Card:
    """One headline figure as a person reads it."""

    metric: str
    name: str
    value: str
    target: str
    percent: str | None
    change: str  # signed, with its measure: "+3户", "-13篇", "0篇"
    change_label: str  # 本月新增 / 较上月
    change_raw: float
    arrow: str  # "up" / "down" / "off": follows the sign of the change
    tone: str  # "good" / "bad" / "neutral": whether the change helps this target
    status: str  # status code (yearly) or month state (every month)
    status_label: str
    detail: str  # "已达标 5/6 个月", "本月达标 4/6 个社区", or ""
    period: str
    partial: bool

    @property
    def delta(self) -> str:
        """The text st.metric shows under the value; it starts with the sign so the arrow agrees."""
        return f"{self.change} {self.change_label}"

    @property
    def delta_color(self) -> str:
        """st.metric's colour rule: green for a good change, red for a bad one, grey for none."""
        if self.tone == "neutral":
            return "off"
        return "normal" if (self.tone == "good") == (self.change_raw > 0) else "inverse"

    @property
    def delta_arrow(self) -> str:
        return self.arrow


def change_tone(change: float, direction: str) -> str:
    """Whether a change is good for a target: more is better unless the plan says lower is better."""
    if is_missing(change) or change == 0:
        return "neutral"
    better = change > 0 if direction != "lower" else change < 0
    return "good" if better else "bad"


def _cadence_of(report: StatusReport, metric_id: str) -> str | None:
    """The cadence (month / quarter / half_year) of a metric's every-period targets, or None."""
    rows = report.targets[report.targets["metric"] == metric_id]
    return rows["cadence"].iloc[0] if len(rows) and "cadence" in rows else None


def _cadences(report: StatusReport) -> dict[str, str]:
    """target_id -> cadence, for every target of the report."""
    targets = report.targets
    return dict(zip(targets["target_id"], targets["cadence"], strict=True)) if "cadence" in targets else {}


def headline_cards(report: StatusReport, lang: str = "zh") -> list[Card]:
    """The featured metrics' cards: value, target, share of target, change with arrow and tone, status."""
    plan = report.plan
    cards = []
    for row in headline(report).itertuples():
        metric = plan.metrics[row.metric]
        monthly = row.period == "month"
        if monthly:
            cadence = _cadence_of(report, row.metric)
            per = format_amount(row.per_unit_target, row.measure, lang, metric=metric)
            scope = "unit" if report.unit is not None or row.units_total == 0 or row.units_due <= 1 else "units"
            target = cadence_text(f"per_target_{scope}", cadence, lang, f"card.per_month_target_{scope}", target=per)
            if row.units_total > 1 and report.unit is None:
                detail = cadence_text("units_met", cadence, lang, "card.units_met", met=row.units_met,
                                      due=row.units_due)
            else:
                detail = cadence_text("periods_met", cadence, lang, "card.months_met", met=row.months_met,
                                      due=row.months_due)
            state_label = month_state_text(report, row.month_state, lang, cadence)
            code = row.month_state
        else:
            target = format_amount(row.target, row.measure, lang, metric=metric)
            detail = rate_parts_text(report, row.metric, lang)
            state_label = status_label(row.status, lang)
            code = row.status
        change = float(row.change)
        # a month still waiting for reports or reviews: its change against last month means nothing yet
        waiting = monthly and bool(row.pending)
        cards.append(Card(
            metric=row.metric,
            name=metric_name(plan, row.metric, lang),
            # 含待审核: the figure includes reports the street office has not approved yet
            value=marked(format_amount(row.value, row.measure, lang, metric=metric),
                         _includes_pending(report, row.metric), lang),
            target=target,
            percent=None if monthly else (format_percent(row.percent) if not is_missing(row.percent) else None),
            change=format_amount(change, row.measure, lang, metric=metric, signed=True),
            change_label=translate("card.change_prev" if monthly else "card.change_month", lang),
            change_raw=change,
            arrow="off" if waiting else "up" if change > 0 else "down" if change < 0 else "off",
            tone="neutral" if waiting else change_tone(change, row.direction),
            status=code,
            status_label=state_label,
            detail=detail,
            period=row.period,
            partial=bool(row.pending),
        ))
    return cards


def rate_parts_text(report: StatusReport, metric_id: str, lang: str = "zh") -> str:
    """已实行垃圾分类的户数 1,234 户／总户数 1,500 户: the two figures a computed rate comes from ("" otherwise)."""
    plan = report.plan
    metric = plan.metrics[metric_id]
    targets = report.targets
    if not metric.is_rate or "rate_numerator" not in targets.columns:
        return ""
    rows = targets[(targets["metric"] == metric_id) & targets["rate_denominator"].notna()]
    if report.unit is not None:
        rows = rows[rows["reporting_unit"] == report.unit]
    else:
        rows = rows[rows["scope"] == "street"]
    if not len(rows):
        return ""
    row = rows.iloc[0]
    parts = {}
    for key, part_id, figure in (("numerator", metric.numerator, row["rate_numerator"]),
                                 ("denominator", metric.denominator, row["rate_denominator"])):
        part = plan.metrics[part_id]
        parts[key] = f"{metric_name(plan, part_id, lang)} {format_amount(figure, part.measure, lang, metric=part)}"
    return translate("plans.rate_parts", lang, **parts)


def summary_line(report: StatusReport, lang: str = "zh") -> str:
    """年度目标：已完成 8 · 正常 3 · 预警 8 · 滞后 1；每月任务：本月达标 12/13，今年累计缺 3 次."""
    counts = report.status_counts()
    parts = [f"{translate(f'status.{s}', lang)} {n}" for s, n in counts.items() if n]
    yearly = translate("summary.yearly", lang, counts=" · ".join(parts) or translate("summary.none", lang))
    ob = report.obligation_counts()
    if not ob["total"]:
        return yearly
    due = ob["met"] + ob["missed"] + ob["not_reported"]
    monthly = translate("summary.monthly", lang, met=ob["met"], due=due, missed=ob["months_missed"])
    if ob["pending"]:
        key = "summary.monthly_review_pending" if _pending_word(report, "pending") != "pending" else "summary.monthly_pending"
        monthly += translate(key, lang, n=ob["pending"])
    return translate("summary.joined", lang, yearly=yearly, monthly=monthly)


def month_state_text(report: StatusReport, state: str | None, lang: str = "zh", cadence: Any = None) -> str:
    """The label of an obligation's month state (本季度… / 本半年… for longer cadences); a month
    waiting only for reviews says so."""
    return month_state_label(_pending_word(report, state), lang, cadence)


def _pending_word(report: StatusReport, state: str | None) -> str | None:
    """A pending month waits for reports not yet due, or (approved-only figures) only for reviews."""
    if state == "pending" and report.review_pending_units and not report.pending_units:
        return "review_pending"
    return state


def _includes_pending(report: StatusReport, metric: str) -> bool:
    targets = report.targets
    if "includes_pending" not in targets.columns:
        return False
    return bool(targets.loc[targets["metric"] == metric, "includes_pending"].any())


def reporting_badge(report: StatusReport, lang: str = "zh") -> str:
    """已报 5/7 beside the as-of month."""
    filed, total = report.reporting_progress()
    return translate("sidebar.filed", lang, n=filed, total=total)


def partial_banner(report: StatusReport, lang: str = "zh") -> str | None:
    """Why the as-of month's figures are not final yet, or None when they are."""
    if not report.partial:
        return None
    filed, total = report.reporting_progress()
    sep = "、" if lang == "zh" else ", "
    parts = []
    if report.pending_units:
        due = report_due_date(report.plan, report.as_of)
        parts.append(translate("banner.partial", lang, month=month_label(report.as_of, lang), filed=filed,
                               total=total, due=date_label(due, lang), units=sep.join(report.pending_units)))
    if report.review_pending_units:
        parts.append(translate("banner.review_pending", lang, month=month_label(report.as_of, lang),
                               n=len(report.review_pending_units), units=sep.join(report.review_pending_units)))
    return " ".join(parts)


# ---------------------------------------------------------------------------
# The attention list


def _months_list(months: str, lang: str) -> str:
    names = [short_month_label(m, lang) if lang == "zh" else m for m in months.split(",") if m]
    return ("、" if lang == "zh" else ", ").join(names)


def attention_rows(report: StatusReport, lang: str = "zh", items: pd.DataFrame | None = None) -> pd.DataFrame:
    """The attention list as sentences: severity, responsible unit, what happened, what is due.

    Columns: status (code), severity (label), unit, text, due, kind, subject.
    """
    plan = report.plan
    items = attention(report) if items is None else items
    cadences = _cadences(report)
    rows = []
    for r in items.itertuples():
        metric = plan.metrics.get(r.metric) if isinstance(r.metric, str) else None
        measure = metric.measure if metric is not None else ""
        unit = unit_label(r.reporting_unit, lang)

        def fmt(value, expected=False, metric=metric, measure=measure):
            return format_amount(value, measure, lang, metric=metric, expected=expected)

        if r.kind == "target" and r.status == "exceeded":
            name = metric_name(plan, r.metric, lang)
            text = translate("attention.text_exceeded", lang, unit=unit, name=name, actual=fmt(r.actual),
                             target=fmt(r.target))
            due = translate("attention.due_target", lang, target=fmt(r.target), date=date_label(r.deadline, lang))
        elif r.kind == "target":
            name = metric_name(plan, r.metric, lang)
            text = translate("attention.text_target", lang, unit=unit, name=name, actual=fmt(r.actual),
                             expected=fmt(r.expected, True), gap=fmt(r.gap, True))
            due = translate("attention.due_target", lang, target=fmt(r.target), date=date_label(r.deadline, lang))
        elif r.kind == "obligation":
            name = metric_name(plan, r.metric, lang)
            missed = _months_list(r.missed_months, lang)
            cadence = cadences.get(r.subject)
            key = "attention.text_obligation_missed" if r.status == "obligation_missed" else \
                "attention.text_obligation_earlier" if r.task_status == "met" else \
                "attention.text_obligation_earlier_state"  # this month not judged yet (not due, or in review)
            long_key = {"attention.text_obligation_missed": "text_missed",
                        "attention.text_obligation_earlier": "text_earlier"}.get(key, "text_earlier_state")
            pending_word = _pending_word(report, r.task_status)
            text = cadence_text(long_key, cadence, lang, key, unit=unit, name=name, actual=fmt(r.actual),
                                n=int(r.months_missed), due_months=int(r.months_due), months=missed,
                                state=month_state_label(r.task_status, lang, cadence) if key.endswith("missed") else
                                cadence_text(pending_word, cadence, lang, f"month_state.{pending_word}")
                                if pending_word in ("pending", "not_reported") else
                                translate(f"month_state.{pending_word}", lang))
            due = translate("attention.due_obligation", lang, target=fmt(r.target))
        elif r.kind == "task":
            item = plan.items[r.item_id]
            key = "attention.text_task_blocked" if r.status == "blocked" else "attention.text_task_overdue"
            text = translate(key, lang, unit=unit, number=item.number, title=item.title,
                             status=task_word(_task_word_of(r.task_status), lang))
            if isinstance(r.note, str) and r.note.strip():
                text += translate("attention.unit_note", lang, note=r.note.strip())
            due = translate("attention.due_task", lang, date=date_label(r.deadline, lang))
        elif r.status == "missing":
            text = translate("attention.text_missing", lang, unit=unit, month=month_label(r.month, lang))
            due = translate("attention.due_report", lang, date=date_label(r.due_date, lang))
        else:
            received = pd.Timestamp(r.received_at)
            text = translate("attention.text_late", lang, unit=unit, month=month_label(r.month, lang),
                             received=date_label(received.date(), lang) if not pd.isna(received) else "-")
            due = translate("attention.due_report", lang, date=date_label(r.due_date, lang))
        rows.append({
            "status": r.status, "severity": cadence_text("severity_missed", cadences.get(r.subject), lang,
                                                         f"attention.severity_{r.status}")
            if r.status == "obligation_missed" else translate(f"attention.severity_{r.status}", lang),
            "unit": r.responsible if isinstance(r.responsible, str) and r.responsible else unit,
            "text": text, "due": due, "kind": r.kind, "subject": r.subject,
        })
    return pd.DataFrame(rows, columns=["status", "severity", "unit", "text", "due", "kind", "subject"])


def _task_word_of(state) -> str | None:
    from worktrack.progress import TASK_WORDS

    words = {code: word for word, code in TASK_WORDS.items()}
    return words.get(state) if isinstance(state, str) else None


def attention_table(rows: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The attention rows with the four column headings a reader sees (for downloads and slides)."""
    return pd.DataFrame({
        translate("attention.col_status", lang): rows["severity"].to_numpy(),
        translate("attention.col_unit", lang): rows["unit"].to_numpy(),
        translate("attention.col_text", lang): rows["text"].to_numpy(),
        translate("attention.col_due", lang): rows["due"].to_numpy(),
    })


def attention_counts(rows: pd.DataFrame, lang: str = "zh") -> str:
    """'逾期 1 · 滞后 2 · …' over the attention list, in severity order."""
    counts = rows["status"].value_counts()
    return " · ".join(f"{translate(f'attention.severity_{s}', lang)} {int(counts[s])}" for s in ATTENTION_SEVERITY
                      if s in counts)


# ---------------------------------------------------------------------------
# What the document itself says inconsistently, and where the money came from


def reconciliation_lines(plan: Plan, lang: str = "zh", balanced: bool = False) -> list[tuple[str, bool]]:
    """(sentence, is_mismatch) per metric whose unit quotas do not add up to its street total
    (and, with balanced=True, those that do)."""
    out = []
    for rec in reconcile(plan):
        if rec.balanced and not balanced:
            continue
        metric = plan.metrics[rec.metric]

        def fmt(value, metric=metric):
            return format_amount(value, metric.measure, lang, metric=metric)

        name = metric_name(plan, rec.metric, lang, short=False)
        if rec.difference > 0:
            text = translate("reconcile.more", lang, name=name, n=rec.quota_count, quotas=fmt(rec.quota_sum),
                             street=fmt(rec.street_total), diff=fmt(rec.difference))
        elif rec.difference < 0:
            text = translate("reconcile.less", lang, name=name, n=rec.quota_count, quotas=fmt(rec.quota_sum),
                             street=fmt(rec.street_total), share=format_percent(rec.quota_sum / rec.street_total * 100),
                             rest=fmt(-rec.difference))
        else:
            text = translate("reconcile.equal", lang, name=name, n=rec.quota_count, quotas=fmt(rec.quota_sum))
        out.append((text, rec.difference > 0))
    return out


def source_lines(report: StatusReport, lang: str = "zh") -> list[str]:
    """Per metric split into quotas: how much came from the units with a quota and how much from the others."""
    plan = report.plan
    totals = report.metric_totals.set_index("metric")
    out = []
    for rec in reconcile(plan):
        if rec.metric not in totals.index:
            continue
        metric = plan.metrics[rec.metric]
        row = totals.loc[rec.metric]
        quota_units = {t.reporting_unit for t in plan.targets_for(rec.metric) if t.scope == "unit"}
        others = [u for u in metric.reported_by if u not in quota_units]
        if not others:
            continue  # every unit has a quota: the reconciliation line says it all

        def fmt(value, metric=metric):
            return format_amount(value, metric.measure, lang, metric=metric)

        text = translate("reconcile.sources", lang, name=metric_name(plan, rec.metric, lang),
                         month=month_label(report.as_of, lang), total=fmt(row["actual"]), n=rec.quota_count,
                         quota_actual=fmt(row["quota_actual"]), quotas=fmt(rec.quota_sum),
                         street=fmt(rec.street_total))
        if others:
            text += translate("reconcile.sources_others", lang, units="、".join(others) if lang == "zh"
                              else ", ".join(others), other_actual=fmt(row["other_actual"]))
        out.append(text)
    return out


def note_lines(plan: Plan, lang: str = "zh") -> list[tuple[str, str]]:
    """(what it is about, the note) for every reading note of the plan, in the UI language."""
    return [(node_label(plan, n.about, lang), (n.text_en or n.text) if lang != "zh" else n.text) for n in plan.notes]


def method_lines(plan: Plan, lang: str = "zh") -> list[str]:
    """How the figures are judged: expected-by-now, every-month obligations, the on-time day."""
    return [
        translate("method.expected", lang, start=month_label(plan.start_month, lang)),
        translate("method.monthly", lang),
        translate("method.on_time", lang, day=plan.report_due_day),
        translate("method.forecast", lang),
    ]


def as_of_caption(report: StatusReport, lang: str = "zh", today: dt.date | None = None) -> str:
    return translate("overview.caption", lang, month=month_label(report.as_of, lang),
                     unit=report.unit or translate("sidebar.all_units", lang))


def target_history(target, metric, lang: str = "zh") -> str:
    """'2024年7月起 5户 → 3户（reason）' for a target amended during the year; '' when it never was."""
    parts = []
    before = target.value
    for effective, value, reason in target.history:
        parts.append(translate("plan_page.amended", lang, month=month_label(effective, lang),
                               old=format_amount(before, metric.measure, lang, metric=metric),
                               new=format_amount(value, metric.measure, lang, metric=metric), reason=reason))
        before = value
    return ("；" if lang == "zh" else "; ").join(parts)

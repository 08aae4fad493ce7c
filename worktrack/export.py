"""Meeting pack: the review meeting's slide sequence, and its PPTX / XLSX / PDF exports.

`slide_deck` is the one place that decides what the meeting shows, in which order: the 例会 page
draws its slides, `pptx_bytes` and `pdf_bytes` print the same slides, so the screen and the pack
cannot drift apart. The sequence for an as-of month (street-wide, or one reporting unit):

    title -> headline metrics -> one slide per plan section (paged when long) -> community
    comparison -> one scorecard per community -> reporting grid -> attention list -> 督办事项

Every string a reader sees comes from the locale files (`meeting.*` and the shared keys); data
values are never placed into HTML unescaped, and spreadsheet text can never become a formula.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from worktrack.charts import FONT, STATUS_COLORS
from worktrack.i18n import translate
from worktrack.plan import Plan
from worktrack.progress import TASK_WORDS, StatusReport, attention, headline, month_ordinal, report_due_date
from worktrack.tables import safe_cell_text
from worktrack.views import (
    attention_rows,
    attention_table,
    bracket,
    category_label,
    date_label,
    format_amount,
    headline_cards,
    item_statuses,
    join_list,
    measure_word,
    metric_name,
    money_scale,
    month_label,
    month_state_label,
    reporting_grid,
    scorecard,
    section_heading,
    status_label,
    summary_line,
    task_word,
    unit_comparison_rows,
    unit_label,
)

SLIDE_KINDS = ("title", "headline", "section", "comparison", "scorecard", "grid", "attention", "actions")
SECTION_ROWS = 10  # item rows per section slide before it continues on the next
ATTENTION_ROWS = 8
ACTION_ROWS = 8
TASK_ORDER = ("done", "in_progress", "blocked", "not_started")  # how an item's units are tallied
STATUS_SEVERITY = ("overdue", "behind", "at_risk", "not_started", "on_track", "done")
ATTENTION_TINT = {"overdue": "overdue", "task_overdue": "overdue", "behind": "behind", "blocked": "behind",
                  "obligation_missed": "behind", "missing": "behind", "at_risk": "at_risk",
                  "obligation_earlier": "at_risk", "late": "at_risk"}

# PowerPoint / WPS: Latin and East Asian typefaces are set on every run; fontconfig maps the name to
# Noto Sans CJK or WenQuanYi on Linux viewers.
PPTX_FONT = "Microsoft YaHei"
HTML_FONTS = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
PRIMARY = "#1f5fa8"
INK = "#1b1f24"
MUTED = "#5b6470"
SERIES = ("#0072B2", "#E69F00", "#BBBBBB")  # actual, expected, target (Okabe-Ito, colour-blind safe)
INSTALL_HINT = "apt-get install chromium fonts-noto-cjk"
PDF_TIMEOUT_SECONDS = 120


# ---------------------------------------------------------------------------
# The slide model (plain data: the page, PPTX and PDF all draw from it)


@dataclass(frozen=True)
class MetricCard:
    """One headline number with its target, share of target, change and status label."""

    metric: str
    name: str
    value: str
    target: str
    percent: str | None
    change: str
    change_label: str
    status: str
    status_label: str


@dataclass(frozen=True)
class ChartSeries:
    name: str
    values: tuple[float, ...]
    color: str


@dataclass(frozen=True)
class BarChart:
    """A clustered column chart: categories on the x axis, one bar per series."""

    key: str
    title: str
    categories: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    unit_label: str
    number_format: str  # Excel/PowerPoint format of the data labels
    decimals: int = 0
    suffix: str = ""

    def label(self, value: float) -> str:
        """A data label as the PowerPoint number format would print it."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{value:,.{self.decimals}f}{self.suffix}"


@dataclass(frozen=True)
class Table:
    """A table of display strings; `tints` holds a status code per cell (None = plain)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    tints: tuple[tuple[str | None, ...], ...]
    widths: tuple[float, ...]  # relative column widths

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=list(self.columns))


@dataclass(frozen=True)
class Slide:
    """One slide: title, optional subtitle, cards, charts, table and bullet lines, plus a spoken script."""

    key: str
    kind: str
    title: str
    subtitle: str = ""
    cards: tuple[MetricCard, ...] = ()
    charts: tuple[BarChart, ...] = ()
    table: Table | None = None
    bullets: tuple[str, ...] = ()
    notes: str = ""


@dataclass
class _Context:
    plan: Plan
    report: StatusReport
    lang: str
    generated: dt.date
    _attention: pd.DataFrame | None = field(default=None, repr=False)

    def t(self, key: str, **values: object) -> str:
        return translate(f"meeting.{key}", self.lang, **values)

    @property
    def month(self) -> str:
        return month_label(self.report.as_of, self.lang)

    @property
    def scope(self) -> str:
        return self.report.unit or translate("sidebar.all_units", self.lang)

    @property
    def attention(self) -> pd.DataFrame:
        if self._attention is None:
            self._attention = attention(self.report)
        return self._attention

    def metric_name(self, metric_id: str) -> str:
        return metric_name(self.plan, metric_id, self.lang)

    def amount(self, value, metric_id: str, expected: bool = False) -> str:
        metric = self.plan.metrics[metric_id]
        return format_amount(value, metric.measure, self.lang, metric=metric, expected=expected)


def _semi(ctx: _Context) -> str:
    return "；" if ctx.lang == "zh" else "; "


def _tint_row(n_columns: int, status: str | None, column: int) -> tuple[str | None, ...]:
    return tuple(status if i == column else None for i in range(n_columns))


def _pages(rows: list, size: int) -> list[list]:
    return [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]


def _paged_title(ctx: _Context, title: str, page: int, pages: int) -> str:
    return title if pages <= 1 else ctx.t("paged", title=title, n=page, total=pages)


def _status_line(ctx: _Context) -> str:
    return summary_line(ctx.report, ctx.lang)


def follow_up_date(plan: Plan, as_of: str) -> dt.date:
    """When the next report is due: the date by which units report back on the meeting's actions."""
    nxt = month_ordinal(as_of) + 1
    return report_due_date(plan, f"{nxt // 12:04d}-{nxt % 12 + 1:02d}")


# ---------------------------------------------------------------------------
# The slide sequence


def slide_deck(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None
               ) -> list[Slide]:
    """The meeting's slides for one as-of month, in presentation order (see the module docstring)."""
    ctx = _Context(plan, report, lang, generated or dt.date.today())
    slides = [_title_slide(ctx), _headline_slide(ctx)]
    slides += _section_slides(ctx)
    slides += _comparison_slides(ctx)
    slides += _scorecard_slides(ctx)
    slides.append(_grid_slide(ctx))
    slides += _attention_slides(ctx)
    slides += _action_slides(ctx)
    return slides


def footer_text(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None) -> str:
    """The footer of every slide: plan name, as-of month and generation date."""
    return translate("meeting.footer", lang, plan=plan.title, month=month_label(report.as_of, lang),
                     date=date_label(generated or dt.date.today(), lang))


def _title_slide(ctx: _Context) -> Slide:
    counts = ctx.report.status_counts()
    bullets = (
        ctx.t("cover_scope", unit=ctx.scope),
        ctx.t("cover_as_of", month=ctx.month),
        _status_line(ctx),
        ctx.t("cover_generated", date=date_label(ctx.generated, ctx.lang)),
    )
    behind = counts.get("behind", 0) + counts.get("overdue", 0)
    notes = ctx.t("notes_title", month=ctx.month, unit=ctx.scope, targets=sum(counts.values()),
                  done=counts.get("done", 0), on_track=counts.get("on_track", 0), at_risk=counts.get("at_risk", 0),
                  behind=behind)
    return Slide("title", "title", ctx.plan.title, ctx.t("cover_subtitle", month=ctx.month), bullets=bullets,
                 notes=notes)


def _headline_slide(ctx: _Context) -> Slide:
    rows = headline(ctx.report)
    cards = []
    for card in headline_cards(ctx.report, ctx.lang):
        status_text = f"{card.status_label} · {card.detail}" if card.detail else card.status_label
        cards.append(MetricCard(card.metric, card.name, card.value, card.target, card.percent, card.change,
                                card.change_label, card.status, status_text))
    charts: tuple[BarChart, ...] = ()
    yearly = rows[rows["period"] != "month"]
    if len(yearly):
        names = {c.metric: c.name for c in cards}
        share = [round(v / t * 100, 1) if t else 0.0 for v, t in zip(yearly["value"], yearly["target"], strict=True)]
        pace = [round(e / t * 100, 1) if t else 0.0 for e, t in zip(yearly["expected"], yearly["target"],
                                                                     strict=True)]
        charts = (BarChart(
            "headline", ctx.t("headline_chart"), tuple(names[m] for m in yearly["metric"]),
            (ChartSeries(ctx.t("series_share"), tuple(share), SERIES[0]),
             ChartSeries(ctx.t("series_pace"), tuple(pace), SERIES[1])),
            "%", '0"%"', 0, "%"),)
    sentences = [ctx.t("notes_headline_item", name=c.name, value=c.value, target=c.target,
                       percent=c.percent or "-", status=c.status_label) for c in cards]
    notes = ctx.t("notes_headline", month=ctx.month, unit=ctx.scope, items=_semi(ctx).join(sentences) or "-")
    return Slide("headline", "headline", ctx.t("headline_title"), ctx.t("headline_subtitle", month=ctx.month),
                 cards=tuple(cards), charts=charts, notes=notes)


def _task_tally(ctx: _Context, words: pd.Series) -> str:
    """'已完成 3/7 · 进行中 4' for an item's units (or just the word for one unit)."""
    if len(words) == 1:
        return task_word(words.iloc[0], ctx.lang)
    codes = words.map(TASK_WORDS).fillna("not_reported")
    counts = codes.value_counts()
    label = {code: translate(f"task_state.{code}", ctx.lang) for code in (*TASK_ORDER, "not_reported")}
    parts = [f"{label['done']} {int(counts.get('done', 0))}/{len(words)}"]
    parts += [f"{label[c]} {int(counts[c])}" for c in (*TASK_ORDER[1:], "not_reported") if counts.get(c, 0)]
    return " · ".join(parts)


def _metric_progress(ctx: _Context, metric_id: str) -> tuple[str, list[str]] | None:
    """('基金募集 791.13万元／1,000万元', statuses) for one metric in this report, or None."""
    t = ctx.report.targets[ctx.report.targets["metric"] == metric_id]
    if not len(t):
        return None
    name = ctx.metric_name(metric_id)
    street = t[t["scope"] == "street"]
    rows = street if (ctx.report.unit is None and len(street)) else t[t["scope"] == "unit"]
    if not len(rows):
        rows = t
    if len(rows) == 1:
        row = rows.iloc[0]
        key = "progress_month" if row["period"] == "month" else "progress_year"
        text = ctx.t(key, name=name, actual=ctx.amount(row["actual"], metric_id),
                     target=ctx.amount(row["target"], metric_id))
    else:
        ok = int(rows["status"].isin(["done", "on_track"]).sum())
        text = ctx.t("progress_units", name=name, ok=ok, total=len(rows))
    return text, list(rows["status"])


def _pack_blocks(rows: list, block_of: list[int], size: int) -> list[list]:
    """Pages of at most `size` rows that keep a plan group (二(一), 二(二), ...) on one page when it fits."""
    pages: list[list] = []
    current: list = []
    for block in dict.fromkeys(block_of):
        part = [r for r, b in zip(rows, block_of, strict=True) if b == block]
        if current and len(current) + len(part) > size:
            pages.append(current)
            current = []
        while len(part) > size:
            pages.append(part[:size])
            part = part[size:]
        current += part
    if current or not pages:
        pages.append(current)
    return pages


def _item_row(ctx: _Context, item_id: str, statuses: pd.DataFrame, by_node: dict[str, list[str]],
              tasks: dict[str, pd.DataFrame], rank: dict[str, int]) -> tuple[tuple[str, ...], str | None] | None:
    """One plan item as a section-table row (number, title, lead, deadline, status, progress) and its status."""
    item = ctx.plan.items[item_id]
    code = statuses.loc[item_id, "status"] if item_id in statuses.index else None
    code = code if isinstance(code, str) else None
    progress = []
    part = tasks.get(item_id)
    if part is not None and len(part):
        progress.append(_task_tally(ctx, part["status"]))
    metric_ids = by_node.get(item_id, [])
    if code is None and item.group_id:  # a group-level metric (基金募集) speaks for its unscored items
        metric_ids = by_node.get(item.group_id, [])
    metric_codes = []
    for metric_id in metric_ids:
        found = _metric_progress(ctx, metric_id)
        if found is not None:
            progress.append(found[0])
            metric_codes += found[1]
    if code is None and metric_codes:
        code = min(metric_codes, key=lambda s: rank.get(s, 99))
    if code is None and not progress:
        return None
    label = status_label(code, ctx.lang) if code else "-"
    if code == "behind" and part is not None and (part["state"] == "blocked").any():
        label = f"{status_label('behind', ctx.lang).split()[0]} {translate('task_state.blocked', ctx.lang)}"
    return (item.number, item.title, item.lead, date_label(item.deadline, ctx.lang), label,
            _semi(ctx).join(progress) or "-"), code


def _section_slides(ctx: _Context) -> list[Slide]:
    plan, report = ctx.plan, ctx.report
    statuses = item_statuses(report).set_index("item_id")
    by_node: dict[str, list[str]] = {}
    for metric in plan.metrics.values():
        by_node.setdefault(metric.item, []).append(metric.id)
    tasks = dict(tuple(report.tasks.groupby("item_id"))) if len(report.tasks) else {}
    rank = {s: i for i, s in enumerate(STATUS_SEVERITY)}
    columns = tuple(ctx.t(f"col_{c}") for c in ("number", "item", "lead", "deadline", "status", "progress"))
    slides = []
    for section in plan.sections:
        blocks = [list(section.item_ids)] + [list(g.item_ids) for g in section.groups]
        rows, tints, codes, block_of = [], [], [], []
        for block_no, block in enumerate(blocks):
            for item_id in block:
                found = _item_row(ctx, item_id, statuses, by_node, tasks, rank)
                if found is None:
                    continue  # nothing of this item concerns the chosen unit
                row, code = found
                rows.append(row)
                tints.append(_tint_row(len(columns), code, 4))
                codes.append(code)
                block_of.append(block_no)
        if not rows:
            continue
        counts = {s: codes.count(s) for s in STATUS_SEVERITY[::-1] if codes.count(s)}
        summary = " · ".join(f"{status_label(s, ctx.lang)} {n}" for s, n in counts.items())
        flagged = [f"{r[0]} {r[1]}{bracket(r[4], ctx.lang)}" for r, c in zip(rows, codes, strict=True)
                   if c in ("overdue", "behind", "at_risk")]
        title = section_heading(section, ctx.lang)
        notes = ctx.t("notes_section", title=title, n=len(rows), summary=summary or "-",
                      flagged=_semi(ctx).join(flagged) if flagged else ctx.t("notes_nothing_flagged"))
        pages = _pack_blocks(list(zip(rows, tints, strict=True)), block_of, SECTION_ROWS)
        for page_no, page in enumerate(pages, start=1):
            slides.append(Slide(
                f"section:{section.id}:{page_no}", "section", _paged_title(ctx, title, page_no, len(pages)),
                ctx.t("section_subtitle", n=len(rows), summary=summary or "-"),
                table=Table(columns, tuple(r for r, _ in page), tuple(t for _, t in page),
                            (1.25, 3.3, 1.45, 1.5, 1.3, 3.6)),
                notes=notes))
    return slides


def _comparison_chart(ctx: _Context, metric_id: str) -> tuple[BarChart, list[str]] | None:
    rows = unit_comparison_rows(ctx.report, metric_id)
    if not len(rows):
        return None
    metric = ctx.plan.metrics[metric_id]
    scale, unit_label = money_scale(list(rows["target"]) + list(rows["actual"]), metric.measure, ctx.lang)
    decimals = 1 if scale > 1 else 0
    number_format = "#,##0.0" if decimals else "#,##0"

    def values(column: str) -> tuple[float, ...]:
        return tuple(round(float(v) / scale, 2) for v in rows[column])

    chart = BarChart(
        f"compare:{metric_id}", ctx.t("comparison_chart", name=ctx.metric_name(metric_id), unit=unit_label),
        tuple(rows["reporting_unit"]),
        (ChartSeries(translate("chart.actual", ctx.lang), values("actual"), SERIES[0]),
         ChartSeries(translate("chart.expected", ctx.lang), values("expected"), SERIES[1]),
         ChartSeries(translate("chart.quota", ctx.lang), values("target"), SERIES[2])),
        unit_label, number_format, decimals)
    short = rows[~rows["status"].isin(["done", "on_track", "not_started"])]
    if len(short):
        lagging = join_list((f"{u}{bracket(status_label(s, ctx.lang), ctx.lang)}"
                             for u, s in zip(short["reporting_unit"], short["status"], strict=True)), ctx.lang)
        line = ctx.t("comparison_lagging", name=ctx.metric_name(metric_id), units=lagging)
    else:
        line = ctx.t("comparison_all_ok", name=ctx.metric_name(metric_id))
    return chart, [line]


def _comparison_slides(ctx: _Context) -> list[Slide]:
    if ctx.report.unit is not None:
        return []
    charts, bullets = [], []
    for metric_id in ctx.plan.display.comparison:
        if metric_id not in ctx.plan.metrics:
            continue
        found = _comparison_chart(ctx, metric_id)
        if found is not None:
            charts.append(found[0])
            bullets += found[1]
    if not charts:
        return []
    notes = ctx.t("notes_comparison", month=ctx.month, lines=_semi(ctx).join(bullets))
    return [Slide("comparison", "comparison", ctx.t("comparison_title"), ctx.t("comparison_subtitle"),
                  charts=tuple(charts), bullets=tuple(bullets), notes=notes)]


def _scorecard_slides(ctx: _Context) -> list[Slide]:
    report = ctx.report
    units = [report.unit] if report.unit is not None else [u.name for u in ctx.plan.communities]
    slides = []
    for unit in units:
        mine = report.targets[report.targets["reporting_unit"] == unit]
        if not len(mine):
            continue
        card = scorecard(report, unit, ctx.lang)
        status_column = len(card.columns) - 1
        rows = tuple(tuple(str(v) for v in row) for row in card.itertuples(index=False))
        tints = tuple(_tint_row(len(card.columns), s, status_column) for s in mine["status"])
        table = Table(tuple(card.columns), rows, tints, (2.2, 1.4, 1.6, 1.6, 1.6, 1.4))

        bullets = []
        tasks = report.tasks[report.tasks["reporting_unit"] == unit]
        if len(tasks):
            words = pd.Series([task_word(w, ctx.lang) for w in tasks["status"]]).value_counts()
            tally = " · ".join(f"{w} {int(n)}" for w, n in words.items())
            overdue = int(tasks["overdue"].sum())
            bullets.append(ctx.t("scorecard_tasks", n=len(tasks), tally=tally)
                           + (ctx.t("scorecard_tasks_overdue", n=overdue) if overdue else ""))
        rep = report.reporting[report.reporting["reporting_unit"] == unit]
        if len(rep):
            missing = rep[~rep["received"]]
            late = rep[rep["received"] & (rep["on_time"] == False)]  # noqa: E712  (nullable boolean)
            bullets.append(ctx.t("scorecard_reports", n=len(rep), received=int(rep["received"].sum()),
                                 late=len(late), missing=len(missing)))
        ob = report.obligations[(report.obligations["reporting_unit"] == unit) & ~report.obligations["met"]]
        if len(ob):
            missed = _semi(ctx).join(f"{ctx.metric_name(m)} {month_label(mo, ctx.lang)}"
                              for m, mo in zip(ob["metric"], ob["month"], strict=True))
            bullets.append(ctx.t("scorecard_missed", months=missed))

        counts = mine["status"].value_counts()
        tally = join_list((f"{translate(f'status.{s}', ctx.lang)} {int(counts[s])}"
                           for s in STATUS_SEVERITY[::-1] if counts.get(s, 0)), ctx.lang)
        short = mine[mine["status"].isin(["behind", "overdue", "at_risk"])]
        flagged = _semi(ctx).join(
                           f"{ctx.metric_name(m)} {translate(f'status.{s}', ctx.lang)}"
                           + bracket(f"{ctx.amount(a, m)} / {ctx.amount(e, m, expected=True)}", ctx.lang)
                           for m, s, a, e in zip(short["metric"], short["status"], short["actual"], short["expected"],
                                                 strict=True))
        notes = ctx.t("notes_scorecard", unit=unit, n=len(mine), tally=tally,
                      flagged=flagged or ctx.t("notes_nothing_flagged"), extra=_semi(ctx).join(bullets) or "-")
        slides.append(Slide(f"scorecard:{unit}", "scorecard", ctx.t("scorecard_title", unit=unit),
                            ctx.t("scorecard_subtitle", month=ctx.month), table=table, bullets=tuple(bullets),
                            notes=notes))
    return slides


def _grid_slide(ctx: _Context) -> Slide:
    report = ctx.report
    grid = reporting_grid(report, ctx.lang)
    subtitle = translate("overview.grid_caption", ctx.lang, day=ctx.plan.report_due_day)
    if not len(grid):
        return Slide("grid", "grid", ctx.t("grid_title"), subtitle, bullets=(ctx.t("grid_empty"),),
                     notes=ctx.t("grid_empty"))
    r = report.reporting
    state = {(u, m): ("missing" if not rec else "late" if ot is False or (not pd.isna(ot) and not bool(ot)) else "ok")
             for u, m, rec, ot in zip(r["reporting_unit"], r["month"], r["received"], r["on_time"], strict=True)}
    ob = report.obligations[report.obligations["reporting_unit"].notna()]
    ob = ob[ob["metric"] == ob["metric"].iloc[0]] if len(ob) else ob
    missed = {(u, m) for u, m, met in zip(ob["reporting_unit"], ob["month"], ob["met"], strict=True) if not met}
    months = sorted(r["month"].unique())
    units = list(grid.index)
    columns = (str(grid.index.name), *(str(c) for c in grid.columns))
    rows, tints = [], []
    for unit, values in zip(units, grid.itertuples(index=False), strict=True):
        rows.append((unit, *(str(v) for v in values)))
        cell_tints: list[str | None] = [None]
        for month in months:
            s = state.get((unit, month))
            cell_tints.append("behind" if s == "missing" else "at_risk" if s == "late" or (unit, month) in missed
                              else None)
        tints.append(tuple(cell_tints))
    expected = len(r)
    received = int(r["received"].sum())
    late = int(sum(1 for s in state.values() if s == "late"))
    missing_list = join_list((f"{u} {month_label(m, ctx.lang)}" for (u, m), s in state.items() if s == "missing"),
                             ctx.lang)
    notes = ctx.t("notes_grid", expected=expected, received=received, late=late,
                  missing=missing_list or ctx.t("notes_none"))
    return Slide("grid", "grid", ctx.t("grid_title"), subtitle,
                 table=Table(columns, tuple(rows), tuple(tints), (1.6, *([1.0] * len(months)))), notes=notes)


def _attention_slides(ctx: _Context) -> list[Slide]:
    items = ctx.attention
    title = ctx.t("attention_title")
    if not len(items):
        empty = translate("overview.attention_empty", ctx.lang)
        return [Slide("attention:1", "attention", title, ctx.t("attention_subtitle", n=0), bullets=(empty,),
                      notes=empty)]
    sentences = attention_rows(ctx.report, ctx.lang, items)
    table = attention_table(sentences, ctx.lang)
    columns = tuple(table.columns)
    rows = [tuple(str(v) for v in row) for row in table.itertuples(index=False)]
    tints = [_tint_row(len(columns), ATTENTION_TINT.get(s), 0) for s in items["status"]]
    counts = items["status"].value_counts()
    summary = ("，" if ctx.lang == "zh" else ", ").join(
        f"{translate(f'attention.severity_{s}', ctx.lang)} {int(counts[s])}" for s in ATTENTION_TINT
        if counts.get(s, 0))
    notes = ctx.t("notes_attention", n=len(items), summary=summary, first=rows[0][2])
    pages = _pages(list(zip(rows, tints, strict=True)), ATTENTION_ROWS)
    return [Slide(f"attention:{n}", "attention", _paged_title(ctx, title, n, len(pages)),
                  ctx.t("attention_subtitle", n=len(items)),
                  table=Table(columns, tuple(r for r, _ in page), tuple(t for _, t in page), (1.3, 1.4, 5.6, 2.5)),
                  notes=notes)
            for n, page in enumerate(pages, start=1)]


def action_items(plan: Plan, report: StatusReport, *, lang: str = "zh", items: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """督办事项: one action per attention row, ordered by responsible unit, with what to do and by when.

    Columns: unit, subject, requirement, due, status (for colour).
    """
    items = attention(report) if items is None else items
    sentences = attention_rows(report, lang, items)
    follow_up = date_label(follow_up_date(plan, report.as_of), lang)
    order = {name: i for i, name in enumerate(plan.unit_names)}
    requirement_key = {"overdue": "action_overdue_do", "behind": "action_behind_do", "at_risk": "action_behind_do",
                       "task_overdue": "action_tasks_do", "blocked": "action_blocked_do",
                       "obligation_missed": "action_obligation_do", "obligation_earlier": "action_obligation_do",
                       "missing": "action_missing_do", "late": "action_late_do"}
    actions = []
    for severity, row in enumerate(sentences.itertuples(index=False)):
        due = translate("meeting.action_now", lang) if row.status == "missing" else follow_up
        actions.append({"unit": row.unit, "subject": row.text,
                        "requirement": translate(f"meeting.{requirement_key[row.status]}", lang,
                                                 day=plan.report_due_day),
                        "due": due, "status": row.status, "_unit_order": order.get(row.unit, len(order)),
                        "_severity": severity})
    columns = ["unit", "subject", "requirement", "due", "status"]
    if not actions:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame(actions).sort_values(["_unit_order", "_severity"], kind="stable")
    return frame[columns].reset_index(drop=True)


def _action_slides(ctx: _Context) -> list[Slide]:
    actions = action_items(ctx.plan, ctx.report, lang=ctx.lang, items=ctx.attention)
    title = ctx.t("actions_title")
    subtitle = ctx.t("actions_subtitle", date=date_label(follow_up_date(ctx.plan, ctx.report.as_of), ctx.lang))
    if not len(actions):
        return [Slide("actions:1", "actions", title, subtitle, bullets=(ctx.t("actions_empty"),),
                      notes=ctx.t("notes_actions_empty"))]
    columns = tuple(ctx.t(f"col_{c}") for c in ("seq", "unit", "subject", "requirement", "due"))
    rows = [(str(i), a.unit, a.subject, a.requirement, a.due) for i, a in enumerate(actions.itertuples(), start=1)]
    tints = [_tint_row(len(columns), ATTENTION_TINT.get(s), 1) for s in actions["status"]]
    units = list(dict.fromkeys(actions["unit"]))
    notes = ctx.t("notes_actions", n=len(actions), units=join_list(units, ctx.lang),
                  date=date_label(follow_up_date(ctx.plan, ctx.report.as_of), ctx.lang))
    pages = _pages(list(zip(rows, tints, strict=True)), ACTION_ROWS)
    return [Slide(f"actions:{n}", "actions", _paged_title(ctx, title, n, len(pages)), subtitle,
                  table=Table(columns, tuple(r for r, _ in page), tuple(t for _, t in page), (0.6, 1.6, 4.5, 3.7, 1.6)),
                  notes=notes)
            for n, page in enumerate(pages, start=1)]


# ---------------------------------------------------------------------------
# Screen helpers (the page draws the same slide data)


def tint_color(status: str | None, strength: float = 0.22) -> str | None:
    """A light fill of the status colour (the cell text carries the label, so colour is never alone)."""
    if status not in STATUS_COLORS:
        return None
    base = STATUS_COLORS[status].lstrip("#")
    rgb = [int(base[i:i + 2], 16) for i in (0, 2, 4)]
    mixed = [round(255 - (255 - c) * strength) for c in rgb]
    return "#" + "".join(f"{c:02X}" for c in mixed)


def styled_table(table: Table):
    """The table as a pandas Styler with status tints, for st.dataframe."""
    frame = table.frame()
    css = pd.DataFrame([[f"background-color: {tint_color(s)}" if tint_color(s) else "" for s in row]
                        for row in table.tints], columns=frame.columns, index=frame.index)
    return frame.style.apply(lambda _: css, axis=None)


def chart_figure(chart: BarChart, height: int = 420):
    """A Plotly clustered column chart of the same data the PPTX chart holds."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for series in chart.series:
        fig.add_trace(go.Bar(
            x=list(chart.categories), y=list(series.values), name=series.name, marker={"color": series.color},
            text=[chart.label(v) for v in series.values], textposition="outside", cliponaxis=False,
            textfont={"size": 16},
            hovertemplate="%{x} " + series.name + ": %{text}<extra></extra>",
        ))
    fig.update_layout(
        barmode="group", height=height, title={"text": chart.title, "font": {"size": 22}},
        font={"family": FONT, "size": 16}, margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0, "font": {"size": 16}},
        plot_bgcolor="white", paper_bgcolor="white", separators=".,",
    )
    fig.update_xaxes(type="category", tickfont={"size": 16})
    fig.update_yaxes(title_text=chart.unit_label, gridcolor="#e6e9ef", rangemode="tozero")
    return fig


# ---------------------------------------------------------------------------
# PPTX


def _pptx_font(font, size: float | None = None, bold: bool | None = None, color: str | None = None,
               lang: str = "zh") -> None:
    """Set size/weight/colour and both the Latin and the East Asian typeface on a run or default font."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if color is not None:
        font.color.rgb = RGBColor.from_string(color.lstrip("#"))
    font.name = PPTX_FONT
    rpr = font._rPr
    latin = rpr.find(qn("a:latin"))
    anchor = latin
    for tag in ("a:ea", "a:cs"):
        element = rpr.find(qn(tag))
        if element is None:
            element = rpr.makeelement(qn(tag), {})
            anchor.addnext(element)
        element.set("typeface", PPTX_FONT)
        anchor = element
    if lang == "zh":
        rpr.set("lang", "zh-CN")
        rpr.set("altLang", "en-US")


def _pptx_text(frame, lines: list[tuple[str, float, bool, str]], *, align=None, lang: str = "zh",
               space_after: float = 0) -> None:
    """Write lines (text, size, bold, colour) into a text frame, one paragraph each."""
    from pptx.util import Pt

    frame.word_wrap = True
    for i, (text, size, bold, color) in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        if space_after:
            paragraph.space_after = Pt(space_after)
        run = paragraph.add_run()
        run.text = text
        _pptx_font(run.font, size, bold, color, lang)


def _pptx_theme_fonts(prs) -> None:
    """Make the theme's East Asian heading and body fonts a CJK face, so any default text renders."""
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    part = prs.slide_master.part.part_related_by(RT.THEME)
    root = etree.fromstring(part.blob)
    ns = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
    for element in root.iterfind(".//a:majorFont/a:ea", ns):
        element.set("typeface", PPTX_FONT)
    for element in root.iterfind(".//a:minorFont/a:ea", ns):
        element.set("typeface", PPTX_FONT)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _card_lines(card: MetricCard, lang: str) -> tuple[str, str]:
    """The two small lines of a headline card: the target, then share of target and the change."""
    target = f"{translate('overview.target', lang)} {card.target}"
    change = f"{card.change_label} {card.change}"
    return target, (f"{card.percent} · {change}" if card.percent else change)


CELL_MARGIN_X_IN = 0.08
CELL_MARGIN_Y_IN = 0.04


def _pptx_cell_margins(cell) -> None:
    from pptx.util import Inches

    cell.margin_left = cell.margin_right = Inches(CELL_MARGIN_X_IN)
    cell.margin_top = cell.margin_bottom = Inches(CELL_MARGIN_Y_IN)


def _text_width_in(text: str, size: float) -> float:
    """Approximate printed width: a CJK character is one em, Latin letters and digits about 0.55 em."""
    return sum(size / 72 * (1.0 if ord(ch) >= 0x2E80 or ch in "✔✖▲▼●○" else 0.56) for ch in text)


def _row_height(cells: list[str], widths: list[float], size: float) -> float:
    """Height of a table row whose cells wrap within their column widths (PowerPoint does not shrink)."""
    lines = 1
    for text, width in zip(cells, widths, strict=False):
        usable = max(width - 2 * CELL_MARGIN_X_IN - 0.04, 0.2)
        lines = max(lines, sum(max(1, math.ceil(_text_width_in(part, size) / usable))
                               for part in str(text).split("\n")))
    return lines * size * 1.22 / 72 + 2 * CELL_MARGIN_Y_IN + 0.06


class _PptxWriter:
    WIDTH_IN = 13.333
    HEIGHT_IN = 7.5
    MARGIN_IN = 0.5
    BODY_TOP_IN = 1.55
    BODY_BOTTOM_IN = 6.85

    def __init__(self, title: str, footer: str, lang: str):
        from pptx import Presentation
        from pptx.util import Inches

        self.lang = lang
        self.footer = footer
        self.prs = Presentation()
        self.prs.slide_width = Inches(self.WIDTH_IN)
        self.prs.slide_height = Inches(self.HEIGHT_IN)
        self.prs.core_properties.title = title
        self.prs.core_properties.language = "zh-CN" if lang == "zh" else "en-US"
        _pptx_theme_fonts(self.prs)
        self.layout = self.prs.slide_layouts[5]  # "Title Only": the title stays a real title placeholder

    # -- building blocks
    def _box(self, slide, left: float, top: float, width: float, height: float):
        from pptx.util import Inches

        return slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))

    def _text(self, slide, left, top, width, height, lines, align=None, anchor=None, space_after: float = 0):
        box = self._box(slide, left, top, width, height)
        if anchor is not None:
            box.text_frame.vertical_anchor = anchor
        _pptx_text(box.text_frame, lines, align=align, lang=self.lang, space_after=space_after)
        return box

    def _rect(self, slide, left, top, width, height, fill: str, rounded: bool = False):
        from pptx.dml.color import RGBColor
        from pptx.enum.shapes import MSO_SHAPE
        from pptx.util import Inches

        shape = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE if rounded else MSO_SHAPE.RECTANGLE,
                                       Inches(left), Inches(top), Inches(width), Inches(height))
        shape.fill.solid()
        shape.fill.fore_color.rgb = RGBColor.from_string(fill.lstrip("#"))
        shape.line.fill.background()
        shape.shadow.inherit = False
        if rounded:
            shape.adjustments[0] = 0.08
        return shape

    def add(self, slide_data: Slide, number: int, total: int) -> None:
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches

        slide = self.prs.slides.add_slide(self.layout)
        cover = slide_data.kind == "title"
        self._rect(slide, 0, 0, self.WIDTH_IN, 0.14, PRIMARY)
        title = slide.shapes.title
        if cover:
            title.left, title.top, title.width, title.height = (Inches(0.9), Inches(1.7), Inches(11.5), Inches(1.6))
        else:
            title.left, title.top, title.width, title.height = (Inches(self.MARGIN_IN), Inches(0.3),
                                                                Inches(12.3), Inches(0.8))
        frame = title.text_frame
        frame.clear()
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE if cover else MSO_ANCHOR.BOTTOM
        _pptx_text(frame, [(slide_data.title, 40 if cover else 30, True, PRIMARY if cover else INK)],
                   align=PP_ALIGN.CENTER if cover else PP_ALIGN.LEFT, lang=self.lang)
        if slide_data.subtitle:
            if cover:
                self._text(slide, 0.9, 3.35, 11.5, 0.7, [(slide_data.subtitle, 28, False, INK)], align=PP_ALIGN.CENTER)
            else:
                self._text(slide, self.MARGIN_IN, 1.08, 12.3, 0.45, [(slide_data.subtitle, 15, False, MUTED)])

        top = self.BODY_TOP_IN
        if cover:
            self._text(slide, 0.9, 4.35, 11.5, 2.2, [(b, 20, False, MUTED) for b in slide_data.bullets],
                       align=PP_ALIGN.CENTER, space_after=6)
        else:
            bullet_size = 20 if slide_data.table is None and not slide_data.charts else 16
            bullets = [f"• {b}" for b in slide_data.bullets]
            lines = sum(max(1, math.ceil(_text_width_in(b, bullet_size) / 11.9)) for b in bullets)
            reserve = lines * bullet_size * 1.3 / 72 + 0.08 * len(bullets) + 0.1 if bullets else 0.0
            if slide_data.cards:
                top = self._cards(slide, slide_data.cards, top)
            if slide_data.charts:
                chart_bottom = self.BODY_BOTTOM_IN - reserve
                self._charts(slide, slide_data.charts, top, chart_bottom - top)
                top = chart_bottom
            if slide_data.table is not None:
                top = self._table(slide, slide_data.table, top, slide_data.kind, reserve=reserve)
            if bullets:
                self._text(slide, self.MARGIN_IN, top + 0.05, 12.3, max(self.BODY_BOTTOM_IN - top, 0.5),
                           [(b, bullet_size, False, INK) for b in bullets], space_after=4)

        self._rect(slide, self.MARGIN_IN, 6.98, 12.33, 0.01, "#C9D1DB")
        self._text(slide, self.MARGIN_IN, 7.0, 10.8, 0.38, [(self.footer, 11, False, MUTED)])
        self._text(slide, 11.3, 7.0, 1.53, 0.38, [(f"{number} / {total}", 11, False, MUTED)], align=PP_ALIGN.RIGHT)
        if slide_data.notes:
            _pptx_text(slide.notes_slide.notes_text_frame, [(slide_data.notes, 14, False, INK)], lang=self.lang)

    def _cards(self, slide, cards: tuple[MetricCard, ...], top: float) -> float:
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

        gap = 0.18
        width = (12.33 - gap * (len(cards) - 1)) / len(cards)
        height = 2.05
        for i, card in enumerate(cards):
            left = self.MARGIN_IN + i * (width + gap)
            shape = self._rect(slide, left, top, width, height, "#F3F6FA", rounded=True)
            frame = shape.text_frame
            frame.vertical_anchor = MSO_ANCHOR.MIDDLE
            target, change = _card_lines(card, self.lang)
            _pptx_text(frame, [
                (card.name, 17, False, MUTED),
                (card.value, 30, True, INK),
                (target, 11, False, MUTED),
                (change, 11, False, MUTED),
                (card.status_label, 17, True, STATUS_COLORS.get(card.status, INK)),
            ], align=PP_ALIGN.CENTER, lang=self.lang)
        return top + height + 0.15

    def _charts(self, slide, charts: tuple[BarChart, ...], top: float, height: float) -> None:
        gap = 0.3
        width = (12.33 - gap * (len(charts) - 1)) / len(charts)
        for i, chart in enumerate(charts):
            self._chart(slide, chart, self.MARGIN_IN + i * (width + gap), top, width, height)

    def _chart(self, slide, chart: BarChart, left: float, top: float, width: float, height: float) -> None:
        from pptx.chart.data import CategoryChartData
        from pptx.dml.color import RGBColor
        from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
        from pptx.util import Inches

        data = CategoryChartData(number_format=chart.number_format)
        data.categories = list(chart.categories)
        for series in chart.series:
            data.add_series(series.name, list(series.values), number_format=chart.number_format)
        frame = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(left), Inches(top), Inches(width),
                                       Inches(height), data)
        frame.name = f"chart {chart.key}"
        c = frame.chart
        _pptx_font(c.font, 13, None, INK, self.lang)
        c.has_title = True
        _pptx_text(c.chart_title.text_frame, [(chart.title, 16, True, INK)], lang=self.lang)
        c.has_legend = True
        c.legend.position = XL_LEGEND_POSITION.BOTTOM
        c.legend.include_in_layout = False
        _pptx_font(c.legend.font, 13, None, INK, self.lang)
        plot = c.plots[0]
        plot.gap_width = 70
        plot.overlap = -5
        plot.has_data_labels = True
        labels = plot.data_labels
        labels.number_format = chart.number_format
        labels.number_format_is_linked = False
        labels.position = XL_LABEL_POSITION.OUTSIDE_END
        _pptx_font(labels.font, 11, None, INK, self.lang)
        for series, spec in zip(plot.series, chart.series, strict=True):
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = RGBColor.from_string(spec.color.lstrip("#"))
        _pptx_font(c.category_axis.tick_labels.font, 12, None, INK, self.lang)
        value_axis = c.value_axis
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = RGBColor.from_string("E6E9EF")
        value_axis.tick_labels.number_format = chart.number_format
        value_axis.tick_labels.number_format_is_linked = False
        _pptx_font(value_axis.tick_labels.font, 11, None, MUTED, self.lang)
        value_axis.minimum_scale = 0
        value_axis.has_title = True
        _pptx_text(value_axis.axis_title.text_frame, [(chart.unit_label, 12, False, MUTED)], lang=self.lang)

    def _table(self, slide, table: Table, top: float, kind: str, reserve: float = 0.0) -> float:
        from pptx.dml.color import RGBColor
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches

        rows = table.rows
        if kind == "grid":  # '✔ 按时 · 信息2篇✓' reads better as two lines than wrapped mid-word
            rows = tuple(tuple(v.replace(" · ", "\n") for v in row) for row in rows)
        n_rows, n_cols = len(rows) + 1, len(table.columns)
        total_width = 12.33
        weights = table.widths if len(table.widths) == n_cols else (1.0,) * n_cols
        widths = [w * total_width / sum(weights) for w in weights]
        available = self.BODY_BOTTOM_IN - top - reserve - 0.05
        # the largest type (16 pt down to 10 pt) at which every row, wrapped, fits above the footer
        for size in range(16 if n_rows <= 11 else 14, 9, -1):
            heights = [_row_height([*table.columns], widths, size)]
            heights += [_row_height(list(row), widths, size) for row in rows]
            if sum(heights) <= available:
                break
        shape = slide.shapes.add_table(n_rows, n_cols, Inches(self.MARGIN_IN), Inches(top), Inches(total_width),
                                       Inches(sum(heights)))
        shape.name = f"table {kind}"
        grid = shape.table
        grid.first_row = True
        grid.horz_banding = False
        for i, width in enumerate(widths):
            grid.columns[i].width = Inches(width)
        for r, height in enumerate(heights):
            grid.rows[r].height = Inches(height)
        white = RGBColor.from_string("FFFFFF")
        for c, name in enumerate(table.columns):
            cell = grid.cell(0, c)
            cell.fill.solid()
            cell.fill.fore_color.rgb = RGBColor.from_string(PRIMARY.lstrip("#"))
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            _pptx_cell_margins(cell)
            _pptx_text(cell.text_frame, [(name, size, True, "#FFFFFF")], lang=self.lang)
        for r, (row, tints) in enumerate(zip(rows, table.tints, strict=True), start=1):
            for c, value in enumerate(row):
                cell = grid.cell(r, c)
                cell.vertical_anchor = MSO_ANCHOR.MIDDLE
                _pptx_cell_margins(cell)
                fill = tint_color(tints[c] if c < len(tints) else None)
                cell.fill.solid()
                cell.fill.fore_color.rgb = RGBColor.from_string(fill.lstrip("#")) if fill else (
                    RGBColor.from_string("F7F9FC") if r % 2 == 0 else white)
                _pptx_text(cell.text_frame, [(line, size, False, INK) for line in value.split("\n")],
                           lang=self.lang, align=PP_ALIGN.LEFT)
        return top + sum(heights) + 0.1

    def bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.prs.save(buffer)
        return buffer.getvalue()


def pptx_bytes(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None,
               slides: list[Slide] | None = None) -> bytes:
    """The meeting deck as a 16:9 PowerPoint file with native charts, tables and presenter notes."""
    generated = generated or dt.date.today()
    slides = slides if slides is not None else slide_deck(plan, report, lang=lang, generated=generated)
    writer = _PptxWriter(plan.title, footer_text(plan, report, lang=lang, generated=generated), lang)
    for number, slide in enumerate(slides, start=1):
        writer.add(slide, number, len(slides))
    return writer.bytes()


# ---------------------------------------------------------------------------
# XLSX


def _number_format(measure: str | None) -> str:
    return "#,##0.00" if measure == "元" else "#,##0"


@dataclass
class _Sheet:
    name: str
    columns: list[tuple[str, float]]  # header, width in characters
    rows: list[list[Any]] = field(default_factory=list)  # a cell is a value or (value, number format)


def _write_sheet(workbook, sheet: _Sheet) -> None:
    """One sheet: bold header row, frozen; column widths; number formats; an autofilter over the data."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = workbook.create_sheet(sheet.name)
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor=PRIMARY.lstrip("#"))
    for c, (header, width) in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=c)
        _set_cell(cell, header)
        cell.font = header_font
        cell.fill = header_fill
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(c)].width = width
    for r, row in enumerate(sheet.rows, start=2):
        for c, value in enumerate(row, start=1):
            fmt = None
            if isinstance(value, tuple):
                value, fmt = value
            cell = ws.cell(row=r, column=c)
            _set_cell(cell, value)
            if fmt and cell.data_type == "n":
                cell.number_format = fmt
    ws.freeze_panes = "A2"
    last = get_column_letter(max(len(sheet.columns), 1))
    ws.auto_filter.ref = f"A1:{last}{max(len(sheet.rows) + 1, 1)}"


def _set_cell(cell, value: Any) -> None:
    """Write one value; text is neutralised and always stored as a string, never as a formula."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return
    if isinstance(value, bool):
        cell.value = value
        return
    if isinstance(value, int | float) and not isinstance(value, bool):
        cell.value = float(value) if isinstance(value, float) else int(value)
        return
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        _set_cell(cell, value.item())
        return
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime | dt.date):
        cell.value = value
        cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, dt.datetime) else "yyyy-mm-dd"
        return
    cell.value = safe_cell_text(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula


def xlsx_bytes(plan: Plan, report: StatusReport, facts: pd.DataFrame, *, lang: str = "zh",
               generated: dt.date | None = None) -> bytes:
    """The meeting's data as a workbook: 状态, 按月考核, 工作事项, 报送情况, 明细, 督办事项."""
    from openpyxl import Workbook

    def tr(key: str) -> str:
        return translate(f"meeting.{key}", lang)

    metrics = plan.metrics
    street = unit_label(None, lang)
    names = {m: metric_name(plan, m, lang) for m in metrics}
    measures = {m: metrics[m].measure for m in metrics}
    measure_words = {m: measure_word(metrics[m].measure, lang, metric=metrics[m]) for m in metrics}

    status_sheet = _Sheet(tr("sheet_status"), [
        (tr("x_metric"), 14), (tr("x_unit"), 12), (tr("x_period"), 10), (tr("x_measure"), 8),
        (tr("x_target"), 14), (tr("x_actual"), 14), (tr("x_expected"), 14), (tr("x_gap"), 14), (tr("x_forecast"), 14),
        (tr("x_percent"), 10), (tr("x_status"), 10), (tr("x_deadline"), 12), (tr("x_source"), 50)])
    quotes = {t.id: t.source_quote for t in plan.targets}
    for r in report.targets.itertuples(index=False):
        fmt = _number_format(measures[r.metric])
        monthly = r.period == "month"
        status_sheet.rows.append([
            names[r.metric], r.reporting_unit if isinstance(r.reporting_unit, str) else street,
            translate("plan_page.every_month", lang) if monthly else translate("community.yearly", lang),
            measure_words[r.metric], (r.target, fmt), (r.actual, fmt), (r.expected, fmt), (r.gap, fmt),
            (r.forecast, fmt), (None if monthly or not r.target else r.actual / r.target, "0.0%"),
            month_state_label(r.month_state, lang) if monthly else status_label(r.status, lang), r.deadline,
            quotes.get(r.target_id, "")])

    obligation_sheet = _Sheet(tr("sheet_obligations"), [
        (tr("x_metric"), 14), (tr("x_unit"), 12), (tr("x_month"), 10), (tr("x_actual"), 10), (tr("x_required"), 10),
        (tr("x_met"), 10)])
    for r in report.obligations.itertuples(index=False):
        fmt = _number_format(measures[r.metric])
        obligation_sheet.rows.append([
            names[r.metric], r.reporting_unit if isinstance(r.reporting_unit, str) else street, r.month,
            (r.actual, fmt), (r.required, fmt), tr("met_yes") if r.met else tr("met_no")])

    task_sheet = _Sheet(tr("sheet_tasks"), [
        (tr("x_number"), 10), (tr("x_item"), 30), (tr("x_unit"), 12), (tr("x_task_status"), 10),
        (tr("x_status_month"), 10), (tr("x_deadline"), 12), (tr("x_overdue"), 8), (tr("x_note"), 50)])
    for r in report.tasks.itertuples(index=False):
        item = plan.items[r.item_id]
        task_sheet.rows.append([
            item.number, item.title, r.reporting_unit, task_word(r.status, lang),
            r.month if isinstance(r.month, str) else None, r.deadline, tr("met_yes") if r.overdue else "",
            r.note if isinstance(r.note, str) else None])

    grid = reporting_grid(report, lang)
    grid_sheet = _Sheet(tr("sheet_grid"), [(str(grid.index.name or translate("grid.unit", lang)), 14)]
                        + [(str(c), 18) for c in grid.columns])
    for unit, row in zip(grid.index, grid.itertuples(index=False), strict=True):
        grid_sheet.rows.append([unit, *row])

    fact_sheet = _Sheet(tr("sheet_facts"), [
        (tr("x_upload"), 10), (tr("x_unit"), 12), (tr("x_month"), 10), (tr("x_number"), 22), (tr("x_item"), 24),
        (tr("x_category"), 14), (tr("x_value"), 14), (tr("x_measure"), 8), (tr("x_task_status"), 10),
        (tr("x_note"), 50)])
    item_names = {i.id: i.title for i in plan.items.values()}
    for r in facts.itertuples(index=False):
        metric = metrics.get(r.item)
        measure = metric.measure if metric else None
        value = None if r.value is None or pd.isna(r.value) else float(r.value)
        fact_sheet.rows.append([
            int(r.upload_id), r.reporting_unit, r.month, r.item,
            (metric_name(plan, r.item, lang, short=False) if metric else item_names.get(r.item, "")),
            category_label(plan, r.item, r.category, lang) or None,
            (value, _number_format(measure)), measure_words.get(r.item) if metric else None,
            task_word(r.status, lang) if isinstance(r.status, str) else None,
            r.note if isinstance(r.note, str) and r.note else None])

    actions = action_items(plan, report, lang=lang)
    action_sheet = _Sheet(tr("sheet_actions"), [
        (tr("col_seq"), 6), (tr("col_unit"), 12), (tr("col_subject"), 50), (tr("col_requirement"), 40),
        (tr("col_due"), 12)])
    for i, a in enumerate(actions.itertuples(index=False), start=1):
        action_sheet.rows.append([i, a.unit, a.subject, a.requirement, a.due])

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in (status_sheet, obligation_sheet, task_sheet, grid_sheet, fact_sheet, action_sheet):
        _write_sheet(workbook, sheet)
    workbook.properties.title = safe_cell_text(footer_text(plan, report, lang=lang, generated=generated))
    workbook.properties.creator = "worktrack"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# PDF: the same slides as HTML, printed by headless Chromium


class ExportUnavailable(RuntimeError):
    """A prerequisite for this export is missing; the message says what to install."""


def chromium_path() -> str | None:
    """The Chromium binary: WORKTRACK_CHROMIUM if set (even when it does not exist), else from PATH."""
    from worktrack import config

    configured = config.settings().chromium
    if configured:
        return str(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def cjk_fonts() -> list[str]:
    """Font families fontconfig offers for Chinese (empty when none, or fontconfig is missing)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})


def pdf_problem(lang: str = "zh") -> str | None:
    """Why a PDF cannot be printed here (with what to install), or None when it can."""
    path = chromium_path()
    if path is None or not Path(path).is_file() or not os.access(path, os.X_OK):
        return translate("meeting.pdf_no_chromium", lang, path=path or "chromium", hint=INSTALL_HINT)
    if not cjk_fonts():
        return translate("meeting.pdf_no_fonts", lang, hint=INSTALL_HINT)
    return None


_HTML_CSS = """
@page { size: A4 landscape; margin: 0; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; }
body { font-family: %(fonts)s; color: %(ink)s; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.slide { width: 297mm; height: 210mm; position: relative; overflow: hidden; padding: 13mm 14mm 16mm 14mm;
         page-break-after: always; break-after: page; }
.slide:last-child { page-break-after: auto; break-after: auto; }
.bar { position: absolute; top: 0; left: 0; right: 0; height: 3mm; background: %(primary)s; }
h1 { font-size: 25pt; margin: 0 0 1mm 0; line-height: 1.25; }
.subtitle { font-size: 12.5pt; color: %(muted)s; margin: 0 0 4mm 0; }
.cover { text-align: center; padding-top: 45mm; }
.cover h1 { font-size: 32pt; color: %(primary)s; margin-bottom: 6mm; }
.cover .subtitle { font-size: 22pt; color: %(ink)s; margin-bottom: 12mm; }
.cover ul { list-style: none; padding: 0; font-size: 15pt; color: %(muted)s; line-height: 1.8; }
.cards { display: flex; gap: 4mm; margin-bottom: 3mm; }
.card { flex: 1; background: #F3F6FA; border-radius: 3mm; padding: 3mm; text-align: center; }
.card .name { font-size: 13pt; color: %(muted)s; }
.card .value { font-size: 24pt; font-weight: bold; margin: 1mm 0; }
.card .small { font-size: 10.5pt; color: %(muted)s; }
.card .status { font-size: 13pt; font-weight: bold; margin-top: 1mm; }
.charts { display: flex; gap: 6mm; }
.charts svg { flex: 1; width: 100%%; }
table { border-collapse: collapse; width: 100%%; table-layout: fixed; }
th { background: %(primary)s; color: #fff; text-align: left; font-weight: bold; }
th, td { border: 0.3mm solid #C9D1DB; padding: 1.4mm 2mm; vertical-align: middle; word-wrap: break-word; }
tr:nth-child(even) td { background: #F7F9FC; }
ul.bullets { font-size: 13pt; line-height: 1.6; padding-left: 6mm; margin-top: 3mm; }
footer { position: absolute; left: 14mm; right: 14mm; bottom: 6mm; border-top: 0.3mm solid #C9D1DB;
         padding-top: 1.5mm; font-size: 9pt; color: %(muted)s; display: flex; justify-content: space-between; }
"""


def _nice_step(raw: float) -> float:
    """A round axis step (1, 2, 2.5 or 5 times a power of ten) at least `raw`."""
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude + 1e-12)


def _svg_chart(chart: BarChart, width: int = 1000, height: int = 400) -> str:
    """A clustered column chart as inline SVG; every label is escaped."""
    esc = html.escape
    left, right, top, bottom = 60, 20, 44, 78
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([v for s in chart.series for v in s.values if v is not None and not math.isnan(v)] or [0]) or 1
    step = _nice_step(highest * 1.12 / 4)
    ticks = math.ceil(highest * 1.12 / step)
    peak = step * ticks
    decimals = chart.decimals if float(step).is_integer() else max(chart.decimals, 1)

    def tick_label(value: float) -> str:
        return f"{value:,.{decimals}f}{chart.suffix}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{esc(chart.title)}" font-family=\'{esc(HTML_FONTS)}\'>',
           f'<text x="{width / 2}" y="24" text-anchor="middle" font-size="22" font-weight="bold" '
           f'fill="{INK}">{esc(chart.title)}</text>']
    for k in range(ticks + 1):
        y = top + plot_h - plot_h * k / ticks
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#E6E9EF"/>')
        out.append(f'<text x="{left - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="14" fill="{MUTED}">'
                   f'{esc(tick_label(step * k))}</text>')
    out.append(f'<text x="8" y="{top - 10}" font-size="14" fill="{MUTED}">{esc(chart.unit_label)}</text>')
    n_cat, n_series = max(len(chart.categories), 1), max(len(chart.series), 1)
    band = plot_w / n_cat
    bar = band * 0.8 / n_series
    for ci, category in enumerate(chart.categories):
        x0 = left + ci * band + band * 0.1
        for si, series in enumerate(chart.series):
            value = series.values[ci] if ci < len(series.values) else 0
            value = 0 if value is None or math.isnan(value) else value
            h = plot_h * max(value, 0) / peak
            x = x0 + si * bar
            y = top + plot_h - h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar * 0.92:.1f}" height="{h:.1f}" '
                       f'fill="{series.color}"/>')
            out.append(f'<text x="{x + bar * 0.46:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="13" '
                       f'fill="{INK}">{esc(chart.label(value))}</text>')
        out.append(f'<text x="{left + ci * band + band / 2:.1f}" y="{top + plot_h + 24}" text-anchor="middle" '
                   f'font-size="16" fill="{INK}">{esc(category)}</text>')
    lx = left
    for series in chart.series:
        out.append(f'<rect x="{lx}" y="{height - 26}" width="16" height="16" fill="{series.color}"/>')
        out.append(f'<text x="{lx + 22}" y="{height - 12}" font-size="15" fill="{INK}">{esc(series.name)}</text>')
        lx += 40 + 17 * len(series.name)
    out.append("</svg>")
    return "".join(out)


def _html_table(table: Table, kind: str) -> str:
    esc = html.escape
    n = len(table.rows)
    size = 13 if n <= 9 else 11.5
    if kind == "grid" or len(table.columns) > 7:
        size = 10.5
    weights = table.widths if len(table.widths) == len(table.columns) else (1.0,) * len(table.columns)
    total = sum(weights)
    cols = "".join(f'<col style="width:{w / total * 100:.2f}%">' for w in weights)
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = []
    for row, tints in zip(table.rows, table.tints, strict=True):
        cells = []
        for c, value in enumerate(row):
            fill = tint_color(tints[c] if c < len(tints) else None)
            style = f' style="background:{fill}"' if fill else ""
            cells.append(f"<td{style}>{esc(value)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table style="font-size:{size}pt"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def deck_html(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None,
              slides: list[Slide] | None = None) -> str:
    """The deck as one printable HTML document, one A4-landscape page per slide; all data escaped."""
    esc = html.escape
    generated = generated or dt.date.today()
    slides = slides if slides is not None else slide_deck(plan, report, lang=lang, generated=generated)
    footer = esc(footer_text(plan, report, lang=lang, generated=generated))
    css = _HTML_CSS % {"fonts": HTML_FONTS, "ink": INK, "muted": MUTED, "primary": PRIMARY}
    parts = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
             f"<title>{esc(plan.title)}</title><style>{css}</style></head><body>"]
    for number, slide in enumerate(slides, start=1):
        cover = slide.kind == "title"
        body = [f'<section class="slide{" cover" if cover else ""}" data-kind="{esc(slide.kind)}">',
                '<div class="bar"></div>', f"<h1>{esc(slide.title)}</h1>"]
        if slide.subtitle:
            body.append(f'<p class="subtitle">{esc(slide.subtitle)}</p>')
        if cover:
            body.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in slide.bullets) + "</ul>")
        else:
            if slide.cards:
                body.append('<div class="cards">')
                for card in slide.cards:
                    target, change = _card_lines(card, lang)
                    body.append(
                        f'<div class="card"><div class="name">{esc(card.name)}</div>'
                        f'<div class="value">{esc(card.value)}</div><div class="small">{esc(target)}</div>'
                        f'<div class="small">{esc(change)}</div>'
                        f'<div class="status" style="color:{STATUS_COLORS.get(card.status, INK)}">'
                        f"{esc(card.status_label)}</div></div>")
                body.append("</div>")
            if slide.charts:
                w = 1000 if len(slide.charts) == 1 else 640
                h = 390 if slide.cards else 520
                body.append('<div class="charts">' + "".join(_svg_chart(c, w, h) for c in slide.charts) + "</div>")
            if slide.table is not None:
                body.append(_html_table(slide.table, slide.kind))
            if slide.bullets:
                body.append('<ul class="bullets">' + "".join(f"<li>{esc(b)}</li>" for b in slide.bullets) + "</ul>")
        body.append(f"<footer><span>{footer}</span><span>{number} / {len(slides)}</span></footer></section>")
        parts.append("".join(body))
    parts.append("</body></html>")
    return "".join(parts)


def print_html(document: str, output: Path, *, screenshot: tuple[int, int] | None = None, lang: str = "zh") -> None:
    """Print an HTML document to PDF (or screenshot it to PNG) with headless Chromium."""
    problem = pdf_problem(lang)
    if problem:
        raise ExportUnavailable(problem)
    chromium = chromium_path()
    assert chromium is not None
    with tempfile.TemporaryDirectory(prefix="worktrack-print-") as tmp:
        source = Path(tmp) / "deck.html"
        source.write_text(document, encoding="utf-8")
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", f"--user-data-dir={Path(tmp) / 'profile'}"]
        if screenshot is not None:
            args += [f"--window-size={screenshot[0]},{screenshot[1]}", f"--screenshot={output}"]
        else:
            args += ["--no-pdf-header-footer", f"--print-to-pdf={output}"]
        args.append(source.as_uri())
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=PDF_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise ExportUnavailable(translate("meeting.pdf_failed", lang, detail="timeout")) from None
        if not output.is_file() or output.stat().st_size == 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()[-1:] or [str(result.returncode)]
            raise ExportUnavailable(translate("meeting.pdf_failed", lang, detail=detail[0][:300]))


def pdf_bytes(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None,
              slides: list[Slide] | None = None) -> bytes:
    """The deck as an A4-landscape PDF with embedded CJK fonts; ExportUnavailable if it cannot be printed."""
    problem = pdf_problem(lang)
    if problem:
        raise ExportUnavailable(problem)
    document = deck_html(plan, report, lang=lang, generated=generated, slides=slides)
    with tempfile.TemporaryDirectory(prefix="worktrack-pdf-") as tmp:
        output = Path(tmp) / "deck.pdf"
        print_html(document, output, lang=lang)
        return output.read_bytes()


EXPORT_FORMATS = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def report_fingerprint(report: StatusReport) -> str:
    """A short hash of everything a pack shows, so a pack built before an upload is never offered after it."""
    import hashlib

    digest = hashlib.sha256(f"{report.as_of}|{report.unit}".encode())
    for frame in (report.targets, report.tasks, report.reporting):
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def export_file_name(plan: Plan, report: StatusReport, fmt: str) -> str:
    """meeting_2023-09.pptx, or meeting_2023-09_tianjian.pptx for one unit."""
    suffix = f"_{plan.unit(report.unit).id}" if report.unit else ""
    return f"meeting_{report.as_of}{suffix}.{fmt}"

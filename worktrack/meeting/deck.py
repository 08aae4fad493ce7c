"""What the review meeting says, slide by slide, in the order a presenter walks through it.

    title -> one-page summary -> headline figures with the change since last month -> trend lines
    -> community x target matrix -> one slide per plan section (continued when long) -> community
    comparison -> one scorecard per community -> reporting grid -> 督办 (actions) -> 口径说明

Every sentence comes from the presentation layer (`worktrack.views`) or the locale files
(`meeting.*`); every slide carries what the presenter should say in its notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from worktrack.i18n import translate
from worktrack.meeting.slides import (
    ACTUAL_COLOR,
    BODY_BOTTOM_IN,
    BODY_TOP_IN,
    EXPECTED_COLOR,
    TARGET_COLOR,
    Chart,
    ChartSeries,
    MetricCard,
    Slide,
    bullets_height_in,
    fit_table,
)
from worktrack.plan import Plan
from worktrack.progress import (
    TASK_WORDS,
    StatusReport,
    attention,
    headline,
    month_ordinal,
    report_due_date,
    trajectory,
)
from worktrack.views import (
    attention_rows,
    bracket,
    date_label,
    format_amount,
    format_percent,
    headline_cards,
    item_statuses,
    join_list,
    method_lines,
    metric_name,
    money_scale,
    month_label,
    note_lines,
    reconciliation_lines,
    reporting_grid,
    scorecard,
    section_heading,
    short_month_label,
    source_lines,
    status_label,
    summary_line,
    task_word,
    unit_comparison_rows,
    unit_label,
)
from worktrack.views.format import MONTH_STATE_ICONS, cadence_text

TASK_ORDER = ("done", "in_progress", "blocked", "not_started")  # how an item's units are tallied
STATUS_SEVERITY = ("exceeded", "overdue", "behind", "at_risk", "not_started", "on_track", "done")
ATTENTION_TINT = {"exceeded": "overdue", "overdue": "overdue", "task_overdue": "overdue", "behind": "behind", "blocked": "behind",
                  "obligation_missed": "behind", "missing": "behind", "at_risk": "at_risk",
                  "obligation_earlier": "at_risk", "late": "at_risk"}
STATE_TINT = {"met": "done", "missed": "behind", "not_reported": "behind", "pending": None, "not_due": None}
SUMMARY_ITEMS = 3  # behind targets named in the summary before "and n more"


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

    @property
    def semi(self) -> str:
        return "；" if self.lang == "zh" else "; "

    def metric_name(self, metric_id: str) -> str:
        return metric_name(self.plan, metric_id, self.lang)

    def amount(self, value, metric_id: str, expected: bool = False, signed: bool = False) -> str:
        metric = self.plan.metrics[metric_id]
        return format_amount(value, metric.measure, self.lang, metric=metric, expected=expected, signed=signed)


def _tint_row(n_columns: int, status: str | None, column: int) -> tuple[str | None, ...]:
    return tuple(status if i == column else None for i in range(n_columns))


def _paged_title(ctx: _Context, title: str, page: int, pages: int) -> str:
    return title if pages <= 1 else ctx.t("paged", title=title, n=page, total=pages)


def _table_slides(ctx: _Context, key: str, kind: str, title: str, subtitle: str, columns, rows, tints, widths,
                  notes: str, bullets: tuple[str, ...] = (), top: float = BODY_TOP_IN) -> list[Slide]:
    """A table on as many slides as it needs (each page fits above the footer, bullets on the last)."""
    available = BODY_BOTTOM_IN - top - bullets_height_in(bullets, 16) - 0.05
    pages = fit_table(tuple(columns), list(rows), list(tints), tuple(widths), available)
    return [Slide(f"{key}:{n}", kind, _paged_title(ctx, title, n, len(pages)), subtitle, table=page,
                  bullets=bullets if n == len(pages) else (), notes=notes)
            for n, page in enumerate(pages, start=1)]


def follow_up_date(plan: Plan, as_of: str) -> dt.date:
    """When the next report is due: the date by which units report back on the meeting's actions."""
    nxt = month_ordinal(as_of) + 1
    return report_due_date(plan, f"{nxt // 12:04d}-{nxt % 12 + 1:02d}")


def footer_text(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None) -> str:
    """The footer of every slide: plan name, as-of month and generation date."""
    return translate("meeting.footer", lang, plan=plan.title, month=month_label(report.as_of, lang),
                     date=date_label(generated or dt.date.today(), lang))


# ---------------------------------------------------------------------------
# The sequence


def slide_deck(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None
               ) -> list[Slide]:
    """The meeting's slides for one as-of month, in presentation order (see the module docstring)."""
    ctx = _Context(plan, report, lang, generated or dt.date.today())
    slides = [_title_slide(ctx), _summary_slide(ctx), _headline_slide(ctx)]
    slides += _trend_slides(ctx)
    slides += _matrix_slides(ctx)
    slides += _section_slides(ctx)
    slides += _comparison_slides(ctx)
    slides += _scorecard_slides(ctx)
    slides.append(_grid_slide(ctx))
    slides += _action_slides(ctx)
    slides += _method_slides(ctx)
    return slides


def _title_slide(ctx: _Context) -> Slide:
    counts = ctx.report.status_counts()
    bullets = (
        ctx.t("cover_scope", unit=ctx.scope),
        ctx.t("cover_as_of", month=ctx.month),
        summary_line(ctx.report, ctx.lang),
        ctx.t("cover_generated", date=date_label(ctx.generated, ctx.lang)),
    )
    obligations = ctx.report.obligation_counts()
    notes = ctx.t("notes_title", month=ctx.month, unit=ctx.scope, targets=sum(counts.values()),
                  done=counts["done"], on_track=counts["on_track"], at_risk=counts["at_risk"],
                  behind=counts["behind"] + counts["overdue"], obligations=obligations["total"],
                  met=obligations["met"], missed=obligations["months_missed"])
    return Slide("title", "title", ctx.plan.title, ctx.t("cover_subtitle", month=ctx.month), bullets=bullets,
                 notes=notes)


# -- 1. the one-page summary


def _summary_sentences(ctx: _Context) -> list[str]:
    """Three to five sentences: the counts, what is on track, what is behind and who owns it, what needs a decision."""
    report = ctx.report
    out = [summary_line(report, ctx.lang)]
    rows = headline(report)
    good = rows[(rows["period"] != "month") & rows["status"].isin(["done", "on_track"])]
    if len(good):
        parts = [ctx.t("summary_good_item", name=ctx.metric_name(r.metric), value=ctx.amount(r.value, r.metric),
                       percent=format_percent(r.percent), status=status_label(r.status, ctx.lang))
                 for r in good.itertuples()]
        out.append(ctx.t("summary_good", items=join_list(parts, ctx.lang)))
    sentences = attention_rows(report, ctx.lang, ctx.attention)
    behind = sentences[sentences["status"].isin(["exceeded", "overdue", "behind"])]
    if len(behind):
        named = [f"{r.text}{bracket(ctx.t('summary_owner', unit=r.unit), ctx.lang)}"
                 for r in behind.head(SUMMARY_ITEMS).itertuples()]
        more = ctx.t("summary_more", n=len(behind) - SUMMARY_ITEMS) if len(behind) > SUMMARY_ITEMS else ""
        out.append(ctx.t("summary_behind", items=ctx.semi.join(named), more=more))
    at_risk = sentences[sentences["status"] == "at_risk"]
    if len(at_risk):
        out.append(ctx.t("summary_at_risk", n=len(at_risk), units=join_list(dict.fromkeys(at_risk["unit"]), ctx.lang)))
    decide = sentences[sentences["status"].isin(["blocked", "task_overdue", "missing"])]
    if len(decide):
        out.append(ctx.t("summary_decide", items=ctx.semi.join(decide["text"].head(4))))
    elif not len(behind) and not len(at_risk):
        out.append(ctx.t("summary_nothing"))
    if report.partial:
        out.append(ctx.t("summary_partial", units=join_list(report.pending_units, ctx.lang)))
    return out[:5] if len(out) <= 5 else [*out[:4], out[-1]]


def _summary_slide(ctx: _Context) -> Slide:
    sentences = tuple(_summary_sentences(ctx))
    notes = ctx.t("notes_summary", text=" ".join(sentences))
    return Slide("summary", "summary", ctx.t("summary_title"), ctx.t("summary_subtitle", month=ctx.month),
                 bullets=sentences, notes=notes)


# -- 2. the headline figures and the change since last month


def _change_text(ctx: _Context, card) -> str:
    arrow = {"up": "↑", "down": "↓"}.get(card.arrow, "→")
    return f"{arrow} {card.change}"


def _headline_slide(ctx: _Context) -> Slide:
    rows = headline(ctx.report).set_index("metric")
    cards, table_rows, tints = [], [], []
    tone_tint = {"good": "done", "bad": "behind", "neutral": None}
    for card in headline_cards(ctx.report, ctx.lang):
        status_text = f"{card.status_label} · {card.detail}" if card.detail else card.status_label
        cards.append(MetricCard(card.metric, card.name, card.value, card.target, card.percent, card.change,
                                card.change_label, card.status, status_text, card.arrow, card.tone))
        row = rows.loc[card.metric]
        monthly = row["period"] == "month"
        before = row["previous_month"] if monthly else row["value"] - row["this_month"]
        now = row["this_month"] if monthly else row["value"]
        table_rows.append((card.name, card.change_label, ctx.amount(before, card.metric), ctx.amount(now, card.metric),
                           _change_text(ctx, card), card.target, status_text))
        tints.append((None, None, None, None, tone_tint[card.tone], None,
                      STATE_TINT.get(card.status) if monthly else card.status))
    columns = tuple(ctx.t(f"col_{c}") for c in ("metric", "basis", "last_month", "this_month", "change", "target",
                                               "status"))
    table = fit_table(columns, table_rows, tints, (1.6, 1.0, 1.3, 1.3, 1.3, 1.7, 2.3), BODY_BOTTOM_IN - 3.6)[0]
    said = [ctx.t("notes_headline_item", name=c.name, before=r[2], now=r[3], change=r[4], status=c.status_label)
            for c, r in zip(cards, table_rows, strict=True)]
    notes = ctx.t("notes_headline", month=ctx.month, unit=ctx.scope, items=ctx.semi.join(said) or "-")
    return Slide("headline", "headline", ctx.t("headline_title"), ctx.t("headline_subtitle", month=ctx.month),
                 cards=tuple(cards), table=table, notes=notes)


# -- trend lines


def _trend_chart(ctx: _Context, metric_id: str) -> Chart | None:
    plan, report = ctx.plan, ctx.report
    target = plan.street_target(metric_id) if report.unit is None else plan.unit_target(metric_id, report.unit)
    if target is None:
        target = next(iter(plan.targets_for(metric_id)), None)
    if target is None or target.period == "month":
        return None
    traj = trajectory(plan, _monthly_frame(ctx), target.id, report.as_of)
    metric = plan.metrics[metric_id]
    scale, unit_label = money_scale(list(traj["expected_cumulative"]) + [target.value], metric.measure, ctx.lang)
    decimals = 1 if scale > 1 else 0

    def values(column) -> tuple[float | None, ...]:
        return tuple(None if pd.isna(v) else round(float(v) / scale, 2) for v in column)

    months = tuple(short_month_label(m, ctx.lang) if len({m[:4] for m in traj["month"]}) == 1
                   else month_label(m, ctx.lang) for m in traj["month"])
    return Chart(
        f"trend:{metric_id}", ctx.t("trend_chart", name=ctx.metric_name(metric_id), unit=unit_label), months,
        (ChartSeries(translate("chart.actual", ctx.lang), values(traj["actual_cumulative"]), ACTUAL_COLOR, "line",
                     labels=True),
         ChartSeries(translate("chart.expected", ctx.lang), values(traj["expected_cumulative"]), EXPECTED_COLOR,
                     "line", dash=True),
         ChartSeries(translate("chart.quota", ctx.lang), tuple(round(target.value / scale, 2) for _ in months),
                     TARGET_COLOR, "line", dash=True)),
        unit_label, "#,##0.0" if decimals else "#,##0", decimals, kind="line")


def _monthly_frame(ctx: _Context) -> pd.DataFrame:
    """Monthly figures per unit and metric rebuilt from the report (the deck reads nothing else)."""
    return ctx.report.monthly_values if ctx.report.monthly_values is not None else pd.DataFrame(
        columns=["reporting_unit", "item", "month", "value"])


def _trend_slides(ctx: _Context) -> list[Slide]:
    charts = [c for c in (_trend_chart(ctx, m) for m in ctx.plan.display.trends) if c is not None]
    if not charts:
        return []
    lines = []
    for chart in charts:
        actual = [v for v in chart.series[0].values if v is not None]
        expected = chart.series[1].values[len(actual) - 1] if actual else None
        lines.append(ctx.t("trend_line", name=chart.title, actual=chart.label(actual[-1] if actual else 0),
                           expected=chart.label(expected), target=chart.label(chart.series[2].values[0])))
    return [Slide("trends", "trends", ctx.t("trends_title"), ctx.t("trends_subtitle", month=ctx.month),
                  charts=tuple(charts), notes=ctx.t("notes_trends", lines=ctx.semi.join(lines)))]


# -- 3. community x target matrix


def _assignments(ctx: _Context, unit: str) -> str:
    """What the document assigns to one community by name: its theme, the items that name it."""
    parts = []
    everyone = {u.name for u in ctx.plan.communities}
    for item in ctx.plan.items.values():
        assigned = dict(item.assignments).get(unit)
        if assigned:
            parts.append(f"{item.number} {assigned}")
        elif unit in item.communities and set(item.communities) != everyone:
            parts.append(f"{item.number} {item.title}")
    return "\n".join(parts) or "-"


def _matrix_slides(ctx: _Context) -> list[Slide]:
    report = ctx.report
    if report.unit is not None:
        return []
    t = report.targets[report.targets["scope"] == "unit"]
    metrics = [m for m in ctx.plan.display.featured if m in set(t["metric"])]
    metrics += [m for m in dict.fromkeys(t["metric"]) if m not in metrics]
    communities = [u.name for u in ctx.plan.communities if u.name in set(t["reporting_unit"])]
    if not metrics or not communities:
        return []
    cells = t.set_index(["reporting_unit", "metric"])
    rows, tints = [], []
    for unit in communities:
        row, tint = [unit, _assignments(ctx, unit)], [None, None]
        for metric in metrics:
            if (unit, metric) not in cells.index:
                row.append("-")
                tint.append(None)
                continue
            r = cells.loc[(unit, metric)]
            # a heat map cell: the share of the quota (or the months met) and the status, in words
            if r["period"] == "month":
                icon = MONTH_STATE_ICONS.get(r["month_state"], "")
                row.append(f"{icon} " + ctx.t("matrix_months", met=int(r["months_met"]), due=int(r["months_due"])))
                tint.append(STATE_TINT.get(r["month_state"]))
            else:
                share = format_percent(r["actual"] / r["target"] * 100 if r["target"] else None)
                row.append(f"{share}\n{status_label(r['status'], ctx.lang)}")
                tint.append(r["status"])
        rows.append(tuple(row))
        tints.append(tuple(tint))
    columns = (translate("grid.unit", ctx.lang), ctx.t("col_assignment"), *(ctx.metric_name(m) for m in metrics))
    widths = (1.3, 2.6, *([1.25] * len(metrics)))
    flagged = [f"{unit} {ctx.metric_name(m)}" for unit, tint in zip(communities, tints, strict=True)
               for m, s in zip(metrics, tint[2:], strict=True) if s in ("behind", "overdue", "at_risk")]
    notes = ctx.t("notes_matrix", n=len(communities), m=len(metrics),
                  flagged=join_list(flagged, ctx.lang) or ctx.t("notes_nothing_flagged"))
    return _table_slides(ctx, "matrix", "matrix", ctx.t("matrix_title"), ctx.t("matrix_subtitle", month=ctx.month),
                         columns, rows, tints, widths, notes)


# -- the plan, section by section


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
    """('基金募集 791.13万元／1000万元', statuses) for one metric in this report, or None."""
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
        values = {"name": name, "actual": ctx.amount(row["actual"], metric_id),
                  "target": ctx.amount(row["target"], metric_id)}
        text = (cadence_text("progress", row.get("cadence"), ctx.lang, "meeting.progress_month", **values)
                if row["period"] == "month" else ctx.t("progress_year", **values))
    elif rows["period"].iloc[0] == "month":
        met = int((rows["month_state"] == "met").sum())
        due = int(rows["month_state"].isin(["met", "missed", "not_reported"]).sum())
        text = cadence_text("progress_units", rows["cadence"].iloc[0] if "cadence" in rows else None, ctx.lang,
                            "meeting.progress_units_month", name=name, ok=met, total=due)
    else:
        ok = int(rows["status"].isin(["done", "on_track"]).sum())
        text = ctx.t("progress_units", name=name, ok=ok, total=len(rows))
    return text, list(rows["status"])


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
            ctx.semi.join(progress) or "-"), code


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
        item_ids = [*section.item_ids, *(i for g in section.groups for i in g.item_ids)]
        rows, tints, codes = [], [], []
        for item_id in item_ids:
            found = _item_row(ctx, item_id, statuses, by_node, tasks, rank)
            if found is None:
                continue  # nothing of this item concerns the chosen unit
            row, code = found
            rows.append(row)
            tints.append(_tint_row(len(columns), code, 4))
            codes.append(code)
        if not rows:
            continue
        counts = {s: codes.count(s) for s in STATUS_SEVERITY[::-1] if codes.count(s)}
        summary = " · ".join(f"{status_label(s, ctx.lang)} {n}" for s, n in counts.items())
        flagged = [f"{r[0]} {r[1]}{bracket(r[4], ctx.lang)}" for r, c in zip(rows, codes, strict=True)
                   if c in ("overdue", "behind", "at_risk")]
        title = section_heading(section, ctx.lang)
        notes = ctx.t("notes_section", title=title, n=len(rows), summary=summary or "-",
                      flagged=ctx.semi.join(flagged) if flagged else ctx.t("notes_nothing_flagged"))
        slides += _table_slides(ctx, f"section:{section.id}", "section", title,
                                ctx.t("section_subtitle", n=len(rows), summary=summary or "-"), columns, rows, tints,
                                (1.1, 3.3, 1.5, 1.6, 1.3, 3.6), notes)
    return slides


# -- 6. comparison: actual as bars, expected and target as marks


def _comparison_chart(ctx: _Context, metric_id: str) -> tuple[Chart, list[str]] | None:
    rows = unit_comparison_rows(ctx.report, metric_id)
    if not len(rows):
        return None
    metric = ctx.plan.metrics[metric_id]
    scale, unit_label = money_scale(list(rows["target"]) + list(rows["actual"]), metric.measure, ctx.lang)
    decimals = 1 if scale > 1 else 0

    def values(column: str) -> tuple[float, ...]:
        return tuple(round(float(v) / scale, 2) for v in rows[column])

    # each community's figure is printed under its name, where no mark can cross it
    categories = tuple(f"{u}\n{ctx.amount(a, metric_id)}" for u, a in zip(rows["reporting_unit"], rows["actual"],
                                                                          strict=True))
    chart = Chart(
        f"compare:{metric_id}", ctx.t("comparison_chart", name=ctx.metric_name(metric_id), unit=unit_label),
        categories,
        (ChartSeries(translate("chart.actual", ctx.lang), values("actual"), ACTUAL_COLOR, "bar"),
         ChartSeries(translate("chart.expected", ctx.lang), values("expected"), EXPECTED_COLOR, "marker"),
         ChartSeries(translate("chart.quota", ctx.lang), values("target"), TARGET_COLOR, "marker")),
        unit_label, "#,##0.0" if decimals else "#,##0", decimals)
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
        found = _comparison_chart(ctx, metric_id)
        if found is not None:
            charts.append(found[0])
            bullets += found[1]
    if not charts:
        return []
    notes = ctx.t("notes_comparison", month=ctx.month, lines=ctx.semi.join(bullets))
    return [Slide("comparison", "comparison", ctx.t("comparison_title"), ctx.t("comparison_subtitle"),
                  charts=tuple(charts), bullets=tuple(bullets), notes=notes)]


# -- scorecards and the reporting grid


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
        rows = [tuple(str(v) for v in row) for row in card.itertuples(index=False)]
        tints = [_tint_row(len(card.columns), STATE_TINT.get(state) if period == "month" else status, status_column)
                 for status, period, state in zip(mine["status"], mine["period"], mine["month_state"], strict=True)]

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
            missing = rep[~rep["received"] & ~rep["pending"]]
            late = rep[rep["received"] & rep["on_time"].eq(False).fillna(False).astype(bool)]
            bullets.append(ctx.t("scorecard_reports", n=len(rep), received=int(rep["received"].sum()),
                                 late=len(late), missing=len(missing)))
        yearly = mine[mine["period"] != "month"]
        counts = yearly["status"].value_counts()
        tally = join_list((f"{translate(f'status.{s}', ctx.lang)} {int(counts[s])}"
                           for s in STATUS_SEVERITY[::-1] if counts.get(s, 0)), ctx.lang)
        short = yearly[yearly["status"].isin(["behind", "overdue", "at_risk"])]
        flagged = ctx.semi.join(
            f"{ctx.metric_name(m)} {translate(f'status.{s}', ctx.lang)}"
            + bracket(f"{ctx.amount(a, m)} / {ctx.amount(e, m, expected=True)}", ctx.lang)
            for m, s, a, e in zip(short["metric"], short["status"], short["actual"], short["expected"], strict=True))
        notes = ctx.t("notes_scorecard", unit=unit, n=len(mine), tally=tally or "-",
                      flagged=flagged or ctx.t("notes_nothing_flagged"), extra=ctx.semi.join(bullets) or "-")
        slides += _table_slides(ctx, f"scorecard:{unit}", "scorecard", ctx.t("scorecard_title", unit=unit),
                                ctx.t("scorecard_subtitle", month=ctx.month), card.columns, rows, tints,
                                (2.2, 1.2, 1.5, 1.5, 1.5, 2.6), notes, bullets=tuple(bullets))
    # one unit's scorecard keeps its plain key (the page and the tests look it up by unit)
    return [s if not s.key.endswith(":1") or any(o.key.startswith(s.key[:-2] + ":2") for o in slides)
            else Slide(s.key[:-2], *list(vars(s).values())[1:]) for s in slides]


def _grid_slide(ctx: _Context) -> Slide:
    report = ctx.report
    grid = reporting_grid(report, ctx.lang)
    subtitle = translate("overview.grid_caption", ctx.lang, day=ctx.plan.report_due_day)
    if not len(grid):
        return Slide("grid", "grid", ctx.t("grid_title"), subtitle, bullets=(ctx.t("grid_empty"),),
                     notes=ctx.t("grid_empty"))
    r = report.reporting
    state = {(u, m): ("pending" if p else "missing" if not rec else
                      "late" if (not pd.isna(ot) and not bool(ot)) else "ok")
             for u, m, rec, ot, p in zip(r["reporting_unit"], r["month"], r["received"], r["on_time"], r["pending"],
                                         strict=True)}
    ob = report.obligations[report.obligations["reporting_unit"].notna()]
    ob = ob[ob["metric"] == ob["metric"].iloc[0]] if len(ob) else ob
    missed = {(u, m) for u, m, met in zip(ob["reporting_unit"], ob["month"], ob["met"], strict=True) if not met}
    months = sorted(r["month"].unique())
    units = list(grid.index)
    columns = (str(grid.index.name), *(str(c) for c in grid.columns))
    rows, tints = [], []
    for unit, values in zip(units, grid.itertuples(index=False), strict=True):
        rows.append((unit, *(str(v).replace(" · ", "\n") for v in values)))
        cell_tints: list[str | None] = [None]
        for month in months:
            s = state.get((unit, month))
            cell_tints.append("behind" if s == "missing" else "at_risk" if s == "late" or (unit, month) in missed
                              else None)
        tints.append(tuple(cell_tints))
    expected = int((~r["pending"]).sum())
    received = int(r["received"].sum())
    late = int(sum(1 for s in state.values() if s == "late"))
    missing_list = join_list((f"{u} {month_label(m, ctx.lang)}" for (u, m), s in state.items() if s == "missing"),
                             ctx.lang)
    notes = ctx.t("notes_grid", expected=expected, received=received, late=late,
                  missing=missing_list or ctx.t("notes_none"))
    recent = months[-12:]
    keep = [0, *(1 + months.index(m) for m in recent)]
    rows = [tuple(row[i] for i in keep) for row in rows]
    tints = [tuple(tint[i] for i in keep) for tint in tints]
    columns = tuple(columns[i] for i in keep)
    page = _table_slides(ctx, "grid", "grid", ctx.t("grid_title"), subtitle, columns, rows, tints,
                         (1.6, *([1.0] * len(recent))), notes)[0]
    return Slide("grid", "grid", page.title, page.subtitle, table=page.table, notes=notes)


# -- 4. 督办: one row per action, with the plan's responsible units


def _responsible(ctx: _Context, row) -> str:
    """The units that answer for an action: the reporting unit, or the plan's lead and responsible units."""
    if row.kind != "target" or isinstance(row.reporting_unit, str) and row.reporting_unit:
        return row.responsible if isinstance(row.responsible, str) else unit_label(row.reporting_unit, ctx.lang)
    metric = ctx.plan.metrics[row.metric]
    item = ctx.plan.items.get(metric.item)
    lead = item.lead if item is not None else (ctx.plan.group_lead(metric.item) or "")
    responsible = list(item.responsible) if item is not None else []
    communities = [u.name for u in ctx.plan.communities]
    others = [u for u in responsible if u not in communities and u != lead]
    if communities and all(c in responsible for c in communities):
        others.append(ctx.t("all_communities"))
    return ctx.t("lead_and_responsible", lead=lead, units=join_list(others, ctx.lang)) if others else lead


def action_items(plan: Plan, report: StatusReport, *, lang: str = "zh", items: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """督办事项: one action per item behind, overdue, blocked or missed, with who answers for it, what is
    asked, by when, and the unit's own note. Ordered by responsible unit (plan order), then severity.

    Columns: unit, subject, requirement, due, status (for colour), note.
    """
    ctx = _Context(plan, report, lang, dt.date.today(), items)
    items = ctx.attention
    sentences = attention_rows(report, lang, items)
    follow_up = date_label(follow_up_date(plan, report.as_of), lang)
    order = {name: i for i, name in enumerate(plan.unit_names)}
    requirement_key = {"exceeded": "action_overdue_do", "overdue": "action_overdue_do", "behind": "action_behind_do", "at_risk": "action_behind_do",
                       "task_overdue": "action_tasks_do", "blocked": "action_blocked_do",
                       "obligation_missed": "action_obligation_do", "obligation_earlier": "action_obligation_do",
                       "missing": "action_missing_do", "late": "action_late_do"}
    actions = []
    for severity, (row, text) in enumerate(zip(items.itertuples(index=False), sentences.itertuples(index=False),
                                               strict=True)):
        if row.status == "missing":
            due = ctx.t("action_now")
        elif row.kind in ("target", "task") and not pd.isna(row.deadline) and row.status != "overdue":
            due = ctx.t("action_due_both", follow_up=follow_up, deadline=date_label(row.deadline, lang))
        else:
            due = follow_up
        unit = _responsible(ctx, row)
        note = row.note.strip() if isinstance(row.note, str) else ""
        subject = text.text.split(translate("attention.unit_note", lang, note="\0").split("\0")[0])[0]
        actions.append({"unit": unit, "subject": subject,
                        "requirement": translate(f"meeting.{requirement_key[row.status]}", lang,
                                                 day=plan.report_due_day),
                        "due": due, "status": row.status, "note": note,
                        "_unit_order": order.get(row.reporting_unit if isinstance(row.reporting_unit, str) else "",
                                                 -1),
                        "_severity": severity})
    columns = ["unit", "subject", "requirement", "due", "status", "note"]
    if not actions:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame(actions).sort_values(["_unit_order", "_severity"], kind="stable")
    return frame[columns].reset_index(drop=True)


def _action_slides(ctx: _Context) -> list[Slide]:
    actions = action_items(ctx.plan, ctx.report, lang=ctx.lang, items=ctx.attention)
    title = ctx.t("actions_title")
    follow_up = date_label(follow_up_date(ctx.plan, ctx.report.as_of), ctx.lang)
    subtitle = ctx.t("actions_subtitle", date=follow_up)
    if not len(actions):
        return [Slide("actions:1", "actions", title, subtitle, bullets=(ctx.t("actions_empty"),),
                      notes=ctx.t("notes_actions_empty"))]
    columns = tuple(ctx.t(f"col_{c}") for c in ("seq", "unit", "subject", "requirement", "due", "note"))
    rows = [(str(i), a.unit, a.subject, a.requirement, a.due, a.note or "-")
            for i, a in enumerate(actions.itertuples(), start=1)]
    tints = [_tint_row(len(columns), ATTENTION_TINT.get(s), 2) for s in actions["status"]]
    units = list(dict.fromkeys(actions["unit"]))
    notes = ctx.t("notes_actions", n=len(actions), units=join_list(units, ctx.lang), date=follow_up)
    return _table_slides(ctx, "actions", "actions", title, subtitle, columns, rows, tints,
                         (0.5, 1.7, 3.9, 2.6, 1.6, 2.2), notes)


# -- 5. 口径说明: what the document says inconsistently, where the money came from, how figures are judged


def _method_slides(ctx: _Context) -> list[Slide]:
    plan = ctx.plan
    lines = [text for text, _ in reconciliation_lines(plan, ctx.lang)]
    lines += source_lines(ctx.report, ctx.lang)
    lines += [f"{about}{'：' if ctx.lang == 'zh' else ': '}{text}" for about, text in note_lines(plan, ctx.lang)]
    lines += method_lines(plan, ctx.lang)
    available = BODY_BOTTOM_IN - BODY_TOP_IN
    pages: list[list[str]] = [[]]
    for line in lines:
        if pages[-1] and bullets_height_in([*pages[-1], line], 14) > available:
            pages.append([])
        pages[-1].append(line)
    title = ctx.t("method_title")
    mismatches = [text for text, mismatch in reconciliation_lines(plan, ctx.lang) if mismatch]
    notes = ctx.t("notes_method", mismatches=ctx.semi.join(mismatches) or ctx.t("notes_none"))
    return [Slide(f"method:{n}", "method", _paged_title(ctx, title, n, len(pages)), ctx.t("method_subtitle"),
                  bullets=tuple(page), notes=notes)
            for n, page in enumerate(pages, start=1)]


def report_fingerprint(report: StatusReport) -> str:
    """A short hash of everything a pack shows, so a pack built before an upload is never offered after it."""
    import hashlib

    digest = hashlib.sha256(f"{report.as_of}|{report.unit}|{report.pending_units}".encode())
    for frame in (report.targets, report.tasks, report.reporting):
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]



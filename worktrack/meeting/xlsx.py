"""The meeting's data as a workbook that prints as it should and can be edited safely.

Sheets: 状态 (yearly targets and obligations), 分解汇总 (unit quotas with totals as formulas), 按月考核,
工作事项 (with 责任单位), 报送情况 (已报 / 迟报 / 未报 as text), 明细, 督办事项, 计划 (every item's
number, text, lead and responsible units, deadline), 解读说明. Every sheet prints landscape, fitted to
the page width, with its header row repeated; text never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from worktrack.i18n import translate
from worktrack.meeting.deck import action_items, footer_text
from worktrack.meeting.slides import PRIMARY
from worktrack.plan import Plan
from worktrack.progress import StatusReport
from worktrack.tables import safe_cell_text
from worktrack.views import (
    category_label,
    join_list,
    measure_word,
    metric_name,
    month_label,
    month_state_label,
    note_lines,
    status_label,
    task_word,
    unit_label,
)


def _number_format(measure: str | None) -> str:
    return "#,##0.00" if measure == "元" else "#,##0"


@dataclass
class _Sheet:
    name: str
    columns: list[tuple[str, float]]  # header, width in characters
    rows: list[list[Any]] = field(default_factory=list)  # a cell is a value, (value, number format) or Formula
    wrap: set[int] = field(default_factory=set)  # 1-based columns whose text wraps


@dataclass(frozen=True)
class Formula:
    """A live formula the pack writes on purpose (a total a reader may want to recompute)."""

    text: str
    number_format: str = "#,##0"


def _write_sheet(workbook, sheet: _Sheet) -> None:
    """One sheet: bold header row, frozen and repeated on every printed page; widths; number formats;
    an autofilter; landscape, fitted to the page width."""
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
    wrap = Alignment(vertical="top", wrap_text=True)
    for r, row in enumerate(sheet.rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(value, Formula):
                cell.value = value.text
                cell.number_format = value.number_format
                cell.font = Font(bold=True)
                continue
            fmt = None
            if isinstance(value, tuple):
                value, fmt = value
            _set_cell(cell, value)
            if fmt and cell.data_type == "n":
                cell.number_format = fmt
            if c in sheet.wrap:
                cell.alignment = wrap
    ws.freeze_panes = "A2"
    last = get_column_letter(max(len(sheet.columns), 1))
    ws.auto_filter.ref = f"A1:{last}{max(len(sheet.rows) + 1, 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_options.gridLines = True


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
    """The meeting's data as a workbook (see the module docstring)."""
    from openpyxl import Workbook

    def tr(key: str, **values: object) -> str:
        return translate(f"meeting.{key}", lang, **values)

    metrics = plan.metrics
    street = unit_label(None, lang)
    names = {m: metric_name(plan, m, lang) for m in metrics}
    measures = {m: metrics[m].measure for m in metrics}
    measure_words = {m: measure_word(metrics[m].measure, lang, metric=metrics[m]) for m in metrics}

    status_sheet = _Sheet(tr("sheet_status"), [
        (tr("x_metric"), 14), (tr("x_unit"), 12), (tr("x_period"), 10), (tr("x_measure"), 8),
        (tr("x_target"), 14), (tr("x_actual"), 14), (tr("x_expected"), 14), (tr("x_gap"), 14), (tr("x_forecast"), 14),
        (tr("x_percent"), 10), (tr("x_status"), 16), (tr("x_deadline"), 12), (tr("x_source"), 50)], wrap={13})
    quotes = {t.id: t.source_quote for t in plan.targets}
    for r in report.targets.itertuples(index=False):
        fmt = _number_format(measures[r.metric])
        monthly = r.period == "month"
        status_sheet.rows.append([
            names[r.metric], r.reporting_unit if isinstance(r.reporting_unit, str) else street,
            translate("plan_page.every_month", lang) if monthly else translate("community.yearly", lang),
            measure_words[r.metric], (r.target, fmt), (r.actual, fmt), (r.expected, fmt), (r.gap, fmt),
            (r.forecast, fmt), (None if monthly or not r.target else r.actual / r.target, "0.0%"),
            month_state_label(r.month_state, lang, getattr(r, "cadence", None)) if monthly
            else status_label(r.status, lang), r.deadline,
            quotes.get(r.target_id, "")])

    # unit quotas with their totals as formulas: a reader who corrects a figure sees the total follow
    split = _Sheet(tr("sheet_split"), [(tr("x_metric"), 16), (tr("x_unit"), 14), (tr("x_target"), 14),
                                       (tr("x_actual"), 14), (tr("x_note"), 50)], wrap={5})
    for metric_id in metrics:
        quotas = report.targets[(report.targets["metric"] == metric_id) & (report.targets["scope"] == "unit")
                                & (report.targets["period"] != "month")]
        if not len(quotas):
            continue
        fmt = _number_format(measures[metric_id])
        first = len(split.rows) + 2
        for q in quotas.itertuples(index=False):
            split.rows.append([names[metric_id], q.reporting_unit, (q.target, fmt), (q.actual, fmt), None])
        last = len(split.rows) + 1
        total_row = [names[metric_id], tr("x_total")]
        for column in ("C", "D"):
            total_row.append(Formula(f"=SUM({column}{first}:{column}{last})", fmt))
        street_target = plan.street_target(metric_id)
        total_row.append(tr("x_street_target", target=f"{street_target.value:,.0f}") if street_target else None)
        split.rows.append(total_row)

    obligation_sheet = _Sheet(tr("sheet_obligations"), [
        (tr("x_metric"), 14), (tr("x_unit"), 12), (tr("x_month"), 10), (tr("x_actual"), 10), (tr("x_required"), 10),
        (tr("x_met"), 10)])
    for r in report.obligations.itertuples(index=False):
        fmt = _number_format(measures[r.metric])
        obligation_sheet.rows.append([
            names[r.metric], r.reporting_unit if isinstance(r.reporting_unit, str) else street, r.month,
            (r.actual, fmt), (r.required, fmt), tr("met_yes") if r.met else tr("met_no")])

    task_sheet = _Sheet(tr("sheet_tasks"), [
        (tr("x_number"), 10), (tr("x_item"), 30), (tr("x_unit"), 12), (tr("x_responsible"), 36),
        (tr("x_task_status"), 10), (tr("x_status_month"), 10), (tr("x_deadline"), 12), (tr("x_overdue"), 8),
        (tr("x_note"), 50)], wrap={2, 4, 9})
    for r in report.tasks.itertuples(index=False):
        item = plan.items[r.item_id]
        task_sheet.rows.append([
            item.number, item.title, r.reporting_unit, join_list(item.responsible, lang), task_word(r.status, lang),
            r.month if isinstance(r.month, str) else None, r.deadline, tr("met_yes") if r.overdue else "",
            r.note if isinstance(r.note, str) else None])

    # the reporting grid as filterable words: one row per unit and month
    grid_sheet = _Sheet(tr("sheet_grid"), [(tr("x_unit"), 14), (tr("x_month"), 10), (tr("x_report"), 10),
                                           (tr("x_version"), 8), (tr("x_received"), 18), (tr("x_due"), 12)])
    for r in report.reporting.itertuples(index=False):
        state = ("pending" if r.pending else "missing" if not r.received
                 else "late" if (not pd.isna(r.on_time) and not bool(r.on_time)) else "on_time")
        grid_sheet.rows.append([r.reporting_unit, r.month, tr(f"report_{state}"),
                                None if pd.isna(r.version) else int(r.version),
                                None if pd.isna(r.received_at) else pd.Timestamp(r.received_at).to_pydatetime(),
                                r.due_date])

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
        (tr("col_seq"), 6), (tr("col_unit"), 24), (tr("col_subject"), 50), (tr("col_requirement"), 36),
        (tr("col_due"), 22), (tr("col_note"), 36)], wrap={2, 3, 4, 6})
    for i, a in enumerate(actions.itertuples(index=False), start=1):
        action_sheet.rows.append([i, a.unit, a.subject, a.requirement, a.due, a.note or None])

    plan_sheet = _Sheet(tr("sheet_plan"), [
        (tr("x_number"), 10), (tr("x_item"), 24), (tr("x_text"), 80), (tr("x_lead"), 14), (tr("x_responsible"), 36),
        (tr("x_named"), 24), (tr("x_deadline"), 12), (tr("x_deadline_text"), 14)], wrap={2, 3, 5, 6})
    for item in plan.items.values():
        named = [f"{u}：{task}" if lang == "zh" else f"{u}: {task}" for u, task in item.assignments] or list(
            item.communities)
        plan_sheet.rows.append([item.number, item.title, item.text, item.lead, join_list(item.responsible, lang),
                                join_list(named, lang) or None, item.deadline, item.deadline_text])

    note_sheet = _Sheet(tr("sheet_notes"), [(tr("x_about"), 30), (tr("x_reading"), 100)], wrap={1, 2})
    for about, text in note_lines(plan, lang):
        note_sheet.rows.append([about, text])

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in (status_sheet, split, obligation_sheet, task_sheet, grid_sheet, fact_sheet, action_sheet,
                  plan_sheet, note_sheet):
        _write_sheet(workbook, sheet)
    workbook.properties.title = safe_cell_text(footer_text(plan, report, lang=lang, generated=generated))
    workbook.properties.creator = "worktrack"
    workbook.properties.subject = month_label(report.as_of, lang)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

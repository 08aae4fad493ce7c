"""The upload screen's work without Streamlit: who may send what, the report as tables, receipts, history.

The page draws; everything it shows is shaped here so that it can be tested without a browser.
Permission is checked twice: `validate_upload` pins a community account to its own unit (intake's
uploader check, so a file for another unit is refused with row and column), and `submit_upload`
asks `can_upload` again right before the store writes, so no path reaches the store unchecked.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from worktrack.auth import User, can_upload, demo_write_refusal
from worktrack.i18n import translate
from worktrack.intake import (
    ERROR_CODES,
    NORMALISATION_CODES,
    WARNING_CODES,
    Finding,
    IntakeReport,
    parse_month,
    read_report,
)
from worktrack.plan import Plan, month_range
from worktrack.store import SubmitResult, month_label
from worktrack.tables import csv_bytes

logger = logging.getLogger(__name__)

STATE_KEYS = {"active": "upload.state_active", "superseded": "upload.state_superseded",
              "rolled_back": "upload.state_rolled_back"}


# ---------------------------------------------------------------------------
# Months


def previous_month(today: dt.date) -> str:
    """The month before `today`'s, as YYYY-MM (reports are for the month just ended)."""
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def next_month(month: str) -> str:
    year, mon = map(int, month.split("-"))
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return f"{year:04d}-{mon:02d}"


def _clamp(month: str, months: list[str]) -> str:
    return min(max(month, months[0]), months[-1])


def upload_months(plan: Plan, today: dt.date) -> list[str]:
    """The months one may upload for: the plan's reporting months up to the current month."""
    months = plan.months
    current = f"{today.year:04d}-{today.month:02d}"
    return month_range(months[0], _clamp(current, months))


def default_upload_month(plan: Plan, unit_uploads: pd.DataFrame, today: dt.date) -> str:
    """The month a unit most likely reports next.

    The month after its latest active upload; without one, last month. Either is clamped to the
    months one may upload for, so a past plan (2023 viewed in a later year) opens on its last month.
    """
    months = upload_months(plan, today)
    active = unit_uploads[unit_uploads["state"] == "active"] if len(unit_uploads) else unit_uploads
    wanted = next_month(str(active["month"].max())) if len(active) else previous_month(today)
    return _clamp(wanted, months)


@dataclass(frozen=True)
class MonthState:
    """Where a unit stands for one month: the version in force (None if none) and whether it is locked."""

    month: str
    version: int | None
    locked: bool


def month_states(months: list[str], unit_uploads: pd.DataFrame, locked_months: list[str]) -> dict[str, MonthState]:
    """The state of each month for one unit, from its `Store.uploads` rows and the locked months."""
    versions: dict[str, int] = {}
    if len(unit_uploads):
        active = unit_uploads[unit_uploads["state"] == "active"]
        versions = {str(m): int(v) for m, v in zip(active["month"], active["version"], strict=True)}
    locked = set(locked_months)
    return {m: MonthState(m, versions.get(m), m in locked) for m in months}


def month_state_text(state: MonthState, lang: str = "zh") -> str:
    """已报 第 2 版 / 未报 / 已锁定 · 已报 第 1 版: what the month picker says about a month."""
    done = (translate("upload_screen.month_reported", lang, version=state.version) if state.version
            else translate("upload_screen.month_missing", lang))
    return f"{translate('upload_screen.month_locked', lang)} · {done}" if state.locked else done


def month_choice_label(state: MonthState, lang: str = "zh") -> str:
    """One entry of the month picker: '2023年6月 · 已报 第 2 版'."""
    month = month_label(state.month) if lang == "zh" else state.month
    return f"{month} · {month_state_text(state, lang)}"


def history_months(unit_uploads: pd.DataFrame) -> dict[int, str]:
    """upload id -> month, for the history's 重新上报此月 action."""
    if not len(unit_uploads):
        return {}
    return {int(u): str(m) for u, m in zip(unit_uploads["upload_id"], unit_uploads["month"], strict=True)}


# ---------------------------------------------------------------------------
# Checking and submitting


def declared_unit(user: User, chosen_unit: str | None) -> str | None:
    """The unit a file is checked against: a community account's own unit, whatever was chosen."""
    return user.unit if user.role == "community" else chosen_unit


def validate_upload(plan: Plan, user: User, data: bytes, filename: str, unit: str | None,
                    month: str | None, lang: str = "zh", other_plans: Sequence[Plan] = ()) -> IntakeReport:
    """Read a file as `user` sends it for `unit` and `month`; refusals come back as report errors (a file
    of one of `other_plans` says which)."""
    uploader = user.unit if user.role == "community" else None
    report = read_report(data, filename, plan, unit=declared_unit(user, unit), month=month, uploader_unit=uploader,
                         other_plans=other_plans)
    if month and parse_month(month):
        report.errors = [_with_month_hint(f, month, lang) for f in report.errors]
    if not report.errors and not can_upload(user, report.reporting_unit):
        report.errors.append(Finding("unit-mismatch", translate("upload.not_allowed", lang,
                                                                unit=report.reporting_unit or "-"),
                                     column="上报单位", value=report.reporting_unit))
        report.rows = []
    return report


def _with_month_hint(finding: Finding, chosen: str, lang: str) -> Finding:
    """A month that differs from the chosen one: say which control to change (the picker, by its label)."""
    found = parse_month(finding.value or "") if finding.code == "month-mismatch" else None
    if found is None or found == chosen:
        return finding
    hint = translate("upload_screen.month_mismatch", lang, found=_month_words(found, lang),
                     chosen=_month_words(chosen, lang), picker=translate("upload.month", lang),
                     step=translate("upload.step_choose", lang))
    return Finding(finding.code, f"{finding.message}{hint}" if lang == "zh" else hint, finding.row, finding.column,
                   finding.value)


def _month_words(month: str, lang: str) -> str:
    return month_label(month) if lang == "zh" else month


def file_month_differs(report: IntakeReport, chosen: str) -> str | None:
    """The month the file itself names when it differs from the chosen month (offer to switch), else None."""
    for finding in report.errors:
        found = parse_month(finding.value or "") if finding.code == "month-mismatch" else None
        if found is not None and found != chosen:
            return found
    return None


def database_refusal(user: User, store: Any, lang: str = "zh") -> str | None:
    """Why `user` may not write to this database at all (demo and real data never mix), or None."""
    refusal = demo_write_refusal(user.demo, store.made_by_demo(), store.uploads)
    if refusal == "real-database":
        return translate("upload.refused_real_db", lang)
    if refusal == "demo-database":
        return translate("upload.refused_demo_db", lang)
    return None


def submit_upload(store: Any, user: User, report: IntakeReport, data: bytes, *, confirm: bool,
                  lang: str = "zh") -> SubmitResult:
    """The only way the upload screen writes: the permission and database checks, then `Store.submit`."""
    base = {"reporting_unit": report.reporting_unit, "month": report.month, "sha256": report.sha256}
    if not can_upload(user, report.reporting_unit):
        return SubmitResult("rejected", False,
                            translate("upload.not_allowed", lang, unit=report.reporting_unit or "-"), **base)
    refusal = database_refusal(user, store, lang)
    if refusal:
        return SubmitResult("rejected", False, refusal, **base)
    return store.submit(report, data, submitted_by=user.username, confirm=confirm)


# ---------------------------------------------------------------------------
# The validation report


def finding_title(code: str) -> str:
    """The catalogue's short Chinese description of a finding code."""
    return ERROR_CODES.get(code) or WARNING_CODES.get(code) or NORMALISATION_CODES.get(code) or code


def findings_table(findings: list[Finding], lang: str = "zh") -> pd.DataFrame:
    """Row, column, value and what to do, one line per finding, as the upload screen shows it."""
    columns = [translate(f"upload.col_{c}", lang) for c in ("row", "column", "value", "kind", "message")]
    rows = [[f.row if f.row is not None else "", f.column or "", f.value or "", finding_title(f.code), f.message]
            for f in findings]
    table = pd.DataFrame(rows, columns=columns)
    table[columns[0]] = table[columns[0]].astype(str)
    return table


# ---------------------------------------------------------------------------
# The receipt


@dataclass(frozen=True)
class Figure:
    """One figure a receipt confirms: the item, its category, and the value as received (with its measure)."""

    item: str
    name: str
    category: str
    shown: str


@dataclass(frozen=True)
class Receipt:
    """What a community keeps after an accepted upload: enough to prove what was sent and when."""

    reporting_unit: str
    month: str
    version: int
    upload_id: int
    sha256: str
    received_at: str
    file_name: str
    size: int
    rows: int
    submitted_by: str
    replaced_version: int | None
    warnings_confirmed: int
    changes: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


def received_figures(plan: Plan, report: IntakeReport, lang: str = "zh") -> list[Figure]:
    """Every figure of an accepted file in the template's order; a task left blank is 本月未更新."""
    facts = {(r.item, r.category or ""): r for r in report.rows}
    unit = report.reporting_unit or ""
    order = [(t.item, t.category) for t in plan.template_rows(unit)] if plan.find_unit(unit) else []
    keys = order + [k for k in facts if k not in set(order)]
    figures = []
    for item, category in keys:
        fact = facts.get((item, category))
        if fact is None and item in plan.metrics:
            continue  # a count the file did not carry at all (intake records blank counts as 0)
        value: Any = None if fact is None else (fact.status if fact.status is not None else fact.value)
        figures.append(Figure(item, _item_name(plan, item), category, _shown(plan, item, value, lang)))
    return figures


def make_receipt(result: SubmitResult, report: IntakeReport, user: User, unit_month_uploads: pd.DataFrame,
                 confirmed: bool, plan: Plan | None = None, lang: str = "zh") -> Receipt:
    """The receipt of an accepted upload, with the stored time from its unit-month's `Store.uploads` rows."""
    rows = unit_month_uploads.set_index("upload_id") if len(unit_month_uploads) else unit_month_uploads
    received: Any = rows.loc[result.upload_id, "received_at"] if result.upload_id in getattr(rows, "index", ()) else ""
    if isinstance(received, pd.Timestamp | dt.datetime):
        received = received.strftime("%Y-%m-%d %H:%M:%S")
    replaced = result.superseded_upload_id
    replaced_version = int(rows.loc[replaced, "version"]) if replaced in getattr(rows, "index", ()) else None
    return Receipt(
        reporting_unit=str(result.reporting_unit), month=str(result.month), version=int(result.version or 0),
        upload_id=int(result.upload_id or 0), sha256=result.sha256, received_at=str(received or ""),
        file_name=report.file, size=int(report.size), rows=len(report.rows),
        submitted_by=f"{user.display_name}（{user.username}）", replaced_version=replaced_version,
        warnings_confirmed=len(report.warnings) if confirmed else 0, changes=list(result.changes),
        figures=received_figures(plan, report, lang) if plan is not None else [],
    )


def _item_name(plan: Plan, item: str) -> str:
    if item in plan.metrics:
        return plan.metrics[item].name
    if item in plan.items:
        return plan.items[item].title
    return item


def _shown(plan: Plan, item: str, value: Any, lang: str = "zh") -> str:
    """A received value as people read it: '12,000 元', '进行中'; a task with no status is 本月未更新."""
    if value is None:
        return "—" if item in plan.metrics else translate("upload_screen.status_not_updated", lang)
    if isinstance(value, int | float):
        measure = plan.metrics[item].measure if item in plan.metrics else ""
        number = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
        return f"{number} {measure}".strip()
    return str(value)


def figures_table(figures: list[Figure], lang: str = "zh") -> pd.DataFrame:
    """每项本月数值: item id, item, category, this month's value, one line per figure received."""
    columns = [translate(f"upload.col_{c}", lang) for c in ("item_id", "item", "category")]
    columns.append(translate("upload_screen.col_received", lang))
    return pd.DataFrame([[f.item, f.name, f.category, f.shown] for f in figures], columns=columns)


def changes_table(plan: Plan, changes: list[dict[str, Any]], lang: str = "zh") -> pd.DataFrame:
    """What this version changes against the previous one: item, category, before, after."""
    columns = [translate(f"upload.col_{c}", lang) for c in ("item_id", "item", "category", "old", "new")]
    rows = []
    for change in changes:
        item = change["item"]
        rows.append([item, _item_name(plan, item), change.get("category") or "",
                     _shown(plan, item, change.get("old"), lang), _shown(plan, item, change.get("new"), lang)])
    return pd.DataFrame(rows, columns=columns)


def receipt_lines(receipt: Receipt, plan: Plan, lang: str = "zh") -> list[tuple[str, str]]:
    """(label, value) pairs of a receipt, in the order they are shown and printed."""
    def label(key: str) -> str:
        return translate(f"upload.receipt_{key}", lang)

    month = month_label(receipt.month) if lang == "zh" else receipt.month
    replaced = (translate("upload.receipt_replaced_version", lang, version=receipt.replaced_version)
                if receipt.replaced_version else translate("upload.receipt_first_version", lang))
    lines = [
        (label("unit"), receipt.reporting_unit),
        (label("month"), month),
        (label("version"), translate("upload.version_n", lang, version=receipt.version)),
        (label("replaces"), replaced),
        (label("received_at"), receipt.received_at),
        (label("submitted_by"), receipt.submitted_by),
        (label("file"), receipt.file_name),
        (label("size"), f"{receipt.size:,} B"),
        (label("rows"), str(receipt.rows)),
        (label("sha256"), receipt.sha256),
        (label("upload_id"), str(receipt.upload_id)),
        (label("warnings"), str(receipt.warnings_confirmed)),
    ]
    if receipt.replaced_version:  # a first version has nothing to compare with
        lines.append((label("changes"), str(len(receipt.changes))))
    return lines


def receipt_text(receipt: Receipt, plan: Plan, lang: str = "zh") -> str:
    """The receipt as plain text to download and keep (UTF-8): the facts, every figure, then the changes."""
    lines = [translate("upload.receipt_heading", lang, plan=plan.title), ""]
    lines += [f"{label}：{value}" if lang == "zh" else f"{label}: {value}"
              for label, value in receipt_lines(receipt, plan, lang)]
    if receipt.figures:
        lines += ["", translate("upload_screen.figures_heading", lang)]
        for figure in receipt.figures:
            lines.append(f"- {_where(figure.item, figure.name, figure.category, lang)}: {figure.shown}")
    if receipt.changes:
        lines += ["", translate("upload.changes_heading", lang)]
        for row in changes_table(plan, receipt.changes, lang).itertuples(index=False):
            item_id, name, category, old, new = row
            lines.append(f"- {_where(item_id, name, category, lang)}: {old} → {new}")
    lines += ["", translate("upload.receipt_footer", lang)]
    return "\n".join(lines) + "\n"


def _where(item: str, name: str, category: str, lang: str) -> str:
    if not category:
        return f"{item} {name}"
    return f"{item} {name}（{category}）" if lang == "zh" else f"{item} {name} ({category})"


def receipt_csv(receipt: Receipt, plan: Plan, lang: str = "zh") -> bytes:
    """The receipt, its figures and its changes as one CSV (UTF-8 with BOM, formula cells neutralised)."""
    facts = pd.DataFrame(receipt_lines(receipt, plan, lang), columns=[translate("upload.col_field", lang),
                                                                       translate("upload.col_field_value", lang)])
    tables = []
    if receipt.figures:
        tables.append(figures_table(receipt.figures, lang))
    if receipt.changes:
        tables.append(changes_table(plan, receipt.changes, lang))
    return csv_bytes(facts, *tables)


def findings_csv(findings: list[Finding], lang: str = "zh") -> bytes:
    """The problem list to download (formula cells neutralised: the values come from the user's file)."""
    return csv_bytes(findings_table(findings, lang))


def receipt_filename(receipt: Receipt, ext: str) -> str:
    return f"回执-{receipt.reporting_unit}-{receipt.month}-第{receipt.version}版.{ext}"


# ---------------------------------------------------------------------------
# History


def history_table(uploads: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A unit's uploads, newest first: version, month, state, time, sender, file, rows, hash."""
    names = ("upload_id", "month", "version", "state", "received_at", "submitted_by", "file_name", "row_count",
             "sha256")
    columns = [translate(f"upload.col_{n}", lang) for n in names]
    if not len(uploads):
        return pd.DataFrame(columns=columns)
    frame = uploads.sort_values("upload_id", ascending=False)
    table = pd.DataFrame({
        columns[0]: frame["upload_id"].astype(int),
        columns[1]: frame["month"].astype(str),
        columns[2]: frame["version"].astype(int),
        columns[3]: frame["state"].map(lambda s: translate(STATE_KEYS.get(s, s), lang)),
        columns[4]: pd.to_datetime(frame["received_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        columns[5]: frame["submitted_by"].astype(str),
        columns[6]: frame["file_name"].astype(str),
        columns[7]: frame["row_count"].astype(int),
        columns[8]: frame["sha256"].astype(str).str.slice(0, 16) + "…",
    })
    return table.reset_index(drop=True)


def upload_choice_labels(uploads: pd.DataFrame, lang: str = "zh") -> dict[int, str]:
    """upload_choice_label for a whole table at once (a city has tens of thousands of uploads)."""
    if not len(uploads):
        return {}
    months = uploads["month"].astype(str)
    if lang == "zh":
        months = months.str[:4] + "年" + months.str[5:].astype(int).astype(str) + "月"
    states = uploads["state"].map(lambda s: translate(STATE_KEYS.get(s, s), lang))
    versions = uploads["version"].astype(int).map(lambda v: translate("upload.version_n", lang, version=v))
    labels = ("#" + uploads["upload_id"].astype(int).astype(str) + " " + uploads["reporting_unit"].astype(str) + " "
              + months + " " + versions + "（" + states + "）· " + uploads["file_name"].astype(str))
    return dict(zip(uploads["upload_id"].astype(int), labels, strict=True))


def upload_choice_label(row: Any, lang: str = "zh") -> str:
    """One upload as a picker shows it: '#12 天剑社区 2023年6月 第2版（有效）· file.csv'."""
    month = month_label(row["month"]) if lang == "zh" else row["month"]
    state = translate(STATE_KEYS.get(row["state"], row["state"]), lang)
    version = translate("upload.version_n", lang, version=int(row["version"]))
    return f"#{int(row['upload_id'])} {row['reporting_unit']} {month} {version}（{state}）· {row['file_name']}"

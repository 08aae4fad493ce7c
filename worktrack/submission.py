"""The upload screen's work without Streamlit: who may send what, the report as tables, receipts, history.

The page draws; everything it shows is shaped here so that it can be tested without a browser.
Permission is checked twice: `validate_upload` pins a community account to its own unit (intake's
uploader check, so a file for another unit is refused with row and column), and `submit_upload`
asks `can_upload` again right before the store writes, so no path reaches the store unchecked.
"""

from __future__ import annotations

import datetime as dt
import io
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
    read_report,
)
from worktrack.plan import Plan, month_range
from worktrack.store import SubmitResult, month_label

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


# ---------------------------------------------------------------------------
# Checking and submitting


def declared_unit(user: User, chosen_unit: str | None) -> str | None:
    """The unit a file is checked against: a community account's own unit, whatever was chosen."""
    return user.unit if user.role == "community" else chosen_unit


def validate_upload(plan: Plan, user: User, data: bytes, filename: str, unit: str | None,
                    month: str | None, lang: str = "zh") -> IntakeReport:
    """Read a file as `user` sends it for `unit` and `month`; refusals come back as report errors."""
    uploader = user.unit if user.role == "community" else None
    report = read_report(data, filename, plan, unit=declared_unit(user, unit), month=month, uploader_unit=uploader)
    if not report.errors and not can_upload(user, report.reporting_unit):
        report.errors.append(Finding("unit-mismatch", translate("upload.not_allowed", lang,
                                                                unit=report.reporting_unit or "-"),
                                     column="上报单位", value=report.reporting_unit))
        report.rows = []
    return report


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


def make_receipt(result: SubmitResult, report: IntakeReport, user: User, unit_month_uploads: pd.DataFrame,
                 confirmed: bool) -> Receipt:
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
    )


def _item_name(plan: Plan, item: str) -> str:
    if item in plan.metrics:
        return plan.metrics[item].name
    if item in plan.items:
        return plan.items[item].title
    return item


def _shown(value: Any, measure: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        number = f"{int(value):,}" if value.is_integer() else f"{value:,.2f}"
        return f"{number} {measure}".strip()
    return str(value)


def changes_table(plan: Plan, changes: list[dict[str, Any]], lang: str = "zh") -> pd.DataFrame:
    """What this version changes against the previous one: item, category, before, after."""
    columns = [translate(f"upload.col_{c}", lang) for c in ("item_id", "item", "category", "old", "new")]
    rows = []
    for change in changes:
        item = change["item"]
        measure = plan.metrics[item].measure if item in plan.metrics else ""
        rows.append([item, _item_name(plan, item), change.get("category") or "",
                     _shown(change.get("old"), measure), _shown(change.get("new"), measure)])
    return pd.DataFrame(rows, columns=columns)


def receipt_lines(receipt: Receipt, plan: Plan, lang: str = "zh") -> list[tuple[str, str]]:
    """(label, value) pairs of a receipt, in the order they are shown and printed."""
    def label(key: str) -> str:
        return translate(f"upload.receipt_{key}", lang)

    month = month_label(receipt.month) if lang == "zh" else receipt.month
    replaced = (translate("upload.receipt_replaced_version", lang, version=receipt.replaced_version)
                if receipt.replaced_version else translate("upload.receipt_first_version", lang))
    return [
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
        (label("changes"), str(len(receipt.changes))),
    ]


def receipt_text(receipt: Receipt, plan: Plan, lang: str = "zh") -> str:
    """The receipt as plain text to download and keep (UTF-8), changes listed at the end."""
    lines = [translate("upload.receipt_heading", lang, plan=plan.title), ""]
    lines += [f"{label}：{value}" if lang == "zh" else f"{label}: {value}"
              for label, value in receipt_lines(receipt, plan, lang)]
    if receipt.changes:
        lines += ["", translate("upload.changes_heading", lang)]
        for row in changes_table(plan, receipt.changes, lang).itertuples(index=False):
            item_id, name, category, old, new = row
            where = f"{item_id} {name}" + (f"（{category}）" if category else "")
            lines.append(f"- {where}: {old} → {new}")
    lines += ["", translate("upload.receipt_footer", lang)]
    return "\n".join(lines) + "\n"


def receipt_csv(receipt: Receipt, plan: Plan, lang: str = "zh") -> bytes:
    """The receipt and its changes as one CSV (UTF-8 with BOM, so Excel opens it)."""
    out = io.StringIO()
    pd.DataFrame(receipt_lines(receipt, plan, lang), columns=[translate("upload.col_field", lang),
                                                               translate("upload.col_field_value", lang)]
                 ).to_csv(out, index=False)
    if receipt.changes:
        out.write("\n")
        changes_table(plan, receipt.changes, lang).to_csv(out, index=False)
    return out.getvalue().encode("utf-8-sig")


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

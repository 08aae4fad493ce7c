"""Filing a register from the upload screen: the permission checks around reading and storing one file.

The upload screen's only way to write a register (the command line's `ingest` goes to the store
directly): a community files its own registers, an administrator any unit's, a leader none; demo and
real data never share a database (the monthly report's rule).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from worktrack.auth import User, can_upload, demo_write_refusal
from worktrack.i18n import translate
from worktrack.intake import Finding
from worktrack.plan import Plan
from worktrack.registers import RegisterReport, read_register
from worktrack.registers.kinds import KINDS
from worktrack.registers.template import build_register_template

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegisterReceipt:
    """What the upload screen keeps of an accepted register file until the next one."""

    reporting_unit: str
    month: str
    kind: str
    version: int
    rows: int
    sentence: str  # 新增 2 户，1 户已在 2023-06 计入


def can_unmask(user: User | None, unit: str | None) -> bool:
    """Whether `user` may see full names in `unit`'s register rows: only the unit that filed them.

    Leaders, reviewers and administrators see masked rows (and counts); ID numbers are never shown in
    full to anyone, since the store does not hold them.
    """
    return (user is not None and not user.disabled and user.role == "community" and user.unit is not None
            and unit == user.unit)


def register_template_filename(kind: str, unit_name: str, month: str, fmt: str) -> str:
    """天剑社区-2023-06-适老化改造台账.xlsx"""
    return f"{unit_name}-{month}-{KINDS[kind].title}.{fmt}"


def register_template(plan: Plan, kind: str, unit_name: str, month: str, fmt: str) -> bytes:
    """The template of one register for a unit and month (CSV or XLSX bytes)."""
    return build_register_template(plan, kind, unit_name, month, fmt)  # type: ignore[arg-type]


def validate_register_upload(plan: Plan, user: User, data: bytes, filename: str, kind: str, unit: str | None,
                             month: str | None, lang: str = "zh") -> RegisterReport:
    """Read a register file as `user` sends it for `unit` and `month`; refusals come back as report errors."""
    uploader = user.unit if user.role == "community" else None
    declared = user.unit if user.role == "community" else unit
    report = read_register(data, filename, plan, kind, unit=declared, month=month, uploader_unit=uploader)
    if not report.errors and not can_upload(user, report.reporting_unit):
        report.errors.append(Finding("unit-mismatch", translate("upload.not_allowed", lang,
                                                                unit=report.reporting_unit or "-"),
                                     column="上报单位", value=report.reporting_unit))
        report.rows = []
    return report


def submit_register_upload(store: Any, user: User, report: RegisterReport, data: bytes, *, confirm: bool,
                           lang: str = "zh") -> Any:
    """The permission and database checks, then `Store.submit_register`."""
    from worktrack.store import RegisterSubmitResult

    base = {"reporting_unit": report.reporting_unit, "month": report.month, "sha256": report.sha256,
            "kind": report.kind}
    if not can_upload(user, report.reporting_unit):
        return RegisterSubmitResult("rejected", False,
                                    translate("upload.not_allowed", lang, unit=report.reporting_unit or "-"), **base)
    refusal = demo_write_refusal(user.demo, store.made_by_demo(), store.uploads)
    if refusal:
        key = "upload.refused_real_db" if refusal == "real-database" else "upload.refused_demo_db"
        return RegisterSubmitResult("rejected", False, translate(key, lang), **base)
    return store.submit_register(report, data, submitted_by=user.username, confirm=confirm)

"""Registers (台账): one row per retrofitted household, per donation, per person helped.

Three kinds (`kinds.KINDS`): 适老化改造台账 (retrofit_register), 基金募集台账 (donation_register),
帮扶台账 (help_register). A register file is read with the monthly report's reading and value
parsing (`worktrack.intake`) and checked with the same quality: stable codes, Excel row and
column, Chinese fixes, nothing accepted on error. Which metric a register feeds comes from the plan
(`register:` on a metric in targets.yaml), never from code.

Personal data (`identity`): full ID numbers never leave the reader; rows carry an HMAC-SHA256 of
the number under a key kept outside the database (the `register_key` setting) and a masked form
(4301**********1234); names are masked for display (张*明).

The package never imports streamlit.
"""

from __future__ import annotations

import logging
from typing import Any

from worktrack import config
from worktrack.intake import INTERNAL_ERROR_MESSAGE, MAX_UPLOAD_BYTES, Finding
from worktrack.intake.validate import _Reader
from worktrack.plan import Plan
from worktrack.registers.identity import ID_NUMBER_PATTERN, load_key, mask_id_number, mask_name
from worktrack.registers.kinds import KINDS, MONTHLY_REPORT, REGISTER_KINDS, RegisterKind
from worktrack.registers.validate import (
    RegisterReader,
    RegisterReport,
    RegisterRow,
    header_labels_of,
    kind_of_labels,
)

logger = logging.getLogger(__name__)

__all__ = ["KINDS", "MONTHLY_REPORT", "REGISTER_KINDS", "RegisterKind", "RegisterReport", "RegisterRow",
           "detect_kind", "mask_id_number", "mask_name", "read_register", "register_key"]


def register_key() -> bytes:
    """The ID-number hashing key from the `register_key` setting's file (created on first use)."""
    return load_key(config.settings().register_key)


def read_register(data: bytes, filename: str, plan: Plan, kind: str, *, key: bytes | None = None,
                  unit: str | None = None, month: str | None = None, uploader_unit: str | None = None,
                  max_bytes: int = MAX_UPLOAD_BYTES) -> RegisterReport:
    """Parse and validate one register file of a kind. Never raises on bad input."""
    reader = RegisterReader(bytes(data or b""), filename or "", plan, KINDS[kind],
                            key if key is not None else register_key(), unit=unit, month=month,
                            uploader_unit=uploader_unit, max_bytes=max_bytes)
    try:
        report = reader.run()
        # the file name is stored and printed: an ID number in it (张三明430103….xlsx) is masked
        report.file = ID_NUMBER_PATTERN.sub(lambda m: mask_id_number(m.group().upper()), report.file)
        return report  # type: ignore[return-value]
    except Exception:
        logger.exception("internal error while reading register %r (sha256 %s, %d bytes)", filename,
                         reader.report.sha256, len(reader.data))
        reader.report.rows = []
        reader.report.errors.append(Finding("internal-error", INTERNAL_ERROR_MESSAGE))
        return reader.report  # type: ignore[return-value]


class _HeaderSniffer(_Reader):
    """Reads the table only far enough to see its header labels; its findings are not used."""

    def find_header(self, rows: list[tuple[int, list[Any]]]) -> int | None:
        return 0 if rows else None


def detect_kind(data: bytes, filename: str, plan: Plan) -> str:
    """Which kind of file this is, from its header: a register kind, else "monthly_report".

    A file that cannot be read is "monthly_report": the monthly reader then says why, as before.
    """
    sniffer = _HeaderSniffer(bytes(data or b""), filename or "", plan, None, None, None, MAX_UPLOAD_BYTES)
    try:
        if len(sniffer.data) > MAX_UPLOAD_BYTES or not sniffer.data.strip():
            return MONTHLY_REPORT
        table = sniffer.sniff_and_read()
    except Exception:
        logger.exception("internal error while sniffing the kind of %r", filename)
        return MONTHLY_REPORT
    if table is None:
        return MONTHLY_REPORT
    return kind_of_labels(header_labels_of(table.rows)) or MONTHLY_REPORT

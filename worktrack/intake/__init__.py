"""CSV/XLSX monthly report -> normalised rows + a validation report (errors are data, never raised).

One file is one reporting unit x one month, in long format: one row per item (and per category
where the item's metric has a dimension). `read_report` returns an `IntakeReport` with every error,
warning and normalisation found in one pass; a report with any error carries no rows.

Row numbers are the row numbers Excel shows at the left edge when the file is opened: in a file
whose first line is the header, the header is row 1 and the first data row is row 2; a title row
above the header pushes the header to row 2 and the first data row to row 3. For CSV this is the
record number (a quoted cell with line breaks stays one row, as in Excel). Findings name the column
by its header label as written in the file ("本月数值", "value", "计量单位（户）"); a column without
a label is named by its Excel letter ("I").

Blank values ("", 无, -, —, /, NA, N/A, null, none, nan, 空):
- metric row: "nothing happened this month" and recorded as 0 (a `normalised-blank-as-zero` note).
  The template lists every category of every metric, and most of them are empty in any month;
  making staff type dozens of zeros would only produce errors. Values are monthly increments, so
  0 and "nothing" accumulate the same, and a monthly obligation left blank still shows as unmet.
- task row: "no change this month": no row is written, the task keeps its last reported status
  (a `normalised-blank-status` note).
- either kind with a note (备注) but no value is a `missing-value` error: the note says something
  happened, the value must say what.
- blank 上报单位 / 月份 / 编号 (and 分类 on category items) are `missing-value` errors.
- a file in which every value is blank or 0 is accepted only after confirmation (`empty-report`).

Status words: 未开始 (未启动, 尚未开始, not started), 进行中 (推进中, 正在进行, 实施中, in progress,
ongoing), 已完成 (完成, 已办结, done, completed, complete, finished), 受阻 (阻塞, 停滞, blocked);
see STATUS_ALIASES.

Cells are never evaluated: notes and names starting with = + - @ or holding HTML/markdown are kept
as plain text exactly; an XLSX formula in a text column is kept as its formula text. Only the
value column is read as a number: "-5" is the number -5 (a constraint-error), "=2+3" is a type-error
unless the XLSX holds Excel's computed result, which is then used and noted.

Limits (MAX_UPLOAD_BYTES, MAX_ROWS, MAX_CELLS, the XLSX limits in xlsx.py) are checked while
reading, so any upload up to the size limit is judged quickly and in little memory; each kind of
finding is capped at MAX_FINDINGS (the first by row), the rest counted in `IntakeReport.omitted`
and summed up in one `findings-truncated` finding. A bug in the reader is logged with its
traceback and reported as `internal-error`, never as an unreadable file.

The package is split by what a reader looks for: `files` reads the bytes (sniffing, decoding, CSV,
XLSX), `values` parses what is in a cell (months, numbers, statuses, header labels), `findings`
is the catalogue of codes and the report records, and `validate` checks a table row by row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from worktrack.intake.files import MAX_CELLS, MAX_ROWS, MAX_UNZIPPED_BYTES, MAX_UPLOAD_BYTES
from worktrack.intake.findings import (
    ERROR_CODES,
    MAX_FINDINGS,
    NORMALISATION_CODES,
    WARNING_CODES,
    FactRow,
    Finding,
    IntakeReport,
    sha256_of,
)
from worktrack.intake.validate import _Reader
from worktrack.intake.values import (
    BLANK_WORDS,
    COLUMN_LABELS,
    COLUMNS,
    HEADER_ALIASES,
    HEADER_SEARCH_ROWS,
    MAX_VALUE,
    NOTE_MAX_CHARS,
    REQUIRED_COLUMNS,
    STATUS_ALIASES,
    large_value_threshold,
    parse_month,
    parse_status,
)
from worktrack.plan import Plan

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = ("系统内部出错，这份文件没能完成校验（这不是文件内容的问题）。错误已记录在系统日志里，"
                          "请联系管理员（街道民政办）处理，并告知上传时间和文件名。")

__all__ = [
    "BLANK_WORDS", "COLUMNS", "COLUMN_LABELS", "ERROR_CODES", "HEADER_ALIASES", "HEADER_SEARCH_ROWS", "MAX_CELLS",
    "MAX_FINDINGS", "MAX_ROWS", "MAX_UNZIPPED_BYTES", "MAX_UPLOAD_BYTES", "MAX_VALUE", "NORMALISATION_CODES",
    "NOTE_MAX_CHARS",
    "REQUIRED_COLUMNS", "STATUS_ALIASES", "WARNING_CODES", "FactRow", "Finding", "IntakeReport",
    "large_value_threshold", "parse_month", "parse_status", "read_report", "sha256_of",
]


def read_report(data: bytes, filename: str, plan: Plan, *, unit: str | None = None, month: str | None = None,
                uploader_unit: str | None = None, max_bytes: int = MAX_UPLOAD_BYTES,
                other_plans: Sequence[Plan] = ()) -> IntakeReport:
    """Parse and validate one monthly report file. Never raises on bad input.

    other_plans: the deployment's other plans. A file refused here that one of them reads without an
    error (its months and codes are that plan's) gets a first finding `wrong-plan` naming that plan.
    """
    reader = _Reader(bytes(data or b""), filename or "", plan, unit, month, uploader_unit, max_bytes)
    try:
        report = reader.run()
    except Exception:
        # Every kind of bad input is turned into a finding where it is met, so anything reaching
        # here is a bug in the reader: record it with its traceback, tell the user it was recorded.
        logger.exception("internal error while reading upload %r (sha256 %s, %d bytes)", filename,
                         reader.report.sha256, len(reader.data))
        reader.report.rows = []
        reader.report.errors.append(Finding("internal-error", INTERNAL_ERROR_MESSAGE))
        return reader.report
    if report.errors and other_plans:
        owner = _plan_that_reads(data, filename, plan, unit, uploader_unit, max_bytes, other_plans)
        if owner is not None:
            report.errors.insert(0, Finding(
                "wrong-plan", f"这个文件看起来属于另一个工作计划《{owner.title}》（{owner.id}）：它的月份和编号与该计划一致，"
                f"而当前选择的是《{plan.title}》。请先在左侧栏“工作计划”中切换到《{owner.title}》，再上传；"
                "如确属本计划，请下载本计划的模板重新填写。", value=owner.id))
    return report


def _plan_that_reads(data: bytes, filename: str, plan: Plan, unit: str | None, uploader_unit: str | None,
                     max_bytes: int, other_plans: Sequence[Plan]) -> Plan | None:
    """The first other plan that reads the file without an error, or None. The month chosen on this
    plan's screen is not held against the file (another plan's months differ); the unit is."""
    for other in other_plans:
        if other.id == plan.id:
            continue
        if read_report(data, filename, other, unit=unit, uploader_unit=uploader_unit,
                       max_bytes=max_bytes).ok:
            logger.info("upload %r refused for plan %s reads cleanly against plan %s", filename, plan.id, other.id)
            return other
    return None

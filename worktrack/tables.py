"""Tables on their way out of the app: CSV bytes that a spreadsheet opens safely.

Every CSV a user downloads goes through `csv_bytes`: UTF-8 with a BOM (so Excel and WPS read the
Chinese text), and no text cell that a spreadsheet would run as a formula. Cells come from uploaded
files (notes, file names, refused values), so a cell such as `=HYPERLINK(...)` is someone else's
text, and must stay text (OWASP "CSV injection"). The XLSX export uses the same rule cell by cell.
"""

from __future__ import annotations

import io
import logging

import pandas as pd

logger = logging.getLogger(__name__)

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell_text(value: str) -> str:
    """Text that a spreadsheet will never read as a formula: a leading = + - @ tab or CR gets a quote."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _safe(value: object) -> object:
    return safe_cell_text(value) if isinstance(value, str) else value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells, column names and index labels cannot become formulas.

    Numbers stay numbers (a negative number is not text and is written as a number).
    """
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            safe.isetitem(position, column.map(_safe, na_action="ignore"))
    safe.columns = safe.columns.map(_safe)
    safe.index = safe.index.map(_safe)
    return safe


def csv_bytes(frame: pd.DataFrame, *more: pd.DataFrame, index: bool = False) -> bytes:
    """One or more tables as a CSV download: UTF-8 with BOM, formula cells neutralised.

    Further tables follow the first after a blank line (a receipt and its figures in one file).
    """
    out = io.StringIO()
    for number, table in enumerate((frame, *more)):
        if number:
            out.write("\n")
        neutralised(table).to_csv(out, index=index)
    return out.getvalue().encode("utf-8-sig")

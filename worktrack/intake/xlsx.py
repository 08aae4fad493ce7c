"""Streaming XLSX reader: the sheet XML is parsed with iterparse, stopping at the limits while reading.

openpyxl loads a whole workbook before anything can be checked, pads every row to the widest
column (a cell in column XFD turns 20,000 rows into 327 million cells), fails on parts a monthly
report does not need (pivot caches written by Mac Excel) and does not read Strict Open XML. This
reader follows the package relationships to the worksheets, reads only cells, shared strings, the
date styles and merged ranges, matches elements by local name (Transitional and Strict alike), and
raises `XlsxLimit` as soon as a limit is passed, so no upload costs more than the limits allow.

Errors are exceptions here and findings one level up (`files.FileReading.read_xlsx`):
`XlsxBroken` (the package or XML is damaged), `XlsxBomb` (a DTD or entity), `XlsxLimit`
(too many rows, columns, cells, merged ranges or characters) and `CellTooLong` (one cell).
"""

from __future__ import annotations

import datetime as dt
import logging
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError, ParserCreate

from worktrack.intake.values import _Formula

logger = logging.getLogger(__name__)

MAX_COLUMNS = 100  # the template has 8; a cell further right is a stray keystroke in a huge sheet
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_MERGED_RANGES = 10_000
MAX_SHEETS = 255
MAX_TEXT_CHARS = 16_000_000  # all shared and inline strings together
MAX_CELL_ELEMENTS = 300_000  # <c> and <row> elements parsed, empty ones included, over all sheets

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")
_INTEGER = re.compile(r"-?\d+")
_LOCAL_NAMES = {f"{{{ns}}}{name}": name for ns in ("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                                   "http://purl.oclc.org/ooxml/spreadsheetml/main")
                for name in ("c", "v", "f", "is", "t", "r", "rPh", "row", "mergeCell")}
# East Asian built-in date formats (ids 27-36, 50-58) that Excel in Chinese writes without a
# <numFmt> definition; openpyxl reads them as plain numbers.
_CJK_DATE_IDS = frozenset(range(27, 37)) | frozenset(range(50, 59))
_WINDOWS_EPOCH = dt.datetime(1899, 12, 30)
_MAC_EPOCH = dt.datetime(1904, 1, 1)


class XlsxError(Exception):
    """Base of the reader's refusals."""


class _RootReached(Exception):
    """The prolog check has seen the root element: no DTD can follow."""


class XlsxBroken(XlsxError):
    """The ZIP package or one of its XML parts is damaged or not a workbook."""


class NotAWorkbook(XlsxBroken):
    """A ZIP package without a spreadsheet in it (a Word document, an .ods, a plain archive)."""


class XlsxBomb(XlsxError):
    """An XML part declares a DTD or entities."""


@dataclass
class XlsxLimit(XlsxError):
    """A limit was passed while reading; `what` is rows / columns / cells / elements / merged / strings / sheets."""

    what: str
    sheet: str = ""
    row: int | None = None
    column: int | None = None  # 1-based
    count: int | None = None
    ref: str = ""


@dataclass
class CellTooLong(XlsxError):
    """One cell holds more text than Excel allows in a cell."""

    sheet: str
    row: int
    column: int  # 1-based
    length: int
    rows_so_far: dict[int, dict[int, Any]] = field(default_factory=dict)


@dataclass
class SheetCells:
    """The non-empty cells of one sheet (sparse), its merged ranges, and whether reading stopped early."""

    name: str
    cells: dict[int, dict[int, Any]]  # row -> column -> value, 1-based, only non-empty cells
    merged: list[tuple[int, int, int, int]]  # min_row, min_col, max_row, max_col
    more_rows: bool = False  # stopped at max_rows with cells further down


@dataclass
class _TooLong:
    """A shared string longer than MAX_CELL_CHARS, kept as its length only."""

    length: int


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: Any, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (r:id is in a different one under Strict)."""
    value = element.get(name)
    if value is not None:
        return value
    for key, value in element.attrib.items():
        if key.startswith("{") and _local(key) == name:
            return value
    return None


def column_number(letters: str) -> int:
    """Excel column letters -> 1-based number (A -> 1, XFD -> 16384)."""
    number = 0
    for ch in letters.upper():
        number = number * 26 + ord(ch) - 64
    return number


def _split_ref(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    if m is None:
        raise XlsxBroken(f"bad cell reference {ref[:20]!r}")
    return int(m.group(2)), column_number(m.group(1))


class Workbook:
    """One XLSX package, its worksheets located through the relationships, read on demand."""

    def __init__(self, archive: zipfile.ZipFile, *, max_rows: int, max_cells: int):
        self.archive = archive
        self.names = set(archive.namelist())
        self.max_rows, self.max_cells = max_rows, max_cells
        self.elements_seen = 0
        self.text_chars = 0
        self._strings: list[Any] | None = None
        self._date_styles: dict[int, str] | None = None
        self.epoch = _WINDOWS_EPOCH
        self.workbook_path = self._find_workbook()
        if self.workbook_path is None:
            raise NotAWorkbook("no workbook part")
        self.sheets: list[tuple[str, str]] = []  # (name, part path)
        self.shared_strings_path: str | None = None
        self.styles_path: str | None = None
        self._read_workbook()

    # -- the package
    def _events(self, path: str, events: tuple[str, ...] = ("end",)) -> Iterator[tuple[str, Any]]:
        """iterparse one part; damage and DTDs become XlsxBroken / XlsxBomb, never a bare library error.

        The prolog (everything before the root element, the only place a DTD can be) goes through
        expat with defusedxml's refusals: a DOCTYPE, an entity declaration or an external entity.
        The rest is parsed by the C iterparse, about twice as fast as defusedxml's pure-Python
        parser; without a DTD an entity reference is an error there, never an expansion.
        """
        try:
            self._check_prolog(path)
            with self.archive.open(path) as member:
                yield from ElementTree.iterparse(member, events=events)
        except (ParseError, ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError, KeyError, UnicodeDecodeError) as exc:
            # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
            raise XlsxBroken(f"{path}: {type(exc).__name__}: {exc}") from exc

    def _check_prolog(self, path: str) -> None:
        parser = ParserCreate()

        def refuse(*_: Any) -> None:
            raise XlsxBomb(path)

        def root(*_: Any) -> None:
            raise _RootReached

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        parser.UnparsedEntityDeclHandler = refuse
        parser.ExternalEntityRefHandler = refuse
        parser.StartElementHandler = root
        with self.archive.open(path) as member:
            try:
                while chunk := member.read(16_384):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
            except _RootReached:
                return

    def _relationships(self, part: str) -> list[tuple[str, str, str]]:
        """(Id, Type, absolute target) of a part's relationships ('' for the package itself)."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", f"{name}.rels") if part else "_rels/.rels"
        if rels not in self.names:
            return []
        out = []
        for _, element in self._events(rels):
            if _local(element.tag) != "Relationship" or element.get("TargetMode") == "External":
                continue
            target = element.get("Target") or ""
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            out.append((element.get("Id") or "", element.get("Type") or "", posixpath.normpath(path)))
        return out

    def _find_workbook(self) -> str | None:
        for _, kind, target in self._relationships(""):
            if kind.endswith("/officeDocument") and target in self.names:
                return target
        if "xl/workbook.xml" in self.names:
            return "xl/workbook.xml"
        if "[Content_Types].xml" in self.names:
            for _, element in self._events("[Content_Types].xml"):
                content_type = element.get("ContentType") or ""
                if _local(element.tag) == "Override" and (
                        "spreadsheetml.sheet.main" in content_type or "spreadsheetml.template.main" in content_type
                        or "ms-excel.sheet.macroEnabled.main" in content_type):
                    path = (element.get("PartName") or "").lstrip("/")
                    if path in self.names:
                        return path
        return None

    def _read_workbook(self) -> None:
        assert self.workbook_path is not None
        relationships = self._relationships(self.workbook_path)
        targets = {rid: target for rid, kind, target in relationships if kind.endswith("/worksheet")}
        for _, kind, target in relationships:
            if kind.endswith("/sharedStrings") and target in self.names:
                self.shared_strings_path = target
            elif kind.endswith("/styles") and target in self.names:
                self.styles_path = target
        listed = []
        for _, element in self._events(self.workbook_path):
            tag = _local(element.tag)
            if tag == "workbookPr" and (element.get("date1904") or "").lower() in ("1", "true"):
                self.epoch = _MAC_EPOCH
            elif tag == "sheet":
                listed.append((element.get("name") or "", _attr(element, "id") or ""))
                if len(listed) > MAX_SHEETS:
                    raise XlsxLimit("sheets", count=len(listed))
        for name, rid in listed:
            target = targets.get(rid)
            if target is not None and target in self.names:
                self.sheets.append((name, target))
        if not self.sheets and not targets:
            # no workbook relationships at all: the conventional part names, in order
            numbered = sorted((n for n in self.names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
                              key=lambda n: int(re.sub(r"\D", "", n)))
            self.sheets = [(f"Sheet{i}", n) for i, n in enumerate(numbered, start=1)]

    # -- shared strings and styles
    def _count_text(self, text: str) -> None:
        self.text_chars += len(text)
        if self.text_chars > MAX_TEXT_CHARS:
            raise XlsxLimit("strings", count=self.text_chars)

    def strings(self) -> list[Any]:
        """The shared string table; a string longer than a cell may hold is kept as its length only."""
        if self._strings is None:
            strings: list[Any] = []
            if self.shared_strings_path is not None:
                for _, element in self._events(self.shared_strings_path):
                    if _local(element.tag) != "si":
                        continue
                    text = _inline_text(element)  # same shape as an inline string: <t>, <r><t>, <rPh>
                    element.clear()
                    self._count_text(text)
                    strings.append(_TooLong(len(text)) if len(text) > MAX_CELL_CHARS else text)
                    if len(strings) > self.max_cells:
                        raise XlsxLimit("strings", count=len(strings))
            self._strings = strings
        return self._strings

    def date_styles(self) -> dict[int, str]:
        """Style index -> "date" / "timedelta" for the cell styles whose number format shows a date or time."""
        if self._date_styles is None:
            from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

            formats: dict[int, str] = {}
            kinds: dict[int, str] = {}
            if self.styles_path is not None:
                in_xfs = False
                index = 0
                for event, element in self._events(self.styles_path, ("start", "end")):
                    tag = _local(element.tag)
                    if tag == "cellXfs":
                        in_xfs = event == "start"
                    elif event == "end" and tag == "numFmt":
                        try:
                            formats[int(element.get("numFmtId") or "")] = element.get("formatCode") or ""
                        except ValueError:
                            continue
                    elif event == "end" and tag == "xf" and in_xfs:
                        try:
                            format_id = int(element.get("numFmtId") or 0)
                        except ValueError:
                            format_id = 0
                        code = formats.get(format_id, BUILTIN_FORMATS.get(format_id, ""))
                        if is_timedelta_format(code):
                            kinds[index] = "timedelta"
                        elif format_id in _CJK_DATE_IDS and format_id not in formats or is_date_format(code):
                            kinds[index] = "date"
                        index += 1
            self._date_styles = kinds
        return self._date_styles

    # -- cells
    def _cell_value(self, kind: str, raw: str | None, inline: str | None, style: int, where: tuple) -> Any:
        if kind == "inlineStr":
            return inline
        if raw is None:
            return None
        if kind == "s":
            try:
                value = self.strings()[int(raw)]
            except (ValueError, IndexError):
                raise XlsxBroken(f"shared string {raw[:20]!r} out of range") from None
            if isinstance(value, _TooLong):
                raise CellTooLong(where[0], where[1], where[2], value.length)
            return value
        if kind in ("str", "e"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            try:
                return dt.datetime.fromisoformat(raw.strip().rstrip("Z"))
            except ValueError:
                return raw
        text = raw.strip()
        try:
            number: int | float = int(text) if _INTEGER.fullmatch(text) else float(text)
        except ValueError:
            return raw  # not a number although typed as one: let the value checks judge the text
        date_kind = self.date_styles().get(style) if style else None
        if date_kind is not None and isinstance(number, int | float) and number == number:
            try:
                if date_kind == "timedelta":
                    return dt.timedelta(days=number)
                return _from_serial(float(number), self.epoch)
            except (OverflowError, ValueError):
                return number  # far outside any calendar: keep the number, the checks will say so
        return number

    def _cell(self, element: Any, sheet: str, row: int | None, column: int) -> Any:
        """The value of one finished <c> element (its <v>, <f> and <is> children are still attached)."""
        raw = formula = inline = None
        for child in element:
            tag = _LOCAL_NAMES.get(child.tag) or _local(child.tag)
            if tag == "v":
                raw = child.text or ""
            elif tag == "f":
                formula = "=" + (child.text or "")
            elif tag == "is":
                inline = _inline_text(child)
        where = (sheet, row or 0, column)
        if inline is not None:
            self._count_text(inline)
            if len(inline) > MAX_CELL_CHARS:
                raise CellTooLong(sheet, row or 0, column, len(inline))
        if raw is not None and len(raw) > MAX_CELL_CHARS:
            raise CellTooLong(sheet, row or 0, column, len(raw))
        kind = element.get("t") or "n"
        if kind == "n" and formula is None and raw is not None:
            # the common case, kept short: a plain number
            style_text = element.get("s")
            if (not style_text or style_text == "0") and raw.isascii() and raw.isdigit() and len(raw) < 400:
                return int(raw)
        try:
            style = int(element.get("s") or 0)
        except ValueError:
            style = 0
        value = self._cell_value(kind, raw, inline, style, where)
        return value if formula is None else _Formula(formula, value)

    def read_sheet(self, index: int, max_rows: int | None = None) -> SheetCells:
        """The non-empty cells of sheet `index`; with max_rows, stop after that row (header search).

        Only end events are handled (half the events of start+end): a cell is read when its
        element ends, with its children still attached. Cells without a reference get their row
        when the row ends, so they wait in `pending` until then.
        """
        name, path = self.sheets[index]
        cells: dict[int, dict[int, Any]] = {}
        merged: list[tuple[int, int, int, int]] = []
        row_limit = self.max_rows
        pending: list[tuple[int | None, int, Any]] = []  # (row from the reference or None, column, value)
        count = 0
        last_row = 0
        next_column = 1
        names: dict[str, str] = {}
        for _, element in self._events(path):
            tag = names.get(element.tag)
            if tag is None:
                tag = names[element.tag] = _local(element.tag)
            if tag == "c":
                self.elements_seen += 1
                if self.elements_seen > MAX_CELL_ELEMENTS:
                    raise XlsxLimit("elements", sheet=name, row=last_row + 1, count=self.elements_seen)
                ref = element.get("r")
                if not len(element):  # no value: a formatted empty cell, the commonest padding
                    if ref:
                        next_column = _split_ref(ref)[1] + 1
                    else:
                        next_column += 1
                    element.clear()
                    continue
                row, column = _split_ref(ref) if ref else (None, next_column)
                next_column = column + 1
                try:
                    value = self._cell(element, name, row, column)
                except CellTooLong as exc:
                    if exc.row == 0:
                        exc.row = last_row + 1
                    exc.rows_so_far = cells
                    raise
                element.clear()
                if value is None or value.__class__ is str and not value.strip():
                    continue
                if max_rows is not None and row is not None and row > max_rows:
                    return SheetCells(name, cells, merged, more_rows=True)
                if column > MAX_COLUMNS:
                    raise XlsxLimit("columns", sheet=name, row=row or last_row + 1, column=column)
                if row is not None and row > row_limit:
                    raise XlsxLimit("rows", sheet=name, row=row, column=column)
                count += 1
                if count > self.max_cells:
                    raise XlsxLimit("cells", sheet=name, row=row or last_row + 1, count=count)
                pending.append((row, column, value))
            elif tag == "row":
                self.elements_seen += 1
                if self.elements_seen > MAX_CELL_ELEMENTS:
                    raise XlsxLimit("elements", sheet=name, row=last_row + 1, count=self.elements_seen)
                r = element.get("r")
                try:
                    last_row = int(r) if r else last_row + 1
                except ValueError:
                    raise XlsxBroken(f"bad row number {r[:20]!r}") from None
                element.clear()
                next_column = 1
                if pending:
                    if max_rows is not None and last_row > max_rows:
                        return SheetCells(name, cells, merged, more_rows=True)
                    if last_row > row_limit:
                        raise XlsxLimit("rows", sheet=name, row=last_row, column=pending[0][1])
                    for row, column, value in pending:
                        cells.setdefault(row or last_row, {})[column] = value
                    pending.clear()
            elif tag == "mergeCell":
                ref = element.get("ref") or ""
                first, _, last = ref.partition(":")
                (min_row, min_col), (max_row, max_col) = _split_ref(first), _split_ref(last or first)
                if max_row > row_limit:
                    raise XlsxLimit("merged", sheet=name, row=min_row, column=min_col, ref=ref)
                merged.append((min_row, min_col, max_row, min(max_col, MAX_COLUMNS)))
                if len(merged) > MAX_MERGED_RANGES:
                    raise XlsxLimit("merged", sheet=name, count=len(merged))
        for row, column, value in pending:  # cells outside any <row> (malformed, but readable)
            cells.setdefault(row or last_row + 1, {})[column] = value
        return SheetCells(name, cells, merged)


def _inline_text(element: Any) -> str:
    """The text of an inline string: its <t> runs, without phonetic guides (<rPh>)."""
    parts = []
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _from_serial(value: float, epoch: dt.datetime) -> dt.datetime | dt.time:
    """An Excel date serial -> datetime (time for a fraction of a day), as Excel shows it."""
    day, fraction = divmod(value, 1)
    diff = dt.timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= value < 1 and diff.days == 0:
        return (dt.datetime.min + diff).time()
    if 0 < value < 60 and epoch == _WINDOWS_EPOCH:
        day += 1  # Excel's fictitious 1900-02-29
    return epoch + dt.timedelta(days=day) + diff

"""Reading the bytes of an upload: format sniffing, text decoding, CSV records and XLSX sheets.

Every limit is checked while reading, so a hostile or accidental file (a cell in column XFD, a
merged range down to row 200,000, millions of cells, one 4 MB cell) stops early with one finding.
"""

from __future__ import annotations

import bisect
import csv
import io
import logging
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

from worktrack.intake.values import (
    HEADER_SEARCH_ROWS,
    _clean,
    _column_letter,
    find_header,
    parse_month,
)
from worktrack.intake.xlsx import (
    MAX_CELL_CHARS,
    MAX_CELL_ELEMENTS,
    MAX_COLUMNS,
    MAX_MERGED_RANGES,
    MAX_SHEETS,
    CellTooLong,
    NotAWorkbook,
    Workbook,
    XlsxBomb,
    XlsxBroken,
    XlsxLimit,
)

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
MAX_ROWS = 20_000
MAX_CELLS = 200_000  # non-empty cells; a full report of 20,000 rows x 8 columns has 160,000

_LONG_LINE = re.compile(r"[^\r\n]{20000,}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# One CSV field as the csv module reads it (doublequote on, not strict): a quoted part that may
# run to the end of the text, then anything up to the next comma or line break.
_CSV_FIELD = re.compile(r'(?:"[^"]*(?:""[^"]*)*("?))?[^,\r\n]*')


def _scan_record(text: str, offset: int) -> list[tuple[int, int, bool]]:
    """The fields (start, end, quote left open) of the CSV record starting at offset."""
    fields = []
    position, n = offset, len(text)
    while True:
        m = _CSV_FIELD.match(text, position)
        opened = text.startswith('"', position)
        fields.append((m.start(), m.end(), opened and m.group(1) == ""))
        position = m.end()
        if position >= n or text[position] != ",":
            return fields
        position += 1


def _line_starts(text: str) -> list[int]:
    """Offset of the first character of every physical line (line 1 at index 0)."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


@dataclass
class _Table:
    """Rows of cells as found in the file, with the Excel row number of each."""

    rows: list[tuple[int, list[Any]]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col (1-based)
    csv_widths: bool = False  # CSV: row length is meaningful (extra-cell check)


def _dense(cells: dict[int, dict[int, Any]], last_row: int | None = None) -> list[tuple[int, list[Any]]]:
    """Sparse {row: {column: value}} -> [(row, [values...])] for rows 1..last row, columns from A."""
    rows = []
    for r in range(1, (last_row if last_row is not None else max(cells, default=0)) + 1):
        line = cells.get(r, {})
        width = max(line) if line else 0
        rows.append((r, [line.get(c) for c in range(1, width + 1)]))
    return rows


class FileReading:
    """The file-reading half of the reader: bytes -> a _Table, or findings saying why not."""

    def find_header(self, rows: list[tuple[int, list[Any]]]) -> int | None:
        """The header row among rows; a reader of another kind of table names its own columns."""
        return find_header(rows)

    def sniff_and_read(self) -> _Table | None:
        data = self.data
        ext = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""
        named = f"（文件名是 .{ext}）" if ext else ""
        if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
            return self.read_zip(named)
        if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") and "EncryptedPackage".encode("utf-16-le") in data:
            # An XLSX saved with a password is an OLE2 container holding the encrypted package.
            self.error("encrypted-file", f"文件设置了打开密码{named}，系统无法读取加密的文件。请在 Excel/WPS 中打开，"
                       "取消密码（文件 → 信息 → 保护工作簿 → 用密码进行加密，清空密码）后保存，再上传。")
            return None
        kinds = [
            (b"%PDF", "PDF 文档"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文件（Excel 97-2003 .xls、WPS .et 或 .doc）"),
            (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF8", "GIF 图片"),
            (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"), (b"\x1f\x8b", "GZIP 压缩包"),
            (b"{\\rtf", "RTF 文档"),
        ]
        for magic, what in kinds:
            if data.startswith(magic):
                hint = "请在 Excel/WPS 中“另存为” .xlsx 或 CSV（逗号分隔）后再上传。"
                if what.startswith("旧版"):
                    hint = "请在 Excel/WPS 中打开，另存为“Excel 工作簿 (.xlsx)”或“CSV UTF-8（逗号分隔）”后再上传。"
                self.error("format-error", f"这是{what}{named}，不是月报表格。{hint}")
                return None
        head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith((b"<html", b"<!doctype html", b"<?xml", b"<table", b"mime-version")):
            self.error("format-error", f"这是网页/XML 格式{named}（常见于“另存为网页”或系统导出的假 .xls），"
                       "请在 Excel/WPS 中另存为 .xlsx 或 CSV（逗号分隔）后再上传。")
            return None
        text = self.decode(data)
        if text is None:
            return None
        return self.read_csv(text)

    def read_zip(self, named: str) -> _Table | None:
        try:
            archive = zipfile.ZipFile(io.BytesIO(self.data))
            infos = archive.infolist()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as exc:
            logger.info("unreadable zip %r: %s: %s", self.filename, type(exc).__name__, exc)
            self.error("format-error", f"文件像 XLSX/ZIP 但已损坏{named}，请在 Excel/WPS 中重新保存后上传。")
            return None
        total = sum(i.file_size for i in infos)
        if total > MAX_UNZIPPED_BYTES or len(infos) > 10_000:
            self.error("file-too-large", f"XLSX 解压后达 {total / 1024 / 1024:.0f} MB，超过上限，疑似压缩炸弹，拒收。")
            return None
        for info in infos:
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            try:
                with archive.open(info) as member:
                    head = member.read(8192)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                logger.info("unreadable member %s of %r: %s", info.filename, self.filename, exc)
                self.error("format-error", f"XLSX 文件已损坏（{info.filename} 无法解压）{named}，请在 Excel/WPS 中重新保存。")
                return None
            squeezed = head.replace(b"\x00", b"").upper()
            if b"<!DOCTYPE" in squeezed or b"<!ENTITY" in squeezed:
                self.error("xml-bomb", f"XLSX 文件内 {info.filename} 含有 DTD/实体声明，正常的 Excel 文件不会有，"
                           "可能是恶意文件（XML 炸弹），拒收。请用 Excel/WPS 重新保存后上传。")
                return None
        # Library warnings (openpyxl's number-format helpers, defusedxml) are logged, never printed
        # in English on the user's terminal.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return self.read_xlsx(archive, named)
            finally:
                for warning in caught:
                    logger.warning("reading %r: %s: %s", self.filename, warning.category.__name__, warning.message)

    def read_xlsx(self, archive: zipfile.ZipFile, named: str) -> _Table | None:
        """Find the sheet holding the report (header search on the first rows only), then read it."""
        names = set(archive.namelist())
        try:
            workbook = Workbook(archive, max_rows=MAX_ROWS + HEADER_SEARCH_ROWS, max_cells=MAX_CELLS)
            self.report.file_format = "xlsx"
            chosen: int | None = None
            fallback: int | None = None
            others: list[str] = []
            for index, (name, _) in enumerate(workbook.sheets):
                scan = workbook.read_sheet(index, max_rows=HEADER_SEARCH_ROWS)
                if not scan.cells and not scan.more_rows:
                    continue
                if self.find_header(_dense(scan.cells)) is None:
                    fallback = index if fallback is None else fallback
                elif chosen is None:
                    chosen = index
                else:
                    others.append(name)
            if chosen is None and fallback is None:
                self.error("empty-file", "工作簿里没有任何内容。请用模板填写后再上传。")
                return None
            sheet = workbook.read_sheet(chosen if chosen is not None else fallback)
        except NotAWorkbook:
            what = "Word 文档" if "word/document.xml" in names else (
                "OpenDocument 表格（.ods）" if "content.xml" in names else "ZIP 压缩包")
            self.error("format-error", f"这是{what}{named}，不是月报表格。请上传 .xlsx 或 CSV 文件（不要压缩）。")
            return None
        except XlsxBomb:
            self.error("xml-bomb", "XLSX 文件含有 DTD/实体声明或外部引用，可能是恶意文件（XML 炸弹），拒收。")
            return None
        except XlsxBroken as exc:
            logger.info("damaged xlsx %r: %s", self.filename, exc)
            self.error("format-error", f"XLSX 文件已损坏，无法读取其中的表格{named}。请在 Excel/WPS 中打开后重新保存为 .xlsx 再上传。")
            return None
        except XlsxLimit as exc:
            self.xlsx_limit(exc)
            return None
        except CellTooLong as exc:
            self.cell_too_long(exc.row, exc.column - 1, exc.length, _dense(exc.rows_so_far))
            return None
        if chosen is None:
            return _Table(rows=_dense(sheet.cells), merged=sheet.merged)  # reported as header-not-found
        first_name = workbook.sheets[0][0]
        if sheet.name != first_name:
            self.note("normalised-sheet", f"第一张工作表“{first_name}”不是月报，读取的是工作表“{sheet.name}”。")
        if others:
            self.warn("multiple-sheets", f"工作表“{'”“'.join(others)}”也像月报，但只读取了“{sheet.name}”。"
                      "一个文件只报一个单位一个月；如果其他工作表也要上报，请分别保存成文件上传。")
        return _Table(rows=_dense(sheet.cells), merged=sheet.merged)

    def xlsx_limit(self, exc: XlsxLimit) -> None:
        """A limit passed while reading an XLSX, said with where it was passed."""
        where = f"工作表“{exc.sheet}”" if exc.sheet else "工作簿"
        letter = _column_letter(exc.column - 1) if exc.column else None
        hint = "月报一般只有几十行，请确认选对了文件。"
        if exc.what == "rows":
            message = f"{where}超过 {MAX_ROWS} 行（第 {exc.row} 行仍有内容）。{hint}"
        elif exc.what == "columns":
            message = (f"{where}第 {exc.row} 行 {letter} 列有内容，超出了 {MAX_COLUMNS} 列的范围（模板只有 8 列）。"
                       "请删除表格右侧多余的内容后重新保存。")
        elif exc.what == "merged" and exc.ref:
            message = (f"{where}的合并单元格 {exc.ref} 超过 {MAX_ROWS} 行的上限。请取消这个合并（开始 → 合并后居中），"
                       "每行分别填写后重新保存。")
        elif exc.what == "merged":
            message = f"{where}有超过 {MAX_MERGED_RANGES} 处合并单元格，超过上限。{hint}"
        elif exc.what == "sheets":
            message = f"工作簿有超过 {MAX_SHEETS} 张工作表，超过上限。{hint}"
        elif exc.what == "elements":
            message = (f"{where}里有超过 {MAX_CELL_ELEMENTS} 个单元格或行（包括只设了格式的空单元格），超过上限。"
                       "请把月报内容复制到一个新的工作簿后重新保存。")
        elif exc.what == "strings":
            message = f"{where}里的文字总量超过上限。{hint}"
        else:
            message = f"{where}的单元格超过 {MAX_CELLS} 个，超过上限。{hint}"
        self.error("file-too-large", message, row=exc.row, column=letter)

    def cell_too_long(self, row: int, index: int, length: int, rows: list[tuple[int, list[Any]]]) -> None:
        """One cell longer than Excel allows: named by its header label when the header was read already."""
        column = _column_letter(index)
        header = self.find_header(rows)
        if header is not None:
            cells = rows[header][1]
            if index < len(cells) and isinstance(cells[index], str) and cells[index].strip():
                column = cells[index].strip()
        self.error("cell-too-long", f"第 {row} 行“{column}”列的单元格有 {length:,} 个字符，超过一个单元格最多 "
                   f"{MAX_CELL_CHARS:,} 个字符的上限（Excel 的上限）。常见原因是把整份材料粘贴进了一个单元格。"
                   "请删减后重新保存；详细材料请另行报送。", row=row, column=column)

    def decode(self, data: bytes) -> str | None:
        report = self.report
        if data.startswith(b"\xef\xbb\xbf"):
            candidates = [("utf-8-sig", "UTF-8")]
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            candidates = [("utf-16", "UTF-16")]
        elif b"\x00" in data[:4096]:
            even, odd = data[0:4096:2].count(0), data[1:4096:2].count(0)
            if odd > len(data[:4096]) // 4 and even == 0:
                candidates = [("utf-16-le", "UTF-16")]
            elif even > len(data[:4096]) // 4 and odd == 0:
                candidates = [("utf-16-be", "UTF-16")]
            else:
                self.error("format-error", "文件内容是二进制数据，不是文本表格。请上传 .xlsx 或 CSV 文件。")
                return None
        else:
            candidates = [("utf-8", "UTF-8"), ("gb18030", "GB18030")]
        failed_at = 0
        for codec, name in candidates:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                failed_at = max(failed_at, exc.start + (3 if codec == "utf-8-sig" else 0))
                continue
            report.encoding = codec
            report.file_format = "csv"
            if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
                self.note("normalised-bom", "文件开头有 BOM 标记（Excel 保存的 UTF-8/UTF-16 文件常见），已去掉，不影响表头。")
            if name != "UTF-8":
                self.note("normalised-encoding", f"文件编码为 {name}（Excel/WPS 保存的"
                          f"{'中文 CSV' if name == 'GB18030' else '“Unicode 文本”'}），已按 {name} 读取。")
            if "\x00" in text:
                self.error("format-error", "文件中含有空字符（NUL），不是正常的文本表格。请上传 .xlsx 或 CSV 文件。")
                return None
            return text
        line = data[:failed_at].count(b"\n") + 1
        self.error("encoding-error", f"第 {line} 行有无法识别的字符，文件既不是 UTF-8 也不是 GBK/GB18030 编码。"
                   "请在 Excel/WPS 中“另存为”“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。", row=line)
        return None

    # -- CSV
    def read_csv(self, text: str) -> _Table | None:
        crlf = text.count("\r\n")
        bare_lf = text.count("\n") - crlf
        bare_cr = text.count("\r") - crlf
        if crlf and (bare_lf or bare_cr) or (bare_lf and bare_cr):
            self.note("normalised-line-endings", "文件中换行符混用（CRLF/LF/CR），已统一处理。")
        elif crlf or bare_cr:
            self.note("normalised-line-endings", f"文件使用 {'CRLF' if crlf else 'CR'} 换行（Windows/Excel 常见），已统一处理。")
        first_line = _LINE_BREAK.split(text[:4096], maxsplit=1)[0]
        sep = re.fullmatch(r'\s*"?sep=(.)"?\s*,*', first_line, flags=re.I)
        if sep:
            if sep.group(1) != ",":
                self.error("delimiter-error", f"文件第一行“{first_line}”声明分隔符为“{sep.group(1)}”，"
                           "本系统只接受英文逗号分隔。请另存为“CSV UTF-8（逗号分隔）”。", row=1)
                return None
            self.note("normalised-sep-line", "跳过了 Excel 的分隔符提示行“sep=,”。", row=1)
        self.line_starts = _line_starts(text)
        if self.too_wide(text):
            return None
        records = self.parse_csv(text, ",")
        if self.csv_failed_at is not None:
            self.csv_failure(text, records)
            return None
        if self.csv_limit is not None:
            self.error("file-too-large", self.csv_limit)
            return None
        if self.find_header(records) is None:
            names = {";": "分号（;）", "\t": "制表符（Tab）", "，": "全角逗号（，）", "|": "竖线（|）"}
            for delimiter, name in names.items():
                if delimiter in text and self.find_header(self.parse_csv(text, delimiter)) is not None:
                    self.error("delimiter-error", f"文件用{name}分隔各列，本系统只接受英文逗号分隔的 CSV。"
                               "请在 Excel/WPS 中“另存为”“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。")
                    return None
        if records and records[0][1] and sep:
            records[0] = (1, [])
        self.check_quotes(text, records)
        for row, cells in records:
            if row in self.quote_broken:
                continue
            for index, cell in enumerate(cells):
                if len(cell) > MAX_CELL_CHARS:
                    self.cell_too_long(row, index, len(cell), records)
                    return None
        return _Table(rows=records, csv_widths=True)

    def too_wide(self, text: str) -> bool:
        """A very long line without quotes is split where it stands: its columns are counted before
        the csv module builds millions of empty cells (a line of five million commas)."""
        for m in _LONG_LINE.finditer(text):
            line = m.group()
            if '"' in line:
                continue  # quoted cells may hold commas: left to the parser
            used = line.rstrip(", \t").count(",") + 1
            if used > MAX_COLUMNS:
                number = bisect.bisect_right(self.line_starts, m.start())
                self.error("file-too-large", f"文本第 {number} 行有 {used:,} 列，超出了 {MAX_COLUMNS} 列的范围"
                           "（模板只有 8 列）。请删除多余的内容后重新保存。")
                return True
        return False

    def parse_csv(self, text: str, delimiter: str) -> list[tuple[int, list[Any]]]:
        """CSV records, stopping as soon as a row, column or cell limit is passed (csv_limit says which)."""
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows: list[tuple[int, list[Any]]] = []
        self.record_end_lines: dict[int, int] = {}
        self.csv_failed_at: int | None = None
        self.csv_limit: str | None = None
        cells = 0
        try:
            for index, record in enumerate(reader, start=1):
                if index > MAX_ROWS + HEADER_SEARCH_ROWS:
                    self.csv_limit = f"文件超过 {MAX_ROWS} 行，超过上限。月报一般只有几十行，请确认选对了文件。"
                    break
                if len(record) > MAX_COLUMNS:
                    used = max((i for i, c in enumerate(record) if c.strip()), default=-1)
                    if used >= MAX_COLUMNS:
                        self.csv_limit = (f"第 {index} 行第 {used + 1} 列（{_column_letter(used)} 列）有内容，超出了 "
                                          f"{MAX_COLUMNS} 列的范围（模板只有 8 列）。请删除多余的内容后重新保存。")
                        break
                    del record[MAX_COLUMNS:]  # trailing empty cells: keep memory bounded
                cells += len(record)
                if cells > MAX_CELLS:
                    self.csv_limit = f"文件的单元格超过 {MAX_CELLS} 个，超过上限。月报一般只有几十行，请确认选对了文件。"
                    break
                rows.append((index, record))
                self.record_end_lines[index] = reader.line_num
        except csv.Error:  # a cell beyond the csv module's size limit: an open quote, or one huge cell
            self.csv_failed_at = len(rows) + 1
        return rows

    def record_start(self, row: int) -> int:
        """Character offset where CSV record `row` starts."""
        line = self.record_end_lines.get(row - 1, 0) + 1
        return self.line_starts[line - 1] if line - 1 < len(self.line_starts) else len(self.line_starts)

    def csv_failure(self, text: str, records: list[tuple[int, list[Any]]]) -> None:
        """The csv module gave up on a record: an unclosed quote, or one cell too long to be a cell."""
        row = self.csv_failed_at or 1
        line = self.record_end_lines.get(row - 1, 0) + 1
        fields = _scan_record(text, self.record_start(row))
        index, (start, end, left_open) = max(enumerate(fields), key=lambda f: f[1][1] - f[1][0])
        if left_open or self.swallowed_rows(text[start:end]):
            self.error("quote-error", f"第 {row} 行（文本第 {line} 行）有一个引号（\"）没有闭合，后面的内容都被当成了"
                       "同一个单元格。请删掉多余的引号或补上闭合引号后重新保存。", row=row)
            return
        self.cell_too_long(row, index, end - start, records)

    def swallowed_rows(self, cell: str) -> bool:
        """Does a multi-line cell hold lines that parse as report rows (a quote that opened and never closed)?

        Judged by parsing each line as a CSV record and recognising the file's own content in it
        (a reporting unit, a month, an item id), not by counting commas: a note may well hold a
        line such as "见附件,详见台账,共6户".
        """
        items = self._item_lookup()
        for line in _LINE_BREAK.split(cell)[1:]:
            try:
                fields = next(csv.reader([line]), [])
            except csv.Error:
                continue
            if len(fields) < 3:
                continue
            known = 0
            for value in fields:
                text = _clean(value)
                if not text:
                    continue
                if (self.plan.find_unit(text) is not None or text.replace(" ", "").lower() in items
                        or parse_month(text) is not None and not text.isdigit()):
                    known += 1
            if known >= 2:
                return True
        return False

    def check_quotes(self, text: str, records: list[tuple[int, list[Any]]]) -> None:
        """An opening quote that never closes swallows the rest of the file (or up to the next quote)."""
        suspects = [(row, cells) for row, cells in records if any("\n" in c or "\r" in c for c in cells)]
        if not suspects:
            return
        last_row = records[-1][0]
        for row, cells in suspects:
            swallowed = any(self.swallowed_rows(c) for c in cells if "\n" in c or "\r" in c)
            if not swallowed and row == last_row:
                swallowed = any(left_open for _, _, left_open in _scan_record(text, self.record_start(row)))
            if swallowed:
                cell = next(c for c in cells if "\n" in c or "\r" in c)
                first = _LINE_BREAK.split(cell)[0]
                self.error("quote-error", f"第 {row} 行（文本第 {self.record_end_lines.get(row - 1, 0) + 1} 行）"
                           f"有一个引号（\"）没有闭合，从“\"{first[:20]}”开始后面的内容都被当成了同一个单元格。"
                           "请删掉多余的引号或补上闭合引号后重新保存。", row=row, value=first[:50])
                self.quote_broken.add(row)

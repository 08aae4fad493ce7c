"""Reading the bytes of an upload: format sniffing, text decoding, CSV records and XLSX sheets."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from worktrack.intake.values import HEADER_SEARCH_ROWS, _as_text, _Formula, find_header

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
MAX_ROWS = 20_000
MAX_CELLS = 400_000


def _ends_inside_quotes(text: str, start_line: int) -> bool:
    """Does the CSV text from physical line start_line to the end finish inside a quoted field?"""
    offset = 0
    if start_line > 1:
        breaks = list(re.finditer(r"\r\n|\r|\n", text))
        if len(breaks) < start_line - 1:
            return False
        offset = breaks[start_line - 2].end()
    in_quotes = False
    at_field_start = True
    i, n = offset, len(text)
    while i < n:
        ch = text[i]
        if in_quotes:
            if ch == '"':
                if i + 1 < n and text[i + 1] == '"':
                    i += 1
                else:
                    in_quotes = False
        elif ch == '"' and at_field_start:
            in_quotes = True
        at_field_start = not in_quotes and ch in ",\r\n"
        i += 1
    return in_quotes



@dataclass
class _Table:
    """Rows of cells as found in the file, with the Excel row number of each."""

    rows: list[tuple[int, list[Any]]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # min_row, min_col, max_row, max_col (1-based)
    cached: dict[tuple[int, int], Any] | None = None  # XLSX formula results, loaded on demand
    csv_widths: bool = False  # CSV: row length is meaningful (extra-cell check)



class FileReading:
    """The file-reading half of the reader: bytes -> a _Table, or findings saying why not."""

    def sniff_and_read(self) -> _Table | None:
        data = self.data
        ext = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""
        named = f"（文件名是 .{ext}）" if ext else ""
        if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
            return self.read_zip(named)
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
            names = set(archive.namelist())
            infos = archive.infolist()
        except Exception:  # noqa: BLE001 - BadZipFile, NotImplementedError (odd versions), OSError ...
            self.error("format-error", f"文件像 XLSX/ZIP 但已损坏{named}，请在 Excel/WPS 中重新保存后上传。")
            return None
        if "xl/workbook.xml" not in names:
            what = "Word 文档" if "word/document.xml" in names else (
                "OpenDocument 表格（.ods）" if "content.xml" in names else "ZIP 压缩包")
            self.error("format-error", f"这是{what}{named}，不是月报表格。请上传 .xlsx 或 CSV 文件（不要压缩）。")
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
            except Exception:  # noqa: BLE001 - a broken member is a broken file
                self.error("format-error", f"XLSX 文件已损坏（{info.filename} 无法解压）{named}，请在 Excel/WPS 中重新保存。")
                return None
            squeezed = head.replace(b"\x00", b"").upper()
            if b"<!DOCTYPE" in squeezed or b"<!ENTITY" in squeezed:
                self.error("xml-bomb", f"XLSX 文件内 {info.filename} 含有 DTD/实体声明，正常的 Excel 文件不会有，"
                           "可能是恶意文件（XML 炸弹），拒收。请用 Excel/WPS 重新保存后上传。")
                return None
        self.report.file_format = "xlsx"
        return self.read_xlsx(named)

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
        first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
        sep = re.fullmatch(r'\s*"?sep=(.)"?\s*,*', first_line, flags=re.I)
        if sep:
            if sep.group(1) != ",":
                self.error("delimiter-error", f"文件第一行“{first_line}”声明分隔符为“{sep.group(1)}”，"
                           "本系统只接受英文逗号分隔。请另存为“CSV UTF-8（逗号分隔）”。", row=1)
                return None
            self.note("normalised-sep-line", "跳过了 Excel 的分隔符提示行“sep=,”。", row=1)
        records = self.parse_csv(text, ",")
        if self.csv_failed_at is not None:
            row = self.csv_failed_at
            line = self.record_end_lines.get(row - 1, 0) + 1
            self.error("quote-error", f"第 {row} 行（文本第 {line} 行）起的一个单元格长得不正常，通常是引号（\"）没有闭合，"
                       "后面的内容都被当成了同一个单元格。请删掉多余的引号或补上闭合引号后重新保存。", row=row)
            return None
        if find_header(records) is None:
            names = {";": "分号（;）", "\t": "制表符（Tab）", "，": "全角逗号（，）", "|": "竖线（|）"}
            for delimiter, name in names.items():
                if delimiter in text and find_header(self.parse_csv(text, delimiter)) is not None:
                    self.error("delimiter-error", f"文件用{name}分隔各列，本系统只接受英文逗号分隔的 CSV。"
                               "请在 Excel/WPS 中“另存为”“CSV UTF-8（逗号分隔）”或 .xlsx 后再上传。")
                    return None
        if len(records) > MAX_ROWS:
            self.error("file-too-large", f"文件有 {len(records)} 行，超过上限 {MAX_ROWS} 行。月报一般只有几十行，请确认选对了文件。")
            return None
        if records and records[0][1] and sep:
            records[0] = (1, [])
        self.check_quotes(text, records)
        return _Table(rows=records, csv_widths=True)

    def parse_csv(self, text: str, delimiter: str) -> list[tuple[int, list[Any]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = []
        self.record_end_lines: dict[int, int] = {}
        self.csv_failed_at: int | None = None
        try:
            for index, record in enumerate(reader, start=1):
                rows.append((index, record))
                self.record_end_lines[index] = reader.line_num
                if index > MAX_ROWS:
                    break
        except csv.Error:  # a cell beyond the csv module's size limit: an open quote ate the file
            self.csv_failed_at = len(rows) + 1
        return rows

    def check_quotes(self, text: str, records: list[tuple[int, list[Any]]]) -> None:
        """An opening quote that never closes swallows the rest of the file (or up to the next quote)."""
        suspects = [(row, cells) for row, cells in records if any("\n" in c or "\r" in c for c in cells)]
        if not suspects:
            return
        width = max((len(c) for _, c in records[:HEADER_SEARCH_ROWS]), default=2)
        last_row = records[-1][0]
        for row, cells in suspects:
            swallowed = any(
                line.count(",") >= max(2, width - 2)
                for cell in cells for line in re.split(r"\r\n|\r|\n", cell)[1:])
            if not swallowed and row == last_row:
                start_line = self.record_end_lines.get(row - 1, 0) + 1
                swallowed = _ends_inside_quotes(text, start_line)
            if swallowed:
                cell = next(c for c in cells if "\n" in c or "\r" in c)
                first = re.split(r"\r\n|\r|\n", cell)[0]
                self.error("quote-error", f"第 {row} 行（文本第 {self.record_end_lines.get(row - 1, 0) + 1} 行）"
                           f"有一个引号（\"）没有闭合，从“\"{first[:20]}”开始后面的内容都被当成了同一个单元格。"
                           "请删掉多余的引号或补上闭合引号后重新保存。", row=row, value=first[:50])
                self.quote_broken.add(row)

    # -- XLSX
    def read_xlsx(self, named: str) -> _Table | None:
        import openpyxl
        from defusedxml.common import DefusedXmlException

        try:
            workbook = openpyxl.load_workbook(io.BytesIO(self.data), data_only=False, keep_links=False)
        except Exception as exc:  # noqa: BLE001 - any parser failure means the workbook is unusable
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, DefusedXmlException):
                cause = cause.__cause__ or cause.__context__
            if cause is not None:  # openpyxl wraps defusedxml's refusal in a ValueError
                self.error("xml-bomb", "XLSX 文件含有 DTD/实体声明或外部引用，可能是恶意文件（XML 炸弹），拒收。")
                return None
            self.error("format-error", f"XLSX 文件已损坏或不是 Excel 工作簿{named}，请在 Excel/WPS 中重新保存为 .xlsx 后上传。")
            return None
        self.workbook_data = self.data
        chosen: _Table | None = None
        fallback: _Table | None = None
        chosen_name = ""
        first_name = workbook.worksheets[0].title if workbook.worksheets else ""
        others: list[str] = []
        any_cells = False
        for sheet in workbook.worksheets:
            cells = sheet._cells  # sparse {(row, col): cell}; iter_rows would create every empty cell
            if len(cells) > MAX_CELLS:
                self.error("file-too-large", f"工作表“{sheet.title}”有 {len(cells)} 个单元格，超过上限。请确认选对了文件。")
                return None
            grid: dict[int, dict[int, Any]] = {}
            for (r, c), cell in cells.items():
                value = cell.value
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if cell.data_type == "f":
                    value = _Formula(_as_text(value))
                grid.setdefault(r, {})[c] = value
            if not grid:
                continue
            any_cells = True
            max_row = max(grid)
            if max_row > MAX_ROWS + HEADER_SEARCH_ROWS:
                self.error("file-too-large", f"工作表“{sheet.title}”有 {max_row} 行，超过上限 {MAX_ROWS} 行。")
                return None
            rows = []
            for r in range(1, max_row + 1):
                line = grid.get(r, {})
                width = max(line) if line else 0
                rows.append((r, [line.get(c) for c in range(1, width + 1)]))
            merged = [(m.min_row, m.min_col, m.max_row, m.max_col) for m in sheet.merged_cells.ranges]
            table = _Table(rows=rows, merged=merged)
            fallback = fallback or table
            if find_header(rows) is None:
                continue
            if chosen is None:
                chosen, chosen_name = table, sheet.title
            else:
                others.append(sheet.title)
        if not any_cells:
            self.error("empty-file", "工作簿里没有任何内容。请用模板填写后再上传。")
            return None
        if chosen is None:
            return fallback  # reported as header-not-found
        if chosen_name != first_name:
            self.note("normalised-sheet", f"第一张工作表“{first_name}”不是月报，读取的是工作表“{chosen_name}”。")
        if others:
            self.warn("multiple-sheets", f"工作表“{'”“'.join(others)}”也像月报，但只读取了“{chosen_name}”。"
                      "一个文件只报一个单位一个月；如果其他工作表也要上报，请分别保存成文件上传。")
        self.sheet_name = chosen_name
        return chosen

    def formula_results(self) -> dict[tuple[int, int], Any]:
        """Excel's cached results of formula cells on the chosen sheet (second, value-only load)."""
        import openpyxl

        try:
            workbook = openpyxl.load_workbook(io.BytesIO(self.workbook_data), data_only=True, keep_links=False)
            sheet = workbook[self.sheet_name]
            return {key: cell.value for key, cell in sheet._cells.items()}
        except Exception:  # noqa: BLE001 - already loaded once; treat as no cached results
            return {}

    # -- header

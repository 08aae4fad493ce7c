"""Validating a table of cells: header, rows, values and keys -> facts and findings."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from worktrack.intake.files import FileReading, _Table
from worktrack.intake.findings import MAX_FINDINGS, FactRow, Finding, IntakeReport, sha256_of
from worktrack.intake.values import (
    _CN_NUMERALS,
    _GROUPED_RE,
    _NUMBER_RE,
    _SUFFIX_MEASURE,
    _TOTAL_RE,
    BLANK_WORDS,
    COLUMN_LABELS,
    COLUMNS,
    HEADER_ALIASES,
    HEADER_SEARCH_ROWS,
    MAX_VALUE,
    NOTE_MAX_CHARS,
    REQUIRED_COLUMNS,
    _as_text,
    _clean,
    _clean_kinds,
    _column_letter,
    _fmt,
    _fold_label,
    _Formula,
    invalid_day,
    large_value_threshold,
    parse_month,
    parse_status,
)
from worktrack.plan import COUNT_MEASURES, STATUS_WORDS, Plan

_INVALID: Any = object()
_FINDINGS_BUFFER = 5 * MAX_FINDINGS  # kept while reading, so that sorting by row can pick the first ones
_LONG_QUOTE = re.compile(r"“([^”]{80,})”")


def _short_value(value: Any, limit: int = 200) -> str | None:
    """A cell value as shown in a finding: long text cut, with its length said."""
    if value is None:
        return None
    text = _as_text(value)
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text):,} 字）"


def _shorten(message: str) -> str:
    """A quoted cell inside a message is cut like a value, so one 30,000-character cell stays one line."""
    return _LONG_QUOTE.sub(lambda m: f"“{m.group(1)[:50]}…（共 {len(m.group(1)):,} 字）”", message)


@dataclass
class _Row:
    row: int
    unit: str | None = None
    month: str | None = None
    item: str | None = None
    kind: str | None = None  # "metric" | "task"
    category: str = ""
    value: float | None = None
    status: str | None = None
    note: str = ""
    usable: bool = True
    raw_value: str = ""



class _Reader(FileReading):
    # The columns this reader knows; a reader of another kind of table (a register) names its own.
    column_order: tuple[str, ...] = COLUMNS
    column_labels: dict[str, str] = COLUMN_LABELS
    header_aliases: dict[str, str] = HEADER_ALIASES
    required_columns: tuple[str, ...] = REQUIRED_COLUMNS

    def __init__(self, data: bytes, filename: str, plan: Plan, unit: str | None, month: str | None,
                 uploader_unit: str | None, max_bytes: int):
        self.data, self.filename, self.plan = data, filename, plan
        self.declared_unit, self.declared_month, self.uploader_unit = unit, month, uploader_unit
        self.max_bytes = max_bytes
        self.report = IntakeReport(file=filename, sha256=sha256_of(data), size=len(data), plan_id=plan.id)
        self._notes: dict[tuple, list] = {}
        self.labels: dict[str, str] = {}  # column -> header label as written
        self._reportable: dict[str, set[str]] = {}
        self._seen: set[tuple] = set()
        self._items: dict[str, tuple[str, str]] | None = None
        self.value_in_wan = False  # header says 本月数值（万元）
        self.quote_broken: set[int] = set()
        self.merged_value_rows: set[int] = set()
        self.columns: dict[str, int] = {}
        self.header_row = 1
        self.silent = False  # parse a value without recording errors (total rows)
        self.file_unit: str | None = None  # declared, else the first row's unit
        self.file_month: str | None = None  # declared, else the first row's month
        self.uploader: str | None = None  # the logged-in unit, resolved

    # -- findings
    def error(self, code: str, message: str, row: int | None = None, column: str | None = None,
              value: Any = None) -> None:
        if self.silent:
            return
        self._record("errors", Finding(code, _shorten(message), row, column, _short_value(value)))

    def warn(self, code: str, message: str, row: int | None = None, column: str | None = None,
             value: Any = None) -> None:
        self._record("warnings", Finding(code, _shorten(message), row, column, _short_value(value)))

    def _record(self, kind: str, finding: Finding) -> None:
        """Keep a bounded number of findings while reading; finish() keeps the first MAX_FINDINGS by row."""
        found = getattr(self.report, kind)
        if len(found) >= _FINDINGS_BUFFER:
            self.report.omitted[kind] = self.report.omitted.get(kind, 0) + 1
            return
        found.append(finding)

    def note(self, code: str, message: str, row: int | None = None, column: str | None = None,
             value: Any = None, *, group: bool = True) -> None:
        """Record a normalisation; repeats of the same change in one column are counted, not listed."""
        if self.silent:
            return
        text = _short_value(value)
        key = (code, column, text) if group else (code, column, text, row)
        if key in self._notes:
            self._notes[key][1] += 1
        elif len(self._notes) >= _FINDINGS_BUFFER:
            self.report.omitted["normalised"] = self.report.omitted.get("normalised", 0) + 1
        else:
            self._notes[key] = [Finding(code, _shorten(message), row, column, text), 1]

    def label(self, column: str) -> str:
        return self.labels.get(column, self.column_labels[column])

    def at(self, row: int | None, column: str | None = None) -> str:
        where = f"第 {row} 行" if row else ""
        if column:
            where += f"“{column}”列"
        return where + "：" if where else ""

    # -- top level
    def run(self) -> IntakeReport:
        self.check_declared()
        if len(self.data) > self.max_bytes:
            self.error("file-too-large", f"文件大小 {len(self.data) / 1024 / 1024:.1f} MB，超过上限 "
                       f"{self.max_bytes / 1024 / 1024:.0f} MB。月报一般只有几十行，请确认选对了文件。")
            return self.finish()
        if not self.data.strip(b" \t\r\n\x00"):
            self.error("empty-file", "文件是空的（0 字节或只有空白）。请用模板填写后再上传。")
            return self.finish()
        table = self.sniff_and_read()
        if table is not None:
            self.read_table(table)
        return self.finish()

    def finish(self) -> IntakeReport:
        report = self.report
        for finding, count in self._notes.values():
            if count > 1:
                finding = Finding(finding.code, f"{finding.message}（共 {count} 处，首处见第 {finding.row} 行）"
                                  if finding.row else f"{finding.message}（共 {count} 处）",
                                  finding.row, finding.column, finding.value)
            report.normalised.append(finding)

        def order(f: Finding) -> tuple:
            return (f.row is not None, f.row or 0)

        for kind, label in (("errors", "错误"), ("warnings", "提示"), ("normalised", "自动规范记录")):
            found = getattr(report, kind)
            found.sort(key=order)
            if len(found) > MAX_FINDINGS:
                report.omitted[kind] = report.omitted.get(kind, 0) + len(found) - MAX_FINDINGS
                del found[MAX_FINDINGS:]
            if report.omitted.get(kind):
                found.append(Finding("findings-truncated", f"另有 {report.omitted[kind]} 条{label}没有列出（只列出按行号"
                                     f"排在前面的 {MAX_FINDINGS} 条）。请先改正上面列出的问题，重新上传后会显示其余的。"))
        if report.errors:
            report.rows = []
        return report

    # -- declared unit / month
    def check_declared(self) -> None:
        plan = self.plan
        valid = "、".join(plan.unit_names)
        if self.uploader_unit is not None:
            found = plan.find_unit(self.uploader_unit)
            if found is None:
                self.error("unknown-unit", f"登录单位“{self.uploader_unit}”不在计划的报送单位里（{valid}）。",
                           column=COLUMN_LABELS["reporting_unit"], value=self.uploader_unit)
            else:
                self.uploader = found.name
        if self.declared_unit is not None:
            found = plan.find_unit(self.declared_unit)
            if found is None:
                self.error("unknown-unit", f"选择的上报单位“{self.declared_unit}”不认识，可选：{valid}。",
                           column=COLUMN_LABELS["reporting_unit"], value=self.declared_unit)
            else:
                self.file_unit = found.name
                if self.uploader and found.name != self.uploader:
                    self.error("unit-mismatch", f"你以“{self.uploader}”登录，不能替“{found.name}”上报。整份文件不予接收。",
                               column=COLUMN_LABELS["reporting_unit"], value=self.declared_unit)
        elif self.uploader:
            self.file_unit = self.uploader
        if self.declared_month is not None:
            parsed = parse_month(self.declared_month)
            if parsed is None:
                self.error("month-error", f"选择的月份“{self.declared_month}”无法识别，请写成 2023-06 这样的形式。",
                           column=COLUMN_LABELS["month"], value=self.declared_month)
            else:
                self.file_month = parsed
        self.report.reporting_unit = self.file_unit
        self.report.month = self.file_month

    # -- format sniffing

    def read_table(self, table: _Table) -> None:
        rows = table.rows
        if not any(any(_as_text(c).strip() for c in cells) for _, cells in rows):
            self.error("empty-file", "文件里没有任何内容（只有空行）。请用模板填写后再上传。")
            return
        header_index = self.find_header(rows)
        if header_index is None:
            expected = "、".join(self.column_labels[c] for c in self.column_order)
            required = "、".join(self.column_labels[c] for c in self.required_columns)
            self.error("header-not-found", f"在文件前 {HEADER_SEARCH_ROWS} 行找不到表头。表头应包含 {expected} 等列名"
                       f"（{required}必填）。请用系统下载的模板填写。")
            return
        header_row, header_cells = rows[header_index]
        self.header_row = header_row
        for row, cells in rows[:header_index]:
            if any(_as_text(c).strip() for c in cells):
                self.note("normalised-title-row", f"第 {row} 行是表头上方的标题或说明，已跳过。", row=row, group=False)
        data_rows = rows[header_index + 1:]
        merged = table.merged
        # Header cells merged downwards take the rows below them into the header.
        header_depth = 0
        for min_row, _, max_row, _ in merged:
            if min_row == header_row and max_row > min_row:
                header_depth = max(header_depth, max_row - min_row)
        if header_depth:
            data_rows = [(r, c) for r, c in data_rows if r > header_row + header_depth]
            self.note("normalised-merged-cells", f"表头单元格跨 {header_depth + 1} 行合并，已把第 {header_row}–"
                      f"{header_row + header_depth} 行作为表头。", row=header_row)

        columns = self.map_header(header_row, header_cells, data_rows, merged)
        if columns is None:
            return
        self.columns = columns
        data_rows = self.fill_merged(data_rows, merged, columns, header_row + header_depth)
        self.read_rows(data_rows, columns, len(header_cells), table)

    def map_header(self, header_row: int, cells: list[Any], data_rows: list[tuple[int, list[Any]]],
                   merged: list[tuple[int, int, int, int]]) -> dict[str, int] | None:
        columns: dict[str, int] = {}
        seen_at: dict[str, str] = {}
        ok = True
        covered = set()  # 0-based columns hidden under a merged header cell
        for min_row, min_col, max_row, max_col in merged:
            if min_row <= header_row <= max_row and max_col > min_col:
                covered.update(range(min_col, max_col))  # (min_col+1 .. max_col) in 1-based
        has_data = set()
        for _, line in data_rows:
            for i, c in enumerate(line):
                if _as_text(c).strip():
                    has_data.add(i)
        unknown = []
        cells = list(cells) + [None] * (max(covered | {0}) + 1 - len(cells))
        for i, raw in enumerate(cells):
            text = _as_text(raw).strip()
            if not text:
                if i in has_data:
                    if i in covered:
                        self.error("blank-label", f"{_column_letter(i)} 列的表头与左边的单元格合并了，无法判断这一列是什么。"
                                   "请取消合并，给每一列写上列名。", row=header_row, column=_column_letter(i))
                    else:
                        self.error("blank-label", f"{_column_letter(i)} 列有数据但没有列名。请补上列名，或删除这一列。",
                                   row=header_row, column=_column_letter(i))
                    ok = False
                continue
            key, paren = _fold_label(text)
            column = self.header_aliases.get(key)
            if column is None:
                unknown.append((i, text))
                continue
            if column in columns:
                self.error("duplicate-label", f"{self.at(header_row)}列名“{text}”与“{seen_at[column]}”重复"
                           f"（都表示“{self.column_labels[column]}”）。请删除或改名其中一列。", row=header_row, column=text)
                ok = False
                continue
            columns[column] = i
            seen_at[column] = text
            self.labels[column] = text
            if text != self.column_labels[column]:
                self.note("normalised-header-alias", f"列名“{text}”识别为“{self.column_labels[column]}”。",
                          row=header_row, column=text, value=text)
            if column == "value" and paren in ("万元", "万"):
                self.value_in_wan = True
        for _, text in unknown:
            self.warn("extra-label", f"{self.at(header_row)}不认识的列“{text}”，其中的内容不会被保存。"
                      "如不需要请删除这一列；确认无误后可以继续上报。", row=header_row, column=text)
        for column in self.required_columns:
            if column not in columns:
                alias_list = "、".join(sorted({a for a, c in self.header_aliases.items() if c == column}))
                self.error("missing-label", f"缺少必填列“{self.column_labels[column]}”（也可写作：{alias_list}）。"
                           "请用系统下载的模板，或补上这一列。", row=header_row, column=self.column_labels[column])
                ok = False
        order = [c for c in self.column_order if c in columns]
        if ok and sorted(order, key=lambda c: columns[c]) != order:
            self.note("normalised-column-order", "列的顺序与模板不同，已按列名识别。", row=header_row)
        return columns if ok else None

    def fill_merged(self, data_rows: list[tuple[int, list[Any]]], merged: list[tuple[int, int, int, int]],
                    columns: dict[str, int], first_data_row: int) -> list[tuple[int, list[Any]]]:
        """Copy a merged cell's value into the rows it spans, where that is unambiguous."""
        if not merged:
            return data_rows
        by_row = {r: list(cells) for r, cells in data_rows}
        index_to_column = {i: c for c, i in columns.items()}
        # A merged cell reaching below the table is formatting, not data: fill only rows that have
        # content of their own, or a merged A2:A20000 turns every empty row into a row with errors.
        last_content_row = max((r for r, cells in data_rows if any(_as_text(c).strip() for c in cells)), default=0)
        for min_row, min_col, max_row, _ in merged:
            max_row = min(max_row, max(last_content_row, min_row))
            if max_row <= first_data_row or max_row == min_row:
                continue
            col = min_col - 1
            column = index_to_column.get(col)
            if column is None or min_row not in by_row:
                continue
            top = by_row[min_row][col] if col < len(by_row[min_row]) else None
            if column == "value":
                self.error("merged-cell", f"第 {min_row}–{max_row} 行的“{self.label('value')}”单元格被合并，"
                           "无法判断数值属于哪一行。请取消合并，每行分别填写。", row=min_row, column=self.label("value"),
                           value=top)
                self.merged_value_rows.update(range(min_row, max_row + 1))
                continue
            for r in range(max(min_row + 1, first_data_row + 1), max_row + 1):
                cells = by_row.setdefault(r, [])
                while len(cells) <= col:
                    cells.append(None)
                cells[col] = top
            self.note("normalised-merged-cells", f"第 {min_row}–{max_row} 行“{self.label(column)}”列的合并单元格，"
                      f"已把“{_as_text(top)}”填入每一行。", row=min_row, column=self.label(column), value=top,
                      group=False)
        return sorted(by_row.items())

    # -- rows
    def read_rows(self, data_rows: list[tuple[int, list[Any]]], columns: dict[str, int], width: int,
                  table: _Table) -> None:
        non_blank = [(r, cells) for r, cells in data_rows if any(_as_text(c).strip() for c in cells)]
        if not non_blank:
            self.error("no-data", "文件只有表头，没有数据行。请在表头下面逐行填写后再上传。")
            return
        last = non_blank[-1][0]
        trailing = [r for r, _ in data_rows if r > last]
        if trailing:
            self.note("normalised-trailing-rows", f"末尾 {len(trailing)} 个空行已去掉。", row=trailing[0])
        for r, cells in data_rows:
            if r < last and not any(_as_text(c).strip() for c in cells):
                self.warn("blank-row", f"第 {r} 行是空行（夹在数据中间）。空行会被忽略；如果漏填了内容，请补上。", row=r)
        # A row longer than the header has a cell too many (an unquoted 1,000 splits into 1 and 000),
        # unless every row carries the same empty trailing cells (a writer that ends lines with a comma).
        lengths = {len(c) for _, c in non_blank}
        uniform_padding = table.csv_widths and len(lengths) == 1 and all(
            not _as_text(x).strip() for _, c in non_blank for x in c[width:])
        parsed: list[_Row] = []
        totals: list[_Row] = []
        for r, cells in non_blank:
            if r in self.quote_broken:
                continue
            if table.csv_widths:
                too_long = len(cells) > width and not uniform_padding
            else:
                too_long = any(_as_text(c).strip() for c in cells[width:])
            if too_long:
                first_extra = next((i for i in range(width, len(cells)) if _as_text(cells[i]).strip()), width)
                self.error("extra-cell", f"第 {r} 行有内容超出了表头的范围（表头 {width} 列，这一行 {len(cells)} 列），"
                           "各列可能错位了。常见原因是数字里的千位逗号没加引号（如 1,000 被拆成 1 和 000），"
                           "请写成 1000；或给多出的列加上列名。", row=r, column=_column_letter(first_extra),
                           value=",".join(_as_text(c) for c in cells))
                continue
            get = {c: (cells[i] if i < len(cells) else None) for c, i in columns.items()}
            if self.is_total(get):
                totals.append(self.read_total_row(r, get))
                continue
            if r in self.merged_value_rows:
                continue
            parsed.append(self.read_row(r, get, table))
        self.check_totals(totals, parsed)
        self.check_keys(parsed)
        self.check_large(parsed)
        self.check_rates(parsed)
        if not self.report.errors:
            self.report.rows = [
                FactRow(p.unit or "", p.month or "", p.item or "", p.category, p.value, p.status, p.note, p.row)
                for p in parsed if p.usable and (p.value is not None or p.status is not None)]
            if all(r.value in (None, 0) and r.status is None for r in self.report.rows):
                self.warn("empty-report", "本文件所有数值都为空或 0，也没有填写任何任务状态。"
                          "如果本月确实没有进展，可以确认上报；否则请填写后再上传。")
        self.report.reporting_unit = self.file_unit or self.report.reporting_unit
        self.report.month = self.file_month or self.report.month

    @staticmethod
    def is_total(get: dict[str, Any]) -> bool:
        for column in ("reporting_unit", "item", "name", "category"):
            text = _clean(_as_text(get.get(column))).replace(" ", "")
            if text and _TOTAL_RE.match(text):
                return True
        return False

    # -- one row
    def read_row(self, r: int, get: dict[str, Any], table: _Table) -> _Row:
        out = _Row(row=r)
        for column in ("reporting_unit", "month", "item", "category", "measure", "value"):
            if isinstance(get.get(column), _Formula):
                get[column] = self.read_formula(r, column, get[column], table)
                if get[column] is _INVALID:
                    out.usable = False
                    return out
        out.unit = self.read_unit(r, get.get("reporting_unit"))
        out.month = self.read_month(r, get.get("month"))
        out.note = self.read_note(r, get.get("note"))
        item = self.read_item(r, get.get("item"), get.get("name"), out.unit)
        if item is None:
            out.usable = False
            return out
        out.item, out.kind = item
        metric = self.plan.metrics.get(out.item) if out.kind == "metric" else None
        out.category = self.read_category(r, get.get("category"), metric, "category" in self.labels)
        if out.category is None:
            out.usable = False
            out.category = ""
        raw_value = get.get("value")
        if metric is not None:
            multiplier = self.read_measure(r, get.get("measure"), metric.measure)
            if multiplier is None:
                out.usable = False
                return out
            out.value = self.read_number(r, raw_value, metric, multiplier, bool(out.note))
            out.usable = out.usable and out.value is not _INVALID
            if out.value is _INVALID:
                out.value = None
        else:
            status = self.read_status(r, raw_value, bool(out.note))
            out.usable = out.usable and status is not _INVALID
            out.status = None if status is _INVALID else status
        return out

    def read_formula(self, r: int, column: str, formula: _Formula, table: _Table) -> Any:
        """A formula in a data column: use the result Excel saved with the file, never evaluate it."""
        label = self.label(column)
        result = formula.result
        if result is None or isinstance(result, str) and (not result.strip() or result.startswith("=")):
            self.error("type-error", f"{self.at(r, label)}单元格是公式“{formula.text}”，文件里没有保存计算结果。"
                       "请直接填写内容（或在 Excel 中打开后重新保存）。", row=r, column=label, value=formula.text)
            return _INVALID
        self.note("normalised-formula-result", f"{self.at(r, label)}公式“{formula.text}”取 Excel 保存的结果"
                  f"“{_as_text(result)}”。", row=r, column=label, value=formula.text, group=False)
        return result

    def read_unit(self, r: int, raw: Any) -> str | None:
        column = self.label("reporting_unit")
        original = _as_text(raw)
        text = _clean(original)
        if not text:
            self.error("missing-value", f"{self.at(r, column)}上报单位为空，请填写单位名称（如 天剑社区）。",
                       row=r, column=column)
            return None
        found = self.plan.find_unit(text)
        if found is None:
            self.error("unknown-unit", f"{self.at(r, column)}“{original}”不是报送单位，可填："
                       f"{'、'.join(self.plan.unit_names)}。", row=r, column=column, value=original)
            return None
        if found.name != text:
            traditional = any(ch not in found.name for ch in text) and len(text) <= len(found.name)
            code = "traditional-unit" if traditional else "normalised-unit-alias"
            what = "繁体写法" if traditional else "简称/别名"
            self.note(code, f"“{original}”是“{found.name}”的{what}，已按“{found.name}”记录。",
                      row=r, column=column, value=original)
        elif original != text:
            for kind in _clean_kinds(original, text):
                self.note(kind, f"上报单位“{original}”中多余的空格或特殊字符已去掉。", row=r, column=column, value=original)
        if self.uploader and found.name != self.uploader:
            if self._first_time(("uploader", found.name)):
                self.error("unit-mismatch", f"{self.at(r, column)}文件是“{found.name}”的数据，但你以“{self.uploader}”"
                           "登录，不能替其他单位上报。整份文件不予接收。", row=r, column=column, value=original)
            return found.name
        if self.file_unit is None:
            self.file_unit = found.name
        elif found.name != self.file_unit and self._first_time(("unit", found.name)):
            declared = self.declared_unit is not None and self.plan.find_unit(self.declared_unit) is not None
            why = (f"与选择的上报单位“{self.file_unit}”不一致" if declared
                   else f"与前面各行的“{self.file_unit}”不一致，一个文件只能报一个单位")
            self.error("unit-mismatch", f"{self.at(r, column)}上报单位“{original}”{why}。", row=r, column=column,
                       value=original)
        return found.name

    def _first_time(self, key: tuple) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def read_month(self, r: int, raw: Any) -> str | None:
        column = self.label("month")
        original = _as_text(raw)
        if not original.strip():
            self.error("missing-value", f"{self.at(r, column)}月份为空，请填写如 2023-06。", row=r, column=column)
            return None
        month = parse_month(raw)
        if month is None:
            day = invalid_day(raw)
            if re.fullmatch(r"\d{4}\.1", original.strip()):
                why = "无法区分是 1 月还是 10 月（Excel 会把 2023.10 存成 2023.1）"
            elif day is not None:
                why = f"不是有效日期（这个月没有 {day} 日）"
            else:
                why = "无法识别为月份"
            self.error("month-error", f"{self.at(r, column)}“{original}”{why}，请写成 2023-06"
                       "（也接受 2023/6、2023年6月、202306）；不要只写“六月”或“6月”。", row=r, column=column, value=original)
            return None
        if month not in self.plan.months:
            self.error("month-error", f"{self.at(r, column)}月份 {month} 不在本计划的报告期"
                       f"（{self.plan.months[0]} 至 {self.plan.months[-1]}）内，请检查年份和月份。",
                       row=r, column=column, value=original)
            return None
        if original != month:
            shown = "日期单元格" if isinstance(raw, dt.date | dt.datetime) else (
                "Excel 日期序号" if isinstance(raw, int | float) or re.fullmatch(r"\d{5}(\.0+)?", original.strip())
                else "写法")
            self.note("normalised-month", f"月份“{original}”（{shown}）按 {month} 记录。", row=r, column=column,
                      value=original)
        if self.file_month is None:
            self.file_month = month
        elif month != self.file_month and self._first_time(("month", month)):
            declared = self.declared_month is not None and parse_month(self.declared_month) is not None
            why = (f"与选择的月份 {self.file_month} 不一致" if declared
                   else f"与前面各行的 {self.file_month} 不一致，一个文件只能报一个月")
            self.error("month-mismatch", f"{self.at(r, column)}月份 {month}{why}。", row=r, column=column, value=original)
        return month

    def read_note(self, r: int, raw: Any) -> str:
        # Notes are stored exactly as typed: never evaluated, never normalised (apart from the ends).
        text = _as_text(raw).strip()
        if len(text) > NOTE_MAX_CHARS:
            column = self.label("note")
            self.error("note-too-long", f"{self.at(r, column)}备注有 {len(text)} 个字，超过 {NOTE_MAX_CHARS} 字上限。"
                       "请精简，详细材料请另行报送。", row=r, column=column, value=text[:50] + "…")
        from worktrack.registers.identity import (  # not at the top: registers imports intake
            ID_NUMBER_PATTERN,
            id_number_problem,
            mask_id_number,
            normalise_id_number,
        )

        for found in ID_NUMBER_PATTERN.findall(text):
            # a person's ID number would reach every pack and export in clear: refused, never echoed whole
            number = normalise_id_number(found)
            if id_number_problem(number) is None:
                column = self.label("note")
                self.error("id-number-in-note", f"{self.at(r, column)}备注里有身份证号（{mask_id_number(number)}）。"
                           "月报的备注会出现在例会材料和导出文件里，请删去身份证号；帮扶对象请记入帮扶台账。",
                           row=r, column=column, value=mask_id_number(number))
                break
        return text

    def reportable(self, unit: str) -> set[str]:
        if unit not in self._reportable:
            self._reportable[unit] = {m.id for m in self.plan.metrics_for_unit(unit) if not m.is_rate} | {
                i.id for i in self.plan.tasks_for_unit(unit)}
        return self._reportable[unit]

    def read_item(self, r: int, raw: Any, raw_name: Any, unit: str | None) -> tuple[str, str] | None:
        column = self.label("item")
        original = _as_text(raw)
        text = _clean(original).replace(" ", "")
        unit = unit or self.file_unit
        plan = self.plan
        if not text:
            name = _clean(_as_text(raw_name))
            matches = []
            if name and unit:
                for row in plan.template_rows(unit):
                    if _clean(row.name) == name and row.item not in matches:
                        matches.append(row.item)
            if len(matches) == 1:
                self.note("normalised-item-by-name", f"{self.at(r, column)}编号为空，按事项“{name}”识别为 {matches[0]}。",
                          row=r, column=column, value=name, group=False)
                text = matches[0]
            else:
                example = "、".join(row.item for row in plan.template_rows(unit)[:2]) if unit else ""
                self.error("missing-value", f"{self.at(r, column)}编号为空。请按模板填写编号"
                           + (f"（如 {example}）" if example else "") + "。", row=r, column=column)
                return None
        found = self._item_lookup().get(text.lower())
        if found is None:
            hint = ""
            if any(text == s.id for s in plan.sections) or any(text == g.id for s in plan.sections for g in s.groups):
                hint = "这是章节编号，请填写其下具体事项的编号。"
            self.error("unknown-item", f"{self.at(r, column)}编号“{original}”在计划里找不到。{hint}"
                       "请使用模板里的编号，不要修改编号列。", row=r, column=column, value=original)
            return None
        if unit is not None and found[0] not in self.reportable(unit):
            kind = "指标" if found[1] == "metric" else "任务"
            title = plan.metrics[found[0]].name if found[1] == "metric" else plan.items[found[0]].title
            self.error("item-not-reported", f"{self.at(r, column)}{kind}“{found[0]} {title}”不由“{unit}”报送，"
                       "请删除这一行（模板里只有本单位要报的事项）。", row=r, column=column, value=original)
            return None
        if original and original != found[0]:
            kinds = _clean_kinds(original, _clean(original))
            if _clean(original) != text and "normalised-whitespace" not in kinds:
                kinds.append("normalised-whitespace")
            if text != found[0]:
                kinds.append("normalised-item-case")
            for kind in kinds:
                self.note(kind, f"编号“{original}”按“{found[0]}”记录。", row=r, column=column, value=original)
        return found

    def _item_lookup(self) -> dict[str, tuple[str, str]]:
        if self._items is None:
            self._items = {}
            for item in self.plan.items.values():
                self._items[item.id.lower()] = (item.id, "task")
            for metric in self.plan.metrics.values():
                self._items[metric.id.lower()] = (metric.id, "metric")
        return self._items

    def read_category(self, r: int, raw: Any, metric: Any, has_column: bool) -> str | None:
        column = self.label("category")
        original = _as_text(raw)
        text = _clean(original)
        categories = self.plan.categories(metric.id) if metric is not None else ()
        if not categories:
            if text:
                what = f"指标“{metric.name}”" if metric is not None else "任务"
                self.error("unknown-category", f"{self.at(r, column)}{what}不分类，分类列应为空（现为“{original}”）。",
                           row=r, column=column, value=original)
                return None
            return ""
        if not has_column:
            if self._first_time(("category-column",)):
                self.error("missing-label", f"指标“{metric.name}”按分类填报，文件缺少“分类”列。请用系统下载的模板填写。",
                           row=self.header_row, column=COLUMN_LABELS["category"])
            return None
        allowed = "、".join(categories)
        if not text:
            self.error("missing-category", f"{self.at(r, column)}指标“{metric.name}”需要填写分类，可选：{allowed}。",
                       row=r, column=column)
            return None
        folded = {c.replace(" ", "").lower(): c for c in categories}
        found = folded.get(text.replace(" ", "").lower())
        if found is None:
            self.error("unknown-category", f"{self.at(r, column)}“{original}”不是指标“{metric.name}”的分类，可选：{allowed}。",
                       row=r, column=column, value=original)
            return None
        if found != original:
            for kind in _clean_kinds(original, text) or ["normalised-whitespace"]:
                self.note(kind, f"分类“{original}”按“{found}”记录。", row=r, column=column, value=original)
        return found

    def read_measure(self, r: int, raw: Any, measure: str) -> int | None:
        """The 计量单位 cell is informational, but 万元 there changes what the number means."""
        text = _clean(_as_text(raw)).replace(" ", "")
        if not text or text == measure:
            return 1
        if measure == "元" and text in ("万元", "万"):
            return 10_000
        if _SUFFIX_MEASURE.get(text) == measure:
            return 1
        column = self.label("measure")
        self.error("unit-suffix-mismatch", f"{self.at(r, column)}计量单位写的是“{text}”，但这个事项按“{measure}”统计。"
                   f"请按“{measure}”填写数值，并把计量单位改回“{measure}”。", row=r, column=column, value=_as_text(raw))
        return None

    def read_number(self, r: int, raw: Any, metric: Any, multiplier: int, has_note: bool) -> Any:
        column = self.label("value")
        measure = metric.measure
        if getattr(self, "value_in_wan", False) and measure == "元":
            multiplier *= 10_000
        parsed = self.parse_number(r, raw, measure, column)
        if parsed is _INVALID:
            return _INVALID
        if parsed is None:
            if has_note:
                self.error("missing-value", f"{self.at(r, column)}备注有内容，但本月数值为空。请填写本月数值；"
                           "本月确实没有请填 0。", row=r, column=column)
                return _INVALID
            shown = _as_text(raw).strip()
            what = f"填的是“{shown}”" if shown else "为空"
            self.note("normalised-blank-as-zero", f"本月数值{what}，按 0 记录（表示本月没有发生）。",
                      row=r, column=column, value=shown)
            return 0.0
        value = parsed * multiplier
        if multiplier != 1:
            self.note("normalised-wan", f"{self.at(r, column)}计量单位为万元，“{_as_text(raw)}”按 {_fmt(value)} 元记录。",
                      row=r, column=column, value=_as_text(raw), group=False)
        if value < 0:
            self.error("constraint-error", f"{self.at(r, column)}“{_as_text(raw)}”是负数。本月数值是本月新增数，不能为负；"
                       "如需更正以前月份的数，请重新上报那个月的文件。", row=r, column=column, value=_as_text(raw))
            return _INVALID
        if measure in COUNT_MEASURES and value != int(value):
            self.error("constraint-error", f"{self.at(r, column)}“{_as_text(raw)}”不是整数，“{metric.name}”按{measure}计数，"
                       "请填写整数。", row=r, column=column, value=_as_text(raw))
            return _INVALID
        if value > MAX_VALUE:
            self.error("constraint-error", f"{self.at(r, column)}“{_as_text(raw)}”数值过大，请核实。", row=r, column=column,
                       value=_as_text(raw))
            return _INVALID
        return float(value)

    def parse_number(self, r: int, raw: Any, measure: str | None, column: str) -> Any:
        """A value cell -> Decimal, None for blank, or _INVALID after recording the error."""
        if isinstance(raw, bool) or isinstance(raw, dt.date | dt.datetime | dt.time):
            self.error("type-error", f"{self.at(r, column)}“{_as_text(raw)}”不是数字（单元格是"
                       f"{'逻辑值' if isinstance(raw, bool) else '日期'}格式）。请把单元格设为“常规”或“数值”后填写数字。",
                       row=r, column=column, value=raw)
            return _INVALID
        if isinstance(raw, int | float):
            if raw != raw or raw in (float("inf"), float("-inf")):
                self.error("type-error", f"{self.at(r, column)}数值无效。", row=r, column=column, value=raw)
                return _INVALID
            return Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        original = _as_text(raw)
        text = _clean(original)
        if text.lower() in BLANK_WORDS:
            return None
        kinds = _clean_kinds(original, text)
        steps: list[str] = []
        body = text.replace(" ", "")
        currency = re.match(r"^(¥|￥|rmb|cny|人民币)", body, flags=re.I)
        if currency:
            body = body[currency.end():]
            steps.append("normalised-currency")
        multiplier = 1
        suffix_measure = None
        if body.endswith("万元"):
            body, multiplier, suffix_measure = body[:-2], 10_000, "元"
        else:
            m = re.search(r"([^\d.,+\-%])$", body)
            if m and m.group(1) in _SUFFIX_MEASURE:
                suffix_measure = _SUFFIX_MEASURE[m.group(1)]
                body = body[:-1]
            if body.endswith("万"):
                body, multiplier = body[:-1], 10_000
        if suffix_measure is not None:
            if measure is not None and suffix_measure != measure:
                self.error("unit-suffix-mismatch", f"{self.at(r, column)}“{original}”带的单位是“{suffix_measure}”，"
                           f"但这个事项按“{measure}”统计。请只填数字（按{measure}计）。", row=r, column=column,
                           value=original)
                return _INVALID
            steps.append("normalised-unit-suffix")
        if multiplier != 1:
            steps.append("normalised-wan")
        if body.startswith("+"):
            body = body[1:]
            steps.append("normalised-plus-sign")
        negative = body.startswith("-")
        if negative:
            body = body[1:]
        if "," in body:
            if _GROUPED_RE.match(body):
                body = body.replace(",", "")
                steps.append("normalised-thousands")
            else:
                self.error("type-error", f"{self.at(r, column)}“{original}”里的逗号位置不对，无法识别为数字。"
                           "请直接写数字，如 1000。", row=r, column=column, value=original)
                return _INVALID
        if not _NUMBER_RE.match(body):
            if any(ch in _CN_NUMERALS for ch in body):
                why = "是中文数字，系统不会猜测。请改用阿拉伯数字（如 50）。"
            elif re.match(r"^\d+(\.\d+)?e[+-]?\d+$", body, flags=re.I):
                why = "是科学计数法，Excel 保存 CSV 时可能已丢失精度。请把单元格设为“数值”格式，填写完整数字后重新保存。"
            elif body.startswith(("=", "@")):
                why = "是公式或特殊符号，不会被计算。请直接填写数字。"
            elif body.endswith("%"):
                why = "是百分比，本月数值应填实际数量。"
            elif measure is None:
                why = "不是数字。"
            elif parse_status(body) is not None:
                why = f"是状态词，但这个事项是按“{measure}”统计的数量，请填写数字。"
            else:
                why = f"不是数字。请只填写数字（按“{measure}”计），说明文字请写在备注里。"
            self.error("type-error", f"{self.at(r, column)}“{original}”{why}", row=r, column=column, value=original)
            return _INVALID
        try:
            number = Decimal(body)
        except InvalidOperation:
            self.error("type-error", f"{self.at(r, column)}“{original}”不是数字。", row=r, column=column, value=original)
            return _INVALID
        number = -number * multiplier if negative else number * multiplier
        if abs(number) > MAX_VALUE:
            # checked before the number is shown: "1" and 400 zeros has no float to format
            self.error("constraint-error", f"{self.at(r, column)}“{original}”数值超出范围（上限 {_fmt(MAX_VALUE)}），"
                       "请核实是否多打了数字。", row=r, column=column, value=original)
            return _INVALID
        messages = {
            "normalised-currency": "去掉了货币符号", "normalised-unit-suffix": "去掉了计量单位后缀",
            "normalised-wan": "“万”乘以 10000", "normalised-plus-sign": "去掉了 + 号",
            "normalised-thousands": "去掉了千位分隔符", "normalised-whitespace": "去掉了多余空格或特殊字符",
            "normalised-fullwidth": "全角字符转为半角",
        }
        shown = _fmt(float(number))
        for kind in kinds + steps:
            self.note(kind, f"{self.at(r, column)}“{original}”{messages[kind]}，按 {shown}"
                      f"{measure or ''} 记录。", row=r, column=column, value=original, group=False)
        return number

    def read_status(self, r: int, raw: Any, has_note: bool) -> Any:
        column = self.label("value")
        original = _as_text(raw)
        text = _clean(original)
        if text.lower() in BLANK_WORDS:
            if has_note:
                self.error("missing-value", f"{self.at(r, column)}备注有内容，但没有填写状态。请填写状态："
                           f"{'、'.join(STATUS_WORDS)}。", row=r, column=column)
                return _INVALID
            self.note("normalised-blank-status", "任务状态为空，本月不更新这些任务（保持上次报送的状态）。",
                      row=r, column=column, value=original.strip())
            return None
        status = parse_status(text)
        if status is None:
            self.error("status-error", f"{self.at(r, column)}“{original}”不是允许的状态。任务类事项只能填："
                       f"{'、'.join(STATUS_WORDS)}（也接受 完成、推进中、未启动、阻塞 等写法）。",
                       row=r, column=column, value=original)
            return _INVALID
        if status != original:
            self.note("normalised-status", f"状态“{original}”按“{status}”记录。", row=r, column=column, value=original)
        return status

    # -- total rows
    def read_total_row(self, r: int, get: dict[str, Any]) -> _Row:
        out = _Row(row=r, raw_value=_as_text(get.get("value")))
        item = _clean(_as_text(get.get("item"))).replace(" ", "")
        found = self._item_lookup().get(item.lower())
        if found and found[1] == "metric":
            out.item = found[0]
        self.silent = True
        try:
            parsed = self.parse_number(r, get.get("value"), None, self.label("value"))
        finally:
            self.silent = False
        out.usable = parsed is not _INVALID
        out.value = None if parsed in (None, _INVALID) else float(parsed)
        return out

    def check_totals(self, totals: list[_Row], parsed: list[_Row]) -> None:
        column = self.label("value")
        for total in totals:
            if not total.usable:
                self.error("total-row", f"第 {total.row} 行是合计行，但合计数“{total.raw_value}”无法识别。"
                           "请删除合计行（系统会自动汇总）。", row=total.row, column=column, value=total.raw_value)
                continue
            above = [p for p in parsed if p.row < total.row and p.kind == "metric" and p.value is not None
                     and (total.item is None or p.item == total.item)]
            expected = sum(p.value for p in above)
            if total.value is None:
                self.note("normalised-total-row", f"第 {total.row} 行是合计行（无数值），已去掉。", row=total.row,
                          column=column, group=False)
            elif abs(total.value - expected) < 0.005:
                self.note("normalised-total-row", f"第 {total.row} 行是合计行，合计 {_fmt(total.value)} 与上面各行之和一致，"
                          "已去掉（系统会自动汇总）。", row=total.row, column=column, value=total.raw_value, group=False)
            else:
                self.error("total-row", f"第 {total.row} 行是合计行，合计 {_fmt(total.value)} 与上面各行之和 {_fmt(expected)} "
                           "不一致。请删除合计行（系统会自动汇总），或核对各行数值。", row=total.row, column=column,
                           value=total.raw_value)

    # -- across rows
    def check_keys(self, parsed: list[_Row]) -> None:
        seen: dict[tuple, _Row] = {}
        for p in parsed:
            if not p.usable or p.item is None:
                continue
            key = (p.unit, p.month, p.item, p.category)
            first = seen.get(key)
            if first is None:
                seen[key] = p
                continue
            what = p.item + (f"（分类“{p.category}”）" if p.category else "")
            column = self.label("item")
            if (first.value, first.status) == (p.value, p.status):
                self.error("duplicate-row", f"第 {p.row} 行与第 {first.row} 行重复（{what}）。请删除其中一行。",
                           row=p.row, column=column, value=p.item)
            else:
                a = first.status or _fmt(first.value or 0)
                b = p.status or _fmt(p.value or 0)
                self.error("conflicting-row", f"第 {p.row} 行与第 {first.row} 行是同一事项{what}，但填了不同的值"
                           f"（{b} 和 {a}）。一个事项每月只填一行，请合并成一行。", row=p.row, column=column, value=p.item)
            p.usable = False

    def check_rates(self, parsed: list[_Row]) -> None:
        """A rate's two figures, where a file gives both for a unit and month: the denominator not 0,
        the numerator not above it (已分类户数 cannot exceed 总户数)."""
        rates = [m for m in self.plan.metrics.values() if m.is_rate]
        if not rates:
            return
        figures: dict[tuple, _Row] = {}
        for p in parsed:
            if p.usable and p.kind == "metric" and p.value is not None:
                figures.setdefault((p.unit, p.month, p.item), p)
        column = self.label("value")
        for rate in rates:
            part_name = {part: self.plan.metrics[part].name for part in (rate.numerator, rate.denominator)}
            for (unit, month, item), den in list(figures.items()):
                if item != rate.denominator:
                    continue
                num = figures.get((unit, month, rate.numerator))
                if den.value == 0 and num is not None and num.value:
                    self.error("constraint-error", f"{self.at(den.row, column)}“{part_name[rate.denominator]}”填了 0，"
                               f"但第 {num.row} 行“{part_name[rate.numerator]}”是 {_fmt(num.value)}，无法计算“{rate.name}”。"
                               f"请填写实际的{part_name[rate.denominator]}（分母不能为 0）。",
                               row=den.row, column=column, value=den.raw_value or _fmt(den.value))
                elif num is not None and num.value > den.value:
                    self.error("constraint-error", f"{self.at(num.row, column)}“{part_name[rate.numerator]}” "
                               f"{_fmt(num.value)} 大于第 {den.row} 行“{part_name[rate.denominator]}” {_fmt(den.value)}，"
                               f"“{rate.name}”会超过 100%。请核对这两个数：分子不能大于分母。",
                               row=num.row, column=column, value=num.raw_value or _fmt(num.value))

    def check_large(self, parsed: list[_Row]) -> None:
        totals: dict[tuple[str, str], list[_Row]] = {}
        for p in parsed:
            if p.usable and p.kind == "metric" and p.value and p.unit:
                totals.setdefault((p.unit, p.item or ""), []).append(p)
        for (unit, item), rows in totals.items():
            threshold = large_value_threshold(self.plan, item, unit)
            if threshold is None:
                continue
            limit, why = threshold
            value = sum(p.value or 0 for p in rows)
            if value > limit:
                metric = self.plan.metrics[item]
                biggest = max(rows, key=lambda p: p.value or 0)
                self.warn("large-value", f"{self.at(biggest.row, self.label('value'))}“{metric.name}”本月填报 {_fmt(value)} "
                          f"{metric.measure}，超过{why}。本月数值应是本月新增数，不是累计数；请核实是否误填了累计数或多打了 0。"
                          "确认无误后可以继续上报。", row=biggest.row, column=self.label("value"), value=_fmt(value))



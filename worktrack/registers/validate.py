"""Validating a register file: the monthly report's reading and value parsing, a register's columns.

A register file is one unit's register rows entered in one month (上报单位 and 月份 may be left
blank on every row when they were chosen at upload). Findings use the monthly report's catalogue
and locations (Excel row, header label); a report with any error carries no rows. ID numbers are
checked (length, date of birth, check character) and leave this module only as a keyed hash and a
masked form; a finding about an ID number shows the masked form, never the number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from worktrack.intake.files import _Table
from worktrack.intake.findings import IntakeReport
from worktrack.intake.validate import _INVALID, _Reader
from worktrack.intake.values import (
    BLANK_WORDS,
    HEADER_SEARCH_ROWS,
    _as_text,
    _clean,
    _column_letter,
    _fold_label,
    _Formula,
    parse_date,
)
from worktrack.plan import Plan
from worktrack.registers.identity import (
    ID_NUMBER_PATTERN,
    id_number_problem,
    mask_id_number,
    normalise_id_number,
    person_key,
)
from worktrack.registers.kinds import KINDS, RegisterKind, header_aliases


@dataclass(frozen=True)
class RegisterRow:
    """One accepted register row, with personal data already reduced to a hash and masked forms."""

    reporting_unit: str
    month: str  # YYYY-MM: the month the row was filed in
    row: int  # Excel row number in the source file
    person_key: str | None  # HMAC of the ID number (retrofit, help); None for donations
    id_masked: str | None
    person_name: str  # the elder, the person helped, or the donor ("匿名" for anonymous donors)
    category: str  # 对象类别 / 募集渠道 / 帮扶类别
    event_date: dt.date | None  # acceptance / donation / help date; None: a retrofit not yet accepted
    cash: float | None
    goods_value: float | None
    fields: dict[str, str] = field(default_factory=dict)  # every other column, as text


@dataclass
class RegisterReport(IntakeReport):
    """An IntakeReport whose rows are RegisterRows, with the register kind it was read as."""

    kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = super().as_dict()
        out["kind"] = self.kind
        out["rows"] = [{**asdict(r), "event_date": r.event_date.isoformat() if r.event_date else None}
                       for r in self.rows]
        return out


def _month_end(month: str) -> dt.date:
    year, number = int(month[:4]), int(month[5:])
    first_next = dt.date(year + number // 12, number % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


class RegisterReader(_Reader):
    """The monthly report's reader with a register's columns and row checks."""

    def __init__(self, data: bytes, filename: str, plan: Plan, kind: RegisterKind, key: bytes, *,
                 unit: str | None, month: str | None, uploader_unit: str | None, max_bytes: int):
        super().__init__(data, filename, plan, unit, month, uploader_unit, max_bytes)
        self.kind, self.key = kind, key
        self.column_order = tuple(c.key for c in kind.columns)
        self.column_labels = kind.labels
        self.header_aliases = header_aliases(kind)
        self.required_columns = tuple(c.key for c in kind.columns if c.required)
        metric = plan.metric_for_register(kind.id)
        self.plan_choices = plan.categories(metric.id) if metric is not None else ()
        report = RegisterReport(file=self.report.file, sha256=self.report.sha256, size=self.report.size, kind=kind.id)
        self.report = report

    def find_header(self, rows: list[tuple[int, list[Any]]]) -> int | None:
        best, best_hits = None, 1
        for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
            hits = {self.header_aliases.get(_fold_label(c)[0]) for c in cells if isinstance(c, str) and c.strip()}
            hits.discard(None)
            if len(hits) > best_hits:
                best, best_hits = index, len(hits)
        return best

    def read_rows(self, data_rows: list[tuple[int, list[Any]]], columns: dict[str, int], width: int,
                  table: _Table) -> None:
        # A row holding nothing but the pre-filled unit and month is an unused template line.
        content_columns = [i for c, i in columns.items() if c not in ("reporting_unit", "month")]
        unmapped = [i for i in range(width) if i not in columns.values()]

        def has_content(cells: list[Any]) -> bool:
            return any(i < len(cells) and _as_text(cells[i]).strip() for i in content_columns + unmapped)

        rows = [(r, cells) for r, cells in data_rows if has_content(cells)]
        if not rows:
            self.error("no-data", f"文件只有表头，没有登记任何一行。请在表头下面逐行填写{self.kind.title}后再上传。")
            return
        accepted: list[RegisterRow] = []
        seen: dict[tuple, int] = {}
        for r, cells in rows:
            if r in self.quote_broken or r in self.merged_value_rows:
                continue
            if any(_as_text(c).strip() for c in cells[width:]):
                first_extra = next(i for i in range(width, len(cells)) if _as_text(cells[i]).strip())
                self.error("extra-cell", f"第 {r} 行有内容超出了表头的范围（表头 {width} 列），各列可能错位了。"
                           "常见原因是数字里的千位逗号没加引号（如 1,000），请写成 1000；或给多出的列加上列名。",
                           row=r, column=_column_letter(first_extra))
                continue
            get = {c: (cells[i] if i < len(cells) else None) for c, i in columns.items()}
            row = self.read_register_row(r, get, table)
            if row is None:
                continue
            key = self.duplicate_key(row)
            if key is not None and key in seen:
                what = {"retrofit_register": "同一户（同一身份证号）", "donation_register": "同一收据编号",
                        "help_register": "同一人同一天同一类别的帮扶"}[self.kind.id]
                column = self.label("receipt" if self.kind.id == "donation_register" else "id_number")
                self.error("duplicate-row", f"第 {r} 行与第 {seen[key]} 行是{what}，重复登记。请删除其中一行。",
                           row=r, column=column, value=row.fields.get("receipt") or row.id_masked)
                continue
            if key is not None:
                seen[key] = r
            accepted.append(row)
        if not self.report.errors:
            self.report.rows = accepted
        self.report.reporting_unit = self.file_unit or self.report.reporting_unit
        self.report.month = self.file_month or self.report.month

    def duplicate_key(self, row: RegisterRow) -> tuple | None:
        if self.kind.id == "retrofit_register":
            return (row.person_key,)
        if self.kind.id == "donation_register":
            return (row.fields.get("receipt"),)
        return (row.person_key, row.event_date, row.category)

    def read_register_row(self, r: int, get: dict[str, Any], table: _Table) -> RegisterRow | None:
        errors_before = len(self.report.errors)
        for column, raw in list(get.items()):
            if isinstance(raw, _Formula):
                get[column] = self.read_formula(r, column, raw, table)
                if get[column] is _INVALID:
                    return None
        unit = self.file_unit if not _as_text(get.get("reporting_unit")).strip() and self.file_unit else \
            self.read_unit(r, get.get("reporting_unit"))
        month = self.file_month if not _as_text(get.get("month")).strip() and self.file_month else \
            self.read_month(r, get.get("month"))
        values: dict[str, Any] = {}
        for column in self.kind.columns:
            if column.key in ("reporting_unit", "month"):
                continue
            values[column.key] = self.read_cell(r, column, get.get(column.key))
        if len(self.report.errors) > errors_before or unit is None or month is None:
            return None
        if not self.check_row(r, values, month):
            return None
        id_number = values.get("id_number")
        return RegisterRow(
            reporting_unit=unit, month=month, row=r,
            person_key=person_key(id_number, self.key) if id_number else None,
            id_masked=mask_id_number(id_number) if id_number else None,
            person_name=values.get("person_name") or values.get("donor") or "",
            category=values.get("category") or "",
            event_date=values.get("event_date"),
            cash=float(values["cash"]) if values.get("cash") is not None else None,
            goods_value=float(values["goods_value"]) if values.get("goods_value") is not None else None,
            fields={k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in values.items()
                    if k not in ("id_number", "person_name", "donor", "category", "event_date", "cash", "goods_value")
                    and v not in (None, "")})

    def read_cell(self, r: int, column: Any, raw: Any) -> Any:
        """One cell of a register row -> its value, None for blank, or _INVALID after recording the error."""
        label = self.label(column.key)
        original = _as_text(raw)
        text = _clean(original)
        blank = text.lower() in BLANK_WORDS
        if blank:
            if column.required:
                self.error("missing-value", f"{self.at(r, label)}“{column.label}”为空，这一列必填。"
                           + (f"（{column.hint}）" if column.hint else ""), row=r, column=label)
                return _INVALID
            return None
        if column.kind in ("text", "name", "note"):
            # An ID number typed into a free-text column would be stored in clear: refused.
            for match in ID_NUMBER_PATTERN.finditer(text):
                if id_number_problem(normalise_id_number(match.group())) is None:
                    masked = mask_id_number(normalise_id_number(match.group()))
                    self.error("id-number-error", f"{self.at(r, label)}这一列里有身份证号（{masked}）。身份证号只能填在"
                               "“身份证号”列（系统只保存加密哈希和遮挡号码）；请从这一列删除。", row=r, column=label,
                               value=masked)
                    return _INVALID
        if column.kind == "note":
            return self.read_note(r, raw)
        if column.kind in ("text", "name"):
            return text
        if column.kind == "id_number":
            id_number = normalise_id_number(text)
            problem = id_number_problem(id_number)
            if problem is not None:
                # The finding shows the masked form: findings are printed, logged and kept in reports.
                self.error("id-number-error", f"{self.at(r, label)}身份证号 {mask_id_number(id_number)} 无效：{problem}。"
                           "请对照身份证逐位核对后重新填写（18 位，末位可为 X）。", row=r, column=label,
                           value=mask_id_number(id_number))
                return _INVALID
            return id_number
        if column.kind in ("choice", "plan_choice"):
            choices = column.choices if column.kind == "choice" else self.plan_choices
            if not choices:
                return text
            folded = {c.replace(" ", "").lower(): c for c in choices}
            found = folded.get(text.replace(" ", "").lower())
            if found is None:
                self.error("unknown-choice", f"{self.at(r, label)}“{original}”不是允许的{column.label}，可选："
                           f"{'、'.join(choices)}。", row=r, column=label, value=original)
                return _INVALID
            return found
        if column.kind == "money":
            number = self.parse_number(r, raw, "元", label)
            if number is _INVALID or number is None:
                return number
            if number < 0:
                self.error("constraint-error", f"{self.at(r, label)}“{original}”是负数，金额不能为负。", row=r,
                           column=label, value=original)
                return _INVALID
            return Decimal(number)
        if column.kind == "date":
            day = parse_date(raw)
            if day is None:
                self.error("date-error", f"{self.at(r, label)}“{original}”无法识别为日期，请写成 2023-06-15"
                           "（也接受 2023/6/15、2023年6月15日）。", row=r, column=label, value=original)
                return _INVALID
            return day
        raise ValueError(f"unknown column kind {column.kind!r}")

    def check_row(self, r: int, values: dict[str, Any], month: str) -> bool:
        """Checks across the cells of one row."""
        ok = True
        day = values.get("event_date")
        if day is not None and day > _month_end(month):
            label = self.label("event_date")
            self.error("date-error", f"{self.at(r, label)}{day.isoformat()} 晚于登记月份 {month}。"
                       "台账只登记已经发生的事；请核对日期，或在那个月再登记。", row=r, column=label, value=day.isoformat())
            ok = False
        if self.kind.id == "donation_register":
            if values.get("cash") is None and values.get("goods_value") is None:
                self.error("missing-value", f"第 {r} 行：现金金额和物资折价都为空。捐现金的填现金金额，"
                           "捐物资的填物资名称和物资折价。", row=r, column=self.label("cash"))
                ok = False
            if values.get("goods_value") is not None and not values.get("goods"):
                self.error("missing-value", f"第 {r} 行：填了物资折价，但物资名称为空。", row=r,
                           column=self.label("goods"))
                ok = False
            donor_type, donor = values.get("donor_type"), values.get("donor") or ""
            if donor_type == "匿名" and donor != "匿名" or donor == "匿名" and donor_type != "匿名":
                self.error("unknown-choice", f"第 {r} 行：匿名捐赠的捐赠方和捐赠方类型都应写“匿名”。", row=r,
                           column=self.label("donor_type"), value=donor_type)
                ok = False
        if self.kind.id == "help_register" and values.get("cash") is None and not values.get("service"):
            self.error("missing-value", f"第 {r} 行：帮扶金额和服务内容都为空，请至少填写一项。", row=r,
                       column=self.label("cash"))
            ok = False
        return ok


def header_labels_of(rows: list[tuple[int, list[Any]]]) -> set[str]:
    """Every folded label in the first rows of a table: what kind detection looks at."""
    labels = set()
    for _, cells in rows[:HEADER_SEARCH_ROWS]:
        labels.update(_fold_label(c)[0] for c in cells if isinstance(c, str) and c.strip())
    return labels


def kind_of_labels(labels: set[str]) -> str | None:
    """The register whose signature columns all appear among the labels; when several do (English
    aliases overlap), the one naming the most of its columns; None when that is still a tie."""
    found = []
    for kind in KINDS.values():
        aliases = header_aliases(kind)
        present = {aliases[label] for label in labels if label in aliases}
        if all(key in present for key in kind.signature):
            found.append((len(present), kind.id))
    found.sort(reverse=True)
    if not found or len(found) > 1 and found[0][0] == found[1][0]:
        return None
    return found[0][1]

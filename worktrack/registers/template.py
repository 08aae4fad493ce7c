"""Register templates: CSV (a title line above the header) and XLSX (drop-downs and a 填表说明 sheet).

Both read back through `read_register` without errors once rows are filled in. The unit and month
are pre-filled on the first lines; a line with nothing else on it is an unused line, not a row.
Output is deterministic: the same plan, kind, unit and month give the same bytes.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from worktrack.plan import Plan
from worktrack.registers.kinds import KINDS, RegisterKind
from worktrack.template import CONTINUE, stable_xlsx

PREFILLED_LINES = {"csv": 20, "xlsx": 200}


def _choices(plan: Plan, kind: RegisterKind, key: str) -> tuple[str, ...]:
    column = kind.column(key)
    if column.kind == "choice":
        return column.choices
    metric = plan.metric_for_register(kind.id)
    return plan.categories(metric.id) if metric is not None else ()


def instructions(plan: Plan, kind: RegisterKind, unit_name: str, month: str) -> list[str]:
    """The lines of the XLSX 填表说明 sheet."""
    year, mon = month.split("-")
    lines = [f"{unit_name} {int(year)}年{int(mon)}月 {kind.title} 填表说明",
             "1. 每行登记一条：" + {"retrofit_register": "一户改造", "donation_register": "一笔捐赠",
                                    "help_register": "一次帮扶"}[kind.id] + "。不要写合计行，不要合并单元格。",
             "2. 上报单位、月份已预先填好；只有这两列有内容的行不算登记。"]
    if any(c.kind == "id_number" for c in kind.columns):
        lines.append("3. 身份证号填 18 位（末位可为 X），上传时会逐位核对。系统只保存加密后的哈希和遮挡后的号码"
                     "（如 4301**********1234），不保存完整号码；姓名对外显示为 张*明。")
    if kind.id == "retrofit_register":
        lines.append("4. 验收日期填验收通过的日期；未验收的留空，不计入户数。同一户只计一次：上月已报过的户本月再登记，"
                     "不会重复计数。")
    if kind.id == "donation_register":
        lines.append("4. 现金填现金金额；物资填物资名称和折价（元）。匿名捐赠的捐赠方和捐赠方类型都写“匿名”。"
                     "收据编号在本社区内不能重复。")
    if kind.id == "help_register":
        lines.append("4. 帮扶金额和服务内容至少填一项。同一人全年只计一人次，跨月、跨社区都不重复计数。")
    lines.append("各列说明：")
    for column in kind.columns:
        need = "必填" if column.required else "选填"
        options = _choices(plan, kind, column.key)
        extra = f"；可选：{'、'.join(options)}" if options else ""
        lines.append(f"  {column.label}（{need}）{('：' + column.hint) if column.hint else ''}{extra}")
    return lines


def build_register_template(plan: Plan, kind_id: str, unit_name: str, month: str,
                            fmt: Literal["csv", "xlsx"] = "csv") -> bytes:
    """The template of one register for a unit and month, as CSV or XLSX bytes."""
    kind = KINDS[kind_id]
    if fmt == "xlsx":
        return _build_xlsx(plan, kind, unit_name, month)
    year, mon = month.split("-")
    labels = [c.label for c in kind.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"{unit_name}{int(year)}年{int(mon)}月{kind.title}（每行登记一条；身份证号只保存加密哈希和遮挡号码）"]
                    + [""] * (len(labels) - 1))
    writer.writerow(labels)
    for _ in range(PREFILLED_LINES["csv"]):
        writer.writerow([unit_name, month] + [""] * (len(labels) - 2))
    return buffer.getvalue().encode("utf-8-sig")


def _build_xlsx(plan: Plan, kind: RegisterKind, unit_name: str, month: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = kind.title
    sheet.append([c.label for c in kind.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    lines = PREFILLED_LINES["xlsx"]
    for _ in range(lines):
        sheet.append([unit_name, month])
    last = lines + 1
    for index, column in enumerate(kind.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, 2 * len(column.label) + 4)
        cells = f"{letter}2:{letter}{last}"
        if column.kind in ("text", "name", "id_number", "unit", "month", "note"):
            for row in range(2, last + 1):
                sheet[f"{letter}{row}"].number_format = "@"  # an ID number must stay text, not 4.3E+17
        options = _choices(plan, kind, column.key)
        rule = None
        if options and len(",".join(options)) <= 250:
            rule = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                                  errorStyle="warning", showErrorMessage=True, errorTitle=f"请核对{column.label}",
                                  error=f"可选：{'、'.join(options)}。{CONTINUE}")
        elif column.kind == "money":
            rule = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                  errorStyle="warning", showErrorMessage=True, errorTitle="请核对金额",
                                  error=f"填金额（元），如 1200。{CONTINUE}")
        elif column.kind == "id_number":
            rule = DataValidation(type="textLength", operator="equal", formula1="18", allow_blank=True,
                                  errorStyle="warning", showErrorMessage=True, errorTitle="请核对身份证号",
                                  error=f"身份证号应为 18 位。{CONTINUE}")
        if rule is not None:
            sheet.add_data_validation(rule)
            rule.add(cells)
    sheet.freeze_panes = "A2"
    guide = workbook.create_sheet("填表说明")
    guide.column_dimensions["A"].width = 110
    for index, line in enumerate(instructions(plan, kind, unit_name, month), start=1):
        cell = guide.cell(row=index, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if index == 1:
            cell.font = Font(bold=True, size=13)
    workbook.properties.creator = "街道民政办"
    workbook.properties.title = f"{unit_name} {month} {kind.title}模板"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return stable_xlsx(buffer.getvalue())

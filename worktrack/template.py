"""The monthly report template: one pre-filled row per item (and category) a unit reports, CSV or XLSX.

Both formats read back through `intake.read_report` without errors once the values are filled in.
The CSV carries its explanation in a title line above the header (intake finds the header by its
labels and skips that line); the XLSX carries it in a second sheet 填表说明 and a comment on the
本月数值 header. Output is deterministic: the same plan, unit and month give the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping
from typing import Literal

from worktrack.plan import STATUS_WORDS, Plan, TemplateRow

TEMPLATE_COLUMNS = ("上报单位", "月份", "编号", "事项", "计量单位", "本月数值", "分类", "备注")
STATUS_MEASURE = "状态"  # what the 计量单位 column shows on task rows
CONTINUE = "确实要这样填，请点“是”。"  # Excel's warning dialog asks 是/否/取消

VALUE_HELP = ("本月数值填本月新增（当月发生）的数量，不是累计数，系统会自动累计。"
              f"任务类事项（计量单位为“{STATUS_MEASURE}”）填状态：{'、'.join(STATUS_WORDS)}。"
              "本月没有的数量可以留空（按 0 记录）；任务状态留空表示本月不更新。")


def instructions(plan: Plan, unit_name: str, month: str) -> list[str]:
    """The lines of the XLSX 填表说明 sheet."""
    year, mon = month.split("-")
    lines = [
        f"{unit_name} {int(year)}年{int(mon)}月 工作进展月报 填表说明",
        "1. 本月数值填本月新增（当月发生）的数量，不是累计数，系统会自动累计。例如本月完成 2 户适老化改造，就填 2。",
        f"2. 任务类事项（计量单位一列显示“{STATUS_MEASURE}”）在本月数值一列填状态：{'、'.join(STATUS_WORDS)}。",
        "3. 数量只填数字，如 5、12000（也可写 5户、1.2万元，系统会自动换算；Excel 弹出提示时点“是”即可）；"
        "不要写中文数字（如 五十）。",
        "4. 本月没有发生的数量可以留空，按 0 记录；任务状态留空表示本月不更新，保持上次报送的状态。"
        "如果填了备注，就必须填写数值或状态。",
        "5. 有分类的指标（募集渠道、帮扶类别）每个分类一行，只填本月有发生的分类。",
        "6. 不要修改上报单位、月份、编号、分类四列，不要增加合计行，不要合并单元格。",
        "7. 备注可填写佐证材料说明（如活动名称、文件名），不超过 500 字。",
        f"8. 填好后保存为 .xlsx 或 CSV 文件，在看板“上报”页面上传；每月 {plan.report_due_day} 日前报送上月数据。",
    ]
    measures = sorted({m.measure for m in plan.metrics_for_unit(unit_name)})
    if measures:
        lines.append(f"9. 计量单位：{'、'.join(measures)}（数量），{STATUS_MEASURE}（任务）。")
    return lines


def template_filename(unit_name: str, month: str, fmt: str = "csv") -> str:
    """A file name staff recognise: 天剑社区-2023-06-月报.xlsx."""
    return f"{unit_name}-{month}-月报.{fmt}"


# The note on a row whose figure is counted from the unit's register (worktrack.registers.monthly).
REGISTER_NOTE = "由台账统计（只读，改了也不计入）"


def _shown_number(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:g}"


def _rows(plan: Plan, unit_name: str, month: str, prefilled: Mapping[tuple[str, str], float] | None = None
          ) -> list[tuple[TemplateRow, list[str]]]:
    prefilled = prefilled or {}
    rows = []
    for row in plan.template_rows(unit_name):
        counted = prefilled.get((row.item, row.category or ""))
        value, note = ("", "") if counted is None else (_shown_number(counted), REGISTER_NOTE)
        rows.append((row, [unit_name, month, row.item, row.name, row.measure, value, row.category, note]))
    return rows


def _resolve(plan: Plan, unit_name: str, month: str) -> tuple[str, str]:
    from worktrack.intake import parse_month

    unit = plan.find_unit(unit_name)
    if unit is None:
        raise ValueError(f"不认识的单位“{unit_name}”，可选：{'、'.join(plan.unit_names)}")
    parsed = parse_month(month)
    if parsed is None:
        raise ValueError(f"月份“{month}”无法识别，请写成 2023-06 这样的形式")
    return unit.name, parsed


def build_template(plan: Plan, unit_name: str, month: str, fmt: Literal["csv", "xlsx"] = "csv",
                   prefilled: Mapping[tuple[str, str], float] | None = None) -> bytes:
    """The pre-filled monthly template for one unit and month; raises ValueError on an unknown unit/month.

    prefilled: (item, category) -> a figure counted from the unit's registers
    (`registers.monthly.prefilled_values`): written in, noted read-only, locked in the XLSX.
    """
    unit_name, month = _resolve(plan, unit_name, month)
    if fmt == "csv":
        return _build_csv(plan, unit_name, month, prefilled)
    if fmt == "xlsx":
        return _build_xlsx(plan, unit_name, month, prefilled)
    raise ValueError(f"不支持的格式“{fmt}”，只能是 csv 或 xlsx")


def _build_csv(plan: Plan, unit_name: str, month: str, prefilled: Mapping[tuple[str, str], float] | None = None
               ) -> bytes:
    year, mon = month.split("-")
    title = (f"{unit_name}{int(year)}年{int(mon)}月工作进展月报（{VALUE_HELP}"
             "不要修改上报单位、月份、编号、分类列）")
    if prefilled:
        title += f"。备注为“{REGISTER_NOTE}”的行已按台账填好，不要修改"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([title] + [""] * (len(TEMPLATE_COLUMNS) - 1))
    writer.writerow(TEMPLATE_COLUMNS)
    for _, cells in _rows(plan, unit_name, month, prefilled):
        writer.writerow(cells)
    # Excel opens a UTF-8 CSV correctly only with a BOM; it writes CRLF line ends itself.
    return buffer.getvalue().encode("utf-8-sig")


def _build_xlsx(plan: Plan, unit_name: str, month: str, prefilled: Mapping[tuple[str, str], float] | None = None
                ) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "月报"
    thin = Side(style="thin", color="A6A6A6")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append(list(TEMPLATE_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = border
    sheet.row_dimensions[1].height = 24
    value_header = sheet.cell(row=1, column=TEMPLATE_COLUMNS.index("本月数值") + 1)
    value_header.comment = Comment(VALUE_HELP, "街道民政办", width=320, height=140)
    measure_header = sheet.cell(row=1, column=TEMPLATE_COLUMNS.index("计量单位") + 1)
    measure_header.comment = Comment(f"数量按这一列的单位填写（户、元、人、篇、次、个）；“{STATUS_MEASURE}”"
                                     "表示任务，在本月数值一列选择状态。", "街道民政办", width=300, height=100)

    input_fill = PatternFill("solid", fgColor="FFF2CC")
    fixed_font = Font(color="595959")
    status_cells: list[str] = []
    count_cells: list[str] = []
    amount_cells: list[str] = []
    category_cells: dict[str, list[str]] = {}
    value_col = TEMPLATE_COLUMNS.index("本月数值") + 1
    category_col = TEMPLATE_COLUMNS.index("分类") + 1
    register_fill = PatternFill("solid", fgColor="D9D9D9")
    locked_rows = 0
    for row_number, (row, cells) in enumerate(_rows(plan, unit_name, month, prefilled), start=2):
        from_register = cells[-1] == REGISTER_NOTE
        if from_register:
            cells = [*cells[:value_col - 1], float(cells[value_col - 1]), *cells[value_col:]]
        sheet.append(cells)
        for col, cell in enumerate(sheet[row_number], start=1):
            cell.border = border
            cell.number_format = "@" if col != value_col or row.kind == "task" else "General"
            if from_register:
                cell.fill, cell.font = register_fill, fixed_font
            elif col == value_col:
                cell.fill = input_fill
            elif col != len(TEMPLATE_COLUMNS):
                cell.font = fixed_font
            if prefilled and not from_register and col in (value_col, len(TEMPLATE_COLUMNS)):
                cell.protection = Protection(locked=False)  # the protected sheet leaves these open
        coordinate = sheet.cell(row=row_number, column=value_col).coordinate
        if from_register:
            locked_rows += 1
        elif row.kind == "task":
            status_cells.append(coordinate)
        elif plan.metrics[row.item].is_count:
            count_cells.append(coordinate)
        else:
            amount_cells.append(coordinate)
        if row.category:
            dimension = plan.metrics[row.item].dimension or ""
            category_cells.setdefault(dimension, []).append(
                sheet.cell(row=row_number, column=category_col).coordinate)

    # Every rule is a warning, never a refusal: intake accepts more than a strict Excel rule would
    # (5户, 1.2万元, 12,000, 完成 for 已完成, "99 公益日"), and the 填表说明 says so. Excel (and WPS) then
    # ask "continue?" for an unusual entry; the upload check has the last word, with row and column.
    def validate(cells: list[str], **options) -> None:
        if not cells:
            return
        rule = DataValidation(allow_blank=True, showErrorMessage=True, showInputMessage=True,
                              errorStyle="warning", **options)
        sheet.add_data_validation(rule)
        for coordinate in cells:
            rule.add(coordinate)

    validate(status_cells, type="list", formula1='"' + ",".join(STATUS_WORDS) + '"', errorTitle="请核对状态",
             error=f"任务状态填：{'、'.join(STATUS_WORDS)}（写成“完成”“推进中”等常见说法也可以，上传时会自动识别）。"
                   f"{CONTINUE}", promptTitle="任务状态", prompt="从下拉列表选择本月状态；本月无变化可留空")
    validate(count_cells, type="whole", operator="greaterThanOrEqual", formula1="0", errorTitle="请核对数量",
             error=f"填本月新增数量（不是累计数），如 5；写成 5户 也可以，上传时会自动换算。不要写中文数字（如 五十）。"
                   f"{CONTINUE}", promptTitle="本月新增", prompt="填本月新增数量，不是累计数；如 5（也可写 5户）")
    validate(amount_cells, type="decimal", operator="greaterThanOrEqual", formula1="0", errorTitle="请核对金额",
             error=f"填本月新增金额（元，不是累计数），如 12000；写成 1.2万元、12,000元 也可以，上传时会自动换算。"
                   f"{CONTINUE}", promptTitle="本月新增（元）",
             prompt="填本月新增金额，单位元，不是累计数；如 12000（也可写 1.2万元）")
    for dimension, cells in category_cells.items():
        values = plan.dimensions[dimension].values
        if len(",".join(values)) > 250:  # Excel's limit for an inline list; the cells stay pre-filled anyway
            continue
        validate(cells, type="list", formula1='"' + ",".join(values) + '"', errorTitle="请核对分类",
                 error=f"分类已预先填好，请不要修改；可选：{'、'.join(values)}。{CONTINUE}")

    for col, width in enumerate((12, 10, 24, 44, 10, 12, 14, 40), start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=col).column_letter].width = width
    sheet.freeze_panes = "A2"
    sheet.sheet_view.zoomScale = 110
    if locked_rows:
        # Rows counted from a register are read-only: the sheet is protected (no password) with every
        # other value and note cell left open, so Excel and WPS refuse typing over a register's count.
        sheet.protection.sheet = True
        sheet.protection.formatColumns = False
        sheet.protection.formatRows = False

    guide = workbook.create_sheet("填表说明")
    guide.column_dimensions["A"].width = 110
    lines = instructions(plan, unit_name, month)
    if locked_rows:
        lines.append(f"10. 灰色的 {locked_rows} 行由本单位的台账统计（备注为“{REGISTER_NOTE}”），已填好且不能修改；"
                     "台账有变化请重新上传台账，不要在月报里改数。")
    for index, line in enumerate(lines, start=1):
        cell = guide.cell(row=index, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if index == 1:
            cell.font = Font(bold=True, size=13)
    workbook.properties.creator = "街道民政办"
    workbook.properties.title = f"{unit_name} {month} 月报模板"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return stable_xlsx(buffer.getvalue())


_STAMP = "2000-01-01T00:00:00Z"


def stable_xlsx(data: bytes) -> bytes:
    """Rewrite an openpyxl XLSX so the bytes depend only on its content (fixed times, fixed order)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                                 rb"\g<1>" + _STAMP.encode() + rb"\g<3>", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            target.writestr(fixed, content)
    return out.getvalue()

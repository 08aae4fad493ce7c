"""Monthly templates: what staff download, and that every one reads back cleanly once filled in."""

from __future__ import annotations

import csv
import io
import json

import pytest

from worktrack.cli import main
from worktrack.intake import read_report
from worktrack.plan import STATUS_WORDS
from worktrack.template import TEMPLATE_COLUMNS, build_template, template_filename

MONTH = "2023-06"
UNITS = ["黄土岭社区", "夏家冲社区", "天剑社区", "涂新社区", "赤岭路社区", "狮子山社区", "街道民政办"]


def fill_value(plan, item: str, kind: str, index: int) -> object:
    if kind == "task":
        return STATUS_WORDS[index % len(STATUS_WORDS)]
    return 1 if plan.metrics[item].is_count else 250


def filled_csv(plan, unit: str, *, excel_dates: bool = False) -> bytes:
    """Open the CSV template, type a value on every row, save it again as 'CSV UTF-8'."""
    text = build_template(plan, unit, MONTH, "csv").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    for index, cells in enumerate(lines[2:]):
        cells[5] = str(fill_value(plan, cells[2], "task" if cells[4] == "状态" else "metric", index))
        if excel_dates:
            cells[1] = "2023/6/1"  # what Excel in a Chinese locale writes back for 2023-06
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return out.getvalue().encode("utf-8-sig")


def filled_xlsx(plan, unit: str) -> bytes:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(build_template(plan, unit, MONTH, "xlsx")))
    sheet = workbook["月报"]
    for index, cells in enumerate(sheet.iter_rows(min_row=2)):
        cells[5].value = fill_value(plan, cells[2].value, "task" if cells[4].value == "状态" else "metric", index)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "csv-excel-dates"])
def test_filled_template_reads_back_without_errors(plan, unit, fmt):
    if fmt == "xlsx":
        data = filled_xlsx(plan, unit)
    else:
        data = filled_csv(plan, unit, excel_dates=fmt == "csv-excel-dates")
    report = read_report(data, template_filename(unit, MONTH, fmt[:4].rstrip("-")), plan, unit=unit, month=MONTH,
                         uploader_unit=unit)
    assert report.ok, report.flat()
    assert not report.warnings, report.flat("warnings")
    template_rows = plan.template_rows(unit)
    assert len(report.rows) == len(template_rows)
    assert [(r.item, r.category) for r in report.rows] == [(t.item, t.category) for t in template_rows]
    for index, (fact, template_row) in enumerate(zip(report.rows, template_rows, strict=True)):
        expected = fill_value(plan, template_row.item, template_row.kind, index)
        assert (fact.status if template_row.kind == "task" else fact.value) == expected
        assert (fact.reporting_unit, fact.month) == (unit, MONTH)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("unit", ["天剑社区", "街道民政办"])
def test_blank_template_reads_back_and_asks_for_confirmation(plan, unit, fmt):
    report = read_report(build_template(plan, unit, MONTH, fmt), f"t.{fmt}", plan, unit=unit, month=MONTH)
    assert report.ok, report.flat()
    assert report.flat("warnings") == [("empty-report", None, None)]


def test_csv_template_is_what_excel_expects(plan):
    data = build_template(plan, "天剑社区", MONTH, "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    body = data[3:]
    assert body.count(b"\r\n") == body.count(b"\n") and body.endswith(b"\r\n")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    title, header, *rows = lines
    assert "本月新增" in title[0] and "不是累计数" in title[0] and all(w in title[0] for w in STATUS_WORDS)
    assert tuple(header) == TEMPLATE_COLUMNS
    template_rows = plan.template_rows("天剑社区")
    assert [(r[2], r[6]) for r in rows] == [(t.item, t.category) for t in template_rows]
    assert all(r[0] == "天剑社区" and r[1] == MONTH and r[5] == "" for r in rows)
    assert {r[4] for r in rows} == {"户", "元", "人", "篇", "次", "个", "状态"}
    assert all(r[4] == "状态" for r, t in zip(rows, template_rows, strict=True) if t.kind == "task")


def test_xlsx_template_layout(plan):
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(build_template(plan, "天剑社区", MONTH, "xlsx")))
    assert workbook.sheetnames == ["月报", "填表说明"]
    sheet = workbook["月报"]
    assert tuple(c.value for c in sheet[1]) == TEMPLATE_COLUMNS
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["D"].width > 20 and sheet.column_dimensions["H"].width > 20
    comment = sheet["F1"].comment
    assert comment is not None and "不是累计数" in comment.text and all(w in comment.text for w in STATUS_WORDS)
    template_rows = plan.template_rows("天剑社区")
    assert sheet.max_row == len(template_rows) + 1
    rules = sheet.data_validations.dataValidation
    status_rule = next(r for r in rules if r.type == "list" and "进行中" in r.formula1)
    task_cells = {f"F{i}" for i, t in enumerate(template_rows, start=2) if t.kind == "task"}
    assert {str(c) for rng in status_rule.sqref.ranges for c in _cells(rng)} == task_cells
    channel_rule = next(r for r in rules if r.type == "list" and "99公益日" in r.formula1)
    fund_cells = {f"G{i}" for i, t in enumerate(template_rows, start=2) if t.item == "fund_raised_yuan"}
    assert {str(c) for rng in channel_rule.sqref.ranges for c in _cells(rng)} == fund_cells
    assert any(r.type == "whole" for r in rules) and any(r.type == "decimal" for r in rules)
    guide = workbook["填表说明"]
    text = "\n".join(str(c.value) for c in guide["A"] if c.value)
    assert "不是累计数" in text and "留空" in text and all(w in text for w in STATUS_WORDS)


def _cells(cell_range):
    from openpyxl.utils import get_column_letter

    for row in range(cell_range.min_row, cell_range.max_row + 1):
        for col in range(cell_range.min_col, cell_range.max_col + 1):
            yield f"{get_column_letter(col)}{row}"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_templates_are_deterministic(plan, fmt):
    assert build_template(plan, "天剑社区", MONTH, fmt) == build_template(plan, "天剑", "2023/6", fmt)


def test_build_template_rejects_unknown_unit_month_and_format(plan):
    with pytest.raises(ValueError, match="不认识的单位"):
        build_template(plan, "火星社区", MONTH)
    with pytest.raises(ValueError, match="无法识别"):
        build_template(plan, "天剑社区", "六月")
    with pytest.raises(ValueError, match="不支持的格式"):
        build_template(plan, "天剑社区", MONTH, "pdf")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# python -m worktrack template


def test_cli_template_writes_xlsx_and_csv(plan, tmp_path, capsys):
    out = tmp_path / "天剑社区-2023-06.xlsx"
    assert main(["template", "--unit", "天剑", "--month", "2023/6", "-o", str(out)]) == 0
    assert out.read_bytes() == build_template(plan, "天剑社区", MONTH, "xlsx")
    assert "天剑社区" in capsys.readouterr().out
    out = tmp_path / "t.txt"
    assert main(["template", "--unit", "街道民政办", "--month", MONTH, "--format", "csv", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == len(plan.template_rows("街道民政办")) and summary["format"] == "csv"
    assert out.read_bytes() == build_template(plan, "街道民政办", MONTH, "csv")


def test_cli_template_to_stdout(plan, capsysbinary):
    assert main(["template", "--unit", "天剑社区", "--month", MONTH, "-o", "-"]) == 0
    assert capsysbinary.readouterr().out == build_template(plan, "天剑社区", MONTH, "csv")


@pytest.mark.parametrize("argv, message", [
    (["--unit", "火星社区", "--month", MONTH], "街道民政办"),
    (["--unit", "天剑社区", "--month", "六月"], "2023-06"),
    (["--unit", "天剑社区", "--month", "2022-06"], "报告期"),
])
def test_cli_template_usage_errors(tmp_path, capsys, argv, message):
    assert main(["template", *argv, "-o", str(tmp_path / "x.csv")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_cli_template_missing_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["template", "--month", MONTH, "-o", "x.csv"])
    assert exc.value.code == 2


# ---------------------------------------------------------------------------
# The XLSX template's data validation agrees with 填表说明 and with intake


def _rule_for(sheet, coordinate: str):
    rules = [r for r in sheet.data_validations.dataValidation if coordinate in r.sqref]
    assert len(rules) == 1, (coordinate, rules)
    return rules[0]


def _strict_rule_accepts(rule, text: str) -> bool:
    """What Excel does with a typed value under a stop-style rule (it refuses anything else)."""
    if rule.type == "list":
        return text in rule.formula1.strip('"').split(",")
    try:
        number = float(text)
    except ValueError:
        return False
    return number >= 0 and (rule.type != "whole" or number.is_integer())


def _first_cell(plan, unit: str, wanted) -> tuple[int, object]:
    return next((n, r) for n, r in enumerate(plan.template_rows(unit), start=2) if wanted(r))


ACCEPTED_BY_INTAKE = [
    ("count", "F", "5户", 5), ("count", "F", "５", 5), ("count", "F", "1,000", 1000), ("count", "F", "5", 5),
    ("amount", "F", "1.2万元", 12000), ("amount", "F", "12,000元", 12000), ("amount", "F", "1.2万", 12000),
    ("amount", "F", "12000", 12000),
    ("status", "F", "完成", "已完成"), ("status", "F", "推进中", "进行中"), ("status", "F", "进行中", "进行中"),
    ("category", "G", "99 公益日", "99公益日"),
]


@pytest.mark.parametrize(("kind", "column", "typed", "recorded"), ACCEPTED_BY_INTAKE)
def test_regression_the_xlsx_template_does_not_refuse_what_intake_accepts(plan, kind, column, typed, recorded):
    from openpyxl import load_workbook

    unit = "天剑社区"
    wanted = {
        "count": lambda r: r.kind == "metric" and plan.metrics[r.item].is_count and not r.category,
        "amount": lambda r: r.kind == "metric" and not plan.metrics[r.item].is_count,
        "status": lambda r: r.kind == "task",
        "category": lambda r: r.category == "99公益日",
    }[kind]
    row_number, template_row = _first_cell(plan, unit, wanted)
    workbook = load_workbook(io.BytesIO(build_template(plan, unit, MONTH, "xlsx")))
    sheet = workbook["月报"]
    sheet[f"{column}{row_number}"] = typed
    if kind == "category":
        sheet[f"F{row_number}"] = 100
    out = io.BytesIO()
    workbook.save(out)
    report = read_report(out.getvalue(), "t.xlsx", plan, unit=unit, month=MONTH)
    assert report.ok, report.flat()
    fact = next(f for f in report.rows if f.row == row_number)
    got = {"status": fact.status, "category": fact.category}.get(kind, fact.value)
    assert got == recorded
    rule = _rule_for(sheet, f"{column}{row_number}")
    # Excel lets the value stand: either the rule accepts it, or it only warns and asks.
    assert rule.errorStyle in ("warning", "information") or _strict_rule_accepts(rule, typed), (
        f"Excel refuses {typed!r} in {column}{row_number} although intake accepts it")


def test_every_validation_explains_itself_and_the_guide_names_the_same_examples(plan):
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(build_template(plan, "天剑社区", MONTH, "xlsx")))
    rules = workbook["月报"].data_validations.dataValidation
    assert rules
    for rule in rules:
        assert rule.showErrorMessage and rule.errorTitle and rule.error
        assert len(rule.error) <= 225 and len(rule.prompt or "") <= 255  # Excel's limits
        assert rule.errorStyle == "warning"
    value_rules = [r for r in rules if any(str(c).startswith("F") for c in r.sqref.ranges)]
    assert all(r.showInputMessage and r.prompt for r in value_rules)
    count_rule = next(r for r in rules if r.type == "whole")
    amount_rule = next(r for r in rules if r.type == "decimal")
    assert "5户" in count_rule.error and "1.2万元" in amount_rule.error
    guide = "\n".join(str(c.value) for c in workbook["填表说明"]["A"] if c.value)
    assert "5户" in guide and "1.2万元" in guide  # the guide promises what the rules let through

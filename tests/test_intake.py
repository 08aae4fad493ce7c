"""Monthly report intake: every error code, every line of INTAKE-CASES.md, round trips, never raising.

Row numbers are the ones Excel shows: in files built here without a title row the header is
row 1 and the first data row is row 2; the fixture files with a title row start data at row 3.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.make_intake_fixtures import HEADER, MONTH, UNIT, build_all, csv_text
from worktrack.intake import (
    ERROR_CODES,
    MAX_UPLOAD_BYTES,
    NORMALISATION_CODES,
    STATUS_ALIASES,
    WARNING_CODES,
    IntakeReport,
    large_value_threshold,
    parse_month,
    parse_status,
    read_report,
)
from worktrack.intake.findings import REGISTER_ERROR_CODES, REGISTER_NORMALISATION_CODES
from worktrack.plan import STATUS_WORDS

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
TASK = "T1-1"


# ---------------------------------------------------------------------------
# building files


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def row(item: str, value: object = "", category: str = "", note: str = "", *, unit: str = UNIT,
        month: str = MONTH, name: str = "", measure: str = "") -> list:
    return [unit, month, item, name, measure, value, category, note]


def csv_of(*rows: list, header: list[str] = HEADER, title: str | None = None, encoding: str = "utf-8-sig",
           eol: str = "\r\n") -> bytes:
    return csv_text([[str(c) for c in r] for r in rows], header=header, title=title, eol=eol).encode(encoding)


def xlsx_of(*rows: list, header: list | None = None, title: str | None = None, merges: tuple[str, ...] = (),
            sheets: tuple[tuple[str, list[list]], ...] = ()) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "月报"
    if title:
        sheet.append([title])
    sheet.append(header or HEADER)
    for r in rows:
        sheet.append(r)
    for merge in merges:
        sheet.merge_cells(merge)
    for name, lines in sheets:
        extra = workbook.create_sheet(name)
        for line in lines:
            extra.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_cached_formula(data: bytes, cell: str, formula: str, cached: str) -> bytes:
    """Turn one cell into a formula with a saved result, as Excel writes it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)'.encode(),
                                 f'<c r="{cell}"><f>{formula}</f><v>{cached}</v></c>'.encode(), content, count=1)
            target.writestr(info, content)
    return out.getvalue()


def read(plan, data: bytes, filename: str = "report.csv", **kwargs) -> IntakeReport:
    kwargs.setdefault("unit", UNIT)
    kwargs.setdefault("month", MONTH)
    return read_report(data, filename, plan, **kwargs)


ONE = row("retrofit_households", 1)  # a harmless second row so a file is never "all zero"


# ---------------------------------------------------------------------------
# one example per code


@dataclasses.dataclass(frozen=True)
class Example:
    code: str
    build: Callable  # plan -> bytes
    row: int | None
    column: str | None
    filename: str = "report.csv"
    kwargs: tuple = ()


def _note_of(n: int) -> str:
    return "走访" * (n // 2) + "访" * (n % 2)


EXAMPLE_PLAN = Path(__file__).resolve().parent.parent / "examples" / "qingshuiwan-2024" / "targets.yaml"


class _ExamplePlans(Sequence):
    """[the example 2024 plan], loaded when first read rather than when this module is imported."""

    def __getitem__(self, index):
        from worktrack.plan import load_plan

        return [load_plan(EXAMPLE_PLAN)][index]

    def __len__(self) -> int:
        return 1


def _example_plan_file() -> bytes:
    from worktrack.demo import report_bytes

    example = _ExamplePlans()[0]
    return report_bytes(example, example.communities[0].name, "2024-05")[1]


ERROR_EXAMPLES = [
    Example("file-too-large", lambda p: fixture("tianjian-2023-06-utf8-bom.csv"), None, None,
            kwargs=(("max_bytes", 1000),)),
    Example("empty-file", lambda p: b"", None, None),
    Example("format-error", lambda p: fixture("renamed-pdf.csv"), None, None),
    Example("xml-bomb", lambda p: fixture("xml-bomb.xlsx"), None, None, "report.xlsx"),
    Example("encoding-error", lambda p: csv_of(ONE) + b"\xff\x80\xff\r\n", 3, None),
    Example("delimiter-error", lambda p: fixture("tianjian-2023-06-semicolon.csv"), None, None),
    Example("quote-error", lambda p: csv_of(ONE) + '天剑社区,2023-06,T1-1,,,进行中,,"走访\r\n'.encode(), 3, None),
    Example("header-not-found", lambda p: b"name,amount\r\nfoo,1\r\n", None, None),
    Example("missing-label", lambda p: csv_of([UNIT, MONTH, "retrofit_households", 1],
                                              header=["上报单位", "月份", "编号", "备注"]), 1, "本月数值"),
    Example("blank-label", lambda p: csv_of([UNIT, MONTH, "retrofit_households", "x", 1],
                                            header=["上报单位", "月份", "编号", "", "本月数值"]), 1, "D"),
    Example("duplicate-label", lambda p: csv_of([UNIT, MONTH, "retrofit_households", 1, "a", "b"],
                                                header=["上报单位", "月份", "编号", "本月数值", "备注", "备注"]), 1, "备注"),
    Example("extra-cell", lambda p: csv_of(ONE) + "天剑社区,2023-06,fund_raised_yuan,,,1,000,企业赞助,\r\n".encode(),
            3, "I"),
    Example("merged-cell", lambda p: xlsx_of(row("retrofit_households", 1), row("governance_reports", None),
                                             merges=("F2:F3",)), 2, "本月数值", "report.xlsx"),
    Example("no-data", lambda p: fixture("header-only.csv"), None, None),
    Example("missing-value", lambda p: csv_of(row("retrofit_households", 1, unit="")), 2, "上报单位"),
    Example("unknown-unit", lambda p: csv_of(row("retrofit_households", 1, unit="火星社区")), 2, "上报单位"),
    Example("unit-mismatch", lambda p: csv_of(ONE), 2, "上报单位", kwargs=(("unit", None), ("uploader_unit", "夏家冲社区"))),
    Example("month-error", lambda p: csv_of(row("retrofit_households", 1, month="六月")), 2, "月份"),
    Example("month-mismatch", lambda p: csv_of(ONE), 2, "月份", kwargs=(("month", "2023-07"),)),
    Example("unknown-item", lambda p: csv_of(row("X9-9", 1)), 2, "编号"),
    Example("item-not-reported", lambda p: csv_of(row("roundtable_meetings", 1)), 2, "编号"),
    # a file of the example 2024 plan, read against this plan with the example among the deployment's plans
    Example("wrong-plan", lambda p: _example_plan_file(), None, None, kwargs=(("unit", None), ("other_plans", _ExamplePlans()))),
    Example("unknown-category", lambda p: csv_of(row("fund_raised_yuan", 100, "彩票")), 2, "分类"),
    Example("missing-category", lambda p: csv_of(row("fund_raised_yuan", 100, "")), 2, "分类"),
    Example("type-error", lambda p: csv_of(row("governance_reports", "五十")), 2, "本月数值"),
    Example("constraint-error", lambda p: csv_of(row("retrofit_households", "-5")), 2, "本月数值"),
    Example("unit-suffix-mismatch", lambda p: csv_of(row("retrofit_households", "5人")), 2, "本月数值"),
    Example("status-error", lambda p: csv_of(row(TASK, "差不多了")), 2, "本月数值"),
    Example("duplicate-row", lambda p: csv_of(ONE, ONE), 3, "编号"),
    Example("conflicting-row", lambda p: csv_of(ONE, row("retrofit_households", 2)), 3, "编号"),
    Example("total-row", lambda p: csv_of(ONE, row("governance_reports", 2), row("", 5, unit="合计", month="")),
            4, "本月数值"),
    Example("note-too-long", lambda p: csv_of(row("retrofit_households", 1, note=_note_of(501))), 2, "备注"),
    Example("id-number-in-note", lambda p: csv_of(ONE, row(TASK, "进行中", note="帮扶对象王某 11010519491231002X")),
            3, "备注"),
    Example("cell-too-long", lambda p: csv_of(ONE, row(TASK, "进行中", note="走" * 32_768)), 3, "备注"),
    Example("encrypted-file", lambda p: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
            + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512, None, None, "report.xlsx"),
    Example("findings-truncated", lambda p: csv_of(*[row("retrofit_households", "五")] * 201), None, None),
]

WARNING_EXAMPLES = [
    Example("extra-label", lambda p: csv_of(ONE + ["王主任"], header=HEADER + ["联系人"]), 1, "联系人"),
    Example("blank-row", lambda p: csv_of(ONE, [""] * 8, row("governance_reports", 2)), 3, None),
    Example("large-value", lambda p: csv_of(row("retrofit_households", 100)), 2, "本月数值"),
    Example("empty-report", lambda p: csv_of(row("retrofit_households", ""), row(TASK, "")), None, None),
    Example("multiple-sheets", lambda p: xlsx_of(ONE, sheets=(("7月", [HEADER, row("retrofit_households", 1,
                                                                                      month="2023-07")]),)),
            None, None, "report.xlsx"),
]

NORMALISATION_EXAMPLES = [
    Example("normalised-encoding", lambda p: fixture("tianjian-2023-06-gb18030-excel.csv"), None, None),
    Example("normalised-bom", lambda p: fixture("tianjian-2023-06-utf8-bom.csv"), None, None),
    Example("normalised-line-endings", lambda p: csv_of(ONE, eol="\r\n"), None, None),
    Example("normalised-sep-line", lambda p: b"sep=,\r\n" + csv_of(ONE, encoding="utf-8"), 1, None),
    Example("normalised-sheet", lambda p: _report_on_second_sheet(), None, None, "report.xlsx"),
    Example("normalised-title-row", lambda p: csv_of(ONE, title="天剑社区2023年6月工作进展月报"), 1, None),
    Example("normalised-merged-cells", lambda p: fixture("tianjian-2023-06-merged-unit.xlsx"), 2, "上报单位",
            "report.xlsx"),
    Example("normalised-header-alias", lambda p: csv_of(ONE, header=[*HEADER[:4], "计量单位（户）", *HEADER[5:]]),
            1, "计量单位（户）"),
    Example("normalised-column-order", lambda p: fixture("tianjian-2023-06-english-reordered.csv"), 1, None),
    Example("normalised-trailing-rows", lambda p: csv_of(ONE) + b",,,,,,,\r\n,,,,,,,\r\n", 3, None),
    Example("normalised-whitespace", lambda p: csv_of(row("retrofit_households", "\u00a01\u200b ")), 2, "本月数值"),
    Example("normalised-fullwidth", lambda p: csv_of(row("governance_reports", "１２")), 2, "本月数值"),
    Example("normalised-thousands", lambda p: csv_of(row("fund_raised_yuan", "1,000", "企业赞助")), 2, "本月数值"),
    Example("normalised-unit-suffix", lambda p: csv_of(row("retrofit_households", "1户")), 2, "本月数值"),
    Example("normalised-wan", lambda p: csv_of(row("fund_raised_yuan", "1.2万元", "企业赞助")), 2, "本月数值"),
    Example("normalised-currency", lambda p: csv_of(row("fund_raised_yuan", "¥50,000", "企业赞助")), 2, "本月数值"),
    Example("normalised-plus-sign", lambda p: csv_of(row("retrofit_households", "+1")), 2, "本月数值"),
    Example("normalised-formula-result", lambda p: with_cached_formula(
        xlsx_of(row("governance_reports", 5)), "F2", "2+3", "5"), 2, "本月数值", "report.xlsx"),
    Example("normalised-month", lambda p: csv_of(row("retrofit_households", 1, month="2023年6月")), 2, "月份"),
    Example("normalised-status", lambda p: csv_of(row(TASK, "完成")), 2, "本月数值"),
    Example("normalised-unit-alias", lambda p: csv_of(row("retrofit_households", 1, unit="天剑")), 2, "上报单位"),
    Example("traditional-unit", lambda p: csv_of(row("retrofit_households", 1, unit="天劍社區")), 2, "上报单位"),
    Example("normalised-item-case", lambda p: csv_of(row("t1-1", "进行中")), 2, "编号"),
    Example("normalised-item-by-name", lambda p: csv_of(row("", 1, name="特殊困难老年人家庭居家适老化改造")), 2, "编号"),
    Example("normalised-blank-as-zero", lambda p: csv_of(ONE, row("governance_reports", "无")), 3, "本月数值"),
    Example("normalised-blank-status", lambda p: csv_of(ONE, row(TASK, "")), 3, "本月数值"),
    Example("normalised-total-row", lambda p: csv_of(ONE, row("governance_reports", 2), row("", 3, name="合计")),
            4, "本月数值"),
]


def _report_on_second_sheet() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["请在下一张表填写"])
    sheet = workbook.create_sheet("月报")
    sheet.append(HEADER)
    sheet.append(ONE)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _run(plan, example: Example) -> IntakeReport:
    return read(plan, example.build(plan), example.filename, **dict(example.kwargs))


@pytest.mark.parametrize("example", ERROR_EXAMPLES, ids=lambda e: e.code)
def test_error_code(plan, example):
    report = _run(plan, example)
    assert (example.code, example.row, example.column) in report.flat(), report.flat()
    assert report.rows == [] and not report.ok
    finding = next(f for f in report.errors if f.code == example.code)
    assert re.search(r"[\u4e00-\u9fff]", finding.message), "messages are in Chinese"


@pytest.mark.parametrize("example", WARNING_EXAMPLES, ids=lambda e: e.code)
def test_warning_code(plan, example):
    report = _run(plan, example)
    assert report.ok, report.flat()
    assert (example.code, example.row, example.column) in report.flat("warnings"), report.flat("warnings")
    assert report.needs_confirmation and report.rows


@pytest.mark.parametrize("example", NORMALISATION_EXAMPLES, ids=lambda e: e.code)
def test_normalisation_code(plan, example):
    report = _run(plan, example)
    assert report.ok, report.flat()
    assert (example.code, example.row, example.column) in report.flat("normalised"), report.flat("normalised")
    assert report.rows


def test_every_code_in_the_catalogue_has_an_example():
    # internal-error cannot be produced by a file: test_reader_bug_is_logged_not_shown_as_unreadable
    # register-only codes are exemplified in test_registers (test_every_register_code_has_an_example)
    assert {e.code for e in ERROR_EXAMPLES} == set(ERROR_CODES) - {"internal-error"} - set(REGISTER_ERROR_CODES)
    assert {e.code for e in WARNING_EXAMPLES} == set(WARNING_CODES)
    assert {e.code for e in NORMALISATION_EXAMPLES} == set(NORMALISATION_CODES) - set(REGISTER_NORMALISATION_CODES)


# ---------------------------------------------------------------------------
# INTAKE-CASES.md, line by line


@dataclasses.dataclass(frozen=True)
class Case:
    build: Callable  # plan -> bytes
    verdict: str  # NORM | ERR | REJ | WARN
    expect: tuple | None  # (code, row, column) that must be reported
    filename: str = "report.csv"
    kwargs: tuple = ()
    check: Callable | None = None  # extra assertions on the report


def _values(report: IntakeReport) -> dict[tuple[str, str], float | str | None]:
    return {(r.item, r.category): (r.status if r.status is not None else r.value) for r in report.rows}


def _ok(predicate: Callable[[IntakeReport], bool]) -> Callable[[IntakeReport], None]:
    def check(report):
        assert predicate(report), report.as_dict()
    return check


def _value_is(item: str, expected, category: str = ""):
    def check(report):
        assert _values(report)[(item, category)] == expected
    return check


def _note_is(text: str):
    def check(report):
        assert [r.note for r in report.rows if r.note] == [text]
    return check


def _mixed_line_ends() -> bytes:
    lines = csv_text([ONE, row("governance_reports", 2), row(TASK, "进行中")]).split("\r\n")
    return ("\r\n".join(lines[:2]) + "\n" + "\n".join(lines[2:3]) + "\r" + "\r\n".join(lines[3:])).encode("utf-8")


def _two_row_header() -> bytes:
    # a header cell merged downwards over two rows: the label is recoverable
    return xlsx_of([None] * 8, ["天剑社区", "2023-06", "retrofit_households", None, None, 1, None, None], title="月报",
                   merges=("A1:H1", "A2:A3", "B2:B3", "C2:C3", "D2:D3", "E2:E3", "F2:F3", "G2:G3", "H2:H3"))


def build_cases():
    c = {}
    # Encoding and format
    c["01-gb18030-excel"] = Case(lambda p: fixture("tianjian-2023-06-gb18030-excel.csv"), "NORM",
                                 ("normalised-encoding", None, None),
                                 check=_ok(lambda r: r.rows[0].note == "入户评估 2 户，完成 1 户施工"))
    c["02-utf8-bom"] = Case(lambda p: fixture("tianjian-2023-06-utf8-bom.csv"), "NORM", ("normalised-bom", None, None),
                            check=_ok(lambda r: r.rows[0].reporting_unit == UNIT))
    c["03-utf16-comma"] = Case(lambda p: fixture("tianjian-2023-06-utf16-comma.csv"), "NORM",
                               ("normalised-encoding", None, None))
    c["04-no-encoding"] = Case(lambda p: fixture("no-encoding.csv"), "REJ", ("encoding-error", 4, None))
    c["05-zero-bytes"] = Case(lambda p: fixture("empty.csv"), "REJ", ("empty-file", None, None))
    c["05-header-only"] = Case(lambda p: fixture("header-only.csv"), "ERR", ("no-data", None, None))
    c["06-xls-renamed"] = Case(lambda p: fixture("renamed-excel97.csv"), "REJ", ("format-error", None, None))
    c["06-pdf-renamed"] = Case(lambda p: fixture("renamed-pdf.csv"), "REJ", ("format-error", None, None))
    c["06-zip-renamed"] = Case(lambda p: fixture("renamed-zip.csv"), "REJ", ("format-error", None, None))
    c["07-too-large"] = Case(lambda p: b"%PDF" + b"x" * MAX_UPLOAD_BYTES, "REJ", ("file-too-large", None, None))
    c["08-xml-bomb"] = Case(lambda p: fixture("xml-bomb.xlsx"), "REJ", ("xml-bomb", None, None), "report.xlsx")
    c["09-semicolon"] = Case(lambda p: fixture("tianjian-2023-06-semicolon.csv"), "REJ",
                             ("delimiter-error", None, None), check=_ok(lambda r: "分号" in r.errors[0].message))
    c["09-tab-unicode-text"] = Case(lambda p: fixture("tianjian-2023-06-unicode-text.txt"), "REJ",
                                    ("delimiter-error", None, None), "report.txt",
                                    check=_ok(lambda r: "制表符" in r.errors[0].message))
    c["10-crlf"] = Case(lambda p: csv_of(ONE, eol="\r\n"), "NORM", ("normalised-line-endings", None, None))
    c["10-lf"] = Case(lambda p: csv_of(ONE, eol="\n"), "NORM", None)
    c["10-mixed"] = Case(lambda p: _mixed_line_ends(), "NORM", ("normalised-line-endings", None, None),
                         check=_ok(lambda r: len(r.rows) == 3))
    c["11-unclosed-quote"] = Case(lambda p: fixture("unclosed-quote.csv"), "ERR", ("quote-error", 4, None))
    # Structure
    c["12-title-row"] = Case(lambda p: fixture("tianjian-2023-06-utf8-bom.csv"), "NORM",
                             ("normalised-title-row", 1, None), check=_ok(lambda r: r.rows[0].row == 3))
    c["13-merged-title-xlsx"] = Case(lambda p: fixture("tianjian-2023-06-title-merged.xlsx"), "NORM",
                                     ("normalised-title-row", 1, None), "report.xlsx")
    c["13-merged-header-two-rows"] = Case(lambda p: _two_row_header(), "NORM", ("normalised-merged-cells", 2, None),
                                          "report.xlsx", check=_ok(lambda r: r.rows[0].row == 4))
    c["13-merged-unit-column"] = Case(lambda p: fixture("tianjian-2023-06-merged-unit.xlsx"), "NORM",
                                      ("normalised-merged-cells", 2, "上报单位"), "report.xlsx")
    c["13-merged-header-unrecoverable"] = Case(lambda p: fixture("tianjian-2023-06-merged-value-header.xlsx"), "ERR",
                                               ("blank-label", 1, "F"), "report.xlsx")
    c["14-blank-header"] = Case(lambda p: csv_of(row("retrofit_households", 1, name="适老化改造"),
                                              header=[*HEADER[:3], "", *HEADER[4:]]), "ERR",
                                ("blank-label", 1, "D"))
    c["14-duplicate-header"] = Case(lambda p: csv_of(ONE, header=[*HEADER[:7], "本月数值"]), "ERR",
                                    ("duplicate-label", 1, "本月数值"))
    c["15-bracketed-and-spaced-labels"] = Case(
        lambda p: csv_of(ONE, header=[" 上报单位", "月 份", "编号", "事项", "计量单位(户)", "本月数值 ", "分类", "备注"]),
        "NORM", ("normalised-header-alias", 1, "计量单位(户)"))
    c["15-english-headers"] = Case(lambda p: fixture("tianjian-2023-06-english-reordered.csv"), "NORM",
                                   ("normalised-header-alias", 1, "Reporting Unit"), check=_ok(lambda r: len(r.rows) == 51))
    c["16-missing-required"] = Case(lambda p: csv_of([UNIT, MONTH, "x", "", 1, "", ""],
                                                     header=["上报单位", "月份", "事项", "计量单位", "本月数值", "分类", "备注"]),
                                    "ERR", ("missing-label", 1, "编号"))
    c["17-unknown-extra-column"] = Case(lambda p: csv_of(ONE + ["138"], header=HEADER + ["联系电话"]), "WARN",
                                        ("extra-label", 1, "联系电话"))
    c["18-other-order"] = Case(lambda p: fixture("tianjian-2023-06-english-reordered.csv"), "NORM",
                               ("normalised-column-order", 1, None))
    c["19-trailing-empty-rows"] = Case(lambda p: fixture("tianjian-2023-06-messy-values.csv"), "NORM",
                                       ("normalised-trailing-rows", 54, None))
    c["19-blank-row-in-middle"] = Case(lambda p: csv_of(ONE, [""] * 8, row(TASK, "进行中")), "WARN",
                                       ("blank-row", 3, None))
    c["20-unquoted-thousands"] = Case(lambda p: fixture("unquoted-thousands.csv"), "ERR", ("extra-cell", 5, "I"))
    # Rows and keys
    c["21-exact-duplicate"] = Case(lambda p: csv_of(ONE, row(TASK, "进行中"), ONE), "ERR", ("duplicate-row", 4, "编号"))
    c["22-conflicting"] = Case(lambda p: csv_of(row("fund_raised_yuan", 100, "定向捐"), row("fund_raised_yuan", 200, "定向捐")),
                               "ERR", ("conflicting-row", 3, "编号"))
    c["23-total-matches"] = Case(lambda p: csv_of(ONE, row("governance_reports", 2), row("", 3, name="合计")), "NORM",
                                 ("normalised-total-row", 4, "本月数值"), check=_ok(lambda r: len(r.rows) == 2))
    c["23-total-differs"] = Case(lambda p: csv_of(ONE, row("governance_reports", 2), row("", 30, name="合计")), "ERR",
                                 ("total-row", 4, "本月数值"))
    c["24-unknown-unit"] = Case(lambda p: csv_of(row("retrofit_households", 1, unit="天坛社区")), "ERR",
                                ("unknown-unit", 2, "上报单位"), kwargs=(("unit", None),))
    c["24-other-units-file"] = Case(lambda p: csv_of(ONE, row(TASK, "进行中")), "REJ", ("unit-mismatch", 2, "上报单位"),
                                    kwargs=(("unit", None), ("uploader_unit", "涂新社区")))
    c["25-unknown-item"] = Case(lambda p: csv_of(row("retrofit", 1)), "ERR", ("unknown-item", 2, "编号"))
    c["25-item-not-reported"] = Case(lambda p: csv_of(row("research_topic_reports", 1)), "ERR",
                                     ("item-not-reported", 2, "编号"))
    c["26-unknown-category"] = Case(lambda p: csv_of(row("people_helped", 3, "助农")), "ERR",
                                    ("unknown-category", 2, "分类"))
    c["26-missing-category"] = Case(lambda p: csv_of(row("people_helped", 3)), "ERR", ("missing-category", 2, "分类"))
    # Values
    c["27-fullwidth-digits"] = Case(lambda p: csv_of(row("governance_reports", "１２")), "NORM",
                                    ("normalised-fullwidth", 2, "本月数值"), check=_value_is("governance_reports", 12))
    c["27-fullwidth-comma"] = Case(lambda p: csv_of(row("fund_raised_yuan", "１，０００", "定向捐")), "NORM",
                                   ("normalised-thousands", 2, "本月数值"),
                                   check=_value_is("fund_raised_yuan", 1000, "定向捐"))
    c["28-quoted-thousands"] = Case(lambda p: csv_of(row("fund_raised_yuan", "1,000", "定向捐")), "NORM",
                                    ("normalised-thousands", 2, "本月数值"),
                                    check=_value_is("fund_raised_yuan", 1000, "定向捐"))
    c["29-matching-suffix"] = Case(lambda p: csv_of(row("governance_reports", "2篇"), row("people_helped", "50人", "助老")),
                                   "NORM", ("normalised-unit-suffix", 3, "本月数值"),
                                   check=_value_is("people_helped", 50, "助老"))
    c["29-mismatching-suffix"] = Case(lambda p: csv_of(row("governance_reports", "2人")), "ERR",
                                      ("unit-suffix-mismatch", 2, "本月数值"))
    c["30-wan-yuan"] = Case(lambda p: csv_of(row("fund_raised_yuan", "1.2万元", "企业赞助")), "NORM",
                            ("normalised-wan", 2, "本月数值"), check=_value_is("fund_raised_yuan", 12000, "企业赞助"))
    c["30-yen-sign"] = Case(lambda p: csv_of(row("fund_raised_yuan", "¥50,000", "企业赞助")), "NORM",
                            ("normalised-currency", 2, "本月数值"), check=_value_is("fund_raised_yuan", 50000, "企业赞助"))
    c["30-yuan-suffix"] = Case(lambda p: csv_of(row("fund_raised_yuan", "50000元", "企业赞助")), "NORM",
                               ("normalised-unit-suffix", 2, "本月数值"),
                               check=_value_is("fund_raised_yuan", 50000, "企业赞助"))
    c["31-chinese-numerals"] = Case(lambda p: csv_of(row("people_helped", "五十", "助老")), "ERR",
                                    ("type-error", 2, "本月数值"))
    c["32-negative"] = Case(lambda p: csv_of(row("fund_raised_yuan", "-500", "定向捐")), "ERR",
                            ("constraint-error", 2, "本月数值"))
    c["32-fraction-of-a-count"] = Case(lambda p: csv_of(row("retrofit_households", "2.5")), "ERR",
                                       ("constraint-error", 2, "本月数值"))
    c["33-nbsp-zero-width-spaces"] = Case(
        lambda p: csv_of(row("retrofit_households", "\u00a01\u200b", unit=" 天剑社区\u200b"), row(TASK, " 进行中 ")),
        "NORM", ("normalised-whitespace", 2, "本月数值"),
        check=_ok(lambda r: (r.rows[0].value, r.rows[0].reporting_unit, r.rows[1].status) == (1, UNIT, "进行中")))
    for word in ("NA", "null", "无", "-"):
        c[f"34-blank-word-{word}"] = Case(lambda p, w=word: csv_of(ONE, row("governance_reports", w)), "NORM",
                                          ("normalised-blank-as-zero", 3, "本月数值"),
                                          check=_value_is("governance_reports", 0))
    c["34-note-without-value"] = Case(lambda p: csv_of(row("governance_reports", "", note="报送了两篇")), "ERR",
                                      ("missing-value", 2, "本月数值"))
    c["34-required-key-missing"] = Case(lambda p: csv_of(row("", 1)), "ERR", ("missing-value", 2, "编号"))
    for label, month in (("excel-serial", "45078"), ("slash", "2023/6"), ("chinese", "2023年6月"), ("compact", "202306"),
                         ("excel-english", "Jun-23")):
        c[f"35-month-{label}"] = Case(lambda p, m=month: csv_of(row("retrofit_households", 1, month=m)), "NORM",
                                      ("normalised-month", 2, "月份"), check=_ok(lambda r: r.month == MONTH))
    c["35-month-date-cell"] = Case(lambda p: xlsx_of(row("retrofit_households", 1, month=dt.datetime(2023, 6, 1))),
                                   "NORM", ("normalised-month", 2, "月份"), "report.xlsx")
    c["35-month-in-words"] = Case(lambda p: csv_of(row("retrofit_households", 1, month="六月")), "ERR",
                                  ("month-error", 2, "月份"))
    c["36-month-not-declared"] = Case(lambda p: csv_of(row("retrofit_households", 1, month="2023-05")), "ERR",
                                      ("month-mismatch", 2, "月份"))
    c["37-status-aliases"] = Case(lambda p: csv_of(row(TASK, "完成"), row("T1-2", "done"), row("T1-3", "推进中")), "NORM",
                                  ("normalised-status", 2, "本月数值"),
                                  check=_ok(lambda r: [x.status for x in r.rows] == ["已完成", "已完成", "进行中"]))
    c["37-unknown-status"] = Case(lambda p: csv_of(row(TASK, "基本完成")), "ERR", ("status-error", 2, "本月数值"),
                                  check=_ok(lambda r: all(w in r.errors[0].message for w in STATUS_WORDS)))
    c["38-traditional-unit"] = Case(lambda p: csv_of(row("retrofit_households", 1, unit="天劍社區")), "NORM",
                                    ("traditional-unit", 2, "上报单位"), kwargs=(("unit", None),),
                                    check=_ok(lambda r: (r.reporting_unit, r.rows[0].reporting_unit) == (UNIT, UNIT)))
    for label, note in (("equals", "=1+2"), ("plus", "+86 138 0000 0000"), ("minus", "-5 元退回"),
                        ("at", "@SUM(A1:A2)"), ("dde", "=cmd|' /C calc'!A0")):
        c[f"39-note-starts-with-{label}"] = Case(lambda p, n=note: csv_of(row("retrofit_households", 1, note=n)), "NORM",
                                                 None, check=_note_is(note))
    c["39-xlsx-formula-note"] = Case(lambda p: xlsx_of(row("retrofit_households", 1, note='=HYPERLINK("http://x","y")')),
                                     "NORM", None, "report.xlsx", check=_note_is('=HYPERLINK("http://x","y")'))
    for label, note in (("html", "<script>alert(1)</script><b>粗体</b>"), ("markdown", "[材料](http://example.org) **重点**")):
        c[f"40-note-{label}"] = Case(lambda p, n=note: csv_of(row("retrofit_households", 1, note=n)), "NORM", None,
                                     check=_note_is(note))
    c["41-note-too-long"] = Case(lambda p: csv_of(row("retrofit_households", 1, note=_note_of(501))), "ERR",
                                 ("note-too-long", 2, "备注"))
    c["41-note-at-limit"] = Case(lambda p: csv_of(row("retrofit_households", 1, note=_note_of(500))), "NORM", None)
    c["42-far-above-monthly-need"] = Case(lambda p: csv_of(row("retrofit_households", 100)), "WARN",
                                          ("large-value", 2, "本月数值"))
    return c


CASES = build_cases()


def test_every_catalogue_line_has_a_case():
    catalogue = (Path(__file__).resolve().parents[2] / "shared" / "INTAKE-CASES.md")
    numbers = {int(k[:2]) for k in CASES}
    assert numbers == set(range(1, 43))
    if catalogue.exists():
        listed = {int(m) for m in re.findall(r"^(\d+)\. ", catalogue.read_text(encoding="utf-8"), flags=re.M)}
        assert listed <= numbers


@pytest.mark.parametrize("case_id", list(CASES))
def test_intake_case(plan, case_id):
    case = CASES[case_id]
    report = read(plan, case.build(plan), case.filename, **dict(case.kwargs))
    if case.verdict == "NORM":
        assert report.ok, report.flat()
        assert not report.warnings, report.flat("warnings")
        assert report.rows
        if case.expect:
            assert case.expect in report.flat("normalised"), report.flat("normalised")
    elif case.verdict == "WARN":
        assert report.ok, report.flat()
        assert case.expect in report.flat("warnings")
        assert report.needs_confirmation and report.rows
    elif case.verdict == "ERR":
        assert case.expect in report.flat(), report.flat()
        assert report.rows == []
    else:  # REJ: the whole file refused with one clear message
        assert report.flat() == [case.expect]
        assert report.rows == []
    if case.check:
        case.check(report)


def test_encodings_read_identically(plan):
    """GB18030, UTF-8-BOM and UTF-16 saves of one report give the same rows (never mojibake)."""
    reference = read(plan, fixture("tianjian-2023-06-utf8-bom.csv"))
    assert len(reference.rows) == len(plan.template_rows(UNIT))
    for name in ("tianjian-2023-06-gb18030-excel.csv", "tianjian-2023-06-utf16-comma.csv",
                 "tianjian-2023-06-title-merged.xlsx"):
        other = read(plan, fixture(name), name)
        assert [dataclasses.astuple(r) for r in other.rows] == [dataclasses.astuple(r) for r in reference.rows], name
    assert reference.rows[0].note == "入户评估 2 户，完成 1 户施工"
    assert all(r.reporting_unit == UNIT and r.month == MONTH for r in reference.rows)


def test_english_and_reordered_headers_read_like_the_template(plan):
    english = read(plan, fixture("tianjian-2023-06-english-reordered.csv"))
    reference = read(plan, fixture("tianjian-2023-06-utf8-bom.csv"))
    strip_row = [dataclasses.replace(r, row=0) for r in english.rows]
    assert strip_row == [dataclasses.replace(r, row=0) for r in reference.rows]


def test_messy_values_are_normalised_and_shown(plan):
    report = read(plan, fixture("tianjian-2023-06-messy-values.csv"))
    assert report.ok and not report.warnings, report.flat() + report.flat("warnings")
    values = _values(report)
    assert values[("retrofit_households", "")] == 1
    assert values[("fund_raised_yuan", "企业赞助")] == 12000
    assert values[("fund_raised_yuan", "99公益日")] == 30000
    assert values[("fund_raised_yuan", "定向捐")] == 5000
    assert values[("fund_raised_yuan", "小商户和群众")] == 1000
    assert values[("fund_raised_yuan", "消费捐")] == 1000
    assert values[("people_helped", "助困")] == 12
    assert values[("people_helped", "助老")] == 9
    assert values[("governance_reports", "")] == 2
    wan = next(f for f in report.normalised if f.code == "normalised-wan")
    assert wan.value == "1.2万元" and "12,000" in wan.message  # the parsed value is shown


# ---------------------------------------------------------------------------
# locations, values and policies


def test_errors_all_reported_in_one_pass(plan):
    data = csv_of(row("retrofit_households", "五"), row("people_helped", 3, "助农"), row(TASK, "ok?"),
                  row("X1", 1), row("governance_reports", "-1"))
    report = read(plan, data)
    assert report.flat() == [("type-error", 2, "本月数值"), ("unknown-category", 3, "分类"),
                             ("status-error", 4, "本月数值"), ("unknown-item", 5, "编号"),
                             ("constraint-error", 6, "本月数值")]


def test_rows_are_excel_rows_when_a_title_row_sits_above_the_header(plan):
    data = csv_of(ONE, row("governance_reports", "两篇"), title="天剑社区2023年6月工作进展月报")
    assert read(plan, data).flat() == [("type-error", 4, "本月数值")]
    xlsx = xlsx_of(ONE, row("governance_reports", "两篇"), title="天剑社区2023年6月工作进展月报", merges=("A1:H1",))
    assert read(plan, xlsx, "r.xlsx").flat() == [("type-error", 4, "本月数值")]


def test_multiline_quoted_note_counts_as_one_row(plan):
    data = csv_of(row("retrofit_households", 1, note="第一行\r\n第二行"), row("governance_reports", "x"))
    report = read(plan, data)
    assert report.flat() == [("type-error", 3, "本月数值")]


def test_column_is_named_as_written_in_the_file(plan):
    header = ["reporting_unit", "month", "item", "name", "measure", "value", "category", "note"]
    report = read(plan, csv_of(row("retrofit_households", "abc"), header=header))
    assert report.flat() == [("type-error", 2, "value")]


def test_facts_are_typed_and_normalised(plan):
    data = csv_of(row("retrofit_households", "2"), row("fund_raised_yuan", "1234.5", "定向捐"), row(TASK, "已完成", note="已办结"))
    report = read(plan, data)
    assert report.ok and report.reporting_unit == UNIT and report.month == MONTH
    retrofit, fund, task = report.rows
    assert (retrofit.value, retrofit.status, retrofit.category) == (2.0, None, "")
    assert isinstance(retrofit.value, float) and retrofit.value.is_integer()
    assert (fund.value, fund.category) == (1234.5, "定向捐")
    assert (task.value, task.status, task.note, task.row) == (None, "已完成", "已办结", 4)


def test_blank_policy(plan):
    """Blank metric -> 0 (noted); blank task -> no row; a note without a value -> error."""
    data = csv_of(ONE, row("governance_reports", ""), row("people_helped", "无", "助老"), row(TASK, ""))
    report = read(plan, data)
    assert report.ok and not report.warnings
    assert _values(report) == {("retrofit_households", ""): 1, ("governance_reports", ""): 0,
                               ("people_helped", "助老"): 0}
    assert {"normalised-blank-as-zero", "normalised-blank-status"} <= report.codes("normalised")
    report = read(plan, csv_of(ONE, row(TASK, "", note="已上报材料")))
    assert report.flat() == [("missing-value", 3, "本月数值")]


def test_template_left_blank_needs_confirmation(plan):
    from worktrack.template import build_template

    report = read(plan, build_template(plan, UNIT, MONTH, "csv"))
    assert report.ok and report.flat("warnings") == [("empty-report", None, None)]


@pytest.mark.parametrize("text, expected", [
    ("2023-06", "2023-06"), ("2023-6", "2023-06"), ("2023/6", "2023-06"), ("2023.06", "2023-06"),
    ("2023年6月", "2023-06"), ("2023年06月份", "2023-06"), ("202306", "2023-06"), ("2023-06-01", "2023-06"),
    ("2023/6/1", "2023-06"), ("2023-06-30 00:00:00", "2023-06"), ("2023年6月1日", "2023-06"), ("45078", "2023-06"),
    ("Jun-23", "2023-06"), ("June 2023", "2023-06"), ("２０２３－０６", "2023-06"), (45078, "2023-06"),
    (202306, "2023-06"), (dt.datetime(2023, 6, 15), "2023-06"), (dt.date(2023, 6, 1), "2023-06"),
    ("六月", None), ("6月", None), ("2023年六月", None), ("23年6月", None), ("2023-13", None), ("", None),
    ("2023", None), (True, None), (None, None), (2.5, None), (2023.06, "2023-06"), (2023.6, "2023-06"),
    (2023.12, "2023-12"), (2023.1, None), ("2023.1", None), ("2023.10", "2023-10"),
])
def test_parse_month(text, expected):
    assert parse_month(text) == expected


def test_month_with_day_99_is_rejected_not_read_as_june(plan):
    """"2023-06-99" was accepted as 2023-06."""
    assert parse_month("2023-06-99") is None and parse_month("2023/2/30") is None
    assert parse_month("2023-06-30") == "2023-06" and parse_month("2024-02-29") == "2024-02"
    report = read(plan, csv_of(row("retrofit_households", 1, month="2023-06-99")))
    assert report.flat() == [("month-error", 2, "月份")]
    assert "没有 99 日" in report.errors[0].message


def test_one_followed_by_400_zeros_is_out_of_range_not_unreadable(plan):
    """"1" and 400 zeros gave 文件无法读取（OverflowError） with no row or column."""
    huge = "1" + "0" * 400
    report = read(plan, csv_of(row("fund_raised_yuan", huge, "定向捐")))
    assert report.flat() == [("constraint-error", 2, "本月数值")]
    assert "超出范围" in report.errors[0].message and len(report.errors[0].message) < 200
    assert read(plan, csv_of(row("fund_raised_yuan", "¥" + huge, "定向捐"))).flat() == [
        ("constraint-error", 2, "本月数值")]
    assert read(plan, csv_of(row("retrofit_households", 1, month=huge))).flat() == [("month-error", 2, "月份")]


@pytest.mark.parametrize("alias", sorted(STATUS_ALIASES))
def test_status_aliases(alias):
    assert parse_status(alias) == STATUS_ALIASES[alias]
    assert parse_status(alias.upper()) == STATUS_ALIASES[alias]


@pytest.mark.parametrize("text, value", [
    ("12", 12), ("１２", 12), ("1,000", 1000), ("1，000", 1000), ("12,345.5", 12345.5), ("1.2万元", 12000),
    ("1.2万", 12000), ("¥50,000", 50000), ("￥50000", 50000), ("50000元", 50000), ("RMB 3000", 3000),
    ("\u00a0 500 \u200b", 500), ("+500", 500), ("0", 0), ("0.5", 0.5), ("3万元", 30000),
])
def test_amount_spellings(plan, text, value):
    report = read(plan, csv_of(ONE, row("fund_raised_yuan", text, "定向捐")))
    assert report.ok, report.flat()
    assert _values(report)[("fund_raised_yuan", "定向捐")] == value


@pytest.mark.parametrize("text, code", [
    ("五十", "type-error"), ("1,00", "type-error"), ("1.2E+07", "type-error"), ("=2+3", "type-error"),
    ("@5", "type-error"), ("50%", "type-error"), ("已完成", "type-error"), ("约500", "type-error"),
    ("-5", "constraint-error"), ("−5", "constraint-error"), ("5户", "unit-suffix-mismatch"), ("inf", "type-error"),
    ("1e400", "type-error"), ("99999999999999", "constraint-error"),
])
def test_bad_amounts(plan, text, code):
    report = read(plan, csv_of(row("fund_raised_yuan", text, "定向捐")))
    assert report.flat() == [(code, 2, "本月数值")]


def test_value_column_in_wan_yuan(plan):
    header = [*HEADER[:5], "本月数值（万元）", *HEADER[6:]]
    report = read(plan, csv_of(row("fund_raised_yuan", "1.5", "定向捐"), header=header))
    assert report.ok and _values(report)[("fund_raised_yuan", "定向捐")] == 15000
    measure = read(plan, csv_of(row("fund_raised_yuan", "2", "定向捐", measure="万元")))
    assert measure.ok and _values(measure)[("fund_raised_yuan", "定向捐")] == 20000
    wrong = read(plan, csv_of(row("retrofit_households", "2", measure="人")))
    assert wrong.flat() == [("unit-suffix-mismatch", 2, "计量单位")]


def test_xlsx_formula_without_saved_result_is_not_evaluated(plan):
    report = read(plan, xlsx_of(row("governance_reports", "=2+3")), "r.xlsx")
    assert report.flat() == [("type-error", 2, "本月数值")]
    cached = with_cached_formula(xlsx_of(row("governance_reports", 0)), "F2", "2+3", "5")
    report = read(plan, cached, "r.xlsx")
    assert report.ok and _values(report)[("governance_reports", "")] == 5


def test_xlsx_typed_cells(plan):
    data = xlsx_of(row("retrofit_households", 2), row("fund_raised_yuan", 1234.5, "定向捐"),
                   row("governance_reports", True), row("sanzhang_reviews", dt.datetime(2023, 6, 1)))
    report = read(plan, data, "r.xlsx")
    assert report.flat() == [("type-error", 4, "本月数值"), ("type-error", 5, "本月数值")]


def test_stray_cell_beyond_the_header_in_xlsx(plan):
    report = read(plan, xlsx_of(ONE + [None, "多余"]), "r.xlsx")
    assert report.flat() == [("extra-cell", 2, "J")]


def test_large_value_thresholds(plan):
    assert large_value_threshold(plan, "retrofit_households", UNIT)[0] == 6
    assert large_value_threshold(plan, "governance_reports", UNIT)[0] == 20  # 10 x the monthly 2
    assert large_value_threshold(plan, "people_helped", UNIT)[0] == 10000  # no quota: the street target
    assert large_value_threshold(plan, "fund_raised_yuan", "街道民政办")[0] == 10_000_000
    # categories add up: 300,000 + 300,000 against a yearly quota of 500,000
    data = csv_of(row("fund_raised_yuan", 300000, "定向捐"), row("fund_raised_yuan", 300000, "企业赞助"))
    assert read(plan, data).flat("warnings") == [("large-value", 2, "本月数值")]
    assert read(plan, csv_of(row("retrofit_households", 6))).flat("warnings") == []


def test_unit_and_month_taken_from_rows_when_not_declared(plan):
    report = read(plan, csv_of(row("retrofit_households", 1, unit="天剑", month="2023/7")), unit=None, month=None)
    assert report.ok and (report.reporting_unit, report.month) == (UNIT, "2023-07")
    mixed = read(plan, csv_of(ONE, row("retrofit_households", 1, unit="涂新社区", month="2023-07")), unit=None,
                 month=None)
    assert ("unit-mismatch", 3, "上报单位") in mixed.flat() and ("month-mismatch", 3, "月份") in mixed.flat()


def test_declared_unit_and_month_are_checked(plan):
    report = read(plan, csv_of(ONE), unit="火星社区", month="六月")
    assert ("unknown-unit", None, "上报单位") in report.flat() and ("month-error", None, "月份") in report.flat()
    report = read(plan, csv_of(ONE), unit="涂新社区")
    assert report.flat() == [("unit-mismatch", 2, "上报单位")]
    report = read(plan, csv_of(ONE), unit="涂新社区", uploader_unit=UNIT)
    assert ("unit-mismatch", None, "上报单位") in report.flat()


def test_category_column_needed_only_when_an_item_has_categories(plan):
    header = [h for h in HEADER if h != "分类"]
    plain = read(plan, csv_of(["天剑社区", MONTH, "retrofit_households", "", "", 1, ""], header=header))
    assert plain.ok
    fund = read(plan, csv_of(["天剑社区", MONTH, "fund_raised_yuan", "", "", 1, ""], header=header))
    assert fund.flat() == [("missing-label", 1, "分类")]


def test_declared_unit_and_month_are_known_even_for_a_refused_file(plan):
    report = read(plan, b"")
    assert report.flat() == [("empty-file", None, None)]
    assert (report.reporting_unit, report.month) == (UNIT, MONTH)


def test_month_outside_the_plan_is_an_error(plan):
    report = read(plan, csv_of(row("retrofit_households", 1, month="2022-06")), month=None)
    assert report.flat() == [("month-error", 2, "月份")]


def test_another_units_file_is_refused_and_writes_nothing(plan, tmp_path):
    """A community cannot write another community's figures, even with a clean file."""
    data = fixture("tianjian-2023-06-utf8-bom.csv")
    report = read_report(data, "tianjian.csv", plan, uploader_unit="夏家冲社区")
    assert report.flat() == [("unit-mismatch", 3, "上报单位")]
    assert report.rows == [] and not report.ok
    store_module = pytest.importorskip("worktrack.store")
    store = store_module.Store(tmp_path / "w.duckdb")
    result = store.submit(report, data, submitted_by="xiajiachong", confirm=True)
    assert not result.accepted
    with store.snapshot() as snapshot:
        assert snapshot.facts().empty


def test_form_like_lines_above_the_header_are_not_the_header(plan):
    data = "上报单位：,天剑社区,月份：,2023-06,,,,\r\n".encode() + csv_of(ONE, encoding="utf-8")
    report = read(plan, data)
    assert report.ok and report.rows[0].row == 3


def test_header_found_by_labels_with_explanation_lines_above(plan):
    data = ("说明：本月数值填本月新增数\r\n上报单位、月份、编号不要修改\r\n\r\n".encode()
            + csv_of(ONE, encoding="utf-8"))
    report = read(plan, data)
    assert report.ok and report.rows[0].row == 5
    assert report.flat("normalised").count(("normalised-title-row", 1, None)) == 1


def test_defusedxml_guards_openpyxl():
    """openpyxl parses through defusedxml here, so the bomb is refused even without our own scan."""
    import openpyxl
    from defusedxml.common import DefusedXmlException

    assert openpyxl.DEFUSEDXML
    with pytest.raises(Exception) as caught:
        openpyxl.load_workbook(io.BytesIO(fixture("xml-bomb.xlsx")))
    chain = [caught.value, caught.value.__cause__, caught.value.__context__]
    assert any(isinstance(e, DefusedXmlException) for e in chain)


def test_fixture_files_match_their_recipe(plan):
    built = build_all(plan)
    assert sorted(built) == sorted(p.name for p in FIXTURES.iterdir())
    for name, data in built.items():
        assert fixture(name) == data, f"{name} differs from make_intake_fixtures.py; regenerate it"


def test_fixture_files_look_like_what_offices_send():
    gb = fixture("tianjian-2023-06-gb18030-excel.csv")
    assert b"\r\n" in gb and not gb.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        gb.decode("utf-8")
    assert fixture("tianjian-2023-06-utf8-bom.csv").startswith(b"\xef\xbb\xbf")
    assert fixture("tianjian-2023-06-unicode-text.txt").startswith(b"\xff\xfe")
    assert b"\t\x00" in fixture("tianjian-2023-06-unicode-text.txt")
    assert fixture("renamed-excel97.csv").startswith(b"\xd0\xcf\x11\xe0")


def test_performance_street_scale_file_is_fast(plan):
    """Not a benchmark: a guard against an accidental quadratic. Generous bound for slow CI."""
    import time

    data = fixture("tianjian-2023-06-utf8-bom.csv")
    xlsx = fixture("tianjian-2023-06-title-merged.xlsx")
    read(plan, xlsx, "r.xlsx")  # warm imports
    start = time.perf_counter()
    for _ in range(5):
        read(plan, data)
        read(plan, xlsx, "r.xlsx")
    assert (time.perf_counter() - start) / 5 < 0.5


# ---------------------------------------------------------------------------
# never raises


def assert_no_internal_failure(report: IntakeReport) -> None:
    """The last-resort handler in read_report turns a crash into a finding; it must not be needed."""
    assert "internal-error" not in report.codes(), report.flat()
    assert not [f for f in report.errors if f.message.startswith("文件无法读取（")], report.flat()


def test_reader_bug_is_logged_not_shown_as_unreadable(plan, monkeypatch, caplog):
    """A bug in the reader was shown as "文件无法读取（AttributeError）" and recorded nowhere."""
    from worktrack.intake import validate

    def broken(self, table):
        raise AttributeError("'NoneType' object has no attribute 'strip'")

    monkeypatch.setattr(validate._Reader, "read_table", broken)
    with caplog.at_level("ERROR", logger="worktrack.intake"):
        report = read_report(csv_of(ONE), "x.csv", plan)
    assert report.flat() == [("internal-error", None, None)] and report.rows == []
    message = report.errors[0].message
    assert "已记录" in message and "管理员" in message and "AttributeError" not in message
    record = next(r for r in caplog.records if r.name == "worktrack.intake")
    assert record.exc_info and record.exc_info[0] is AttributeError and "x.csv" in record.getMessage()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000))
def test_random_bytes_never_raise(plan, data):
    report = read_report(data, "x.csv", plan)
    assert isinstance(report, IntakeReport)
    assert report.ok or report.rows == []
    assert_no_internal_failure(report)


TOKENS = ["上报单位", "月份", "编号", "本月数值", "分类", "备注", "天剑社区", "2023-06", "retrofit_households", "T1-1",
          "fund_raised_yuan", "定向捐", "合计", "1", "-1", "1,000", '"', '""', "五", "已完成", "", " ", "\u200b", "=1+1"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.lists(st.sampled_from(TOKENS), max_size=10), max_size=12),
       separator=st.sampled_from([",", ";", "\t"]), eol=st.sampled_from(["\r\n", "\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_random_tables_never_raise(plan, lines, separator, eol, encoding):
    data = eol.join(separator.join(cells) for cells in lines).encode(encoding)
    report = read_report(data, "x.csv", plan, unit=UNIT, month=MONTH)
    assert report.ok or report.rows == []
    assert_no_internal_failure(report)
    for finding in report.errors + report.warnings + report.normalised:
        assert finding.row is None or finding.row >= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), junk=st.binary(min_size=1, max_size=8))
def test_corrupted_xlsx_never_raises(plan, position, junk):
    data = bytearray(fixture("tianjian-2023-06-title-merged.xlsx"))
    at = position % len(data)
    data[at:at + len(junk)] = junk
    report = read_report(bytes(data), "x.xlsx", plan)
    assert report.ok or report.rows == []
    assert_no_internal_failure(report)

"""Reading the bytes of an upload: CSV quoting judged by parsing, sizes, one huge cell, passwords."""

from __future__ import annotations

import csv
import io

from tests.fixtures.make_intake_fixtures import huge_csv, one_huge_cell_csv
from tests.test_intake import MONTH, ONE, TASK, UNIT, csv_of, read, row
from tests.test_intake_xlsx import PEAK_LIMIT_MB, judge_in_subprocess
from worktrack.intake import MAX_ROWS

SIX_COMMAS = "见附件,详见台账,共6户,已验收,已拍照,已归档,已公示"


def template_with_note(plan, note: str) -> bytes:
    """The product's own CSV template, filled in, with `note` in the 备注 of the first row."""
    from worktrack.template import build_template

    text = build_template(plan, UNIT, MONTH, "csv").decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text, newline="")))
    header = lines[1]  # the template has a title row above the header
    first = lines[2]
    assert first[header.index("编号")] == "retrofit_households"
    first[header.index("本月数值")] = "1"
    first[header.index("备注")] = note
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(lines)
    return out.getvalue().encode("utf-8-sig")


def test_template_note_with_a_line_of_six_commas_is_not_an_unclosed_quote(plan):
    """A second note line with six ASCII commas was counted as a swallowed row: quote-error."""
    report = read(plan, template_with_note(plan, "入户评估已完成\n" + SIX_COMMAS))
    assert "quote-error" not in report.codes(), report.flat()
    assert report.rows[0].note == "入户评估已完成\n" + SIX_COMMAS
    assert report.ok, report.flat()


def test_quote_that_swallows_rows_up_to_a_later_quote_is_found(plan):
    """Judged by parsing: the swallowed lines hold this file's own unit, month and item ids."""
    data = (csv_of(ONE) + f'{UNIT},{MONTH},{TASK},,,进行中,,"走访\r\n'.encode()
            + f'{UNIT},{MONTH},governance_reports,,,2,,\r\n{UNIT},{MONTH},sanzhang_reviews,,,1,,"a,b"\r\n'.encode())
    report = read(plan, data)
    assert ("quote-error", 3, None) in report.flat()


def test_4mb_cell_is_too_long_not_an_unclosed_quote(plan, tmp_path):
    """One 4 MB cell went past the csv module's field limit and was reported as an unclosed quote."""
    data = one_huge_cell_csv(plan)
    assert len(data) > 4_000_000
    report = read(plan, data)
    assert report.flat() == [("cell-too-long", 3, "备注")]
    assert "1,398,101 个字符" in report.errors[0].message
    assert len(report.errors[0].message) < 300
    result = judge_in_subprocess(tmp_path, "cell.csv", data)
    assert result["flat"] == [["cell-too-long", 3, "备注"]] and result["peak_mb"] < PEAK_LIMIT_MB


def test_cell_longer_than_excel_but_within_the_csv_limit(plan):
    report = read(plan, csv_of(ONE, row(TASK, "进行中", note="走" * 40_000)))
    assert report.flat() == [("cell-too-long", 3, "备注")]


def test_unclosed_quote_at_the_end_is_still_a_quote_error(plan):
    data = csv_of(ONE) + f'{UNIT},{MONTH},{TASK},,,进行中,,"走访'.encode() + "记录" .encode() * 100_000
    assert read(plan, data).flat() == [("quote-error", 3, None)]


def test_21693_records_say_more_than_20000_rows_not_20001(plan):
    """A file of 21,693 records was said to have 20,001 rows."""
    data = csv_of(*[row("retrofit_households", 1)] * 21_692)
    report = read(plan, data)
    assert report.flat() == [("file-too-large", None, None)]
    message = report.errors[0].message
    assert f"超过 {MAX_ROWS} 行" in message and "20001" not in message and "20031" not in message


def test_huge_csv_at_the_size_limit(plan, tmp_path):
    data = huge_csv(plan)
    assert 5_000_000 < len(data) <= 5 * 1024 * 1024
    result = judge_in_subprocess(tmp_path, "huge.csv", data)
    assert result["flat"] == [["file-too-large", None, None]]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_row_with_content_in_column_200_is_refused_while_reading(plan):
    data = csv_of(ONE) + ("," * 199 + "x\r\n").encode()
    report = read(plan, data)
    assert report.flat() == [("file-too-large", None, None)] and "GR 列" in report.errors[0].message


def test_password_protected_xlsx_says_remove_the_password(plan):
    """An encrypted XLSX (an OLE2 container holding EncryptedPackage) was called an old .xls."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = "EncryptionInfo".encode("utf-16-le").ljust(128, b"\x00") + "EncryptedPackage".encode("utf-16-le")
    report = read(plan, header + directory.ljust(512, b"\x00") + b"\x00" * 4096, "report.xlsx")
    assert report.flat() == [("encrypted-file", None, None)]
    assert "密码" in report.errors[0].message and "旧版" not in report.errors[0].message
    old_xls = read(plan, header + "Workbook".encode("utf-16-le") + b"\x00" * 4096, "report.xls")
    assert old_xls.flat() == [("format-error", None, None)] and "旧版" in old_xls.errors[0].message


def test_many_errors_are_capped_with_a_count_of_the_rest(plan):
    data = csv_of(*[row("retrofit_households", "五") for _ in range(700)])
    report = read(plan, data)
    assert len(report.errors) == 201
    assert [f.row for f in report.errors[:200]] == list(range(2, 202))
    last = report.errors[-1]
    assert (last.code, last.row) == ("findings-truncated", None) and "另有 500 条错误" in last.message
    assert report.omitted == {"errors": 500} and report.as_dict()["omitted"] == {"errors": 500}

"""The streaming XLSX reader: files written by other tools, and limits checked while reading.

Hostile files are judged in a subprocess that reports its peak memory (VmHWM); the time each
takes is measured by the benchmark (benchmarks/run.py, section bad_inputs), never asserted here.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import subprocess
import sys
import textwrap
import warnings

import pytest

from tests.conftest import PLAN_PATH, ROOT
from tests.fixtures.make_intake_fixtures import (
    MAIN_NS,
    STRICT_NS,
    bad_inputs,
    many_cells_xlsx,
    merged_far_down_xlsx,
    raw_xlsx,
    report_sheet_xml,
    stray_far_right_xlsx,
)
from tests.test_intake import FIXTURES, MONTH, UNIT, read
from worktrack.intake import MAX_ROWS

PEAK_LIMIT_MB = 200

# Peak resident memory of this process image: VmHWM. Not ru_maxrss, which Linux carries over from
# the parent across fork+exec (a child of a 350 MB pytest process would report 350 MB).
_JUDGE = textwrap.dedent("""
    import json, re, sys
    from pathlib import Path
    from worktrack.intake import read_report
    from worktrack.plan import load_plan

    def peak_mb():
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) / 1024

    plan = load_plan(sys.argv[2])
    path = Path(sys.argv[1])
    data = path.read_bytes()
    before = peak_mb()
    report = read_report(data, path.name, plan)
    peak = peak_mb()
    print(json.dumps({"before_mb": before, "peak_mb": peak, "flat": report.flat(),
                      "messages": [f.message for f in report.errors],
                      "json_bytes": len(json.dumps(report.as_dict(), ensure_ascii=False).encode())}))
""")


def judge_in_subprocess(tmp_path, filename: str, data: bytes) -> dict:
    """read_report in a fresh interpreter: its findings and the process's peak resident memory."""
    path = tmp_path / filename
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", _JUDGE, str(path), str(PLAN_PATH)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


def _values(report) -> list[tuple]:
    return [dataclasses.replace(r, row=0) for r in report.rows]


# ---------------------------------------------------------------------------
# limits, while reading


def test_cell_in_column_xfd_on_20000_rows_stops_at_the_first_one(tmp_path):
    """openpyxl padded each of the 20,000 rows to 16,384 cells: 327 million cells for a 134 KB file."""
    data = stray_far_right_xlsx()
    assert 120_000 < len(data) < 140_000
    result = judge_in_subprocess(tmp_path, "stray.xlsx", data)
    assert result["flat"] == [["file-too-large", 1, "XFD"]]
    assert "XFD" in result["messages"][0] and "100 列" in result["messages"][0]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_merged_range_down_to_row_200000_is_one_finding(tmp_path, plan):
    """A merged A2:A200000 slipped past the row limit and came back as 399,996 errors."""
    result = judge_in_subprocess(tmp_path, "merged.xlsx", merged_far_down_xlsx(plan))
    assert result["flat"] == [["file-too-large", 2, "A"]]
    assert "A2:A200000" in result["messages"][0] and f"{MAX_ROWS} 行" in result["messages"][0]
    assert result["peak_mb"] < PEAK_LIMIT_MB and result["json_bytes"] < 10_000


def test_sheet_of_2_36_million_cells_within_the_byte_limit_stops_at_the_cell_limit(tmp_path):
    data = many_cells_xlsx()
    assert len(data) < 5 * 1024 * 1024
    result = judge_in_subprocess(tmp_path, "cells.xlsx", data)
    assert [code for code, _, _ in result["flat"]] == ["file-too-large"]
    assert "单元格超过" in result["messages"][0]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_merged_unit_cell_reaching_below_the_table_fills_only_rows_with_content(plan):
    """Within the row limit a merged A2:A5000 filled 4,960 empty rows, each then missing its item and value."""
    rows = len(plan.template_rows(UNIT))
    report = read(plan, raw_xlsx(report_sheet_xml(plan), merges=("A2:A5000",)), "r.xlsx")
    assert report.ok, report.flat()[:5]
    assert len(report.rows) <= rows and max(r.row for r in report.rows) <= rows + 1


@pytest.mark.parametrize("name", ["3M-formatted-empty-cells", "5M-commas-csv"])
def test_padding_millions_of_empty_cells_is_refused_in_bounded_memory(tmp_path, plan, name):
    filename, data = bad_inputs(plan)[name]
    result = judge_in_subprocess(tmp_path, filename, data)
    assert [code for code, _, _ in result["flat"]] == ["file-too-large"]
    assert result["peak_mb"] < PEAK_LIMIT_MB


def test_every_bad_input_of_the_benchmark_is_refused_with_one_finding(plan):
    for name, (filename, data) in bad_inputs(plan).items():
        report = read(plan, data, filename, unit=None, month=None)
        assert len(report.errors) == 1, (name, report.flat())


# ---------------------------------------------------------------------------
# files written by other tools


def test_strict_open_xml_is_read_not_called_empty(plan):
    """Excel's "Strict Open XML Spreadsheet" uses another namespace; the file was called empty."""
    strict = read(plan, raw_xlsx(report_sheet_xml(plan), namespace=STRICT_NS), "strict.xlsx")
    transitional = read(plan, raw_xlsx(report_sheet_xml(plan), namespace=MAIN_NS), "r.xlsx")
    assert strict.ok and strict.rows, strict.flat()
    assert _values(strict) == _values(transitional)


def test_workbook_at_a_non_standard_part_path_is_read_not_called_a_zip_archive(plan):
    data = raw_xlsx(report_sheet_xml(plan), workbook="spreadsheet/book.xml", sheet="spreadsheet/pages/first.xml")
    report = read(plan, data, "r.xlsx")
    assert report.ok and report.rows, report.flat()
    assert _values(report) == _values(read(plan, raw_xlsx(report_sheet_xml(plan)), "r.xlsx"))


def test_file_openpyxl_cannot_open_is_read(plan):
    """A pivot table whose cache the workbook does not list (Mac Excel): openpyxl raises, the data is fine."""
    import openpyxl

    pivot = (f'<pivotTableDefinition xmlns="{MAIN_NS}" name="P1" cacheId="7" dataCaption="值">'
             '<location ref="K1:L3" firstHeaderRow="1" firstDataRow="1" firstDataCol="1"/></pivotTableDefinition>')
    data = raw_xlsx(report_sheet_xml(plan), sheet_relationships=(
        '<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'pivotTable" Target="../pivotTables/pivotTable1.xml"/>'), extra_parts={"xl/pivotTables/pivotTable1.xml": pivot})
    with pytest.raises(KeyError):
        openpyxl.load_workbook(io.BytesIO(data))
    report = read(plan, data, "pivot.xlsx")
    assert report.ok and report.rows, report.flat()


def test_damaged_sheet_xml_is_named_as_damaged(plan, caplog):
    data = raw_xlsx(report_sheet_xml(plan)[:-200])  # cut inside the sheet XML
    with caplog.at_level(logging.INFO, logger="worktrack.intake"):
        report = read(plan, data, "r.xlsx")
    assert report.flat() == [("format-error", None, None)] and "已损坏" in report.errors[0].message
    assert any("sheet1.xml" in r.getMessage() for r in caplog.records)  # the cause is logged, not dropped


def test_dtd_after_a_long_comment_is_still_refused(plan):
    """A DOCTYPE pushed beyond the first 8 KB of a part by a comment is refused by the prolog check."""
    data = raw_xlsx(report_sheet_xml(plan, rows=2))
    source = __import__("zipfile").ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with __import__("zipfile").ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, body = content.partition(b"?>")
                content = (head + b"?><!--" + b"x" * 20_000 + b"-->"
                           + b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaa">]>' + body)
            target.writestr(info, content)
    assert read(plan, out.getvalue(), "r.xlsx").flat() == [("xml-bomb", None, None)]


def test_cell_longer_than_excel_allows_is_its_own_finding(plan):
    lines = report_sheet_xml(plan, rows=2)
    note = "走" * 40_000
    data = raw_xlsx(lines + f'<row r="4"><c r="A4" t="inlineStr"><is><t>{UNIT}</t></is></c>'
                            f'<c r="H4" t="inlineStr"><is><t>{note}</t></is></c></row>')
    assert read(plan, data, "r.xlsx").flat() == [("cell-too-long", 4, "备注")]


def test_number_with_400_digits_in_an_xlsx_cell_is_out_of_range(plan):
    lines = report_sheet_xml(plan, rows=1)
    data = raw_xlsx(lines.replace("<v>1</v>", "<v>1" + "0" * 400 + "</v>", 1))
    assert read(plan, data, "r.xlsx").flat() == [("constraint-error", 2, "本月数值")]


# ---------------------------------------------------------------------------
# warnings of the libraries stay off the terminal


def test_reader_warnings_are_logged_not_printed(plan, monkeypatch, caplog):
    from worktrack.intake import xlsx

    original = xlsx.Workbook.date_styles

    def noisy(self):
        warnings.warn("Data Validation extension is not supported and will be removed", UserWarning, stacklevel=1)
        return original(self)

    monkeypatch.setattr(xlsx.Workbook, "date_styles", noisy)
    data = (FIXTURES / "tianjian-2023-06-title-merged.xlsx").read_bytes()
    with warnings.catch_warnings(record=True) as shown, caplog.at_level(logging.WARNING, logger="worktrack.intake"):
        warnings.simplefilter("always")
        report = read(plan, data, "r.xlsx")
    assert report.ok and not shown
    assert any("Data Validation extension" in r.getMessage() for r in caplog.records)


def test_cli_ingest_of_a_file_openpyxl_warns_about_prints_no_english_warning(tmp_path, plan):
    import openpyxl

    extension = ('<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
                 'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
                 '<x14:dataValidations count="0"/></ext></extLst>')
    data = raw_xlsx(report_sheet_xml(plan), sheet_tail=extension)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        openpyxl.load_workbook(io.BytesIO(data))
    assert any("extension is not supported" in str(w.message) for w in caught)  # the file does trigger it
    path = tmp_path / "report.xlsx"
    path.write_bytes(data)
    env = {"WORKTRACK_LOG": str(tmp_path / "w.log"), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(tmp_path / "w.duckdb"), "ingest",
                           "--dry-run", "--unit", UNIT, "--month", MONTH, str(path)], cwd=ROOT, capture_output=True,
                          text=True, env=env)
    assert done.returncode in (0, 1), done.stderr
    assert "Warning" not in done.stderr and "extension" not in done.stderr, done.stderr

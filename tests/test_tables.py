"""worktrack.tables: CSV downloads that a spreadsheet opens without running anything."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from worktrack import export
from worktrack.tables import csv_bytes, neutralised, safe_cell_text


@pytest.mark.parametrize("text, expected", [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("@SUM(1)", "'@SUM(1)"), ("+1", "'+1"), ("-1", "'-1"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("正常备注", "正常备注"), ("a=1", "a=1"), ("", ""),
])
def test_safe_cell_text(text, expected):
    assert safe_cell_text(text) == expected


def test_the_xlsx_export_and_the_csv_downloads_share_one_rule():
    assert export.safe_cell_text is safe_cell_text


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_bytes_neutralises_text_cells_but_keeps_numbers():
    frame = pd.DataFrame({"备注": ['=HYPERLINK("http://evil","点我")', "正常", "-2", None],
                          "数值": [-2, 3, 4, 5], "金额": [-1.5, 0.0, 2.5, None]})
    rows = read_back(csv_bytes(frame))
    assert rows[0] == ["备注", "数值", "金额"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://evil","点我")', "正常", "'-2", ""]
    assert [r[1] for r in rows[1:]] == ["-2", "3", "4", "5"]  # numbers are not text: left alone
    assert [r[2] for r in rows[1:]] == ["-1.5", "0.0", "2.5", ""]


def test_csv_bytes_neutralises_headers_and_index_labels():
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": ["x"]}, index=["@evil"])
    rows = read_back(csv_bytes(frame, index=True))
    assert rows[0][1] == "'=cmd|' /C calc'!A0" and rows[1][0] == "'@evil"


def test_csv_bytes_writes_several_tables_one_after_another():
    first = pd.DataFrame({"项目": ["文件名"], "内容": ["+SUM(A1).csv"]})
    second = pd.DataFrame({"编号": ["retrofit_households"], "本月数值": ["2 户"]})
    text = csv_bytes(first, second).decode("utf-8-sig")
    assert text.splitlines() == ["项目,内容", "文件名,'+SUM(A1).csv", "", "编号,本月数值", "retrofit_households,2 户"]


def test_neutralised_leaves_the_original_frame_alone():
    frame = pd.DataFrame({"a": ["=1"]})
    assert neutralised(frame).iloc[0, 0] == "'=1" and frame.iloc[0, 0] == "=1"


def test_string_dtype_columns_are_neutralised_too():
    frame = pd.DataFrame({"a": pd.array(["=1", "ok", None], dtype="string")})
    assert read_back(csv_bytes(frame))[1:] == [["'=1"], ["ok"], [""]]


def test_the_upload_and_admin_pages_build_csv_downloads_with_csv_bytes():
    """Cross-check: these pages' CSV download buttons go through csv_bytes, never a bare to_csv."""
    from tests.conftest import ROOT

    for page in ("pages/upload.py", "pages/admin.py"):
        source = (ROOT / page).read_text(encoding="utf-8")
        assert ".to_csv(" not in source, page

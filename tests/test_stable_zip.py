"""Reproducible Office files: every zip time and core.xml time set to the pack's date."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from worktrack.stable_zip import stable_zip


def _workbook(created: dt.datetime = dt.datetime(2023, 10, 1, 8, 30)) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.properties.created = created  # as the writer would stamp "now"
    book.active["A1"] = "金盆岭"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_two_workbooks_written_at_different_times_become_identical():
    first = _workbook(dt.datetime(2023, 10, 1, 8, 30))
    second = _workbook(dt.datetime(2023, 11, 2, 17, 5))
    assert first != second
    day = dt.date(2023, 10, 12)
    assert stable_zip(first, day) == stable_zip(second, day)


def test_entries_keep_their_content_order_and_get_the_date():
    data = _workbook()
    fixed = stable_zip(data, dt.date(2023, 10, 12))
    with zipfile.ZipFile(io.BytesIO(data)) as before, zipfile.ZipFile(io.BytesIO(fixed)) as after:
        assert before.namelist() == after.namelist()
        assert {i.date_time for i in after.infolist()} == {(2023, 10, 12, 0, 0, 0)}
        core = after.read("docProps/core.xml")
        assert b"2023-10-12T00:00:00Z" in core
        for name in before.namelist():
            if name != "docProps/core.xml":
                assert before.read(name) == after.read(name)


def test_an_embedded_workbook_is_made_stable_too():
    inner = _workbook()
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("ppt/embeddings/Sheet1.xlsx", inner)
    fixed = stable_zip(outer.getvalue(), dt.date(2023, 10, 12))
    with zipfile.ZipFile(io.BytesIO(fixed)) as archive:
        embedded = archive.read("ppt/embeddings/Sheet1.xlsx")
    assert embedded == stable_zip(inner, dt.date(2023, 10, 12))

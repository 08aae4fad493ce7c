"""No full ID number from the test data anywhere: the database file, backups, exports, every page.

A database is filled through the real intake paths (registers with every test ID number, a file
named after an ID number, a rejected register, a monthly report, evidence, an unmasked view), then
scanned: the database file's bytes and every text cell of every table; every file of a backup and
every cell of its Parquet tables; the meeting packs (PPTX/XLSX unzipped, PDF as text), the register
CSV, every JSON the command line prints, the notice; and every element of every page as each role sees
it (AppTest). A positive control shows that the scan finds a number that is there.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import duckdb
import pytest

from tests.apptest import dashboard
from tests.test_registers import FIXTURES
from worktrack.intake import read_report
from worktrack.meeting.pdf import pdf_problem
from worktrack.registers import read_register
from worktrack.registers.evidence import attach
from worktrack.registers.identity import (
    ID_NUMBER_PATTERN,
    id_number_problem,
    mask_id_number,
    normalise_id_number,
)
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py", "pages/upload.py",
         "pages/registers.py", "pages/review.py", "pages/remind.py", "pages/admin.py"]
REGISTERS = [("retrofit_2023-06.csv", "retrofit_register"), ("retrofit_2023-07.csv", "retrofit_register"),
             ("retrofit_other_unit_2023-07.csv", "retrofit_register"), ("donation_2023-06.csv", "donation_register"),
             ("help_2023-06.csv", "help_register")]


def id_numbers_in_the_test_data() -> set[str]:
    """Every valid ID number written anywhere in the register fixtures."""
    found = set()
    for path in FIXTURES.iterdir():
        for match in ID_NUMBER_PATTERN.finditer(path.read_text(encoding="utf-8-sig")):
            number = normalise_id_number(match.group())
            if id_number_problem(number) is None:
                found.add(number)
    return found


ID_NUMBERS = id_numbers_in_the_test_data()


def leaks(data: bytes | str) -> set[str]:
    """The full test ID numbers found in some bytes or text."""
    text = data if isinstance(data, str) else data.decode("latin-1")
    return {n for n in ID_NUMBERS if n in text or n.encode("utf-16-le").decode("latin-1") in text}


def database_text(path: Path) -> str:
    """The database file's bytes, its write-ahead log's, and every value of every table as text."""
    parts = [path.read_bytes().decode("latin-1")]
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        parts.append(wal.read_bytes().decode("latin-1"))
    con = duckdb.connect(str(path), read_only=True)
    try:
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
                parts.append(" ".join(bytes(v).decode("latin-1") if isinstance(v, bytes | bytearray | memoryview)
                                      else str(v) for v in row))
    finally:
        con.close()
    return "\n".join(parts)


def file_text(path: Path) -> str:
    """A file as text for the scan: zips unpacked, PDFs as their text, Parquet as its rows, else the bytes."""
    data = path.read_bytes()
    parts = [data.decode("latin-1")]
    if data[:2] == b"PK":
        with zipfile.ZipFile(path) as archive:
            parts += [archive.read(name).decode("latin-1") for name in archive.namelist()]
    if data[:5] == b"%PDF-" and shutil.which("pdftotext"):
        # an attachment may be a PDF pdftotext cannot read: its bytes were scanned above
        parts.append(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout)
    if path.suffix == ".parquet":
        con = duckdb.connect()
        parts += [str(row) for row in con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()]
        con.close()
    return "\n".join(parts)


def page_text(at) -> str:
    """Every element the page sent to the browser (its protobuf, table data included), as text."""
    parts = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))  # tables as Arrow bytes: ASCII digits readable, Chinese escaped
        if getattr(node, "type", None) in ("arrow_data_frame", "dataframe", "table"):
            parts.append(node.value.to_csv())  # and decoded, so that names can be checked too
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


@pytest.fixture
def filled(db_path, plan, accounts, tmp_path, monkeypatch) -> Store:
    monkeypatch.setenv("WORKTRACK_REGISTER_KEY", str(tmp_path / "register.key"))
    store = Store(db_path)
    for name, kind in REGISTERS:
        data = (FIXTURES / name).read_bytes()
        # the June file is named after a household's ID number, as clerks sometimes do
        file_name = f"张三明{sorted(ID_NUMBERS)[0]}.csv" if name == "retrofit_2023-06.csv" else name
        assert store.submit_register(read_register(data, file_name, plan, kind), data, submitted_by="tianjian").accepted
    wrong = (FIXTURES / "retrofit_2023-06.csv").read_bytes().replace(b"1234,", b"1235,")
    rejected = read_register(wrong, "wrong.csv", plan, "retrofit_register")
    assert store.submit_register(rejected, wrong, submitted_by="tianjian").status == "rejected"
    data = "上报单位,月份,编号,本月数值\n天剑社区,2023-06,governance_reports,2\n".encode()
    report = read_report(data, "m.csv", plan)
    result = store.submit(report, data, submitted_by="tianjian", confirm=True)
    assert result.accepted
    store.review(result.upload_id, "approved", actor="reviewer")
    row = next(store.register_rows("retrofit_register").itertuples(index=False))
    attachment, problem = attach(store, accounts["tianjian"], "retrofit_register", row, b"%PDF-1.4 receipt",
                                 f"验收单{sorted(ID_NUMBERS)[0]}.pdf")
    assert problem is None
    store.record_unmasked_view(actor="tianjian", kind="retrofit_register", unit="天剑社区", rows=3)
    return store


def test_the_scan_finds_a_number_that_is_there(tmp_path, plan):
    """Positive control: an upload's free-text comment is kept as typed, so the scan must find it."""
    store = Store(tmp_path / "control.duckdb")
    planted = sorted(ID_NUMBERS)[0]
    data = "上报单位,月份,编号,本月数值,备注\n天剑社区,2023-06,governance_reports,2,\n".encode()
    assert store.submit(read_report(data, "m.csv", plan), data, submitted_by="x", confirm=True,
                        note=f"补报 {planted}").accepted
    assert leaks(database_text(tmp_path / "control.duckdb")) == {planted}


def test_a_monthly_note_holding_an_id_number_is_refused_and_nothing_is_stored(tmp_path, plan):
    """Regression: a community could type a person's ID number into a monthly report's 备注, which was
    stored as typed and carried into every pack and export."""
    store = Store(tmp_path / "refused.duckdb")
    planted = sorted(ID_NUMBERS)[0]
    data = f"上报单位,月份,编号,本月数值,备注\n天剑社区,2023-06,governance_reports,2,帮扶对象 {planted}\n".encode()
    report = read_report(data, "m.csv", plan)
    assert [f.code for f in report.errors] == ["id-number-in-note"]
    assert planted not in " ".join(f"{f.message} {f.value}" for f in report.errors)  # masked on screen too
    assert not store.submit(report, data, submitted_by="x", confirm=True).accepted
    assert leaks(database_text(tmp_path / "refused.duckdb")) == set()


def test_the_test_data_has_id_numbers_to_look_for():
    assert len(ID_NUMBERS) >= 4


def test_no_full_id_number_in_the_database_file(filled, db_path):
    assert leaks(database_text(db_path)) == set()


def test_no_full_id_number_in_a_backup(filled, tmp_path):
    filled.backup(tmp_path / "backup")
    files = [p for p in (tmp_path / "backup").rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for path in files:
        assert leaks(file_text(path)) == set(), path


def test_no_full_id_number_in_exports_or_command_output(filled, db_path, tmp_path, capsys, plan):
    from worktrack.cli import main
    from worktrack.registers.notice import build_notice, notice_html, parse_period
    from worktrack.tables import csv_bytes
    from worktrack.views.registers import duplicates_table, register_table

    base = ["--db", str(db_path)]
    outputs: list[str] = []
    formats = ["pptx", "xlsx"] + (["pdf"] if pdf_problem() is None else [])
    for fmt in formats:
        out = tmp_path / f"pack.{fmt}"
        assert main([*base, "export", "--format", fmt, "--as-of", "2023-07", "--include-pending", "-o", str(out)]) == 0
        outputs.append(file_text(out))
    for args in (["registers", "--kind", "retrofit_register", "--json"], ["registers", "--kind", "help_register"],
                 ["registers", "--duplicates", "--json"], ["uploads", "--json"], ["status", "--as-of", "2023-07", "--json"],
                 ["ingest", "--dry-run", "--json", str(FIXTURES / "retrofit_2023-07.csv")]):
        main([*base, *args])
        captured = capsys.readouterr()
        outputs += [captured.out, captured.err]
    bad = tmp_path / "bad.csv"
    bad.write_bytes((FIXTURES / "help_2023-06.csv").read_bytes().replace(b"4565,", b"4566,"))
    assert main([*base, "ingest", "--json", str(bad)]) == 1
    outputs.append(capsys.readouterr().out)
    rows = filled.register_rows()
    for kind in ("retrofit_register", "donation_register", "help_register"):
        outputs.append(csv_bytes(register_table(rows, kind)).decode("utf-8-sig"))
    from worktrack.registers.counts import duplicates

    outputs.append(csv_bytes(duplicates_table(duplicates(plan, rows))).decode("utf-8-sig"))
    notice = build_notice(rows, "天剑社区", parse_period("2023Q2"), start=dt.date(2023, 7, 3),
                          contact="街道民政办", issuer="天剑社区")
    outputs.append(notice_html(notice))
    if pdf_problem() is None:
        out = tmp_path / "notice.pdf"
        assert main([*base, "notice", "--unit", "天剑社区", "--period", "2023Q2", "-o", str(out)]) == 0
        outputs.append(file_text(out))
    for text in outputs:
        assert leaks(text) == set(), text[:300]
    assert any("4301**********1234" in text for text in outputs)  # the masked form is there: the scan looked


@pytest.mark.parametrize("who", ["leader", "admin", "tianjian"])
def test_no_full_id_number_on_any_page(filled, accounts, who):
    for page in PAGES:
        at = dashboard(accounts[who], page)
        if page == "pages/registers.py" and who == "tianjian":
            at.toggle(key="registers_unmask").set_value(True).run()
            assert "张三明" in page_text(at)  # unmasked for its own unit: the scan sees the full view
        assert leaks(page_text(at)) == set(), (who, page)


def test_stored_file_names_are_masked(filled):
    names = list(filled.register_uploads()["file_name"]) + list(filled.attachments()["file_name"])
    masked = mask_id_number(sorted(ID_NUMBERS)[0])
    assert f"张三明{masked}.csv" in names and f"验收单{masked}.pdf" in names
    assert json.dumps(names, ensure_ascii=False).count("**********") == 2

"""CLI contract for registers: template --kind, ingest reporting "kind", registers listing and duplicates."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import PLAN_PATH, ROOT
from tests.test_registers import FIXTURES, ID_NUMBERS
from worktrack.registers import read_register


def cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WORKTRACK_PLAN": str(PLAN_PATH), "PYTHONPATH": str(ROOT),
                   "WORKTRACK_REGISTER_KEY": str(tmp_path / "secret" / "register.key")}
    return subprocess.run([sys.executable, "-m", "worktrack", "--db", str(tmp_path / "w.duckdb"), *argv],
                          capture_output=True, text=True, env=environment, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("kind", ["retrofit_register", "donation_register", "help_register"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_of_each_register_reads_back_as_that_register(tmp_path, plan, kind, fmt):
    out = tmp_path / f"t.{fmt}"
    result = cli(tmp_path, "template", "--kind", kind, "--unit", "天剑", "--month", "2023-07", "--format", fmt,
                 "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == kind
    report = read_register(out.read_bytes(), out.name, plan, kind, key=b"k" * 32)
    assert report.flat() == [("no-data", None, None)]  # pre-filled unit and month only: nothing registered yet
    if fmt == "xlsx":
        workbook = openpyxl.load_workbook(out)
        assert workbook.sheetnames[1] == "填表说明"
        assert workbook.worksheets[0].data_validations.dataValidation  # drop-downs for the choices


def test_a_filled_xlsx_template_is_accepted(tmp_path, plan):
    out = tmp_path / "t.xlsx"
    assert cli(tmp_path, "template", "--kind", "retrofit_register", "--unit", "天剑社区", "--month", "2023-06",
               "-o", str(out)).returncode == 0
    workbook = openpyxl.load_workbook(out)
    sheet = workbook.worksheets[0]
    for col, value in enumerate(["天剑路1栋101", "张三明", ID_NUMBERS[0], "高龄", "扶手", 3000, "湘居装饰",
                                 "2023-06-01", "2023-06-10"], start=3):
        sheet.cell(row=2, column=col, value=value)
    workbook.save(out)
    report = read_register(out.read_bytes(), out.name, plan, "retrofit_register", key=b"k" * 32)
    assert report.flat() == [] and len(report.rows) == 1 and report.rows[0].id_masked == "4301**********1234"


def test_the_monthly_report_stays_the_default_template(tmp_path):
    out = tmp_path / "m.csv"
    assert cli(tmp_path, "template", "--unit", "天剑社区", "--month", "2023-06", "-o", str(out)).returncode == 0
    assert "本月数值" in out.read_text(encoding="utf-8-sig")


def test_ingest_reports_the_kind_of_every_file_and_the_receipt(tmp_path):
    files = [str(FIXTURES / n) for n in ("retrofit_2023-06.csv", "retrofit_2023-07.csv",
                                         "retrofit_other_unit_2023-07.csv")]
    monthly = tmp_path / "m.csv"
    monthly.write_text("上报单位,月份,编号,本月数值\n天剑社区,2023-06,T1-1,进行中\n", encoding="utf-8")
    result = cli(tmp_path, "ingest", "--json", *files, str(monthly))
    assert result.returncode == 0, result.stdout + result.stderr
    entries = json.loads(result.stdout)["files"]
    assert [e["kind"] for e in entries] == ["retrofit_register"] * 3 + ["monthly_report"]
    assert [(e["counted"], e["already_counted"], len(e["counted_elsewhere"])) for e in entries[:3]] == [
        (2, 0, 0), (2, 1, 0), (0, 0, 1)]
    assert all(e["accepted"] for e in entries)
    key = tmp_path / "secret" / "register.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600  # created on first use, outside the database
    assert not any(n in result.stdout for n in ID_NUMBERS)


def test_ingest_of_monthly_reports_around_a_register_keeps_the_file_order(tmp_path):
    # monthly reports are stored in batches (Store.submit_many), a register on its own, in file order
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    first.write_text("上报单位,月份,编号,本月数值\n天剑社区,2023-06,T1-1,进行中\n", encoding="utf-8")
    second.write_text("上报单位,月份,编号,本月数值\n涂新社区,2023-06,T1-1,进行中\n", encoding="utf-8")
    other.write_text("上报单位,月份,编号,本月数值\n天剑社区,2023-06,T1-1,已完成\n", encoding="utf-8")
    result = cli(tmp_path, "ingest", "--json", str(first), str(FIXTURES / "retrofit_2023-06.csv"), str(second),
                 str(other))
    assert result.returncode == 0, result.stdout + result.stderr
    entries = json.loads(result.stdout)["files"]
    assert [(e["kind"], e["status"], e["version"]) for e in entries] == [
        ("monthly_report", "accepted", 1), ("retrofit_register", "accepted", 1),
        ("monthly_report", "accepted", 1), ("monthly_report", "accepted", 2)]
    assert entries[3]["superseded_upload_id"] == entries[0]["upload_id"] and entries[1]["counted"] == 2


def test_registers_lists_masked_rows_and_duplicates(tmp_path):
    for name in ("retrofit_2023-06.csv", "retrofit_other_unit_2023-07.csv", "help_2023-06.csv"):
        assert cli(tmp_path, "ingest", str(FIXTURES / name)).returncode == 0
    listed = cli(tmp_path, "registers", "--kind", "retrofit_register", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["rows"]
    assert [(r["reporting_unit"], r["id_masked"], r["name_masked"]) for r in rows] == [
        ("天剑社区", "4301**********1234", "张*明"), ("天剑社区", "4301**********4565", "李*"),
        ("涂新社区", "4301**********4565", "李*")]
    assert "person_key" not in rows[0] and "张三明" not in listed.stdout
    one_unit = json.loads(cli(tmp_path, "registers", "--kind", "retrofit_register", "--unit", "涂新",
                              "--json").stdout)["rows"]
    assert [r["reporting_unit"] for r in one_unit] == ["涂新社区"]
    dups = json.loads(cli(tmp_path, "registers", "--duplicates", "--json").stdout)["duplicates"]
    assert [(d["kind"], d["counted_for"], d["also_registered_by"]) for d in dups] == [
        ("retrofit_register", "天剑社区", ["涂新社区"])]
    text = cli(tmp_path, "registers", "--duplicates")
    assert "涂新社区也登记了" in text.stdout
    for output in (listed.stdout, text.stdout):
        assert not any(n in output for n in ID_NUMBERS)


def test_registers_without_kind_or_duplicates_is_a_usage_error(tmp_path):
    assert cli(tmp_path, "registers").returncode == 2

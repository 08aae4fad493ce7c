"""The monthly report beside a register: rows pre-filled from it, read-only, a typed contradiction ignored and said."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.test_registers import FIXTURES, KEY
from worktrack.intake import read_report
from worktrack.progress import status_from_store
from worktrack.registers import read_register
from worktrack.registers.monthly import note_register_figures, prefilled_values, register_fed_items
from worktrack.store import Store
from worktrack.template import REGISTER_NOTE, build_template


@pytest.fixture
def store(db_path) -> Store:
    return Store(db_path)


def file_register(store, plan, name: str, kind: str = "retrofit_register"):
    data = (FIXTURES / name).read_bytes()
    report = read_register(data, name, plan, kind, key=KEY)
    assert report.flat() == []
    assert store.submit_register(report, data, submitted_by="clerk").accepted


def prefilled(store, plan, unit="天剑社区", month="2023-07"):
    with store.snapshot() as reader:
        return prefilled_values(plan, reader, unit, month)


def test_without_a_register_nothing_is_prefilled(store, plan):
    assert prefilled(store, plan) == {}
    assert build_template(plan, "天剑社区", "2023-07", "csv", {}) == build_template(plan, "天剑社区", "2023-07", "csv")


def test_the_register_count_is_prefilled_for_the_filing_unit_only(store, plan):
    file_register(store, plan, "retrofit_2023-06.csv")
    file_register(store, plan, "retrofit_2023-07.csv")
    metric = plan.metric_for_register("retrofit_register").id
    with store.snapshot() as reader:
        assert register_fed_items(plan, reader, "天剑社区") == {metric: "retrofit_register"}
        assert register_fed_items(plan, reader, "夏家冲社区") == {}
    assert prefilled(store, plan) == {(metric, ""): 2.0}  # the repeated June household is not counted again
    assert prefilled(store, plan, month="2023-08") == {(metric, ""): 0.0}
    assert prefilled(store, plan, unit="夏家冲社区") == {}


def test_the_csv_template_carries_the_count_and_says_read_only(store, plan):
    file_register(store, plan, "retrofit_2023-07.csv")
    metric = plan.metric_for_register("retrofit_register").id
    data = build_template(plan, "天剑社区", "2023-07", "csv", prefilled(store, plan))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    (row,) = [r for r in rows[2:] if r[2] == metric]
    # the July file's first household was accepted in June: it counts in June, not here
    assert (row[5], row[7]) == ("2", REGISTER_NOTE)
    assert "已按台账填好，不要修改" in rows[0][0]
    # the template as it is reads back clean, the count included
    report = read_report(data, "t.csv", plan)
    assert report.errors == [] and next(r.value for r in report.rows if r.item == metric) == 2


def test_the_xlsx_template_locks_the_register_rows_only(store, plan):
    file_register(store, plan, "retrofit_2023-07.csv")
    metric = plan.metric_for_register("retrofit_register").id
    data = build_template(plan, "天剑社区", "2023-07", "xlsx", prefilled(store, plan))
    sheet = openpyxl.load_workbook(io.BytesIO(data))["月报"]
    assert sheet.protection.sheet
    by_item = {sheet.cell(row=r, column=3).value: r for r in range(2, sheet.max_row + 1)}
    locked = sheet.cell(row=by_item[metric], column=6)
    assert locked.value == 2 and locked.protection.locked
    other = next(r for item, r in by_item.items() if item != metric)
    assert not sheet.cell(row=other, column=6).protection.locked
    assert not sheet.cell(row=other, column=8).protection.locked
    guide = [c.value for c in openpyxl.load_workbook(io.BytesIO(data))["填表说明"]["A"]]
    assert any("由本单位的台账统计" in (line or "") for line in guide)


def test_a_typed_value_that_contradicts_the_register_is_ignored_and_said(store, plan):
    file_register(store, plan, "retrofit_2023-07.csv")
    metric = plan.metric_for_register("retrofit_register").id
    data = f"上报单位,月份,编号,本月数值\n天剑社区,2023-07,{metric},9\n".encode()
    report = read_report(data, "m.csv", plan)
    with store.snapshot() as reader:
        notes = note_register_figures(plan, reader, report)
    assert [(n.code, n.row, n.column, n.value) for n in notes] == [("register-figure", 2, "本月数值", "9")]
    assert "本月为 2 户；填写的 9 不计入" in notes[0].message
    assert notes[0] in report.normalised and report.ok  # accepted: the register's count is used
    assert "register-figure" not in {w.code for w in report.warnings}  # nothing to confirm because of it
    assert store.submit(report, data, submitted_by="clerk", confirm=bool(report.warnings)).accepted
    status = status_from_store(plan, store, "2023-07")
    # June's household and July's two, from the register: the typed 9 is not used
    assert status.unit_metrics.set_index(["reporting_unit", "metric"])["actual"][("天剑社区", metric)] == 3


def test_a_typed_value_equal_to_the_register_is_not_noted(store, plan):
    file_register(store, plan, "retrofit_2023-07.csv")
    metric = plan.metric_for_register("retrofit_register").id
    report = read_report(f"上报单位,月份,编号,本月数值\n天剑社区,2023-07,{metric},2\n".encode(), "m.csv", plan)
    with store.snapshot() as reader:
        assert note_register_figures(plan, reader, report) == []


def test_the_command_line_template_and_ingest_follow_the_register(store, plan, db_path, tmp_path, monkeypatch,
                                                                  capsys):
    import json

    from worktrack.cli import main

    monkeypatch.setenv("WORKTRACK_REGISTER_KEY", str(tmp_path / "register.key"))
    register = tmp_path / "retrofit.csv"
    register.write_bytes((FIXTURES / "retrofit_2023-07.csv").read_bytes())
    assert main(["--db", str(db_path), "ingest", str(register)]) == 0
    out = tmp_path / "t.csv"
    assert main(["--db", str(db_path), "template", "--unit", "天剑社区", "--month", "2023-07", "-o", str(out)]) == 0
    assert REGISTER_NOTE in out.read_text(encoding="utf-8-sig")
    metric = plan.metric_for_register("retrofit_register").id
    typed = tmp_path / "m.csv"
    typed.write_text(f"上报单位,月份,编号,本月数值\n天剑社区,2023-07,{metric},9\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--db", str(db_path), "ingest", "--json", "--confirm", str(typed)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["files"]
    assert entry["accepted"] and [n["code"] for n in entry["normalised"]] == ["register-figure"]

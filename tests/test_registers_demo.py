"""Demo registers: derived from the demo's monthly reports, fictional people, and the demo's numbers unchanged."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from worktrack.demo import load_demo, write_demo_files
from worktrack.progress import status_from_store
from worktrack.registers import read_register
from worktrack.registers.demo import fictional_id_number, monthly_figures, register_rows, write_demo_registers
from worktrack.registers.identity import id_number_problem
from worktrack.store import Store

PARTS = ("targets", "obligations", "tasks", "reporting", "unit_metrics", "metric_totals")


@pytest.fixture(scope="module")
def plain_demo(tmp_path_factory, plan):
    """The same demo without registers: the typed figures only."""
    root = tmp_path_factory.mktemp("plain")
    load_demo(plan, Store(root / "plain.duckdb"), "2023-10", root / "samples", registers=False)
    return Store(root / "plain.duckdb")


def ordered(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if frame[c].dtype == object and
                                frame[c].map(lambda v: isinstance(v, list | dict)).any()])
    return frame.sort_values(list(frame.columns[:3])).reset_index(drop=True)


@pytest.mark.parametrize("approved_only", [True, False])
@pytest.mark.parametrize("as_of", ["2023-07", "2023-10"])
def test_the_demo_numbers_are_exactly_what_they_were_without_registers(demo_db, plain_demo, plan, approved_only, as_of):
    with_registers = status_from_store(plan, Store(demo_db), as_of, approved_only=approved_only)
    typed_only = status_from_store(plan, plain_demo, as_of, approved_only=approved_only)
    for part in PARTS:
        pd.testing.assert_frame_equal(ordered(getattr(with_registers, part)), ordered(getattr(typed_only, part)),
                                      check_dtype=False, obj=part)


def test_every_community_files_the_three_registers(demo_db, plan):
    uploads = Store(demo_db).register_uploads()
    communities = {u.name for u in plan.units if u.is_community}
    for kind in ("retrofit_register", "donation_register", "help_register"):
        assert set(uploads[uploads["kind"] == kind]["reporting_unit"]) == communities
    assert (uploads["state"] == "active").all()


def test_the_register_counts_are_the_typed_figures(demo_db, plan):
    from worktrack.registers.counts import register_figures

    store = Store(demo_db)
    with store.snapshot() as reader:
        counted = register_figures(plan, reader, through="2023-10").groupby(["reporting_unit", "item", "month"])[
            "value"].sum()
    typed = store.monthly_values(through="2023-10").set_index(["reporting_unit", "item", "month"])["value"]
    for (unit, item, month), value in counted.items():
        assert typed[(unit, item, month)] == pytest.approx(value), (unit, item, month)
    assert len(counted) > 100


def test_people_are_fictional_with_valid_and_unique_id_numbers(plan, tmp_path):
    files = write_demo_files(plan, "2023-08", tmp_path / "monthly")
    rows = register_rows(plan, monthly_figures(plan, files))
    numbers = [r["id_number"] for (kind, _, _), part in rows.items() if kind != "donation_register" for r in part
               if r.get("note") != "上月已报，本月复核"]
    assert numbers and all(id_number_problem(n) is None for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert fictional_id_number(dt.date(1948, 5, 6), 123) == "430103194805061234"  # the check character computed


def test_the_same_monthly_files_give_the_same_register_files(plan, tmp_path):
    files = write_demo_files(plan, "2023-06", tmp_path / "monthly")
    first = {f.path.name: f.path.read_bytes() for f in write_demo_registers(plan, files, tmp_path / "a")}
    second = {f.path.name: f.path.read_bytes() for f in write_demo_registers(plan, files, tmp_path / "b")}
    assert first == second and first


def test_every_demo_register_reads_clean_and_a_household_is_listed_again(plan, tmp_path):
    files = write_demo_files(plan, "2023-08", tmp_path / "monthly")  # every community has had a retrofit by July
    registers = write_demo_registers(plan, files, tmp_path / "registers")
    store = Store(tmp_path / "r.duckdb")
    again = 0
    for register in registers:
        data = register.path.read_bytes()
        report = read_register(data, register.path.name, plan, register.kind, key=b"k" * 32)
        assert report.errors == [], (register.path.name, report.errors[:2])
        result = store.submit_register(report, data, submitted_by="demo")
        again += result.already_counted
    assert again == len([u for u in plan.units if u.is_community])  # one household listed again per community

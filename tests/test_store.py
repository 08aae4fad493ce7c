"""The store: versions, rollback, locks, audit, durability, concurrency, backup/restore.

Real DuckDB files in tmp_path throughout; reports are built as IntakeReport objects from the real
plan's template rows, and a few go through `read_report` on real CSV bytes. Every test that takes the
`store` (or `db_location`, `new_location`) fixture runs twice: on a DuckDB file and on a new database in
a throwaway PostgreSQL cluster (tests/pg.py); backups are restored across the two. Tests of what only a
file has (locks held by another process, damaged blocks, file modes, a full disk) stay on DuckDB.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BACKENDS, ROOT
from worktrack.intake import FactRow, Finding, IntakeReport
from worktrack.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    StoreBusy,
    StoreCorrupt,
    StoreDiskFull,
    StoreError,
    StoreRefused,
    Submission,
    is_postgres_url,
    raw_dir,
)

UNIT = "天剑社区"
MONTH = "2023-05"


# ---------------------------------------------------------------------------
# Building reports


def csv_bytes(plan, unit: str, month: str, scale: float = 1, status: str = "进行中") -> bytes:
    """A filled monthly report as a community would upload it (every template row)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["上报单位", "月份", "编号", "事项", "计量单位", "本月数值", "分类", "备注"])
    for row in plan.template_rows(unit):
        value = status if row.kind == "task" else f"{scale:g}"
        writer.writerow([unit, month, row.item, row.name, row.measure, value, row.category, ""])
    return buf.getvalue().encode("utf-8")


def make_report(plan, unit: str = UNIT, month: str = MONTH, scale: float = 1, *, status: str = "进行中",
                errors: int = 0, warnings: int = 0, file: str | None = None) -> tuple[IntakeReport, bytes]:
    """An IntakeReport with one FactRow per template row, and raw bytes that differ with the values."""
    raw = csv_bytes(plan, unit, month, scale, status)
    rows = []
    for n, row in enumerate(plan.template_rows(unit), start=2):
        is_task = row.kind == "task"
        rows.append(FactRow(unit, month, row.item, row.category, None if is_task else float(scale),
                            status if is_task else None, "", n))
    report = IntakeReport(file or f"{unit}-{month}.csv", hashlib.sha256(raw).hexdigest(), len(raw), unit, month,
                          [] if errors else rows,
                          errors=[Finding("type-error", "不是数字", 2, "本月数值", "abc")] * errors,
                          warnings=[Finding("large-value", "数值异常大", 2, "本月数值", "100")] * warnings)
    return report, raw


def metric_rows(plan, unit: str = UNIT) -> int:
    return sum(r.kind == "metric" for r in plan.template_rows(unit))


def table_counts(db: Path | str | Store) -> dict[str, int]:
    """Row counts of the main tables; a DuckDB file is read directly, past the store's own reads."""
    if isinstance(db, Store) or is_postgres_url(db):
        counts = (db if isinstance(db, Store) else Store(db)).counts()
        return {t: counts[t] for t in ("uploads", "facts", "audit_log", "month_locks", "metric_totals")}
    con = duckdb.connect(str(db))
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("uploads", "facts", "audit_log", "month_locks", "metric_totals")}
    finally:
        con.close()


def assert_consistent(store: Store) -> None:
    """Invariants that hold after any sequence of operations."""
    uploads = store.uploads()
    facts = store.facts(include_inactive=True)
    per_upload = facts.groupby("upload_id").size().to_dict()
    for row in uploads.itertuples():
        assert per_upload.get(row.upload_id, 0) == row.row_count, f"upload {row.upload_id} is partial"
    active = uploads[uploads["state"] == "active"]
    assert not active.duplicated(["reporting_unit", "month"]).any(), "two active versions of one unit-month"
    for (unit, month), group in uploads.groupby(["reporting_unit", "month"]):
        assert sorted(group["version"]) == list(range(1, len(group) + 1)), f"version gap in {unit} {month}"
    audit_ids = list(store.audit_log()["audit_id"])
    assert audit_ids == list(range(1, len(audit_ids) + 1))
    for approved_only in (False, True):
        assert latest_tasks(store, approved_only=approved_only) == latest_tasks_from_facts(store, approved_only=approved_only)
    assert coded_totals(store) == plain_totals(store)


def coded_totals(store: Store) -> list[tuple]:
    """metric_codes read back through name_codes: (upload, unit, item, month, value)."""
    with store.snapshot() as reader:
        rows = reader._con.execute(
            "SELECT m.upload_id, u.name, i.name, m.month_index, m.value FROM metric_codes m "
            "JOIN name_codes u ON u.kind = 'unit' AND u.code = m.unit_code "
            "JOIN name_codes i ON i.kind = 'item' AND i.code = m.item_code").fetchall()
        assert reader._con.execute("SELECT count(*) FROM (SELECT kind, code FROM name_codes GROUP BY ALL "
                                   "HAVING count(*) > 1)").fetchall()[0][0] == 0, "a code given twice"
    return sorted((u, unit, item, f"{m // 12:04d}-{m % 12 + 1:02d}", v) for u, unit, item, m, v in rows)


def plain_totals(store: Store) -> list[tuple]:
    with store.snapshot() as reader:
        return sorted(reader._con.execute(
            "SELECT upload_id, reporting_unit, item, month, value FROM metric_totals").fetchall())


def latest_tasks(store: Store, through: str | None = None, approved_only: bool = False) -> list[tuple]:
    frame = store.task_statuses(through, latest=True, approved_only=approved_only)
    return sorted(frame[["reporting_unit", "item", "month", "status", "note"]].itertuples(index=False, name=None))


def latest_tasks_from_facts(store: Store, through: str | None = None, approved_only: bool = False) -> list[tuple]:
    """Each unit-item's status of its latest month up to `through`, worked out in pandas from every fact row
    (of the active versions, or of the approved ones)."""
    facts = store.facts(through, approved_only=approved_only)
    facts = facts[facts["status"].notna()]
    latest = facts.sort_values("month", kind="stable").groupby(["reporting_unit", "item"]).tail(1)
    return sorted(latest[["reporting_unit", "item", "month", "status", "note"]].itertuples(index=False, name=None))


@pytest.fixture
def store(db_location) -> Store:
    """A new store on each backend (DuckDB file, PostgreSQL database)."""
    return Store(db_location)


# ---------------------------------------------------------------------------
# Submit


def test_accept_first_version(store, plan):
    report, raw = make_report(plan, scale=3)
    result = store.submit(report, raw, submitted_by="tianjian")
    assert (result.status, result.accepted, result.version, result.upload_id) == ("accepted", True, 1, 1)
    assert result.superseded_upload_id is None and result.changes == []
    assert "已接收" in result.message and "第 1 版" in result.message

    uploads = store.uploads()
    assert list(uploads.columns) == ["upload_id", "reporting_unit", "month", "version", "file_name", "sha256", "size",
                                     "received_at", "submitted_by", "row_count", "state", "supersedes",
                                     "warnings_confirmed", "note"]
    row = uploads.iloc[0]
    assert (row.reporting_unit, row.month, row.state, row.row_count, row.sha256, row["size"]) == (
        UNIT, MONTH, "active", len(report.rows), hashlib.sha256(raw).hexdigest(), len(raw))
    assert store.raw_file(1) == (report.file, raw)
    assert len(store.facts()) == len(report.rows)
    assert store.latest_month() == MONTH and not store.is_empty()


def test_reads_have_exactly_the_documented_columns(store, plan):
    store.submit(*make_report(plan), submitted_by="t")
    assert list(store.active_uploads().columns) == ["upload_id", "reporting_unit", "month", "version",
                                                    "received_at", "submitted_by", "file_name", "sha256", "row_count"]
    assert list(store.facts().columns) == ["upload_id", "reporting_unit", "month", "item", "category", "value",
                                           "status", "note"]
    assert list(store.active_receipts().columns) == ["reporting_unit", "month", "version", "received_at"]
    assert list(store.monthly_values().columns) == ["reporting_unit", "item", "month", "value"]
    assert list(store.category_values().columns) == ["reporting_unit", "item", "category", "month", "value"]
    assert list(store.task_statuses().columns) == ["reporting_unit", "item", "month", "status", "note"]
    assert list(store.audit_log().columns) == ["audit_id", "at", "actor", "action", "target", "old_value",
                                               "new_value", "detail"]


def test_reads_of_an_empty_store_have_the_columns_and_no_rows(store):
    assert store.is_empty() and store.latest_month() is None
    for frame in (store.uploads(), store.active_uploads(), store.active_receipts(), store.facts(),
                  store.monthly_values(), store.category_values(), store.task_statuses()):
        assert frame.empty and len(frame.columns) >= 4


def test_monthly_values_sum_categories_and_category_values_keep_them(store, plan):
    report, raw = make_report(plan, scale=2)
    store.submit(report, raw, submitted_by="t")
    monthly = store.monthly_values().set_index("item")["value"]
    expected: dict[str, float] = {}
    for r in report.rows:
        if r.value is not None:
            expected[r.item] = expected.get(r.item, 0) + r.value
    assert monthly.to_dict() == expected
    fund = store.category_values().query("item == 'fund_raised_yuan'")
    assert set(fund["category"]) == set(plan.categories("fund_raised_yuan"))
    assert (fund["value"] == 2).all()
    tasks = store.task_statuses()
    assert len(tasks) == len(plan.tasks_for_unit(UNIT)) and set(tasks["status"]) == {"进行中"}


def test_same_bytes_again_is_unchanged_and_writes_nothing(store, plan):
    report, raw = make_report(plan)
    first = store.submit(report, raw, submitted_by="t")
    before = table_counts(store)
    again = store.submit(report, raw, submitted_by="someone-else")
    assert (again.status, again.accepted, again.upload_id, again.version) == ("unchanged", True, first.upload_id, 1)
    assert "相同" in again.message
    assert table_counts(store) == before


def test_different_bytes_supersede_the_active_version(store, plan):
    store.submit(*make_report(plan, scale=1), submitted_by="t")
    second = store.submit(*make_report(plan, scale=4), submitted_by="t")
    assert (second.status, second.version, second.superseded_upload_id) == ("accepted", 2, 1)
    assert "替换第 1 版" in second.message
    n_metrics = metric_rows(plan)
    assert len(second.changes) == n_metrics
    assert {"old": 1.0, "new": 4.0} == {k: second.changes[0][k] for k in ("old", "new")}
    assert set(second.changes[0]) == {"item", "category", "old", "new"}

    uploads = store.uploads().set_index("upload_id")
    assert uploads.loc[1, "state"] == "superseded" and uploads.loc[2, "state"] == "active"
    assert uploads.loc[2, "supersedes"] == 1
    assert set(store.facts()["upload_id"]) == {2}
    assert set(store.facts(include_inactive=True)["upload_id"]) == {1, 2}
    assert (store.category_values()["value"] == 4).all()
    assert list(store.active_uploads()["upload_id"]) == [2]


def test_changes_list_added_removed_and_status_changes(store, plan):
    report, raw = make_report(plan)
    store.submit(report, raw, submitted_by="t")
    rows = list(report.rows)
    task_index = next(i for i, r in enumerate(rows) if r.status is not None)
    rows[task_index] = FactRow(UNIT, MONTH, rows[task_index].item, "", None, "已完成", "", rows[task_index].row)
    dropped = rows.pop(0)
    raw2 = raw + b"\n"
    report2 = IntakeReport("v2.csv", hashlib.sha256(raw2).hexdigest(), len(raw2), UNIT, MONTH, rows)
    result = store.submit(report2, raw2, submitted_by="t")
    assert {"item": rows[task_index - 1].item, "category": "", "old": "进行中", "new": "已完成"} in result.changes
    assert {"item": dropped.item, "category": dropped.category, "old": 1.0, "new": None} in result.changes
    assert len(result.changes) == 2


def test_report_with_errors_is_rejected_and_writes_nothing(store, plan):
    store.submit(*make_report(plan, month="2023-04"), submitted_by="t")
    before = table_counts(store)
    result = store.submit(*make_report(plan, errors=2, warnings=1), submitted_by="t", confirm=True)
    assert (result.status, result.accepted, result.upload_id, result.version) == ("rejected", False, None, None)
    assert "2 处错误" in result.message
    assert table_counts(store) == before


def test_warnings_need_confirmation(store, plan):
    before = table_counts(store)
    report, raw = make_report(plan, warnings=2)
    result = store.submit(report, raw, submitted_by="t")
    assert (result.status, result.accepted) == ("needs_confirmation", False)
    assert table_counts(store) == before
    confirmed = store.submit(report, raw, submitted_by="t", confirm=True)
    assert confirmed.status == "accepted"
    assert bool(store.uploads().iloc[0]["warnings_confirmed"]) is True


def test_dry_run_decides_everything_and_writes_nothing(store, plan):
    store.submit(*make_report(plan, scale=1), submitted_by="t")
    before = table_counts(store)
    result = store.submit(*make_report(plan, scale=2), submitted_by="t", dry_run=True)
    assert (result.status, result.accepted, result.version, result.upload_id) == ("accepted", True, 2, None)
    assert result.dry_run and result.superseded_upload_id == 1 and result.changes
    assert "试运行" in result.message
    assert store.submit(*make_report(plan, scale=1), submitted_by="t", dry_run=True).status == "unchanged"
    assert store.submit(*make_report(plan, scale=3, warnings=1), submitted_by="t", dry_run=True).status == "needs_confirmation"
    assert table_counts(store) == before


def test_report_and_raw_bytes_must_match(store, plan):
    report, raw = make_report(plan)
    with pytest.raises(ValueError):
        store.submit(report, raw + b"x", submitted_by="t")


def test_rows_of_another_unit_or_month_are_rejected(store, plan):
    report, raw = make_report(plan)
    report.rows[3] = FactRow("涂新社区", MONTH, "x", "", 1.0, None, "", 5)
    result = store.submit(report, raw, submitted_by="t")
    assert result.status == "rejected" and "第 5 行" in result.message
    assert table_counts(store)["uploads"] == 0


@pytest.mark.parametrize("received_at, stored", [
    (dt.datetime(2023, 6, 3, 9, 30), dt.datetime(2023, 6, 3, 9, 30)),  # naive: already UTC+8
    (dt.datetime(2023, 6, 3, 1, 30, tzinfo=dt.UTC), dt.datetime(2023, 6, 3, 9, 30)),
    (dt.datetime(2023, 6, 3, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))), dt.datetime(2023, 6, 3, 9, 30)),
])
def test_received_at_is_stored_as_china_time(store, plan, received_at, stored):
    store.submit(*make_report(plan), submitted_by="t", received_at=received_at)
    assert store.uploads().iloc[0]["received_at"].to_pydatetime() == stored


def test_through_limits_every_read(store, plan):
    for month in ("2023-04", "2023-05", "2023-06"):
        store.submit(*make_report(plan, month=month), submitted_by="t")
    assert set(store.monthly_values("2023-05")["month"]) == {"2023-04", "2023-05"}
    assert set(store.category_values("2023-04")["month"]) == {"2023-04"}
    assert set(store.task_statuses("2023-05")["month"]) == {"2023-04", "2023-05"}
    assert set(store.facts("2023-05")["month"]) == {"2023-04", "2023-05"}
    assert list(store.active_uploads("2023-05")["month"]) == ["2023-04", "2023-05"]
    assert sorted(store.active_receipts("2023-05")["month"]) == ["2023-04", "2023-05"]
    assert store.latest_month() == "2023-06"
    with pytest.raises(ValueError):
        store.monthly_values("2023-5")


def test_task_statuses_latest_keeps_each_units_last_word(store, plan):
    store.submit(*make_report(plan, month="2023-04", status="进行中"), submitted_by="t")
    store.submit(*make_report(plan, month="2023-05", status="已完成"), submitted_by="t")
    store.submit(*make_report(plan, month="2023-06", status="受阻"), submitted_by="t")
    latest = store.task_statuses("2023-05", latest=True)
    assert len(latest) == len(plan.tasks_for_unit(UNIT))
    assert set(latest["month"]) == {"2023-05"} and set(latest["status"]) == {"已完成"}


def test_snapshot_serves_several_reads_from_one_opening(store, plan):
    store.submit(*make_report(plan), submitted_by="t")
    with store.snapshot() as reader:
        assert len(reader.monthly_values()) > 0
        assert reader.latest_month() == MONTH
        assert len(reader.active_uploads()) == 1


def test_submit_through_read_report(store, plan):
    from worktrack.intake import read_report

    data = csv_bytes(plan, UNIT, MONTH, scale=1)
    report = read_report(data, "tianjian.csv", plan)
    assert report.ok, report.errors
    result = store.submit(report, data, submitted_by="tianjian")
    assert result.status == "accepted"
    assert store.uploads().iloc[0]["row_count"] == len(plan.template_rows(UNIT))
    assert store.raw_file(result.upload_id)[1] == data
    again = read_report(data, "tianjian.csv", plan)
    assert store.submit(again, data, submitted_by="tianjian").status == "unchanged"


def batch_of_every_verdict(plan) -> list[Submission]:
    """One of each verdict, and a second version of a unit-month inside the same batch."""
    other = "黄土岭社区"
    return [
        Submission(*make_report(plan, scale=1), submitted_by="tianjian"),
        Submission(*make_report(plan, unit=other, scale=1), submitted_by="huangtuling"),
        Submission(*make_report(plan, scale=1), submitted_by="tianjian"),  # same bytes again
        Submission(*make_report(plan, errors=1), submitted_by="tianjian"),
        Submission(*make_report(plan, unit=other, scale=2, warnings=1), submitted_by="huangtuling"),
        Submission(*make_report(plan, scale=2), submitted_by="tianjian"),  # supersedes the first
        Submission(*make_report(plan, unit=other, scale=3, warnings=1), submitted_by="huangtuling", confirm=True),
    ]


def test_submit_many_gives_what_submitting_one_by_one_gives(new_location, plan):
    one_by_one, batched = Store(new_location("one")), Store(new_location("batch"))
    singles = [one_by_one.submit(s.report, s.raw, submitted_by=s.submitted_by, confirm=s.confirm)
               for s in batch_of_every_verdict(plan)]
    many = batched.submit_many(batch_of_every_verdict(plan))

    assert [r.as_dict() for r in many] == [r.as_dict() for r in singles]
    assert [r.status for r in many] == ["accepted", "accepted", "unchanged", "rejected", "needs_confirmation",
                                        "accepted", "accepted"]
    assert many[5].superseded_upload_id == many[0].upload_id and many[5].version == 2
    columns = ["upload_id", "reporting_unit", "month", "version", "sha256", "state", "supersedes", "submitted_by"]
    assert batched.uploads()[columns].equals(one_by_one.uploads()[columns])
    assert table_counts(batched) == table_counts(one_by_one)
    log = batched.audit_log()
    uploads = log[log["action"].str.startswith("upload.")]
    assert list(uploads["action"]) == ["upload.accept", "upload.accept", "upload.accept", "upload.supersede",
                                       "upload.accept", "upload.supersede"]
    assert list(uploads["actor"]) == ["tianjian", "huangtuling", "tianjian", "tianjian", "huangtuling",
                                      "huangtuling"]
    assert_consistent(batched)


def test_submit_many_stores_nothing_when_a_file_fails_part_way(store, plan):
    good = Submission(*make_report(plan, scale=1), submitted_by="tianjian")
    report, raw = make_report(plan, unit="黄土岭社区", scale=1)
    report.rows[-1] = dataclasses.replace(report.rows[-1], value="not a number", status=None)  # bypasses intake
    broken = Submission(report, raw, submitted_by="huangtuling")
    before = table_counts(store)
    with pytest.raises(ValueError):
        store.submit_many([good, broken])
    assert table_counts(store) == before
    assert [r.status for r in store.submit_many([good])] == ["accepted"]


def test_submit_many_of_nothing_to_write_writes_nothing(store, plan):
    before = table_counts(store)
    results = store.submit_many([Submission(*make_report(plan, errors=2), submitted_by="t")])
    assert [r.status for r in results] == ["rejected"] and table_counts(store) == before
    assert store.submit_many([]) == []


# ---------------------------------------------------------------------------
# Rollback and locks


def test_rollback_restores_the_previous_version(store, plan):
    store.submit(*make_report(plan, scale=1), submitted_by="t")
    store.submit(*make_report(plan, scale=5), submitted_by="t")
    result = store.rollback(2, actor="admin")
    assert (result.upload_id, result.reactivated_upload_id, result.reactivated_version) == (2, 1, 1)
    assert "第 1 版恢复" in result.message
    states = store.uploads().set_index("upload_id")["state"].to_dict()
    assert states == {1: "active", 2: "rolled_back"}
    assert (store.category_values()["value"] == 1).all()

    with pytest.raises(StoreRefused, match="已经撤回"):
        store.rollback(2, actor="admin")
    # the next upload continues the numbering and replaces version 1
    third = store.submit(*make_report(plan, scale=7), submitted_by="t")
    assert (third.version, third.superseded_upload_id) == (3, 1)
    with pytest.raises(StoreRefused, match="已被新版本替换"):
        store.rollback(1, actor="admin")
    assert_consistent(store)


def test_rollback_of_the_only_version_leaves_the_month_without_data(store, plan):
    store.submit(*make_report(plan), submitted_by="t")
    result = store.rollback(1, actor="admin")
    assert result.reactivated_upload_id is None and "没有有效" in result.message
    assert store.facts().empty and store.latest_month() is None
    assert not store.is_empty()  # history is still there
    assert store.raw_file(1)[1]


def test_latest_task_statuses_follow_submit_supersede_and_rollback(store, plan):
    # task_latest is kept current in the write path; each step is checked against the statuses
    # worked out from every fact row, at the latest month and at earlier ones.
    steps = [
        lambda: store.submit(*make_report(plan, month="2023-05", status="未开始"), submitted_by="t"),
        lambda: store.submit(*make_report(plan, month="2023-07", status="进行中"), submitted_by="t"),
        lambda: store.submit(*make_report(plan, month="2023-06", status="受阻"), submitted_by="t"),  # a late month
        lambda: store.submit(*make_report(plan, month="2023-07", scale=2, status="已完成"), submitted_by="t"),
        lambda: store.submit(*make_report(plan, "涂新社区", "2023-07", status="进行中"), submitted_by="t"),
        lambda: store.rollback(4, actor="admin"),  # version 1 of 2023-07 is active again
        lambda: store.rollback(2, actor="admin"),  # 2023-07 has no active version now: 2023-06 is the latest
        lambda: store.rollback(3, actor="admin"),
        lambda: store.rollback(1, actor="admin"),  # nothing left for the unit
    ]
    for step in steps:
        step()
        assert_consistent(store)
        for through in ("2023-05", "2023-06", "2023-07"):
            assert latest_tasks(store, through) == latest_tasks_from_facts(store, through), through
    assert {r[0] for r in latest_tasks(store)} == {"涂新社区"}


def test_latest_task_statuses_of_approved_versions_follow_reviews(store, plan):
    # task_latest keeps the approved versions' statuses too: a review, a correction waiting for review
    # and a rollback each change what approved-only readings take; checked against every fact row.
    steps = [
        lambda: store.submit(*make_report(plan, month="2023-05", status="未开始"), submitted_by="t"),
        lambda: store.review(1, "approved", actor="reviewer"),
        lambda: store.submit(*make_report(plan, month="2023-06", status="进行中"), submitted_by="t"),
        lambda: store.review(2, "approved", actor="reviewer"),
        lambda: store.submit(*make_report(plan, month="2023-06", scale=2, status="已完成"), submitted_by="t"),
        lambda: store.review(3, "returned", actor="reviewer", reason="数字不对"),  # 2023-06 v1 stays approved
        lambda: store.submit(*make_report(plan, month="2023-06", scale=3, status="受阻"), submitted_by="t"),
        lambda: store.review(4, "approved", actor="reviewer"),
        lambda: store.rollback(4, actor="admin"),  # v2 (returned) is active again; v1 is the approved one
        lambda: store.rollback(3, actor="admin"),
        lambda: store.rollback(2, actor="admin"),  # nothing of 2023-06 left: 2023-05 is the latest
    ]
    seen = set()
    for step in steps:
        step()
        assert_consistent(store)
        for through in ("2023-05", "2023-06"):
            for approved_only in (False, True):
                assert latest_tasks(store, through, approved_only) == latest_tasks_from_facts(
                    store, through, approved_only), (through, approved_only)
        seen.add(tuple(r[3] for r in latest_tasks(store, approved_only=True))[:1])
    assert {("未开始",), ("进行中",), ("受阻",)} <= seen  # the approved statuses did move


def test_a_new_version_without_a_task_status_falls_back_to_the_earlier_month(store, plan):
    store.submit(*make_report(plan, month="2023-05", status="进行中"), submitted_by="t")
    store.submit(*make_report(plan, month="2023-06", status="已完成"), submitted_by="t")
    report, raw = make_report(plan, month="2023-06", scale=3, status="已完成")
    dropped = next(r.item for r in report.rows if r.status is not None)
    report.rows[:] = [r for r in report.rows if r.item != dropped]
    store.submit(report, raw, submitted_by="t")
    statuses = {(u, i): (m, st) for u, i, m, st, _ in latest_tasks(store)}
    assert statuses[(UNIT, dropped)] == ("2023-05", "进行中")
    assert_consistent(store)


def test_uploaded_files_live_beside_the_database_owner_only_and_are_never_overwritten(db_path, plan):
    store = Store(db_path)
    report, raw = make_report(plan)
    store.submit(report, raw, submitted_by="t")
    stored = raw_dir(db_path) / report.sha256
    assert stored.read_bytes() == raw
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600 and stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert not [p for p in stored.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
    inode = stored.stat().st_ino
    store.rollback(1, actor="admin")
    store.submit(report, raw, submitted_by="t")  # the same bytes again: the same file, untouched
    assert stored.stat().st_ino == inode
    assert store.raw_file(2) == (report.file, raw)


def test_a_missing_or_altered_raw_file_is_reported_as_damage(db_path, plan):
    store = Store(db_path)
    report, raw = make_report(plan)
    store.submit(report, raw, submitted_by="t")
    stored = raw_dir(db_path) / report.sha256
    stored.write_bytes(raw + b"x")
    with pytest.raises(StoreCorrupt, match="校验值不符"):
        store.raw_file(1)
    stored.unlink()
    with pytest.raises(StoreCorrupt, match="缺少原始文件"):
        store.raw_file(1)
    with pytest.raises(StoreCorrupt):
        store.backup(db_path.parent / "backup")


def test_rollback_of_unknown_upload_is_refused(store):
    with pytest.raises(StoreRefused, match="找不到"):
        store.rollback(99, actor="admin")


def test_locked_month_refuses_uploads_and_rollbacks(store, plan):
    store.submit(*make_report(plan, scale=1), submitted_by="t")
    assert store.lock_month(MONTH, actor="admin") is True
    assert store.lock_month(MONTH, actor="admin") is False
    assert store.is_locked(MONTH) and store.locked_months() == [MONTH]
    before = table_counts(store)

    new_report = make_report(plan, scale=2)
    for dry_run in (True, False):
        result = store.submit(*new_report, submitted_by="t", dry_run=dry_run, confirm=True)
        assert (result.status, result.accepted) == ("locked", False)
        assert "已锁定" in result.message
    # re-sending the active file is still a harmless no-op
    assert store.submit(*make_report(plan, scale=1), submitted_by="t").status == "unchanged"
    with pytest.raises(StoreRefused, match="已锁定"):
        store.rollback(1, actor="admin")
    assert table_counts(store) == before

    # other months are unaffected
    assert store.submit(*make_report(plan, month="2023-06"), submitted_by="t").status == "accepted"
    assert store.unlock_month(MONTH, actor="admin") is True
    assert store.unlock_month(MONTH, actor="admin") is False
    assert store.submit(*new_report, submitted_by="t").status == "accepted"
    history = store.month_lock_history()
    assert len(history) == 1 and history.iloc[0]["unlocked_by"] == "admin"


def test_locks_keep_their_history(store):
    for _ in range(3):
        store.lock_month("2023-07", actor="admin")
        store.unlock_month("2023-07", actor="admin")
    store.lock_month("2023-07", actor="boss")
    history = store.month_lock_history()
    assert len(history) == 4 and history["unlocked_at"].isna().sum() == 1
    assert store.locked_months() == ["2023-07"]


# ---------------------------------------------------------------------------
# Audit and history


def test_every_write_leaves_an_audit_row(store, plan):
    store.submit(*make_report(plan, scale=1), submitted_by="tianjian")
    store.submit(*make_report(plan, scale=1), submitted_by="tianjian")  # unchanged: not a write
    store.submit(*make_report(plan, errors=1), submitted_by="tianjian")  # rejected: not a write
    store.submit(*make_report(plan, scale=2), submitted_by="tianjian")
    store.rollback(2, actor="admin")
    store.lock_month(MONTH, actor="admin")
    store.lock_month(MONTH, actor="admin")  # already locked: not a write
    store.unlock_month(MONTH, actor="admin")
    log = store.audit_log()
    actions = [a for a in log["action"] if a != "schema.migrate"]
    assert actions == ["upload.accept", "upload.accept", "upload.supersede", "upload.rollback",
                       "upload.reactivate", "month.lock", "month.unlock"]
    accept = log[log["action"] == "upload.accept"].iloc[-1]
    assert accept["actor"] == "tianjian" and accept["target"] == "upload:2" and accept["old_value"] == "1"
    detail = json.loads(accept["detail"])
    assert detail["version"] == 2 and detail["reporting_unit"] == UNIT and detail["sha256"]
    assert list(store.audit_log(actor="admin")["action"]) == ["upload.rollback", "upload.reactivate",
                                                              "month.lock", "month.unlock"]
    assert len(store.audit_log(action="month.lock")) == 1
    assert store.audit_log(since=dt.datetime(2999, 1, 1)).empty


def test_audit_log_is_never_updated_or_deleted_by_the_code():
    source = (ROOT / "worktrack" / "store.py").read_text(encoding="utf-8").lower()
    assert "update audit_log" not in source and "delete from audit_log" not in source
    assert "delete from uploads" not in source and "delete from facts" not in source


OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["submit", "submit", "submit", "rollback", "lock", "unlock", "bad"]),
    st.sampled_from(["天剑社区", "涂新社区"]), st.sampled_from(["2023-05", "2023-06"]),
    st.integers(min_value=1, max_value=3)), min_size=1, max_size=12)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_nothing_is_ever_deleted_whatever_happens(plan, operations):
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        store = Store(db)
        previous = table_counts(db)
        for op, unit, month, scale in operations:
            if op == "submit":
                store.submit(*make_report(plan, unit, month, scale), submitted_by="t", confirm=True)
            elif op == "bad":
                store.submit(*make_report(plan, unit, month, scale, errors=1), submitted_by="t")
            elif op == "lock":
                store.lock_month(month, actor="admin")
            elif op == "unlock":
                store.unlock_month(month, actor="admin")
            else:
                active = store.active_uploads().query("reporting_unit == @unit and month == @month")
                if not active.empty:
                    try:
                        store.rollback(int(active.iloc[0]["upload_id"]), actor="admin")
                    except StoreRefused:
                        assert store.is_locked(month)
            counts = table_counts(db)
            for table in ("uploads", "facts", "audit_log", "month_locks"):
                assert counts[table] >= previous[table], f"{table} shrank after {op}"
            previous = counts
        assert_consistent(store)


# ---------------------------------------------------------------------------
# Schema


def test_opening_twice_applies_migrations_once(db_path):
    Store(db_path)
    store = Store(db_path)
    assert store.schema_version() == SCHEMA_VERSION == MIGRATIONS[-1].version
    assert [m.version for m in MIGRATIONS] == sorted({m.version for m in MIGRATIONS})  # increasing, no repeats
    assert len(store.audit_log(action="schema.migrate")) == len(MIGRATIONS)
    con = duckdb.connect(str(db_path))
    assert con.execute("SELECT list(version ORDER BY version) FROM schema_version").fetchone()[0] == \
        [m.version for m in MIGRATIONS]
    con.close()


def _old_database(db_path, version: int) -> None:
    """A database at schema `version` (at most 4: the uploaded bytes still in uploads.raw), written as
    that schema did: one upload with two metric rows and a task status, then the later migrations'
    SQL; from version 3 on (reviews) a second version of the month, not yet reviewed, with another status."""
    con = duckdb.connect(str(db_path))
    con.execute(MIGRATIONS[0].sql)
    con.execute("INSERT INTO schema_version VALUES (1, 'initial', now())")
    con.execute("INSERT INTO uploads VALUES (1, ?, ?, 1, 'a.csv', ?, 3, 'abc'::BLOB, now(), 't', 3, 'active', "
                "NULL, false, '')", [UNIT, MONTH, hashlib.sha256(b"abc").hexdigest()])
    con.execute("INSERT INTO facts VALUES (1, ?, ?, 'fund_raised_yuan', '企业赞助', 5, NULL, '', 2), "
                "(1, ?, ?, 'fund_raised_yuan', '基金会', 7, NULL, '', 3), (1, ?, ?, 'T2-1-1', '', NULL, '进行中', 'n', 4)",
                [UNIT, MONTH] * 3)
    for migration in MIGRATIONS[1:version]:
        con.execute(migration.sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [migration.version, migration.description])
    if version >= 3:
        con.execute("UPDATE uploads SET state = 'superseded' WHERE upload_id = 1")
        con.execute("INSERT INTO uploads VALUES (2, ?, ?, 2, 'b.csv', ?, 3, 'xyz'::BLOB, now(), 't', 1, 'active', "
                    "1, false, '')", [UNIT, MONTH, hashlib.sha256(b"xyz").hexdigest()])
        con.execute("INSERT INTO facts VALUES (2, ?, ?, 'T2-1-1', '', NULL, '已完成', '', 2)", [UNIT, MONTH])
    con.close()


@pytest.mark.parametrize("version", [1, 4])
def test_an_old_database_is_migrated_with_its_data(db_path, plan, version):
    # Version 1: written before metric_totals existed; version 4: the monthly cycle's and the
    # registers' schema, the last before the uploaded files moved out of the table.
    _old_database(db_path, version)
    store = Store(db_path)
    assert store.schema_version() == SCHEMA_VERSION
    assert store.monthly_values().to_dict("records") == ([
        {"reporting_unit": UNIT, "item": "fund_raised_yuan", "month": MONTH, "value": 12.0}] if version == 1 else [])
    # the uploaded bytes moved out of the table to raw/<sha256>, and the latest task statuses were built
    assert store.raw_file(1) == ("a.csv", b"abc")
    assert (raw_dir(db_path) / hashlib.sha256(b"abc").hexdigest()).read_bytes() == b"abc"
    assert "raw" not in set(store.uploads().columns)
    columns = ["reporting_unit", "item", "month", "status"]
    active = store.task_statuses(latest=True)[columns].values.tolist()
    approved = store.task_statuses(latest=True, approved_only=True)[columns].values.tolist()
    if version == 1:
        assert active == approved == [[UNIT, "T2-1-1", MONTH, "进行中"]]
    else:  # the second version waits for review: approved-only readings keep the first
        assert store.raw_file(2) == ("b.csv", b"xyz")
        assert active == [[UNIT, "T2-1-1", MONTH, "已完成"]] and approved == [[UNIT, "T2-1-1", MONTH, "进行中"]]
    assert_consistent(store)
    # the uploads belong to the plan the deployment is configured with (targets.yaml here)
    scoped = store.for_plan(plan.id)
    assert scoped.monthly_values().to_dict("records") == store.monthly_values().to_dict("records")
    assert scoped.task_statuses(latest=True)[columns].values.tolist() == active
    assert store.for_plan("another-plan").monthly_values().empty
    assert store.for_plan("another-plan").task_statuses(latest=True).empty


def test_two_plans_in_one_database_keep_their_uploads_apart(db_path, plan):
    store = Store(db_path)
    first, other = store.for_plan(plan.id), store.for_plan("another-plan")
    report, raw = make_report(plan)
    assert dataclasses.replace(report, plan_id=None).plan_id is None
    mine = first.submit(dataclasses.replace(report, plan_id=None), raw, submitted_by="t")  # filed against the scope
    report2, raw2 = make_report(plan, scale=2)
    theirs = other.submit(dataclasses.replace(report2, plan_id=None), raw2, submitted_by="t")
    # the same unit and month in another plan does not supersede this plan's report
    assert mine.accepted and theirs.accepted and theirs.superseded_upload_id is None
    assert store.uploads()["state"].tolist() == ["active", "active"]
    def values(scoped):
        return set(scoped.facts()["value"].dropna())

    assert values(first) == {1.0} and values(other) == {2.0}
    assert first.monthly_values()["value"].sum() * 2 == other.monthly_values()["value"].sum()
    assert len(first.facts()) == len(other.facts()) == len(store.facts()) // 2
    assert first.latest_month() == other.latest_month() == MONTH and not other.is_empty()
    assert store.for_plan("a-third-plan").is_empty() and store.for_plan("a-third-plan").latest_month() is None
    again, raw3 = make_report(plan, scale=3)
    corrected = first.submit(dataclasses.replace(again, plan_id=None), raw3, submitted_by="t")
    assert corrected.superseded_upload_id == mine.upload_id  # a correction supersedes its own plan's version
    assert values(other) == {2.0} and values(first) == {3.0}
    assert store.uploads().set_index("upload_id").loc[theirs.upload_id, "state"] == "active"


def test_a_second_plans_first_report_is_version_1_not_2(db_path, plan):
    store = Store(db_path)
    first, other = store.for_plan(plan.id), store.for_plan("another-street-2023")
    report, raw = make_report(plan)
    assert first.submit(dataclasses.replace(report, plan_id=None), raw, submitted_by="t").version == 1
    report2, raw2 = make_report(plan, scale=2)
    theirs = other.submit(dataclasses.replace(report2, plan_id=None), raw2, submitted_by="t")
    assert theirs.version == 1 and "第 1 版" in theirs.message
    report3, raw3 = make_report(plan, scale=3)
    assert other.submit(dataclasses.replace(report3, plan_id=None), raw3, submitted_by="t").version == 2
    assert sorted(store.uploads()["version"]) == [1, 1, 2]
    # each plan's active version of the unit-month, and its latest task statuses, are its own
    assert first.uploads()["state"].tolist() == ["active"]
    assert other.uploads()["state"].tolist() == ["superseded", "active"]
    assert set(first.task_statuses(latest=True)["month"]) == {MONTH}
    assert len(store.task_statuses(latest=True)) == 2 * len(first.task_statuses(latest=True))


def test_a_month_locked_or_closed_in_one_plan_stays_open_in_another(db_path, plan):
    store = Store(db_path)
    first, other = store.for_plan(plan.id), store.for_plan("another-street-2023")
    report, raw = make_report(plan)
    first.submit(dataclasses.replace(report, plan_id=None), raw, submitted_by="t")
    assert first.lock_month(MONTH, actor="admin")
    assert first.is_locked(MONTH) and not other.is_locked(MONTH)
    assert first.locked_months() == [MONTH] and other.locked_months() == []
    report2, raw2 = make_report(plan, scale=2)
    theirs = other.submit(dataclasses.replace(report2, plan_id=None), raw2, submitted_by="t")
    assert theirs.accepted, theirs.message
    again, raw3 = make_report(plan, scale=3)
    refused = first.submit(dataclasses.replace(again, plan_id=None), raw3, submitted_by="t")
    assert refused.status == "locked"
    assert other.lock_month(MONTH, actor="admin")  # not "already locked": the other plan's lock is its own
    assert first.unlock_month(MONTH, actor="admin") and other.is_locked(MONTH) and not first.is_locked(MONTH)
    assert other.unlock_month(MONTH, actor="admin")
    # a close: the other plan's pending report does not block this plan's close, and the close and
    # its lock are this plan's only
    first.review(int(first.uploads()["upload_id"].iloc[0]), "approved", actor="reviewer")
    closed = first.close_month(MONTH, actor="admin", close_date=dt.date(2023, 6, 10),
                               snapshot=lambda reader: {"upload_ids": reader.approved_upload_ids(MONTH)})
    assert closed.closed, closed
    assert first.current_close(MONTH)["snapshot"]["upload_ids"] == first.uploads()["upload_id"].tolist()
    assert other.current_close(MONTH) is None and not other.is_locked(MONTH)
    assert other.closes().empty and len(first.closes()) == 1
    assert first.reopen_month(MONTH, actor="admin", reason="更正") and not first.is_locked(MONTH)


def test_a_newer_database_is_refused(db_path):
    Store(db_path)
    con = duckdb.connect(str(db_path))
    con.execute("INSERT INTO schema_version VALUES (99, 'future', now())")
    con.close()
    with pytest.raises(StoreError, match="升级"):
        Store(db_path)


# ---------------------------------------------------------------------------
# Concurrency within one process


def test_twenty_threads_submitting_different_unit_months(db_location, plan):
    shared = Store(db_location)
    units = [u.name for u in plan.units]
    jobs = [(units[i % len(units)], f"2023-{4 + i // len(units):02d}") for i in range(20)]
    assert len(set(jobs)) == 20
    reports = [make_report(plan, unit, month) for unit, month in jobs]
    barrier = threading.Barrier(20)
    results, failures = [None] * 20, []

    def work(i: int) -> None:
        store = shared if i % 2 else Store(db_location)  # one shared store and separate ones alike
        barrier.wait()
        try:
            results[i] = store.submit(*reports[i], submitted_by=f"user{i}")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert all(r.status == "accepted" and r.version == 1 for r in results)
    assert sorted(r.upload_id for r in results) == list(range(1, 21))
    counts = table_counts(db_location)
    assert counts["uploads"] == 20
    assert counts["facts"] == sum(len(r.rows) for r, _ in reports)
    assert len(shared.audit_log(action="upload.accept")) == 20
    assert_consistent(shared)


def test_threads_superseding_one_unit_month_build_one_chain(db_location, plan):
    store = Store(db_location)
    n = 6
    reports = [make_report(plan, scale=k + 1) for k in range(n)]
    barrier = threading.Barrier(n)
    results, failures = [None] * n, []

    def work(i: int) -> None:
        barrier.wait()
        try:
            results[i] = store.submit(*reports[i], submitted_by=f"user{i}")
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert sorted(r.version for r in results) == list(range(1, n + 1))
    uploads = store.uploads().sort_values("version")
    assert list(uploads["state"]) == ["superseded"] * (n - 1) + ["active"]
    ids = list(uploads["upload_id"])
    assert list(uploads["supersedes"].iloc[1:]) == ids[:-1]  # each version replaces the one before
    assert set(store.facts()["upload_id"]) == {ids[-1]}
    assert_consistent(store)


def test_readers_and_writers_at_once(db_location, plan):
    store = Store(db_location)
    stop = threading.Event()
    failures: list[Exception] = []

    def read() -> None:
        while not stop.is_set():
            try:
                store.monthly_values()
                store.task_statuses(latest=True)
            except Exception as exc:  # noqa: BLE001
                failures.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for k in range(8):
            assert store.submit(*make_report(plan, scale=k + 1), submitted_by="t").status == "accepted"
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not failures
    assert_consistent(store)


# ---------------------------------------------------------------------------
# Other processes: crash and lock

BATCH_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    sys.path.insert(0, sys.argv[1])
    from worktrack.intake import FactRow, IntakeReport
    from worktrack.store import Store

    db, count, rows_per_file = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = Store(db)
    for i in range(count):
        unit, month = f"单位{i:03d}", "2023-05"
        rows = [FactRow(unit, month, f"m{j % 7}", f"c{j}", float(j), None, "说明" * 20, j + 2)
                for j in range(rows_per_file)]
        raw = f"{unit}|{i}|".encode() * 200
        report = IntakeReport(f"f{i}.csv", hashlib.sha256(raw).hexdigest(), len(raw), unit, month, rows)
        result = store.submit(report, raw, submitted_by="batch")
        print(f"ACK {result.upload_id} {unit} {result.status}", flush=True)
""")


@pytest.mark.parametrize("kill_after", [1, 4, 9])
def test_a_batch_killed_midway_keeps_every_acknowledged_file(tmp_path, kill_after):
    db = tmp_path / "crash.duckdb"
    script = tmp_path / "batch.py"
    script.write_text(BATCH_SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(ROOT), str(db), "40", "3000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged = []
    try:
        for line in proc.stdout:
            assert line.startswith("ACK"), line
            acknowledged.append(line.split())
            if len(acknowledged) == kill_after:
                time.sleep(random.uniform(0, 0.03))  # land somewhere inside the next write
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(acknowledged) == kill_after

    store = Store(db)  # the database opens after the crash
    uploads = store.uploads().set_index("upload_id")
    for _, upload_id, unit, status in acknowledged:
        assert status == "accepted"
        assert uploads.loc[int(upload_id), "reporting_unit"] == unit
        assert uploads.loc[int(upload_id), "state"] == "active"
    assert len(uploads) in (kill_after, kill_after + 1)  # at most the one in flight also landed
    assert_consistent(store)  # no partial upload: facts == row_count for each
    with store.snapshot() as reader:
        totals = reader._con.execute("SELECT count(DISTINCT upload_id) FROM metric_totals").fetchone()[0]
    assert totals == len(uploads)
    # and it keeps working
    rows = [FactRow("新单位", "2023-06", "m", "", 1.0, None, "", 2)]
    report = IntakeReport("n.csv", hashlib.sha256(b"n").hexdigest(), 1, "新单位", "2023-06", rows)
    assert store.submit(report, b"n", submitted_by="t").status == "accepted"


HOLDER_SCRIPT = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); " \
                "time.sleep(float(sys.argv[2]))"


def hold_database(db: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the database file, as a long import or a second dashboard would."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER_SCRIPT, str(db), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_database_held_by_another_process_gives_store_busy(db_path, plan):
    store = Store(db_path, busy_timeout=0.4)
    holder = hold_database(db_path, 30)
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusy, match="数据库正被另一个程序使用") as info:
            store.monthly_values()
        assert time.monotonic() - started >= 0.4  # it retried before giving up
        assert "请稍后重试" in str(info.value)
        with pytest.raises(StoreBusy):
            store.submit(*make_report(plan), submitted_by="t")
    finally:
        holder.kill()
        holder.wait()
    assert store.submit(*make_report(plan), submitted_by="t").status == "accepted"


def test_a_short_hold_is_waited_out(db_path, plan):
    store = Store(db_path, busy_timeout=15)
    holder = hold_database(db_path, 0.8)
    try:
        result = store.submit(*make_report(plan), submitted_by="t")
    finally:
        holder.wait(timeout=30)
    assert result.status == "accepted"


def test_a_direct_connection_in_this_process_also_counts_as_busy(db_path, plan):
    store = Store(db_path, busy_timeout=0.2)
    direct = duckdb.connect(str(db_path))
    try:
        with pytest.raises(StoreBusy):
            store.latest_month()
    finally:
        direct.close()
    assert store.latest_month() is None


def test_the_file_is_free_between_calls(db_path, plan):
    store = Store(db_path)
    store.submit(*make_report(plan), submitted_by="t")
    out = subprocess.run([sys.executable, "-c", "import duckdb, sys; "
                          "print(duckdb.connect(sys.argv[1]).execute('select count(*) from uploads').fetchone()[0])",
                          str(db_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


# ---------------------------------------------------------------------------
# Backup and restore


def _populated(store: Store, plan) -> None:
    store.submit(*make_report(plan, scale=1), submitted_by="tianjian")
    store.submit(*make_report(plan, scale=2), submitted_by="tianjian")
    store.submit(*make_report(plan, "涂新社区", "2023-06", 3), submitted_by="tuxin")
    store.submit(*make_report(plan, "涂新社区", "2023-07", 3), submitted_by="tuxin")
    store.rollback(4, actor="admin")
    store.lock_month("2023-05", actor="admin")


def _snapshot(store: Store) -> dict:
    uploads = store.uploads()
    return {
        "uploads": uploads.to_dict("records"),
        "raw": {int(i): store.raw_file(int(i)) for i in uploads["upload_id"]},
        "facts": store.facts(include_inactive=True).sort_values(["upload_id", "item", "category"])
        .reset_index(drop=True).to_dict("records"),
        "monthly": store.monthly_values().sort_values(["reporting_unit", "item", "month"])
        .reset_index(drop=True).to_dict("records"),
        "audit": store.audit_log().to_dict("records"),
        "locks": store.month_lock_history().to_dict("records"),
    }


def _same(a, b) -> bool:
    """Record lists equal, treating NaN == NaN."""
    return json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


BACKEND_PAIRS = [(a, b) for a in BACKENDS for b in BACKENDS]


@pytest.mark.parametrize(("source", "target"), BACKEND_PAIRS)
def test_backup_then_restore_gives_identical_data(tmp_path, plan, location_on, source, target):
    """The backup format is one: a backup from either backend restores on either, rows identical."""
    original = Store(location_on(source, "a"))
    _populated(original, plan)
    manifest = original.backup(tmp_path / "backup")
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["tables"]["uploads"]["rows"] == 4 and manifest["raw_files"] == 4
    assert all(len(h) == 64 for h in manifest["files"].values())
    on_disk = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    for sha in original.uploads()["sha256"]:
        assert (tmp_path / "backup" / "raw" / sha).is_file()

    restored_at = location_on(target, "b") if target == "postgresql" else tmp_path / "restored" / "b.duckdb"
    restored = Store.restore(tmp_path / "backup", restored_at, actor="admin")
    before, after = _snapshot(original), _snapshot(restored)
    restore_row = after["audit"].pop()
    assert restore_row["action"] == "db.restore" and restore_row["actor"] == "admin"
    for key in before:
        assert _same(before[key], after[key]), key
    assert restored.locked_months() == ["2023-05"]
    assert restored.counts()["metric_totals"] == original.counts()["metric_totals"]
    assert latest_tasks(restored) == latest_tasks(original) == latest_tasks_from_facts(restored)
    assert coded_totals(restored) == coded_totals(original) == plain_totals(restored)
    for sha in original.uploads()["sha256"]:  # the files came along, beside the restored database
        assert (raw_dir(restored_at) / sha).is_file()  # PostgreSQL: the configured directory
    assert restored.raw_file(1) == original.raw_file(1)
    # the restored database carries on: versions continue, ids do not collide
    result = restored.submit(*make_report(plan, "涂新社区", "2023-07", 9), submitted_by="tuxin")
    assert (result.upload_id, result.version) == (5, 2)


def test_backup_keeps_reviews_and_closes(tmp_path, plan, new_location):
    original = Store(new_location("a"))
    first = original.submit(*make_report(plan, scale=1), submitted_by="tianjian")
    second = original.submit(*make_report(plan, "涂新社区", "2023-06", 3), submitted_by="tuxin")
    original.review(first.upload_id, "returned", actor="rev", reason="请核对")
    original.review(second.upload_id, "approved", actor="rev")
    assert original.close_month("2023-06", actor="admin", close_date=dt.date(2023, 7, 12),
                                snapshot=lambda reader: {"upload_ids": reader.approved_upload_ids("2023-06")}).closed
    manifest = original.backup(tmp_path / "backup")
    assert manifest["tables"]["upload_reviews"]["rows"] == 2 and manifest["tables"]["month_closes"]["rows"] == 1
    restored = Store.restore(tmp_path / "backup", new_location("b"))
    columns = ["upload_id", "review_state", "review_reason"]
    assert restored.reviewed_uploads()[columns].equals(original.reviewed_uploads()[columns])
    assert restored.current_close("2023-06")["snapshot"] == {"upload_ids": [second.upload_id]}


def test_a_backup_from_before_reviews_restores_with_its_uploads_approved(tmp_path, plan, monkeypatch):
    import worktrack.store as store_module

    _old_database(tmp_path / "old.duckdb", 2)
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:2])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    manifest = Store(tmp_path / "old.duckdb").backup(tmp_path / "backup")
    monkeypatch.undo()
    assert manifest["schema_version"] == 2 and "upload_reviews" not in manifest["tables"]
    assert manifest["raw_files"] == 1  # from the uploads.raw column of that schema
    restored = Store.restore(tmp_path / "backup", tmp_path / "new.duckdb")
    assert restored.schema_version() == SCHEMA_VERSION
    assert restored.reviewed_uploads()["review_state"].tolist() == ["approved"]
    assert restored.raw_file(1) == ("a.csv", b"abc")
    assert_consistent(restored)


def test_a_database_with_migration_9_but_not_8_gets_8(tmp_path, plan, monkeypatch):
    # main numbered the register evidence 9 before several plans (8) were merged: such a file holds 9 alone
    import worktrack.store as store_module

    db = tmp_path / "main-9.duckdb"
    _old_database(db, 4)
    monkeypatch.setattr(store_module, "MIGRATIONS", tuple(m for m in MIGRATIONS if m.version != 8))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 9)
    assert Store(db).schema_version() == 9
    monkeypatch.undo()
    store = Store(db)
    assert len(store.for_plan(plan.id).uploads()) == 2 and store.for_plan("another-plan").uploads().empty
    con = duckdb.connect(str(db))
    try:
        assert [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == \
            [m.version for m in MIGRATIONS]
    finally:
        con.close()


def test_a_backup_from_before_plans_restores_with_the_configured_plan(tmp_path, plan, monkeypatch):
    import worktrack.store as store_module

    _old_database(tmp_path / "old.duckdb", 4)
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:7])  # schema 7: no plan_id yet
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 7)
    manifest = Store(tmp_path / "old.duckdb").backup(tmp_path / "backup")
    monkeypatch.undo()
    assert manifest["schema_version"] == 7
    restored = Store.restore(tmp_path / "backup", tmp_path / "new.duckdb")
    assert restored.schema_version() == SCHEMA_VERSION
    # task_latest was rebuilt as schema 7 had it, then migration 8 gave every row the configured plan
    scoped = restored.for_plan(plan.id)
    columns = ["reporting_unit", "item", "month", "status"]
    assert scoped.task_statuses(latest=True)[columns].values.tolist() == [[UNIT, "T2-1-1", MONTH, "已完成"]]
    assert scoped.task_statuses(latest=True, approved_only=True)[columns].values.tolist() == \
        [[UNIT, "T2-1-1", MONTH, "进行中"]]
    assert len(scoped.uploads()) == 2 and restored.for_plan("another-plan").uploads().empty
    assert_consistent(restored)


def test_backup_refuses_a_directory_that_is_not_empty(tmp_path, store):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text("{}")
    with pytest.raises(StoreRefused, match="不是空目录"):
        store.backup(tmp_path / "old")


@pytest.mark.parametrize("damage", ["parquet", "raw", "missing", "manifest"])
def test_restore_refuses_a_damaged_backup_and_touches_nothing(tmp_path, plan, damage):
    original = Store(tmp_path / "a.duckdb")
    _populated(original, plan)
    backup = tmp_path / "backup"
    original.backup(backup)
    if damage == "parquet":
        path = backup / "facts.parquet"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "raw":
        raw = next((backup / "raw").iterdir())
        raw.write_bytes(raw.read_bytes() + b"tampered")
    elif damage == "missing":
        (backup / "audit_log.parquet").unlink()
    else:
        (backup / "manifest.json").write_text("{not json", encoding="utf-8")
    target = tmp_path / "restored.duckdb"
    with pytest.raises(StoreRefused) as info:
        Store.restore(backup, target)
    assert "没有做任何恢复" in str(info.value) or "manifest" in str(info.value)
    assert not target.exists()
    assert not list(tmp_path.glob("restored.duckdb*"))


def test_restore_never_overwrites_data_unless_forced_and_keeps_the_old_file(tmp_path, plan):
    source = Store(tmp_path / "a.duckdb")
    source.submit(*make_report(plan), submitted_by="t")
    source.backup(tmp_path / "backup")

    target_path = tmp_path / "live.duckdb"
    live = Store(target_path)
    live.submit(*make_report(plan, "涂新社区", "2023-09"), submitted_by="t")
    with pytest.raises(StoreRefused, match="--force"):
        Store.restore(tmp_path / "backup", target_path)
    assert live.uploads().iloc[0]["reporting_unit"] == "涂新社区"  # untouched

    restored = Store.restore(tmp_path / "backup", target_path, force=True)
    assert restored.uploads().iloc[0]["reporting_unit"] == UNIT
    kept = list(tmp_path.glob("live.duckdb.replaced-*"))
    assert len(kept) == 1
    con = duckdb.connect(str(kept[0]))
    assert con.execute("SELECT reporting_unit FROM uploads").fetchone()[0] == "涂新社区"
    con.close()
    detail = json.loads(restored.audit_log(action="db.restore").iloc[-1]["detail"])
    assert detail["previous_database"] == str(kept[0])


def test_forced_restore_into_postgresql_keeps_the_old_tables_in_a_schema(tmp_path, plan, location_on):
    source = Store(location_on("postgresql"))
    source.submit(*make_report(plan), submitted_by="t")
    source.backup(tmp_path / "backup")
    target = location_on("postgresql")
    live = Store(target)
    live.submit(*make_report(plan, "涂新社区", "2023-09"), submitted_by="t")
    with pytest.raises(StoreRefused, match="--force"):
        Store.restore(tmp_path / "backup", target)
    assert live.uploads().iloc[0]["reporting_unit"] == "涂新社区"  # untouched, and still read as it was

    restored = Store.restore(tmp_path / "backup", target, force=True)
    assert restored.uploads()["reporting_unit"].tolist() == [UNIT]
    assert live.uploads()["reporting_unit"].tolist() == [UNIT]  # another handle sees the restore at once
    kept = json.loads(restored.audit_log(action="db.restore").iloc[-1]["detail"])["previous_database"]
    import psycopg

    with psycopg.connect(target) as con:
        assert con.execute(f"SELECT reporting_unit FROM {kept}.uploads").fetchone()[0] == "涂新社区"


def test_restore_never_replaces_a_file_that_is_not_a_database(tmp_path):
    Store(tmp_path / "a.duckdb").backup(tmp_path / "backup")
    precious = tmp_path / "notes.duckdb"
    precious.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreRefused, match="不是 worktrack 数据库"):
        Store.restore(tmp_path / "backup", precious, force=True)
    assert precious.read_bytes().startswith(b"not a database")


def test_restore_into_a_fresh_empty_database_needs_no_force(tmp_path, plan, new_location):
    source = Store(new_location("a"))
    source.submit(*make_report(plan), submitted_by="t")
    source.backup(tmp_path / "backup")
    empty = new_location("empty")
    Store(empty)  # only the schema
    restored = Store.restore(tmp_path / "backup", empty)
    assert len(restored.uploads()) == 1


def test_a_file_in_use_by_another_process_is_not_restored_over(tmp_path, plan):
    source = Store(tmp_path / "a.duckdb")
    source.backup(tmp_path / "backup")
    target = tmp_path / "busy.duckdb"
    Store(target)
    holder = hold_database(target, 30)
    try:
        with pytest.raises(StoreBusy):
            Store.restore(tmp_path / "backup", target, force=True, busy_timeout=0.3)
    finally:
        holder.kill()
        holder.wait()
    assert target.exists() and not list(tmp_path.glob("busy.duckdb.replaced-*"))
    assert not list(tmp_path.glob("busy.duckdb.restoring-*"))


def test_environment_points_nowhere_near_the_project_database(db_path):
    # Guard: the tests above must never touch data/worktrack.duckdb.
    assert Path(os.environ["WORKTRACK_DB"]) == db_path


# ---------------------------------------------------------------------------
# Damaged files and full disks


def flip_block_of(db: Path, table: str) -> int:
    """Flip one byte inside the storage block holding `table`'s data, as a bad disk sector would."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        block_size = con.execute("PRAGMA database_size").fetchall()[0][2]
        block = con.execute(f"SELECT min(block_id) FROM pragma_storage_info('{table}') "
                            "WHERE persistent AND block_id >= 0").fetchall()[0][0]
    finally:
        con.close()
    assert block is not None, f"{table} has no block on disk"
    offset = 3 * 4096 + block * block_size + 64  # after the file and database headers
    data = bytearray(db.read_bytes())
    data[offset] ^= 0xFF
    db.write_bytes(bytes(data))
    return offset


def damaged_database(tmp_path: Path, plan, table: str) -> Path:
    db = tmp_path / "damaged.duckdb"
    store = Store(db)
    for scale in range(1, 4):
        store.submit(*make_report(plan, scale=scale), submitted_by="t")
    flip_block_of(db, table)
    return db


@pytest.mark.parametrize("table", ["schema_version", "audit_log", "metric_totals"])
def test_regression_upload_accepted_on_a_database_with_a_damaged_block(tmp_path, plan, table):
    # The write used to commit and hand out a receipt although the file could no longer be read.
    db = damaged_database(tmp_path, plan, table)
    store = Store(db)
    with pytest.raises(StoreCorrupt, match="已损坏") as info:
        store.submit(*make_report(plan, scale=9), submitted_by="t")
    assert "restore" in str(info.value) and "--force" in str(info.value)


def test_a_truncated_database_is_reported_as_damaged(tmp_path, plan):
    db = tmp_path / "t.duckdb"
    store = Store(db)
    for scale in range(1, 4):
        store.submit(*make_report(plan, scale=scale), submitted_by="t")
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    with pytest.raises(StoreCorrupt, match="已损坏"):
        Store(db).facts(include_inactive=True)


def test_a_damaged_database_header_is_reported_as_damaged_not_foreign(tmp_path, plan):
    db = damaged_database(tmp_path, plan, "uploads")
    data = bytearray(db.read_bytes())
    data[4096 + 100] ^= 0xFF  # inside the first database header
    db.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match="restore"):
        Store(db)


@pytest.mark.parametrize("damage", ["header", "truncated", "block"])
def test_forced_restore_rebuilds_a_database_that_cannot_be_opened(tmp_path, plan, damage):
    source = Store(tmp_path / "a.duckdb")
    _populated(source, plan)
    source.backup(tmp_path / "backup")
    db = damaged_database(tmp_path, plan, "uploads")
    if damage == "header":
        data = bytearray(db.read_bytes())
        data[4096 + 100] ^= 0xFF
        db.write_bytes(bytes(data))
    elif damage == "truncated":
        with open(db, "r+b") as fh:
            fh.truncate(db.stat().st_size // 3)
    damaged_bytes = db.read_bytes()
    with pytest.raises(StoreRefused, match="--force"):
        Store.restore(tmp_path / "backup", db)
    assert db.read_bytes() == damaged_bytes

    restored = Store.restore(tmp_path / "backup", db, force=True)
    assert _same(_snapshot(source)["uploads"], _snapshot(restored)["uploads"])
    kept = list(tmp_path.glob("damaged.duckdb.replaced-*"))
    assert [k.read_bytes() == damaged_bytes for k in kept if not k.name.endswith(".wal")] == [True]


def test_restore_never_overwrites_a_file_moved_aside_in_the_same_second(tmp_path, plan):
    source = Store(tmp_path / "a.duckdb")
    source.submit(*make_report(plan), submitted_by="t")
    source.backup(tmp_path / "backup")
    target = tmp_path / "live.duckdb"
    for _ in range(3):
        Store.restore(tmp_path / "backup", target, force=True)
    # three restores over one path: the two earlier databases are both kept
    assert len([p for p in tmp_path.glob("live.duckdb.replaced-*") if not p.name.endswith(".wal")]) == 2


def test_a_full_disk_is_a_clear_error_not_a_receipt(tiny_disk, plan):
    store = Store(tiny_disk / "w.duckdb")
    results = []
    with pytest.raises(StoreDiskFull, match="磁盘空间不足"):
        for scale in range(1, 60):
            results.append(store.submit(*make_report(plan, scale=scale), submitted_by="t"))
    assert all(r.status == "accepted" for r in results)


def test_a_full_disk_during_backup_is_a_clear_error(tiny_disk, tmp_path, plan):
    store = Store(tmp_path / "w.duckdb")
    for scale in range(1, 6):
        store.submit(*make_report(plan, scale=scale), submitted_by="t")
    free = os.statvfs(tiny_disk).f_bavail * os.statvfs(tiny_disk).f_frsize
    (tiny_disk / "filler").write_bytes(b"\0" * (free - 20_000))  # leave less than the backup needs
    with pytest.raises(StoreDiskFull, match="磁盘空间不足"):
        store.backup(tiny_disk / "backup")


def test_backup_fails_with_a_clear_error_when_a_raw_file_hits_a_full_disk(tmp_path, plan, monkeypatch):
    # Where no tmpfs can be mounted: the disk fills while a raw file is written.
    import errno as errno_module

    import worktrack.store as store_module

    store = Store(tmp_path / "w.duckdb")
    store.submit(*make_report(plan), submitted_by="t")

    def full(path, data):
        raise OSError(errno_module.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(store_module, "_write_private", full)
    with pytest.raises(StoreDiskFull, match="磁盘空间不足"):
        store.backup(tmp_path / "backup")


# ---------------------------------------------------------------------------
# Private files


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_database_wal_backup_and_raw_files_are_private(tmp_path, plan, monkeypatch):
    import worktrack.store as store_module

    old_umask = os.umask(0o022)  # a permissive umask, as a default login shell has
    try:
        db = tmp_path / "data" / "w.duckdb"
        store = Store(db)
        assert mode(db) == 0o600 and mode(db.parent) == 0o700
        # The write-ahead log lives from a commit to the checkpoint right after it: look at it then.
        wal_modes = []
        make_private = store_module._make_database_private

        def look(path):
            make_private(path)
            if Path(f"{path}.wal").exists():
                wal_modes.append(mode(Path(f"{path}.wal")))

        monkeypatch.setattr(store_module, "_make_database_private", look)
        store.submit(*make_report(plan), submitted_by="t")
        assert wal_modes == [0o600]
        backup = tmp_path / "backups" / "b1"
        store.backup(backup, sign_key=b"k" * 32)
        assert mode(backup) == 0o700 and mode(backup / "raw") == 0o700 and mode(backup.parent) == 0o700
        files = [p for p in backup.rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"manifest.json", "manifest.json.sig", "uploads.parquet"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        restored = tmp_path / "restored" / "r.duckdb"
        Store.restore(backup, restored)
        assert mode(restored) == 0o600 and mode(restored.parent) == 0o700
    finally:
        os.umask(old_umask)


# ---------------------------------------------------------------------------
# Signed backups


KEY = b"0123456789abcdef0123456789abcdef"


def recompute_manifest(backup: Path) -> None:
    """What someone who alters a backup does to get past the hash check: rewrite the manifest."""
    manifest = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = {rel: hashlib.sha256((backup / rel).read_bytes()).hexdigest() for rel in manifest["files"]}
    (backup / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def test_a_signed_backup_restores_and_records_a_valid_signature(tmp_path, plan):
    source = Store(tmp_path / "a.duckdb")
    _populated(source, plan)
    source.backup(tmp_path / "backup", sign_key=KEY)
    restored = Store.restore(tmp_path / "backup", tmp_path / "r.duckdb", sign_key=KEY)
    detail = json.loads(restored.audit_log(action="db.restore").iloc[-1]["detail"])
    assert detail["signature"] == "valid"


def test_a_tampered_backup_with_a_recomputed_manifest_is_refused_when_signed(tmp_path, plan):
    source = Store(tmp_path / "a.duckdb")
    _populated(source, plan)
    backup = tmp_path / "backup"
    source.backup(backup, sign_key=KEY)
    # Change a figure inside the facts table and make every hash match again.
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * REPLACE (value * 100 AS value) FROM read_parquet('{backup / 'facts.parquet'}')) "
                f"TO '{tmp_path / 'facts.parquet'}' (FORMAT parquet)")
    con.close()
    (tmp_path / "facts.parquet").replace(backup / "facts.parquet")
    recompute_manifest(backup)
    # without a signature this would pass every check
    from worktrack.store import verify_backup

    verify_backup(backup)
    with pytest.raises(StoreRefused, match="签名与清单不符"):
        Store.restore(backup, tmp_path / "r.duckdb", sign_key=KEY)
    assert not list(tmp_path.glob("r.duckdb*"))
    with pytest.raises(StoreRefused, match="签名与清单不符"):
        Store.restore(backup, tmp_path / "r.duckdb", sign_key=b"another key of enough length!!")


def test_an_unsigned_backup_still_restores_and_says_so(tmp_path, plan):
    source = Store(tmp_path / "a.duckdb")
    source.submit(*make_report(plan), submitted_by="t")
    source.backup(tmp_path / "backup")
    assert not (tmp_path / "backup" / "manifest.json.sig").exists()
    restored = Store.restore(tmp_path / "backup", tmp_path / "r.duckdb", sign_key=KEY)
    assert json.loads(restored.audit_log(action="db.restore").iloc[-1]["detail"])["signature"] == "unsigned"
    unchecked = tmp_path / "signed"
    source.backup(unchecked, sign_key=KEY)
    other = Store.restore(unchecked, tmp_path / "r2.duckdb")
    assert json.loads(other.audit_log(action="db.restore").iloc[-1]["detail"])["signature"] == "unchecked"


@pytest.mark.parametrize("content, message", [(None, "无法读取"), (b"short\n", "太短")])
def test_a_missing_or_short_signing_key_is_refused(tmp_path, content, message):
    from worktrack.store import load_sign_key

    path = tmp_path / "key"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StoreRefused, match=message):
        load_sign_key(path)
    path.write_bytes(KEY + b"\n")
    assert load_sign_key(path) == KEY


def test_unreferenced_raw_files_are_listed_and_removed_only_by_an_explicit_call(tmp_path, plan):
    """raw/<sha256> files are never deleted by a write; `delete_unreferenced_raw_files` removes those no
    upload or attachment names (left by an interrupted write), older than the margin, with an audit row."""
    import os
    import time as _time

    from worktrack.store import raw_dir

    store = Store(tmp_path / "w.duckdb")
    first, first_raw = make_report(plan)
    store.submit(first, first_raw, submitted_by="t")
    second, second_raw = make_report(plan, scale=2)
    store.submit(second, second_raw, submitted_by="t")  # the first is superseded, its file still referenced
    directory = raw_dir(tmp_path / "w.duckdb")
    old, fresh = b"left by an interrupted write", b"being written right now"
    for data, age in ((old, 3 * 86400), (fresh, 0)):
        path = directory / hashlib.sha256(data).hexdigest()
        path.write_bytes(data)
        os.utime(path, (_time.time() - age, _time.time() - age))
    for path in directory.iterdir():  # referenced files are kept however old they are
        if path.name != hashlib.sha256(fresh).hexdigest():
            os.utime(path, (_time.time() - 5 * 86400,) * 2)

    listed = store.unreferenced_raw_files()
    assert [e["name"] for e in listed] == [hashlib.sha256(old).hexdigest()]
    assert listed[0]["bytes"] == len(old)
    assert (directory / listed[0]["name"]).exists()  # listing removes nothing

    removed = store.delete_unreferenced_raw_files("admin")
    assert removed == {"files": 1, "bytes": len(old)}
    assert not (directory / hashlib.sha256(old).hexdigest()).exists()
    assert (directory / hashlib.sha256(fresh).hexdigest()).exists()  # inside the margin
    assert store.raw_file(1) == (first.file, first_raw) and store.raw_file(2) == (second.file, second_raw)
    audit = store.audit_log(action="raw.delete")
    assert len(audit) == 1 and json.loads(audit.iloc[0]["detail"])["files"] == 1
    assert store.delete_unreferenced_raw_files("admin") == {"files": 0, "bytes": 0}
    assert len(store.audit_log(action="raw.delete")) == 1  # nothing removed, nothing written

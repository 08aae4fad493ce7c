"""The PostgreSQL backend's own parts: SQL translation, the schema dialect, the replica, the data version,
and writes racing from several processes. Everything the store does is also tested on PostgreSQL by
the backend-parametrised tests in test_store.py, test_progress.py, test_cycle.py and test_submission.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import duckdb
import psycopg
import pytest

from tests.conftest import ROOT
from tests.test_store import make_report
from worktrack import store_pg
from worktrack.store import _TASK_LATEST_REBUILD, MIGRATIONS, Store, StoreError
from worktrack.store_pg import PgStore, pg_dialect, pg_statement


@pytest.mark.parametrize(("duck", "pg"), [
    ("SELECT a FROM t WHERE b = ? AND c = ?", "SELECT a FROM t WHERE b = %s AND c = %s"),
    ("SELECT strftime(d, '%Y-%m') FROM t WHERE x = ?", "SELECT strftime(d, '%%Y-%%m') FROM t WHERE x = %s"),
    ("SELECT '?' FROM t WHERE x = ?", "SELECT '?' FROM t WHERE x = %s"),
    ("SELECT sha256(raw) FROM uploads WHERE upload_id = ?", "SELECT encode(sha256(raw), 'hex') FROM uploads "
                                                            "WHERE upload_id = %s"),
])
def test_statements_get_placeholders_and_postgresql_forms(duck, pg):
    assert pg_statement(duck, True) == pg


def test_a_statement_without_parameters_keeps_its_percent_signs():
    assert pg_statement("SELECT '%' FROM t", False) == "SELECT '%' FROM t"


def test_the_dialect_renames_two_types_and_nothing_else():
    assert pg_dialect("a BLOB NOT NULL, b DOUBLE, c DOUBLE PRECISION, blobs VARCHAR") == \
        "a BYTEA NOT NULL, b DOUBLE PRECISION, c DOUBLE PRECISION, blobs VARCHAR"


def _columns_duckdb(path) -> dict[str, list[tuple[str, bool]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                           "ORDER BY table_name, ordinal_position").fetchall()
    finally:
        con.close()
    return _by_table(rows)


def _columns_postgresql(url) -> dict[str, list[tuple[str, bool]]]:
    with psycopg.connect(url) as con:
        rows = con.execute("SELECT table_name, column_name, is_nullable FROM information_schema.columns "
                           "WHERE table_schema = 'public' AND table_name <> 'data_version' "
                           "ORDER BY table_name, ordinal_position").fetchall()
    return _by_table(rows)


def _by_table(rows) -> dict[str, list[tuple[str, bool]]]:
    tables: dict[str, list[tuple[str, bool]]] = {}
    for table, column, nullable in rows:
        tables.setdefault(table, []).append((column, nullable == "YES"))
    return tables


def test_the_migrations_make_the_same_tables_on_both_backends(db_path, pg_url):
    """Cross-check: a migration whose PostgreSQL dialect drifts (a column, its order, NOT NULL) fails here."""
    duck, pg = Store(db_path), Store(pg_url)
    assert _columns_duckdb(db_path) == _columns_postgresql(pg_url)
    assert duck.schema_version() == pg.schema_version() == MIGRATIONS[-1].version
    versions = pg.audit_log(action="schema.migrate")["new_value"].tolist()
    assert versions == [str(m.version) for m in MIGRATIONS]


def test_a_postgresql_url_selects_the_postgresql_store(pg_url, db_path):
    assert type(Store(pg_url)) is PgStore
    assert type(Store(db_path)) is Store


def test_an_unreachable_server_is_a_store_error_in_chinese():
    with pytest.raises(StoreError, match="无法连接数据库服务器"):
        Store("postgresql://nobody:secret@127.0.0.1:1/none")


def test_a_snapshot_gives_the_raw_bytes_the_replica_does_not_copy(pg_url, plan):
    store = Store(pg_url)
    report, raw = make_report(plan)
    upload_id = store.submit(report, raw, submitted_by="t").upload_id
    with store.snapshot() as reader:
        assert reader.raw_file(upload_id) == (report.file, raw)
    assert store.raw_file(upload_id) == (report.file, raw)


def test_a_server_that_went_away_is_a_store_error_not_a_crash(pg_url, pg_cluster, plan):
    store = Store(pg_url)
    store.submit(*make_report(plan), submitted_by="t")
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.url, autocommit=True) as admin:  # every pooled connection is cut
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
    with pytest.raises(StoreError, match="无法连接数据库服务器"):
        store.data_version()
    assert store.data_version() > 0  # the broken connection was dropped; the next call reconnects


def test_the_password_is_never_shown():
    assert store_pg.display_url("postgresql://wt:s3cret@db.example:5432/worktrack") == \
        "postgresql://wt@db.example:5432/worktrack"


def test_the_replica_appends_new_rows_and_reloads_changed_ones(pg_url, plan):
    store = Store(pg_url)
    store.submit(*make_report(plan, scale=1), submitted_by="t")
    replica = store_pg._replica(pg_url)
    with store.snapshot() as r:
        assert len(r.facts()) > 0
    marks = dict(replica.marks)
    second = store.submit(*make_report(plan, scale=2), submitted_by="t")
    with store.snapshot() as r:
        assert set(r.facts()["upload_id"]) == {second.upload_id}  # the state change of version 1 is seen
        assert len(r.facts(include_inactive=True)) == 2 * len(make_report(plan)[0].rows)
    assert replica.marks["facts"] == second.upload_id > marks["facts"]
    assert replica.marks["audit_log"] > marks["audit_log"]


TRICKY = '说明,"引号"\n第二行 \\ 反斜杠'


def _tables_in_postgresql(url: str, tables: list[str]) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as con:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def test_the_replica_holds_exactly_the_databases_rows_even_awkward_text(pg_url, plan):
    """Cross-check of the COPY/CSV path: quotes, commas, newlines, backslashes, '' versus NULL, JSON."""
    import dataclasses
    import datetime as dt

    store = Store(pg_url)
    report, raw = make_report(plan)
    report.rows[0] = dataclasses.replace(report.rows[0], note=TRICKY)
    report.rows[1] = dataclasses.replace(report.rows[1], note="")
    first = store.submit(report, raw, submitted_by="t", note=TRICKY)
    store.review(first.upload_id, "returned", actor="rev", reason=TRICKY)
    second = store.submit(*make_report(plan, scale=2), submitted_by="t")
    store.review(second.upload_id, "approved", actor="rev")
    store.close_month("2023-05", actor="admin", close_date=dt.date(2023, 6, 12),
                      snapshot=lambda reader: {"note": TRICKY, "ids": reader.approved_upload_ids("2023-05")})
    store.unlock_month("2023-05", actor="admin")
    tables = ["schema_version", "uploads", "facts", "audit_log", "month_locks", "upload_reviews", "month_closes",
              "metric_totals", "name_codes", "metric_codes"]
    store_pg._replicas.clear()  # a full load, then incremental refreshes after every kind of write
    with store.snapshot():
        pass
    third = store.submit(*make_report(plan, "涂新社区", "2023-06"), submitted_by="t", note=TRICKY)
    with store.snapshot():
        pass
    fourth = store.submit(*make_report(plan, "涂新社区", "2023-06", 3), submitted_by="t")  # supersedes the third
    with store.snapshot():
        pass
    store.rollback(fourth.upload_id, actor="admin")  # the third is active again
    with store.snapshot():
        pass
    assert store.uploads().set_index("upload_id").loc[third.upload_id, "state"] == "active"
    expected = _tables_in_postgresql(pg_url, tables)
    with store.snapshot() as reader:
        for table in tables:
            got = sorted((tuple(r) for r in reader._con.execute(f"SELECT * FROM {table}").fetchall()), key=repr)
            assert got == expected[table], table
        # task_latest is the replica's own (DuckDB SQL): kept by refreshes, equal to a rebuild from scratch
        kept = sorted(reader._con.execute("SELECT * FROM task_latest").fetchall(), key=repr)
        rebuilt = sorted(reader._con.execute(_TASK_LATEST_REBUILD.removeprefix("INSERT INTO task_latest ")).fetchall(),
                         key=repr)
        assert kept == rebuilt and len(kept) > 0
    assert TRICKY in store.facts(include_inactive=True)["note"].tolist()
    assert "" in store.facts(include_inactive=True)["note"].tolist()


def test_a_refresh_after_many_uploads_rebuilds_task_latest_to_the_same_rows(pg_url, plan, monkeypatch):
    """Regression: after a burst of uploads (a month's reports from another server) the replica caught up
    unit-month by unit-month, 14 s for 1,200 uploads; above _REFRESH_REBUILD_ABOVE it rebuilds instead."""
    store = Store(pg_url)
    store.submit(*make_report(plan, "涂新社区", "2023-04"), submitted_by="t")
    with store.snapshot():
        pass  # the replica is loaded; what follows arrives in one incremental refresh
    months = ["2023-04", "2023-05", "2023-06", "2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12"]
    units = [u.name for u in plan.units if plan.template_rows(u.name)]
    cells = [(u, m) for u in units for m in months]
    assert len(cells) > store_pg._REFRESH_REBUILD_ABOVE
    for unit, month in cells:
        status = "已完成" if month >= "2023-08" else "进行中"
        assert store.submit(*make_report(plan, unit, month, 2, status=status), submitted_by="t").status == "accepted"

    def one_by_one(*args, **kwargs):
        raise AssertionError("refreshed unit-month by unit-month")

    monkeypatch.setattr(store_pg.core, "_refresh_task_latest", one_by_one)
    with store.snapshot() as reader:
        kept = sorted(reader._con.execute("SELECT * FROM task_latest").fetchall(), key=repr)
        rebuilt = sorted(reader._con.execute(_TASK_LATEST_REBUILD.removeprefix("INSERT INTO task_latest ")).fetchall(),
                         key=repr)
        statuses = reader.task_statuses(latest=True)
    assert kept == rebuilt and len(kept) > 0
    assert set(statuses["status"]) == {"已完成"}  # every unit's latest status is its December one


def test_an_open_snapshot_is_not_changed_by_a_later_write(pg_url, plan):
    store = Store(pg_url)
    store.submit(*make_report(plan, scale=1), submitted_by="t")
    with store.snapshot() as before:
        first = len(before.uploads())
        Store(pg_url).submit(*make_report(plan, "涂新社区", "2023-06"), submitted_by="t")
        with store.snapshot() as after:
            assert len(after.uploads()) == first + 1
        assert len(before.uploads()) == first


def test_writes_from_another_process_move_the_data_version_and_are_read(pg_url, plan, tmp_path):
    store = Store(pg_url)
    version = store.data_version()
    assert store.is_empty()
    csv_path = tmp_path / "tianjian.csv"
    from tests.test_store import csv_bytes

    csv_path.write_bytes(csv_bytes(plan, "天剑社区", "2023-05"))
    done = subprocess.run([sys.executable, "-m", "worktrack", "--db", pg_url, "ingest", "--json", str(csv_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert store.data_version() > version
    assert not store.is_empty() and store.uploads()["reporting_unit"].tolist() == ["天剑社区"]


RACE_SCRIPT = textwrap.dedent("""
    import sys, threading, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from tests.test_store import csv_bytes
    from worktrack.intake import read_report
    from worktrack.plan import load_plan
    from worktrack.store import Store

    url, process, go = sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    plan = load_plan(Path(sys.argv[1]) / "targets.yaml")
    units = ["天剑社区", "涂新社区"]
    jobs = []
    for thread in range(10):
        i = process * 10 + thread
        unit, month = units[i % 2], ["2023-05", "2023-06"][(i // 2) % 2]
        raw = csv_bytes(plan, unit, month, scale=i + 1)
        jobs.append((read_report(raw, f"{unit}-{month}-{i}.csv", plan), raw, f"user{i}"))
    store = Store(url)
    results = [None] * len(jobs)
    while not go.exists():
        time.sleep(0.01)

    def upload(k):
        report, raw, user = jobs[k]
        results[k] = store.submit(report, raw, submitted_by=user, confirm=True)

    threads = [threading.Thread(target=upload, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        print(r.status, r.reporting_unit, r.month, r.version, r.upload_id, flush=True)
""")


def test_twenty_concurrent_uploads_from_two_processes_get_exact_versions_and_agreeing_audit(pg_url, tmp_path):
    Store(pg_url)  # the schema first
    script = tmp_path / "race.py"
    script.write_text(RACE_SCRIPT, encoding="utf-8")
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, str(script), str(ROOT), pg_url, str(p), str(go)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
              for p in range(2)]
    time.sleep(0.5)  # not an assertion: both processes get ready, then start at once
    go.touch()
    lines = []
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
        lines += out.split("\n")
    results = [line.split() for line in lines if line]
    assert len(results) == 20 and {r[0] for r in results} == {"accepted"}

    store = Store(pg_url)
    uploads = store.uploads()
    assert sorted(uploads["upload_id"]) == list(range(1, 21))
    for (_unit, _month), group in uploads.groupby(["reporting_unit", "month"]):
        assert sorted(group["version"]) == [1, 2, 3, 4, 5]  # every unit-month: five versions, no gap, no twin
        assert (group["state"] == "active").sum() == 1
        chain = group.sort_values("version")
        assert list(chain["supersedes"].iloc[1:]) == list(chain["upload_id"].iloc[:-1])
        assert chain.iloc[-1]["state"] == "active"
    receipts = {(r[1], r[2], int(r[3])): int(r[4]) for r in results}
    assert receipts == {(u.reporting_unit, u.month, u.version): u.upload_id for u in uploads.itertuples()}

    log = store.audit_log()
    assert list(log["audit_id"]) == list(range(1, len(log) + 1))
    accepts = log[log["action"] == "upload.accept"]
    assert len(accepts) == 20 and len(log[log["action"] == "upload.supersede"]) == 16
    for row in accepts.itertuples():
        detail = json.loads(row.detail)
        upload = uploads.set_index("upload_id").loc[int(row.new_value)]
        assert (detail["reporting_unit"], detail["month"], detail["version"], detail["sha256"]) == \
            (upload.reporting_unit, upload.month, upload.version, upload.sha256)
        assert row.actor == upload.submitted_by


def test_unreferenced_raw_files_are_removed_on_postgresql_too(pg_url, plan, tmp_path):
    import hashlib
    import os

    from worktrack.store import raw_dir

    store = Store(pg_url)
    report, raw = make_report(plan)
    store.submit(report, raw, submitted_by="t")
    directory = raw_dir(pg_url)
    orphan = directory / hashlib.sha256(b"orphan").hexdigest()
    orphan.write_bytes(b"orphan")
    os.utime(orphan, (time.time() - 2 * 86400,) * 2)
    os.utime(directory / hashlib.sha256(raw).hexdigest(), (time.time() - 2 * 86400,) * 2)
    assert [e["name"] for e in store.unreferenced_raw_files()] == [orphan.name]
    assert store.delete_unreferenced_raw_files("admin") == {"files": 1, "bytes": len(b"orphan")}
    assert not orphan.exists() and store.raw_file(1) == (report.file, raw)
    assert len(store.audit_log(action="raw.delete")) == 1

"""Shared fixtures: the real plan, temporary databases, Streamlit cache isolation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAN_PATH = ROOT / "targets.yaml"
SOURCE_TEXT = ROOT / "docs" / "source" / "jinpenling-2023-work-points.txt"  # the published document, verbatim


@pytest.fixture(scope="session")
def plan():
    from worktrack.plan import load_plan

    return load_plan(PLAN_PATH)


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    """A fresh database path, also exported as WORKTRACK_DB for code that reads the environment."""
    path = tmp_path / "worktrack.duckdb"
    monkeypatch.setenv("WORKTRACK_DB", str(path))
    monkeypatch.setenv("WORKTRACK_PLAN", str(PLAN_PATH))
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, plan) -> Path:
    """A database filled with the demo story (2023-04..2023-10) through the real intake path.

    Session-scoped and shared: tests that use it must only read.
    """
    from worktrack.demo import load_demo
    from worktrack.store import Store

    root = tmp_path_factory.mktemp("demo")
    path = root / "demo.duckdb"
    with pytest.MonkeyPatch.context() as env:  # the demo registers' hashing key: not the project's data/
        env.setenv("WORKTRACK_REGISTER_KEY", str(root / "register.key"))
        load_demo(plan, Store(path), "2023-10", root / "samples")
    return path


@pytest.fixture
def demo_env(demo_db, monkeypatch) -> Path:
    """Point the dashboard and CLI at the shared demo database."""
    monkeypatch.setenv("WORKTRACK_DB", str(demo_db))
    monkeypatch.setenv("WORKTRACK_PLAN", str(PLAN_PATH))
    return demo_db


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """AppTest runs share one process: never let one test see another's cached data."""
    yield
    if "streamlit" in __import__("sys").modules:
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 4 MiB tmpfs (root only); skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def pytest_report_header(config):
    return f"plan: {PLAN_PATH} (WORKTRACK_DB={os.environ.get('WORKTRACK_DB', '-')})"


def write_legacy_database(path: Path, version: int, reports: list) -> None:
    """A database at an older schema `version` (at most 4, when uploaded files were still the uploads.raw
    column) holding `reports` ((IntakeReport, raw bytes) pairs read by the real intake) as that schema
    stored them: rows written in the first schema, then each later migration's SQL, as an upgrade did.
    The current write path cannot write such a database any more; migration and restore tests need one."""
    import hashlib

    import duckdb

    from worktrack.store import MIGRATIONS

    assert version <= 4
    con = duckdb.connect(str(path))
    con.execute(MIGRATIONS[0].sql)
    con.execute("INSERT INTO schema_version VALUES (1, ?, now())", [MIGRATIONS[0].description])
    versions: dict[tuple, tuple[int, int]] = {}  # (unit, month) -> (upload_id, version) of the active one
    for upload_id, (report, raw) in enumerate(reports, start=1):
        unit, month = report.rows[0].reporting_unit, report.rows[0].month
        previous = versions.get((unit, month))
        if previous:
            con.execute("UPDATE uploads SET state = 'superseded' WHERE upload_id = ?", [previous[0]])
        number = previous[1] + 1 if previous else 1
        con.execute("INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), 'clerk', ?, 'active', ?, false, '')",
                    [upload_id, unit, month, number, report.file, hashlib.sha256(raw).hexdigest(), len(raw), raw,
                     len(report.rows), previous[0] if previous else None])
        for r in report.rows:
            con.execute("INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [upload_id, r.reporting_unit, r.month, r.item, r.category or "",
                         None if r.value is None else float(r.value), r.status, r.note or "", r.row])
        versions[(unit, month)] = (upload_id, number)
    for migration in MIGRATIONS[1:version]:
        con.execute(migration.sql)
        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [migration.version, migration.description])
    con.close()


@pytest.fixture(scope="session")
def pg_cluster():
    """A throwaway PostgreSQL cluster for the session (tests/pg.py); skipped where the server is not installed."""
    from tests import pg

    if pg.cluster_binaries() is None:
        if os.environ.get("CI"):
            pytest.fail(f"{pg.SKIP_REASON} (scripts/setup.sh --with-browser installs it)")
        pytest.skip(pg.SKIP_REASON)
    cluster = pg.start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster, tmp_path, monkeypatch) -> str:
    """A new empty PostgreSQL database for one test, with its uploaded-files directory (WORKTRACK_RAW_DIR)."""
    from tests import pg

    monkeypatch.setenv("WORKTRACK_RAW_DIR", str(tmp_path / "pg-raw"))
    return pg.fresh_database(pg_cluster)


BACKENDS = ("duckdb", "postgresql")


@pytest.fixture
def location_on(tmp_path, request, monkeypatch):
    """Make a fresh database location on a given backend: a DuckDB file in tmp_path, or a new PostgreSQL
    database in the session's throwaway cluster (skipped where PostgreSQL is not installed)."""

    def make(backend: str, name: str = "worktrack"):
        if backend == "duckdb":
            return tmp_path / f"{name}.duckdb"
        from tests import pg

        monkeypatch.setenv("WORKTRACK_RAW_DIR", str(tmp_path / "pg-raw"))  # shared by the test's databases
        return pg.fresh_database(request.getfixturevalue("pg_cluster"))

    return make


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The store backend a test runs on: every test that takes it runs on DuckDB and on PostgreSQL."""
    return request.param


@pytest.fixture
def new_location(backend, location_on):
    """Make fresh database locations on the test's backend (a name keeps DuckDB files apart)."""
    return lambda name="worktrack": location_on(backend, name)


@pytest.fixture
def db_location(backend, db_path, location_on, monkeypatch):
    """The test's database on its backend (the DuckDB file of `db_path`, or a new PostgreSQL database),
    exported as WORKTRACK_DB."""
    if backend == "duckdb":
        return db_path
    url = location_on(backend)
    monkeypatch.setenv("WORKTRACK_DB", url)
    return url

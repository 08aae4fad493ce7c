"""PostgreSQL behind the store: the same interface, write path, schema and backups as the DuckDB file.

Chosen by the database setting: `Store("postgresql://user@host/db")` is a `PgStore`. Several app
servers can share one PostgreSQL database; nothing they must agree on lives in one process.

Writes. The write functions of `worktrack.store` (submit, rollback, review, close ...) run unchanged
through `PgConnection`, a thin adapter over a psycopg 3 connection: `?` placeholders become `%s`,
the few DuckDB-only statements a write uses get their PostgreSQL form (`_PG_FORMS`), bulk rows go in
with COPY. Each write is one PostgreSQL transaction with its audit rows. Its first statement bumps
the single row of `data_version`; the row lock that takes is held until commit, so writes from
every process and server are serialised by PostgreSQL itself (no file or process locks): version
numbers and ids computed as max()+1 inside a write cannot race.

Reads. Progress keeps computing with DuckDB. `snapshot()` hands out a StoreReader over an in-memory
DuckDB replica of the tables, so every read SQL and the status engine stay exactly as they are.
The replica is refreshed when `data_version` moved: in one REPEATABLE READ transaction it appends
the new rows of the append-only tables (facts, metric_totals, audit_log, upload_reviews,
register_rows: by id) and reloads the small tables whose rows change state (uploads without their
raw bytes, locks, closes, register uploads). A restore or a schema change (`data_version.epoch`,
the schema version) reloads everything. One replica per process and database; readers keep a
DuckDB transaction, so a refresh never changes what an open snapshot sees.

Schema. The same migrations, in a PostgreSQL dialect (`pg_dialect`: BLOB is BYTEA, DOUBLE is
DOUBLE PRECISION; `PG_MIGRATION_SQL` overrides a migration whose DDL needs more). Besides the
migrated tables the database holds `data_version` and indexes that PostgreSQL needs for the write
path's lookups by upload id; none of them is part of a backup.

Uploaded files live content-addressed in the directory WORKTRACK_RAW_DIR (`store.raw_dir`), which
every app server shares; the write path stores them there before it commits, as on DuckDB.

Derived tables: metric_totals, name_codes and metric_codes are kept by the write path in PostgreSQL
as in DuckDB and copied; task_latest is DuckDB SQL (QUALIFY), so PostgreSQL only has the empty table
and the replica builds its own, then refreshes it for the unit-months each refresh brings
(`store._refresh_task_latest`, the DuckDB store's own code).

Backups have the backup format of the DuckDB store, so a backup made on either restores on either.
A forced restore over a database holding data moves the old tables into a schema named
`replaced_<China time>` (never dropped), as the DuckDB store renames the old file aside.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from worktrack import store as core
from worktrack.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    SYSTEM_ACTOR,
    Migration,
    Store,
    StoreError,
    StoreReader,
    StoreRefused,
    _Audit,
    _Outcome,
)

logger = logging.getLogger(__name__)

CONNECT_MESSAGE = "无法连接数据库服务器（{where}）：{detail}。请检查数据库服务是否运行、地址与账号是否正确。"
POOL_SIZE = 8

# Migrations whose PostgreSQL DDL is not the mechanical dialect of the DuckDB one: version -> SQL.
PG_MIGRATION_SQL: dict[int, str] = {
    # task_latest is derived with DuckDB SQL (QUALIFY) and kept by the replica, not in PostgreSQL: the
    # table exists (the same schema), the replica builds and refreshes its own copy (see _Replica).
    5: """
        CREATE TABLE task_latest (
            basis VARCHAR NOT NULL CHECK (basis IN ('active', 'approved')),
            reporting_unit VARCHAR NOT NULL,
            item VARCHAR NOT NULL,
            month VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            note VARCHAR NOT NULL,
            upload_id BIGINT NOT NULL
        );
    """,
    # several plans: the DuckDB form rebuilds the tables (it cannot drop a UNIQUE constraint); here the
    # column is added and the constraints replaced. Existing rows get the configured plan (set by the
    # migration's `before`, see store._plan_migration_variable).
    8: """
        ALTER TABLE uploads ADD COLUMN plan_id VARCHAR;
        UPDATE uploads SET plan_id = current_setting('worktrack.plan_id', true);
        ALTER TABLE uploads DROP CONSTRAINT uploads_reporting_unit_month_version_key;
        ALTER TABLE uploads ADD UNIQUE (plan_id, reporting_unit, month, version);
        ALTER TABLE task_latest ADD COLUMN plan_id VARCHAR;
        UPDATE task_latest SET plan_id = current_setting('worktrack.plan_id', true);
        ALTER TABLE month_locks ADD COLUMN plan_id VARCHAR;
        UPDATE month_locks SET plan_id = current_setting('worktrack.plan_id', true);
        ALTER TABLE month_closes ADD COLUMN plan_id VARCHAR;
        UPDATE month_closes SET plan_id = current_setting('worktrack.plan_id', true);
        ALTER TABLE register_uploads ADD COLUMN plan_id VARCHAR;
        UPDATE register_uploads SET plan_id = current_setting('worktrack.plan_id', true);
        ALTER TABLE register_uploads DROP CONSTRAINT register_uploads_kind_reporting_unit_month_version_key;
        ALTER TABLE register_uploads ADD UNIQUE (plan_id, kind, reporting_unit, month, version);
    """,
}
# Derived tables the replica computes itself instead of copying them.
_REPLICA_DERIVED = {"task_latest"}

# Tables only PostgreSQL has: the data version (the write lock and the replica's cache key) and the
# indexes the write path's lookups by upload id need (DuckDB scans; PostgreSQL would scan too).
_PG_SUPPORT = """
CREATE TABLE IF NOT EXISTS data_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    epoch VARCHAR NOT NULL
);
INSERT INTO data_version VALUES (1, 0, md5(random()::text)) ON CONFLICT (id) DO NOTHING;
"""
_PG_INDEXES = {
    "facts": "CREATE INDEX IF NOT EXISTS facts_by_upload ON facts (upload_id)",
    "metric_totals": "CREATE INDEX IF NOT EXISTS metric_totals_by_upload ON metric_totals (upload_id)",
    "register_rows": "CREATE INDEX IF NOT EXISTS register_rows_by_upload ON register_rows (upload_id)",
    "upload_reviews": "CREATE INDEX IF NOT EXISTS upload_reviews_by_upload ON upload_reviews (upload_id)",
}

# Append-only tables and the id their new rows are found by; every other table is reloaded whole.
_APPEND_ONLY = {"facts": "upload_id", "metric_totals": "upload_id", "metric_codes": "upload_id",
                "audit_log": "audit_id", "upload_reviews": "review_id", "register_rows": "upload_id"}
# Tables whose rows change after they are written, and only their state, always with an audit row whose
# target names the row (`upload:<id>`): an incremental refresh takes their new rows and the rows the new
# audit rows name. (test_store_pg cross-checks the replica against the database after every kind of write.)
_CHANGED_BY_AUDIT = {"uploads": ("upload_id", "upload"), "register_uploads": ("upload_id", "register_upload")}
# task_latest is refreshed unit-month by unit-month (a few ms each) unless more moved since the last
# refresh than this: then it is rebuilt whole (0.5 s for 2 M facts; 1,200 refreshes one by one took 14 s).
_REFRESH_REBUILD_ABOVE = 50
# Columns the replica does not copy (the raw bytes are read from PostgreSQL when asked for).
_EMPTY_COLUMNS = {("uploads", "raw"): "''"}

# DuckDB-only SQL that write functions use, and its PostgreSQL form.
_PG_FORMS = {
    core._LATEST_REVIEW: ("SELECT DISTINCT ON (upload_id) upload_id, state, reason, reviewed_at, reviewed_by "
                          "FROM upload_reviews ORDER BY upload_id, review_id DESC"),
    "sha256(raw)": "encode(sha256(raw), 'hex')",
    "json_extract_string(fields, '$.receipt')": "(fields::json ->> 'receipt')",
    "strftime(event_date, '%Y-%m')": "to_char(event_date, 'YYYY-MM')",
    # migration 6 moving the files out of an old uploads.raw column (PostgreSQL 15 has no any_value)
    "SELECT sha256, any_value(raw) FROM uploads GROUP BY sha256": "SELECT DISTINCT ON (sha256) sha256, raw FROM uploads",
    # migration 7's name codes: PostgreSQL 15 wants an alias on a subquery in FROM
    "FROM (SELECT DISTINCT reporting_unit AS name FROM uploads)":
        "FROM (SELECT DISTINCT reporting_unit AS name FROM uploads) AS names",
    "FROM (SELECT DISTINCT item AS name FROM facts)": "FROM (SELECT DISTINCT item AS name FROM facts) AS names",
}


# ---------------------------------------------------------------------------
# SQL


def pg_dialect(sql: str) -> str:
    """A migration's DDL for PostgreSQL: the same tables, PostgreSQL's names for two types."""
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql)
    return re.sub(r"\bDOUBLE\b(?!\s+PRECISION)", "DOUBLE PRECISION", sql)


def migration_sql(migration: Migration) -> str:
    return PG_MIGRATION_SQL.get(migration.version) or pg_dialect(migration.sql)


@functools.lru_cache(maxsize=512)
def pg_statement(sql: str, with_params: bool) -> str:
    """A statement written for DuckDB as PostgreSQL runs it: PostgreSQL forms, then %s placeholders."""
    for duck, pg in _PG_FORMS.items():
        sql = sql.replace(duck, pg)
    if not with_params:
        return sql
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def _plain(value: Any) -> Any:
    """numpy and pandas scalars (from DataFrames callers read ids out of) as plain Python values."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        return value.item()
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def display_url(url: str) -> str:
    """The URL without its password, for messages, logs and backup manifests."""
    return re.sub(r"^(\w+://[^:/@]+):[^@]*@", r"\1@", url)


# ---------------------------------------------------------------------------
# Connections


def _connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        logger.error("cannot connect to %s: %s", display_url(url), detail)
        raise StoreError(CONNECT_MESSAGE.format(where=display_url(url), detail=detail)) from exc


class _Pool:
    """A few open connections per database and process, handed to one thread at a time."""

    def __init__(self, url: str, size: int = POOL_SIZE):
        self.url = url
        self.size = size
        self._idle: list[Any] = []
        self._guard = threading.Lock()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        import psycopg

        with self._guard:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = _connect(self.url)
        healthy = False
        try:
            try:
                yield conn
            except psycopg.OperationalError as exc:  # the server went away, a dropped connection ...
                detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                logger.error("database %s: %s", display_url(self.url), detail)
                self._drop_idle()  # after a server restart every idle connection is dead too
                raise StoreError(CONNECT_MESSAGE.format(where=display_url(self.url), detail=detail)) from exc
            healthy = True
        finally:
            if healthy and not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                with self._guard:
                    if len(self._idle) < self.size:
                        self._idle.append(conn)
                        conn = None
            if conn is not None:
                conn.close()


    def _drop_idle(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


_pools: dict[str, _Pool] = {}
_replicas: dict[str, _Replica] = {}
_registry_guard = threading.Lock()


def _pool(url: str) -> _Pool:
    with _registry_guard:
        return _pools.setdefault(url, _Pool(url))


def _forget_in_child() -> None:
    """A forked child opens its own connections and builds its own replica."""
    global _registry_guard
    _pools.clear()
    _replicas.clear()
    _registry_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class PgConnection:
    """What a write function of worktrack.store sees on PostgreSQL: `execute(sql, params)` returning a
    cursor with fetchall(), `insert_arrow(table, rows)` for bulk rows, `snapshot_reader()`."""

    def __init__(self, conn: Any, store: PgStore):
        self._conn = conn
        self._store = store
        self._reader_cursors: list[duckdb.DuckDBPyConnection] = []

    def execute(self, sql: str, params: list[Any] | tuple[Any, ...] | None = None) -> Any:
        if params:
            return self._conn.execute(pg_statement(sql, True), [_plain(p) for p in params])
        return self._conn.execute(pg_statement(sql, False))

    def insert_arrow(self, table: str, rows: Any) -> None:
        """Append the rows of an Arrow table (columns named as the table's) with COPY."""
        columns = rows.column_names
        with self._conn.cursor() as cur, cur.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for record in zip(*(rows.column(c).to_pylist() for c in columns), strict=True):
                copy.write_row(record)

    def snapshot_reader(self) -> StoreReader:
        """Reads inside a write: the committed state, which no other write can change meanwhile (this
        write holds the write lock and has not written yet when it reads)."""
        replica = _replica(self._store.url)
        with self._store._pool.connection() as other:
            cursor = replica.reader_cursor(other)
        self._reader_cursors.append(cursor)
        return StoreReader(cursor, self._store.path)

    def close_readers(self) -> None:
        """End the replica transactions of the readers handed out during the write."""
        while self._reader_cursors:
            cursor = self._reader_cursors.pop()
            with contextlib.suppress(duckdb.Error):
                cursor.execute("ROLLBACK")
            cursor.close()


# ---------------------------------------------------------------------------
# The DuckDB replica


class _Replica:
    """An in-memory DuckDB copy of one PostgreSQL database's tables, refreshed by data version."""

    def __init__(self, url: str):
        self.url = url
        self.duck = duckdb.connect(":memory:")
        self.version: int | None = None
        self.epoch: str | None = None
        self.schema: int | None = None
        self.marks: dict[str, int] = {}
        self.columns: dict[str, list[str]] = {}  # per table, for the schema version held
        self.guard = threading.Lock()

    def reader_cursor(self, pg: Any) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor in a transaction over the replica, brought up to date first."""
        self.refresh(pg)
        cur = self.duck.cursor()
        cur.execute("BEGIN TRANSACTION")
        return cur

    def refresh(self, pg: Any) -> None:
        with self.guard, tempfile.TemporaryDirectory(prefix="worktrack-replica-") as scratch:
            with pg.transaction():
                pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                version, epoch = pg.execute("SELECT version, epoch FROM data_version WHERE id = 1").fetchone()
                if version == self.version and epoch == self.epoch:
                    return
                schema = pg.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
                full = epoch != self.epoch or schema != self.schema
                fetched = self._fetch(pg, schema, full, Path(scratch))
            self._apply(fetched, schema, full)
            self.version, self.epoch, self.schema = version, epoch, schema

    def _fetch(self, pg: Any, schema: int, full: bool, scratch: Path) -> dict[str, tuple[list[str], Path]]:
        """Each table's rows (new rows only, for an append-only table on an incremental refresh) as CSV:
        PostgreSQL's COPY and DuckDB's CSV reader move a million rows in seconds, Python rows in minutes."""
        fetched = {}
        for table in (*core._source_tables(schema), *core.DERIVED_TABLES):
            if table in _REPLICA_DERIVED:
                continue
            if full or table not in self.columns:
                self.columns[table] = [r[0] for r in pg.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = %s ORDER BY ordinal_position", [table]).fetchall()]
            columns = self.columns[table]
            select = ", ".join(f'{_EMPTY_COLUMNS.get((table, c), _quoted(c))} AS {_quoted(c)}' for c in columns)
            key = _APPEND_ONLY.get(table)
            where = f"WHERE {key} > {int(self.marks.get(table, 0))}" if key and not full else ""
            if table in _CHANGED_BY_AUDIT and not full:
                id_column, prefix = _CHANGED_BY_AUDIT[table]
                where = (f"WHERE {id_column} > {int(self.marks.get(table, 0))} OR {id_column} IN ("
                         f"SELECT substr(target, {len(prefix) + 2})::bigint FROM audit_log "
                         f"WHERE audit_id > {int(self.marks.get('audit_log', 0))} AND target LIKE '{prefix}:%')")
            target = scratch / f"{table}.csv"
            with open(target, "wb") as fh, pg.cursor() as cur, cur.copy(
                    f"COPY (SELECT {select} FROM {table} {where}) TO STDOUT (FORMAT csv)") as copy:
                for block in copy:
                    fh.write(block)
            fetched[table] = (columns, target)
        return fetched

    def _apply(self, fetched: dict[str, tuple[list[str], Path]], schema: int, full: bool) -> None:
        con = self.duck.cursor()
        try:
            con.execute("BEGIN TRANSACTION")
            if full:
                for table in con.execute("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = 'main'").fetchall():
                    con.execute(f"DROP TABLE {table[0]}")
                for migration in MIGRATIONS:
                    if migration.version <= schema:
                        con.execute(migration.sql)
                self.marks = {}
            touched: set[tuple[str, str]] = set()  # unit-months whose active or approved upload may have moved
            for table, (columns, path) in fetched.items():
                key = _APPEND_ONLY.get(table)
                changed = _CHANGED_BY_AUDIT.get(table)
                if not key and not changed:
                    con.execute(f"DELETE FROM {table}")
                if path.stat().st_size == 0:
                    continue
                types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                         "WHERE table_schema = 'main' AND table_name = ?", [table]).fetchall())
                # every column read as text (NULL: unquoted empty; '': quoted empty), then cast to its type
                as_text = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
                casts = ", ".join(f"CAST({_quoted(c)} AS {types[c]}) AS {_quoted(c)}" for c in columns)
                con.execute(f"CREATE TEMP TABLE replica_rows AS SELECT {casts} "
                            f"FROM read_csv({core._sql_text(path)}, header = false, columns = {as_text}, "
                            "allow_quoted_nulls = false, quote = '\"', escape = '\"')")
                if table == "uploads":
                    touched |= set(con.execute("SELECT plan_id, reporting_unit, month FROM replica_rows").fetchall())
                elif table == "upload_reviews":
                    touched |= set(con.execute("SELECT u.plan_id, u.reporting_unit, u.month FROM replica_rows r "
                                               "JOIN uploads u USING (upload_id)").fetchall())
                if changed:  # the changed rows are replaced, the new ones added
                    con.execute(f"DELETE FROM {table} WHERE {changed[0]} IN (SELECT {changed[0]} FROM replica_rows)")
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM replica_rows")
                con.execute("DROP TABLE replica_rows")
                if key or changed:
                    mark = key or changed[0]
                    self.marks[table] = con.execute(f"SELECT coalesce(max({mark}), 0) FROM {table}").fetchall()[0][0]
            if schema >= 5:  # task_latest, by the DuckDB store's own code: rebuilt, or refreshed where touched
                if full or len(touched) > _REFRESH_REBUILD_ABOVE:
                    con.execute("DELETE FROM task_latest")
                    con.execute(core.DERIVED_TABLES["task_latest"])
                elif touched:
                    core._refresh_task_latest(con, touched)
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            self.version = None  # rebuild from scratch next time
            self.epoch = None
            raise
        finally:
            con.close()


def _quoted(column: str) -> str:
    return f'"{column}"'


def _replica(url: str) -> _Replica:
    with _registry_guard:
        replica = _replicas.get(url)
        if replica is None:
            replica = _replicas[url] = _Replica(url)
        return replica


# ---------------------------------------------------------------------------
# The store


class PgStore(Store):
    """The worktrack database in PostgreSQL; see the module docstring."""

    def __init__(self, path: str, *, busy_timeout: float = 10.0):
        self.url = str(path)
        self.path = display_url(self.url)  # what messages and backup manifests name
        self.busy_timeout = float(busy_timeout)
        self.plan_id: str | None = None  # see Store.for_plan
        self._pool = _pool(self.url)
        self._migrate()

    def __repr__(self) -> str:
        return f"PgStore({self.path!r})"

    # -- connections -------------------------------------------------------

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[StoreReader]:
        """Several reads from one moment: a DuckDB snapshot of the replica, refreshed if data changed."""
        with self._pool.connection() as pg:
            cur = _replica(self.url).reader_cursor(pg)
        try:
            yield StoreReader(cur, self.path, getattr(self, "plan_id", None))
        finally:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            cur.close()

    def data_version(self) -> int:
        """The write counter in the database: it moves with every write from any server or process."""
        with self._pool.connection() as pg:
            return int(pg.execute("SELECT version FROM data_version WHERE id = 1").fetchone()[0])

    # -- the single write path --------------------------------------------

    def _write(self, actor: str, action: str, fn: Callable[[Any], _Outcome]) -> Any:
        """Run fn in one PostgreSQL transaction with its audit rows; serialised by the data_version row."""
        import psycopg

        with self._pool.connection() as pg:
            con = PgConnection(pg, self)
            outcome: _Outcome | None = None
            try:
                with pg.transaction():
                    pg.execute("UPDATE data_version SET version = version + 1 WHERE id = 1")
                    outcome = fn(con)
                    if not outcome.audits:
                        raise psycopg.Rollback()
                    at = core.now_china()
                    next_id = pg.execute("SELECT coalesce(max(audit_id), 0) + 1 FROM audit_log").fetchone()[0]
                    rows = [(next_id + offset, at, audit.actor or actor, audit.action or action, audit.target,
                             audit.old_value, audit.new_value,
                             json.dumps(audit.detail, ensure_ascii=False, default=str) if audit.detail else None)
                            for offset, audit in enumerate(outcome.audits)]
                    with pg.cursor() as cur:  # one round trip for a batch's thousands of audit rows
                        cur.executemany("INSERT INTO audit_log VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
            except psycopg.Error as exc:
                logger.error("write %s to %s failed: %s", action, self.path, exc)
                raise StoreError(f"写入数据库失败（{self.path}）：{str(exc).strip().splitlines()[0]}") from exc
            finally:
                con.close_readers()
            if not outcome.audits:
                return outcome.result
            core._verify_written(con, self.path, next_id, len(outcome.audits), outcome.uploads)
            return outcome.result

    def _migrate(self) -> None:
        with self._pool.connection() as pg:
            with pg.transaction():
                pg.execute("SELECT pg_advisory_xact_lock(hashtext('worktrack.schema'))")
                pg.execute(_PG_SUPPORT)
            current = core._current_version(PgConnection(pg, self))
        if current > SCHEMA_VERSION:
            raise StoreError(f"数据库结构版本为 {current}，比本程序支持的 {SCHEMA_VERSION} 新，请升级 worktrack。")
        if current < SCHEMA_VERSION:
            def apply(con: PgConnection) -> _Outcome:
                version = core._current_version(con)  # read again under the write lock
                applied = []
                for migration in MIGRATIONS:
                    if migration.version > version:
                        if migration.before is not None:  # e.g. files out of an old uploads.raw column
                            migration.before(con, self.path)
                        con.execute(migration_sql(migration))
                        con.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                                    [migration.version, migration.description, core.now_china()])
                        applied.append(_Audit(target="schema", old_value=str(version),
                                              new_value=str(migration.version),
                                              detail={"description": migration.description}))
                        version = migration.version
                _create_indexes(con)
                return _Outcome(None, applied)

            self._write(SYSTEM_ACTOR, "schema.migrate", apply)

    # -- restore -----------------------------------------------------------

    @classmethod
    def restore_database(cls, directory: str | os.PathLike, url: str, *, force: bool = False,
                         actor: str = SYSTEM_ACTOR, busy_timeout: float = 10.0, sign_key: bytes | None = None,
                         users_file: str | os.PathLike | None = None) -> PgStore:
        """`Store.restore` into a PostgreSQL database: the same checks, the same refusals, the same audit row.

        The backup is verified and built into a temporary DuckDB file first (exactly as the DuckDB
        store builds it); its tables are then copied into PostgreSQL in one transaction. Tables that
        hold data are moved into a `replaced_<time>` schema (with force), never dropped.
        """
        src = Path(directory)
        signature = core.backup_signature(src, sign_key)
        manifest = core.verify_backup(src)
        # the uploaded files first, as the DuckDB store puts them beside its file: content-addressed, a
        # file already there holds the same bytes and is left alone
        for rel in sorted(manifest["files"]):
            if rel.startswith("raw/"):
                core._store_raw(core.raw_dir(url), rel.split("/", 1)[1], (src / rel).read_bytes())
        with tempfile.TemporaryDirectory(prefix="worktrack-restore-") as scratch:
            building = Path(scratch) / "restore.duckdb"
            core._build_from_backup(src, manifest, building)
            moved_aside = _replace_tables(url, building, manifest["schema_version"], force)
        store = cls(url, busy_timeout=busy_timeout)  # applies migrations newer than the backup
        users_restored = previous_users = None
        if users_file is not None and manifest.get("users_file") == core.USERS_BACKUP_NAME:
            users_restored, previous_users = core._restore_users_file(src / core.USERS_BACKUP_NAME, Path(users_file))

        def record(con: Any) -> _Outcome:
            detail = {"backup": str(src.resolve()), "backup_created_at": manifest["created_at"],
                      "schema_version": manifest["schema_version"],
                      "rows": {t: v["rows"] for t, v in manifest["tables"].items()},
                      "previous_database": moved_aside, "signature": signature,
                      "users_file": users_restored, "previous_users_file": previous_users}
            return _Outcome(None, [_Audit(target="database", new_value=str(src.resolve()), detail=detail)])

        store._write(actor, "db.restore", record)
        return store


def _create_indexes(con: PgConnection) -> None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = current_schema()").fetchall()}
    for table, ddl in _PG_INDEXES.items():
        if table in tables:
            con.execute(ddl)


# every table the migrations make: what a restore replaces
_WORKTRACK_TABLES = (*core._source_tables(SCHEMA_VERSION), *core.DERIVED_TABLES)


def _replace_tables(url: str, building: Path, schema: int, force: bool) -> str | None:
    """Put the tables of the DuckDB file `building` in place of the database's, in one transaction.

    Returns the schema the previous tables were moved to, or None when there was nothing to keep.
    """
    target = display_url(url)
    with _pool(url).connection() as pg:
        with pg.transaction():
            pg.execute(_PG_SUPPORT)
            pg.execute("UPDATE data_version SET version = version + 1, epoch = %s WHERE id = 1",
                       [uuid.uuid4().hex])  # the write lock, and every replica reloads
            present = {r[0] for r in pg.execute("SELECT table_name FROM information_schema.tables "
                                                "WHERE table_schema = current_schema()").fetchall()}
            ours = [t for t in _WORKTRACK_TABLES if t in present]
            moved_aside = None
            if ours:
                has_data = not {"uploads", "audit_log", "month_locks"} <= present or pg.execute(
                    "SELECT (SELECT count(*) FROM uploads) + (SELECT count(*) FROM month_locks) + "
                    "(SELECT count(*) FROM audit_log WHERE action <> 'schema.migrate')").fetchone()[0] > 0
                if has_data and not force:
                    raise StoreRefused(f"数据库“{target}”里已有数据，不会覆盖。确需用备份替换，请加 --force"
                                       "（原有数据表会移到另一个 schema 保留，不会删除）。")
                if has_data:
                    moved_aside = f"replaced_{core.now_china():%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}"
                    pg.execute(f"CREATE SCHEMA {moved_aside}")
                    for table in ours:
                        pg.execute(f"ALTER TABLE {table} SET SCHEMA {moved_aside}")
                else:
                    for table in ours:  # an empty schema, nothing a person put there
                        pg.execute(f"DROP TABLE {table}")
            con = PgConnection(pg, None)  # type: ignore[arg-type]
            for migration in MIGRATIONS:
                if migration.version <= schema:
                    con.execute(migration_sql(migration))
            _create_indexes(con)
            duck = duckdb.connect(str(building), read_only=True)
            try:
                tables = {r[0] for r in duck.execute("SELECT table_name FROM information_schema.tables").fetchall()}
                for table in _WORKTRACK_TABLES:
                    if table not in tables or table in _REPLICA_DERIVED:
                        continue
                    pg.execute(f"DELETE FROM {table}")  # rows a migration's INSERT ... SELECT made from nothing
                    con.insert_arrow(table, duck.sql(f"SELECT * FROM {table}").to_arrow_table())
            finally:
                duck.close()
    return moved_aside


def backend_name(store: Store) -> str:
    """"postgresql" or "duckdb": for messages and the benchmark."""
    return "postgresql" if isinstance(store, PgStore) else "duckdb"


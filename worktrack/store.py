"""DuckDB storage: schema and migrations, the single write path, reads, backup and restore.

A postgresql:// URL instead of a file path gives the PostgreSQL backend (worktrack.store_pg), which
runs the write functions below through a connection adapter and reads from a DuckDB replica.

Why the file is opened per call: DuckDB lets one process at a time open a database file
(read-only included), and the dashboard and the command line both need it. Every public method
opens the file, does its work and releases it, so the file is free between calls. Opening meets
another process's lock → retried with backoff for `busy_timeout` seconds, then `StoreBusy` is
raised with a Chinese message the UI and CLI show as-is.

How the file is opened: `duckdb.connect(path)` builds a whole database instance (~14 ms, mostly
the function catalog) every time no other connection to that file is open, which is nearly every
call. Instead the process keeps one in-memory DuckDB instance and ATTACHes the file to it on first
use, DETACHes it when the last user in the process is done (reference counted per file), ~1 ms.
The file lock is held exactly as long as with connect/close. Each call and each thread gets its
own cursor on that instance; module-level `duckdb.sql()` is never used. DuckDB itself refuses a
second in-process opening of a file that is attached (ResourceInUseException); that is treated
like another process's lock.

Writes: every write goes through `Store._write`, which serialises writers per file within the
process (so concurrent uploads for one unit-month build one coherent version chain), runs the
change in one transaction, appends the audit rows, commits and checkpoints. `submit_many` runs
the very checks and writes of `submit` for a batch of files inside one such transaction: a
month-end import of a thousand files pays for one commit and checkpoint instead of a thousand.

Times (`received_at`, `at`, `locked_at`) are stored as naive TIMESTAMPs holding China Standard
Time (UTC+8) wall-clock time, which is what users see. Timezone-aware datetimes passed in are
converted to UTC+8; naive ones are taken to be UTC+8 already.

Uploaded monthly reports are kept as they came, content-addressed, in raw/<sha256> beside the
database file (0600 files, a 0700 directory): written and fsynced before the transaction that
references them commits, never overwritten, never deleted by a write (only
`delete_unreferenced_raw_files`, the `raw-files --delete` command, removes files no row names).
They used to be a BLOB column of uploads (until schema version 6), which made every checkpoint
rewrite that column's tail. Register files keep no raw bytes (full ID numbers).

Backups hold one Parquet file per source table, every distinct uploaded file once under
raw/<sha256>, and manifest.json with the sha256 of every file, row counts and the schema version.
metric_totals, task_latest, name_codes and metric_codes are derived and rebuilt on restore; a
restore puts the backup's raw files beside the restored database.

task_latest holds each unit and item's latest task status (the row of its latest month), once
among the active versions and once among the approved ones (what approved-only readings take).
The write path keeps it current for the unit-months a write changes (submit and supersede: the
active rows; review: the approved rows; rollback: both), so the status read is a scan of one row
per task instead of a window over every status row ever reported. metric_codes holds
metric_totals with units, metrics and months as integers (name_codes gives each name its code
once), so the status never maps strings on its hot path.
A backup made with a signing key also holds manifest.json.sig, an HMAC-SHA256 of the manifest:
hashes alone only catch accidents, since whoever rewrites a file can rewrite the manifest too.

Faults: a damaged file (bad block checksum, truncation) is `StoreCorrupt` and a full disk is
`StoreDiskFull`, both with a Chinese message that says what to do. After every commit the write
is read back (`_verify_written`) before any result is returned, so no receipt is given for data
the file cannot give back. Database files, write-ahead logs, backups and their raw files are
owner-only (0600, directories 0700).

Nothing is ever deleted: superseded and rolled-back uploads keep their rows, facts and raw
bytes; unlocking a month closes its lock period instead of removing it; the audit log is
append-only; a forced restore moves the old database file aside.
"""

from __future__ import annotations

import copy
import datetime as dt
import errno
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb

if TYPE_CHECKING:
    import pandas as pd

    from worktrack.intake import FactRow, IntakeReport
    from worktrack.registers import RegisterReport

logger = logging.getLogger(__name__)

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
UPLOAD_STATES = ("active", "superseded", "rolled_back")
SYSTEM_ACTOR = "system"
BACKUP_FORMAT = "worktrack-backup"
BACKUP_FORMAT_VERSION = 1
USERS_BACKUP_NAME = "users.yaml"  # the users file in a backup: account settings and argon2 hashes only
BUSY_MESSAGE = "数据库正被另一个程序使用（例如正在导入数据或备份），已等待 {seconds:g} 秒仍未释放，请稍后重试。"
CORRUPT_MESSAGE = ("数据库文件“{path}”已损坏，无法可靠读写（{detail}）。请停止使用该文件，从最近的备份恢复："
                   "python -m worktrack restore 备份目录 --force（损坏的文件会改名保留，不会删除）。")
DISK_FULL_MESSAGE = ("磁盘空间不足，无法写入“{path}”，本次操作没有完成。请清理磁盘空间后重试；"
                     "若数据库随后打不开，请用 restore 从最近的备份恢复。")
# Database files, their write-ahead logs, backups and raw files are readable by their owner only.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
SIGNATURE_FILE = "manifest.json.sig"
SIGNATURE_ALGORITHM = "hmac-sha256"

SubmitStatus = Literal["accepted", "unchanged", "rejected", "needs_confirmation", "locked"]


# ---------------------------------------------------------------------------
# Errors


class StoreError(Exception):
    """A store failure whose message is meant for the user (Chinese)."""


class StoreBusy(StoreError):
    """Another process holds the database file longer than the busy timeout."""


class StoreRefused(StoreError):
    """A request the store declines: rollback of an inactive upload, a locked month, a bad backup ..."""


class StoreCorrupt(StoreError):
    """The database file is damaged (bad checksum, truncated, unreadable): restore it from a backup."""


class StoreDiskFull(StoreError):
    """A write ran out of disk space."""


# What DuckDB says when a file is damaged or the disk is full (its exceptions carry no codes).
_CORRUPT_SIGNS = ("corrupt database", "checksum", "could not read enough bytes", "not a valid duckdb database",
                  "has been invalidated", "failed to read database header", "database header")
_DISK_FULL_SIGNS = ("no space left", "disk is full", "disk full", "errno 28")


def store_error(exc: BaseException, path: str | os.PathLike) -> StoreError | None:
    """The user-facing StoreError for a DuckDB or OS error that means damage or a full disk, else None."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return StoreDiskFull(DISK_FULL_MESSAGE.format(path=path))
    if not isinstance(exc, duckdb.Error | OSError):
        return None
    text = str(exc).lower()
    if any(sign in text for sign in _DISK_FULL_SIGNS):
        return StoreDiskFull(DISK_FULL_MESSAGE.format(path=path))
    if any(sign in text for sign in _CORRUPT_SIGNS):
        detail = str(exc).strip().splitlines()[0][:200]
        return StoreCorrupt(CORRUPT_MESSAGE.format(path=path, detail=detail))
    return None


def _make_private(path: Path, mode: int = PRIVATE_FILE_MODE) -> None:
    """chmod a file (or directory) we created to owner-only, if it is not already."""
    try:
        if os.stat(path).st_mode & 0o777 != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass  # a write-ahead log that DuckDB has just folded into the main file


def _make_database_private(path: str | os.PathLike) -> None:
    _make_private(Path(path))
    _make_private(Path(f"{path}.wal"))


def _mkdir_private(path: Path) -> None:
    """Create a directory (and missing parents) owner-only; an existing directory is left as it is."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        _make_private(created, PRIVATE_DIR_MODE)


def _write_private(path: Path, data: bytes) -> None:
    """Write a new file that only the owner can read (created 0600, not chmod-ed after the fact)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    _make_private(path)  # the file may have existed with a wider mode


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _store_raw(directory: Path, sha: str, data: bytes) -> Path:
    """Keep an uploaded file as directory/<sha256>, durable on return; an existing one is never touched.

    The bytes go to a temporary file that is fsynced and then hard-linked to its final name, so the
    name only ever appears with the whole content, and a link cannot replace a file that is there.
    The caller commits the rows that reference the file only after this returns.
    """
    target = directory / sha
    if target.exists():
        return target  # content-addressed: the same name holds the same bytes (read-back checks them)
    _mkdir_private(directory)
    temporary = directory / f".{sha}.{os.getpid()}.{threading.get_ident()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, target)
        except FileExistsError:
            pass  # another writer stored the same content meanwhile
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(directory)
    return target


def _read_raw(directory: Path, sha: str, db_path: Path) -> bytes:
    """The uploaded file with this hash; StoreCorrupt when it is missing or its content changed."""
    try:
        data = (directory / sha).read_bytes()
    except FileNotFoundError:
        raise StoreCorrupt(CORRUPT_MESSAGE.format(path=db_path, detail=f"缺少原始文件 raw/{sha}")) from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise StoreCorrupt(CORRUPT_MESSAGE.format(path=db_path, detail=f"原始文件 raw/{sha} 的内容与校验值不符"))
    return data


def _raw_references(con: Any) -> set[str]:
    """Every sha256 a row names in the uploaded-files directory: uploads of every plan and state, and
    register attachments."""
    return {r[0] for r in con.execute("SELECT sha256 FROM uploads UNION SELECT sha256 FROM register_attachments")
            .fetchall()}


_RAW_NAME = re.compile(r"^\.?[0-9a-f]{64}(\..+\.tmp)?$")


def _unreferenced(directory: Path, referenced: set[str], older_than: dt.timedelta) -> list[dict[str, Any]]:
    """Files of `directory` named like stored content (or its temporaries) that `referenced` does not
    name and that were modified before now - older_than, oldest first."""
    if not directory.is_dir():
        return []
    cutoff = time.time() - older_than.total_seconds()
    found = []
    for path in directory.iterdir():
        if not path.is_file() or not _RAW_NAME.match(path.name) or path.name in referenced:
            continue
        stat = path.stat()
        if stat.st_mtime < cutoff:
            found.append({"name": path.name, "bytes": stat.st_size,
                          "modified": dt.datetime.fromtimestamp(stat.st_mtime, CHINA_TZ).replace(tzinfo=None)})
    return sorted(found, key=lambda e: (e["modified"], e["name"]))


def put_raw(directory: Path, data: bytes) -> str:
    """Store bytes as directory/<sha256> (0600, directory 0700), durable on return; return the hash.

    Never overwrites: a file already there under the name is kept (its content is that hash, which
    is checked, so a damaged copy is reported instead of trusted). See `_store_raw`.
    """
    sha = hashlib.sha256(data).hexdigest()
    final = directory / sha
    if final.exists() and _sha256_file(final) != sha:
        raise StoreCorrupt(CORRUPT_MESSAGE.format(path=final, detail="内容与文件名里的校验值不符"))
    _store_raw(directory, sha, data)
    return sha


# ---------------------------------------------------------------------------
# Schema: migrations are applied in order; each one applied is a row in schema_version.


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str
    # Work SQL cannot do (writing files), run inside the migration's transaction before `sql`:
    # called with the connection and the database file's path.
    before: Callable[[duckdb.DuckDBPyConnection, Path], None] | None = None


def raw_dir(db_path: str | os.PathLike) -> Path:
    """Where a database keeps the uploaded files: raw/<sha256> beside the database file; for a
    PostgreSQL database the configured directory (WORKTRACK_RAW_DIR, shared by every app server)."""
    if is_postgres_url(db_path):
        from worktrack import config

        configured = config.settings().raw_dir
        if configured is None:
            raise StoreError("使用 PostgreSQL 数据库时必须设置上传原始文件的目录 WORKTRACK_RAW_DIR"
                             "（多台服务器共用同一目录，例如共享存储上的 /srv/worktrack/raw）。")
        return Path(configured)
    return Path(db_path).parent / "raw"


def _move_raw_out(con: duckdb.DuckDBPyConnection, db_path: Path) -> None:
    """Migration 6: write every distinct uploaded file from the uploads.raw column to raw/<sha256>."""
    columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                         "table_catalog = current_database() AND table_name = 'uploads'").fetchall()}
    if "raw" not in columns:
        return
    directory = raw_dir(db_path)
    cursor = con.execute("SELECT sha256, any_value(raw) FROM uploads GROUP BY sha256")
    while batch := cursor.fetchmany(256):
        for sha, raw in batch:
            data = bytes(raw)
            if hashlib.sha256(data).hexdigest() != sha:
                raise StoreCorrupt(CORRUPT_MESSAGE.format(path=db_path, detail=f"原始文件 {sha[:12]}… 的内容与校验值不符"))
            _store_raw(directory, sha, data)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema: uploads, facts, audit_log, month_locks", """
        CREATE TABLE schema_version (
            version INTEGER PRIMARY KEY,
            description VARCHAR NOT NULL,
            applied_at TIMESTAMP NOT NULL
        );
        CREATE TABLE uploads (
            upload_id BIGINT PRIMARY KEY,
            reporting_unit VARCHAR NOT NULL,
            month VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            file_name VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            raw BLOB NOT NULL,
            received_at TIMESTAMP NOT NULL,
            submitted_by VARCHAR NOT NULL,
            row_count INTEGER NOT NULL,
            state VARCHAR NOT NULL CHECK (state IN ('active', 'superseded', 'rolled_back')),
            supersedes BIGINT,
            warnings_confirmed BOOLEAN NOT NULL,
            note VARCHAR NOT NULL DEFAULT '',
            UNIQUE (reporting_unit, month, version)
        );
        CREATE TABLE facts (
            upload_id BIGINT NOT NULL,
            reporting_unit VARCHAR NOT NULL,
            month VARCHAR NOT NULL,
            item VARCHAR NOT NULL,
            category VARCHAR NOT NULL,
            value DOUBLE,
            status VARCHAR,
            note VARCHAR NOT NULL,
            source_row INTEGER
        );
        CREATE TABLE audit_log (
            audit_id BIGINT PRIMARY KEY,
            "at" TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL,
            action VARCHAR NOT NULL,
            target VARCHAR,
            old_value VARCHAR,
            new_value VARCHAR,
            detail VARCHAR
        );
        -- One row per lock period; unlocking closes the period (unlocked_at) instead of deleting it.
        CREATE TABLE month_locks (
            lock_id BIGINT PRIMARY KEY,
            month VARCHAR NOT NULL,
            locked_at TIMESTAMP NOT NULL,
            locked_by VARCHAR NOT NULL,
            unlocked_at TIMESTAMP,
            unlocked_by VARCHAR
        );
    """),
    # monthly_values is the hot read (every progress figure starts from it). Summing ~50 category
    # rows per file once, at upload time, makes it a scan of one row per upload and metric.
    Migration(2, "metric_totals: per-upload metric sums over categories", """
        CREATE TABLE metric_totals (
            upload_id BIGINT NOT NULL,
            reporting_unit VARCHAR NOT NULL,
            month VARCHAR NOT NULL,
            item VARCHAR NOT NULL,
            value DOUBLE NOT NULL
        );
        INSERT INTO metric_totals
            SELECT upload_id, reporting_unit, month, item, sum(value) FROM facts
            WHERE value IS NOT NULL GROUP BY upload_id, reporting_unit, month, item;
    """),
    # The monthly cycle: the street office reviews every accepted report (approve / return with a
    # reason) and closes each month. A review is a row, never an update: an upload's state is its
    # latest review, no review at all is pending. Uploads that predate reviewing count as approved.
    Migration(3, "monthly cycle: upload reviews and month closes", """
        CREATE TABLE upload_reviews (
            review_id BIGINT PRIMARY KEY,
            upload_id BIGINT NOT NULL,
            state VARCHAR NOT NULL CHECK (state IN ('approved', 'returned')),
            reason VARCHAR NOT NULL DEFAULT '',
            reviewed_at TIMESTAMP NOT NULL,
            reviewed_by VARCHAR NOT NULL
        );
        INSERT INTO upload_reviews
            SELECT row_number() OVER (ORDER BY upload_id), upload_id, 'approved', '', received_at, 'system'
            FROM uploads;
        -- One row per close; reopening fills the reopened_* columns instead of deleting the row.
        -- snapshot: JSON with the upload ids (and their review states) the month's pack was built from.
        CREATE TABLE month_closes (
            close_id BIGINT PRIMARY KEY,
            month VARCHAR NOT NULL,
            closed_at TIMESTAMP NOT NULL,
            closed_by VARCHAR NOT NULL,
            close_date DATE NOT NULL,
            snapshot VARCHAR NOT NULL,
            reopened_at TIMESTAMP,
            reopened_by VARCHAR,
            reopen_reason VARCHAR
        );
    """),
)

# ---- registers (台账): one migration, kept apart so that it can be renumbered when branches merge ----
# A register file is an upload of a kind (register_uploads: versions, supersede, rollback as for monthly
# reports) whose rows go to register_rows. Its raw bytes are NOT kept (they hold full ID numbers); rows
# carry the keyed hash of an ID number (person_key) and its masked form, never the number.
REGISTER_MIGRATION = Migration(4, "registers: register_uploads and register_rows", """
    CREATE TABLE register_uploads (
        upload_id BIGINT PRIMARY KEY,
        kind VARCHAR NOT NULL,
        reporting_unit VARCHAR NOT NULL,
        month VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        size BIGINT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        submitted_by VARCHAR NOT NULL,
        row_count INTEGER NOT NULL,
        state VARCHAR NOT NULL CHECK (state IN ('active', 'superseded', 'rolled_back')),
        supersedes BIGINT,
        warnings_confirmed BOOLEAN NOT NULL,
        note VARCHAR NOT NULL DEFAULT '',
        UNIQUE (kind, reporting_unit, month, version)
    );
    CREATE TABLE register_rows (
        upload_id BIGINT NOT NULL,
        kind VARCHAR NOT NULL,
        reporting_unit VARCHAR NOT NULL,
        month VARCHAR NOT NULL,
        source_row INTEGER NOT NULL,
        person_key VARCHAR,
        id_masked VARCHAR,
        person_name VARCHAR NOT NULL,
        name_masked VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        event_date DATE,
        cash DOUBLE,
        goods_value DOUBLE,
        fields VARCHAR NOT NULL
    );
""")
REGISTER_TABLES = ("register_uploads", "register_rows")
MIGRATIONS = (*MIGRATIONS, REGISTER_MIGRATION)
# ---- end of registers migration ----

# ---- performance (issue 14): derived tables kept current in the write path, uploaded files beside
# the database. Three migrations in one block, numbered after the registers'.
# Which uploads' rows a reading takes: every active version, or (what leaders see by default) each
# unit-month's latest approved version that was not rolled back. A correction waiting for review
# leaves the approved version before it in place.
_ACTIVE_IDS = "SELECT upload_id FROM uploads WHERE state = 'active'"
_ACTIVE = f"upload_id IN ({_ACTIVE_IDS})"
# Each upload's latest review (no row: pending).
# An upload's review state as a code (index in REVIEW_STATES) for the status path; r: its latest review.
_REVIEW_CODE = "CASE r.state WHEN 'approved' THEN 1 WHEN 'returned' THEN 2 ELSE 0 END"
_LATEST_REVIEW = ("SELECT upload_id, arg_max(state, review_id) AS state, arg_max(reason, review_id) AS reason, "
                  "max(reviewed_at) AS reviewed_at, arg_max(reviewed_by, review_id) AS reviewed_by "
                  "FROM upload_reviews GROUP BY upload_id")
# Versions are counted per plan, unit and month (migration 8): two plans' uploads never compete.
_APPROVED_IDS = ("SELECT arg_max(u.upload_id, u.version) AS upload_id FROM uploads u "
                 f"JOIN ({_LATEST_REVIEW}) r USING (upload_id) "
                 "WHERE u.state <> 'rolled_back' AND r.state = 'approved' GROUP BY u.plan_id, u.reporting_unit, u.month")
_APPROVED = f"upload_id IN ({_APPROVED_IDS})"
# task_latest keeps one set of rows per basis: the active versions' and the approved versions'.
TASK_BASES = {"active": _ACTIVE, "approved": _APPROVED}


def _task_latest_select(versions: str, extra: str = "") -> str:
    """Each plan-unit-item's latest task status among the uploads `versions` selects: the row of the
    latest month (within a month the later file row)."""
    return ("SELECT reporting_unit, item, month, status, note, upload_id, plan_id FROM facts "
            "JOIN (SELECT upload_id, plan_id FROM uploads) USING (upload_id) "
            f"WHERE status IS NOT NULL AND {versions} {extra} QUALIFY row_number() OVER "
            "(PARTITION BY plan_id, reporting_unit, item ORDER BY month DESC, source_row DESC) = 1")


# Rebuilt from facts on restore; kept current by `_refresh_task_latest`.
_TASK_LATEST_REBUILD = "INSERT INTO task_latest " + " UNION ALL ".join(
    f"SELECT '{basis}', * FROM ({_task_latest_select(versions)})" for basis, versions in TASK_BASES.items())
# The same as schema 5 to 7 had it (one plan, no plan_id column): migration 5 and restores of those schemas.
_TASK_LATEST_REBUILD_ONE_PLAN = "INSERT INTO task_latest " + " UNION ALL ".join(
    f"SELECT '{basis}', * FROM (SELECT reporting_unit, item, month, status, note, upload_id FROM facts "
    f"WHERE status IS NOT NULL AND {versions} QUALIFY row_number() OVER "
    "(PARTITION BY reporting_unit, item ORDER BY month DESC, source_row DESC) = 1)"
    for basis, versions in {"active": _ACTIVE, "approved": _APPROVED.replace("u.plan_id, ", "")}.items())

# 'YYYY-MM' (always well formed in the store) -> year * 12 + month - 1
_MONTH_ORDINAL = "(CAST(left({0}, 4) AS INTEGER) * 12 + CAST(substr({0}, 6, 2) AS INTEGER) - 1)"
_NAME_CODES_REBUILD = (
    "INSERT INTO name_codes SELECT 'unit', name, CAST(row_number() OVER (ORDER BY name) - 1 AS INTEGER) "
    "FROM (SELECT DISTINCT reporting_unit AS name FROM uploads); "
    "INSERT INTO name_codes SELECT 'item', name, CAST(row_number() OVER (ORDER BY name) - 1 AS INTEGER) "
    "FROM (SELECT DISTINCT item AS name FROM facts)")
_METRIC_CODES_SELECT = (
    "SELECT t.upload_id, u.code, i.code, " + _MONTH_ORDINAL.format("t.month") + ", t.value FROM {source} t "
    "JOIN name_codes u ON u.kind = 'unit' AND u.name = t.reporting_unit "
    "JOIN name_codes i ON i.kind = 'item' AND i.name = t.item")
_METRIC_CODES_REBUILD = "INSERT INTO metric_codes " + _METRIC_CODES_SELECT.format(source="metric_totals")

PERF_MIGRATIONS = (
    # The status read used to be a window over every status row (750k at city scale) at each
    # reading; this table holds the answer for the latest month, one row per unit and item and basis.
    Migration(5, "task_latest: the latest task status per unit and item, of active and of approved versions", f"""
        CREATE TABLE task_latest (
            basis VARCHAR NOT NULL CHECK (basis IN ('active', 'approved')),
            reporting_unit VARCHAR NOT NULL,
            item VARCHAR NOT NULL,
            month VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            note VARCHAR NOT NULL,
            upload_id BIGINT NOT NULL
        );
        {_TASK_LATEST_REBUILD_ONE_PLAN};
    """),
    # Every checkpoint rewrote the tail of the raw BLOB column, so single uploads grew slower with
    # each one (7 ms to 90 ms per checkpoint). The files now live beside the database.
    Migration(6, "raw files out of the database: raw/<sha256> beside it", "ALTER TABLE uploads DROP COLUMN raw;",
              before=_move_raw_out),
    # The status read turned 250k unit and metric names into codes at every reading. Names are
    # given a code once, when first stored, and metric_codes holds metric_totals in those codes.
    Migration(7, "name_codes and metric_codes: metric totals with units, metrics and months as integers", f"""
        CREATE TABLE name_codes (
            kind VARCHAR NOT NULL CHECK (kind IN ('unit', 'item')),
            name VARCHAR NOT NULL,
            code INTEGER NOT NULL
        );
        CREATE TABLE metric_codes (
            upload_id BIGINT NOT NULL,
            unit_code INTEGER NOT NULL,
            item_code INTEGER NOT NULL,
            month_index INTEGER NOT NULL,
            value DOUBLE NOT NULL
        );
        {_NAME_CODES_REBUILD};
        {_METRIC_CODES_REBUILD};
    """),
)
MIGRATIONS = (*MIGRATIONS, *PERF_MIGRATIONS)
RAW_OUT_VERSION = 6  # from this schema version on, uploaded files live in raw/ beside the database
# ---- end of performance migrations ----

# ---- several plans: one migration, kept apart so that it can be renumbered when branches merge ----
# Every upload belongs to the plan it was filed against (the plan file's plan.id). Uploads from before
# this migration belong to the plan the deployment is configured with (`_plan_migration_variable`).
# Versions, the active version, task_latest, month locks and month closes are per plan: the unique
# constraint on uploads becomes (plan_id, reporting_unit, month, version), which DuckDB can only do by
# building the table anew.
PLAN_MIGRATION = Migration(8, "several plans: plan_id on uploads, task_latest, month_locks, month_closes", """
    CREATE TABLE uploads_by_plan (
        upload_id BIGINT PRIMARY KEY,
        reporting_unit VARCHAR NOT NULL,
        month VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        size BIGINT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        submitted_by VARCHAR NOT NULL,
        row_count INTEGER NOT NULL,
        state VARCHAR NOT NULL CHECK (state IN ('active', 'superseded', 'rolled_back')),
        supersedes BIGINT,
        warnings_confirmed BOOLEAN NOT NULL,
        note VARCHAR NOT NULL DEFAULT '',
        plan_id VARCHAR,
        UNIQUE (plan_id, reporting_unit, month, version)
    );
    INSERT INTO uploads_by_plan SELECT *, getvariable('worktrack_plan_id') FROM uploads;
    DROP TABLE uploads;
    ALTER TABLE uploads_by_plan RENAME TO uploads;
    ALTER TABLE task_latest ADD COLUMN plan_id VARCHAR;
    UPDATE task_latest SET plan_id = getvariable('worktrack_plan_id');
    ALTER TABLE month_locks ADD COLUMN plan_id VARCHAR;
    UPDATE month_locks SET plan_id = getvariable('worktrack_plan_id');
    ALTER TABLE month_closes ADD COLUMN plan_id VARCHAR;
    UPDATE month_closes SET plan_id = getvariable('worktrack_plan_id');
    CREATE TABLE register_uploads_by_plan (
        upload_id BIGINT PRIMARY KEY,
        kind VARCHAR NOT NULL,
        reporting_unit VARCHAR NOT NULL,
        month VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        file_name VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        size BIGINT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        submitted_by VARCHAR NOT NULL,
        row_count INTEGER NOT NULL,
        state VARCHAR NOT NULL CHECK (state IN ('active', 'superseded', 'rolled_back')),
        supersedes BIGINT,
        warnings_confirmed BOOLEAN NOT NULL,
        note VARCHAR NOT NULL DEFAULT '',
        plan_id VARCHAR,
        UNIQUE (plan_id, kind, reporting_unit, month, version)
    );
    INSERT INTO register_uploads_by_plan SELECT *, getvariable('worktrack_plan_id') FROM register_uploads;
    DROP TABLE register_uploads;
    ALTER TABLE register_uploads_by_plan RENAME TO register_uploads;
""", before=lambda con, path: _plan_migration_variable(con))
MIGRATIONS = (*MIGRATIONS, PLAN_MIGRATION)
# ---- end of several plans migration ----

# ---- register evidence (台账佐证材料): migration 9, its own block (5-8 belong to other changes) ----
# An attachment belongs to a register entry, not to one upload of it: (kind, unit, row_key) where row_key
# is the household's or person's keyed hash (a help: with its date) or a donation's receipt number, so
# that it stays with the entry across new versions of the register. The bytes are not in the database:
# they are stored content-addressed as raw/<sha256> beside the database file (`raw_dir`), written and
# fsynced before the transaction that references them commits, never overwritten.
EVIDENCE_MIGRATION = Migration(9, "register evidence: register_attachments (bytes in raw/<sha256>)", """
    CREATE TABLE register_attachments (
        attachment_id BIGINT PRIMARY KEY,
        kind VARCHAR NOT NULL,
        reporting_unit VARCHAR NOT NULL,
        row_key VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        file_name VARCHAR NOT NULL,
        media_type VARCHAR NOT NULL,
        size BIGINT NOT NULL,
        added_at TIMESTAMP NOT NULL,
        added_by VARCHAR NOT NULL
    );
""")
EVIDENCE_TABLES = ("register_attachments",)
MIGRATIONS = (*MIGRATIONS, EVIDENCE_MIGRATION)
# ---- end of register evidence migration ----

SCHEMA_VERSION = MIGRATIONS[-1].version
# Source tables, in restore order: what a backup holds.
TABLES = ("schema_version", "uploads", "facts", "audit_log", "month_locks", "upload_reviews", "month_closes")
# Tables a backup of an older schema does not hold yet: the schema version that introduced them.
TABLES_SINCE = {"upload_reviews": 3, "month_closes": 3}
REVIEW_STATES = ("pending", "approved", "returned")
# Tables computed from the source tables: not backed up, rebuilt on restore.
DERIVED_TABLES = {
    "metric_totals": "INSERT INTO metric_totals SELECT upload_id, reporting_unit, month, item, sum(value) "
                     "FROM facts WHERE value IS NOT NULL GROUP BY upload_id, reporting_unit, month, item",
    "task_latest": _TASK_LATEST_REBUILD,  # of schema 8 on; `_build_from_backup` rebuilds older ones as they were
    "name_codes": _NAME_CODES_REBUILD,
    "metric_codes": _METRIC_CODES_REBUILD,  # after metric_totals and name_codes: built from them
}
_TABLE_ORDER = {"register_uploads": "upload_id", "register_rows": "upload_id, source_row",
                "register_attachments": "attachment_id",
                "schema_version": "version", "uploads": "upload_id", "facts": "upload_id, source_row",
                "audit_log": "audit_id", "month_locks": "lock_id", "upload_reviews": "review_id",
                "month_closes": "close_id"}

UPLOAD_COLUMNS = ["upload_id", "reporting_unit", "month", "version", "file_name", "sha256", "size", "received_at",
                  "submitted_by", "row_count", "state", "supersedes", "warnings_confirmed", "note"]
ACTIVE_UPLOAD_COLUMNS = ["upload_id", "reporting_unit", "month", "version", "received_at", "submitted_by",
                         "file_name", "sha256", "row_count"]
RECEIPT_COLUMNS = ["reporting_unit", "month", "version", "received_at"]
FACT_COLUMNS = ["upload_id", "reporting_unit", "month", "item", "category", "value", "status", "note"]
AUDIT_COLUMNS = ["audit_id", "at", "actor", "action", "target", "old_value", "new_value", "detail"]


# ---------------------------------------------------------------------------
# Results


@dataclass
class SubmitResult:
    """The verdict on one submitted report; `message` is shown to the user as the receipt line."""

    status: SubmitStatus
    accepted: bool  # True for accepted and unchanged
    message: str
    reporting_unit: str | None = None
    month: str | None = None
    sha256: str = ""
    upload_id: int | None = None
    version: int | None = None
    superseded_upload_id: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)  # item, category, old, new
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback did: which upload was withdrawn and which version is active again."""

    upload_id: int
    reporting_unit: str
    month: str
    version: int
    reactivated_upload_id: int | None
    reactivated_version: int | None
    message: str


@dataclass(frozen=True)
class ReviewResult:
    """One review decision: which upload, its state before and after, and the reason given."""

    upload_id: int
    reporting_unit: str
    month: str
    version: int
    previous_state: str
    review_state: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CloseResult:
    """The verdict on closing a month: closed, or the uploads still pending or returned."""

    month: str
    closed: bool
    blocking: list[dict[str, Any]]
    close_id: int | None = None
    already_closed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Submission:
    """One report for `Store.submit_many`: the arguments `Store.submit` takes for a single file."""

    report: IntakeReport
    raw: bytes
    submitted_by: str
    confirm: bool = False
    received_at: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class _Audit:
    target: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    detail: dict[str, Any] | None = None
    action: str | None = None  # defaults to the write's action
    actor: str | None = None  # defaults to the write's actor (a batch of uploads has one per file)


@dataclass
class _Outcome:
    """What a write function hands back to `_write`: its result and the audit rows to record.

    No audit rows means nothing was written: the transaction is rolled back.
    """

    result: Any
    audits: list[_Audit] = field(default_factory=list)
    uploads: dict[int, tuple[str, int]] = field(default_factory=dict)  # upload_id -> (sha256, row count)
    # (plan, unit, month) whose active or approved upload may have changed: `_write` brings task_latest
    # up to date for them.
    unit_months: set[tuple[str | None, str, str]] = field(default_factory=set)
    # Which of task_latest's bases those changes can move: a submit only the active one (a new
    # version waits for review; the approved one before it stays), a review only the approved one.
    task_bases: tuple[str, ...] = ("active", "approved")


# ---------------------------------------------------------------------------
# Small helpers


def now_china() -> dt.datetime:
    """Current China Standard Time as a naive datetime (the store's time convention)."""
    return dt.datetime.now(CHINA_TZ).replace(tzinfo=None)


def to_china_naive(value: dt.datetime) -> dt.datetime:
    """Aware datetimes are converted to UTC+8; naive ones are taken to be UTC+8 already."""
    if value.tzinfo is not None:
        value = value.astimezone(CHINA_TZ).replace(tzinfo=None)
    return value


def month_label(month: str) -> str:
    """'2023-05' -> '2023年5月'."""
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月"


def check_month(month: str) -> str:
    """Return month if it is 'YYYY-MM'; raise ValueError otherwise."""
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise ValueError(f"月份“{month}”应写成 2023-05 这样的形式")
    return month


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sql_text(value: str | Path) -> str:
    """A string literal for statements that take no parameters (ATTACH, COPY)."""
    return "'" + str(value).replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# Opening database files


class _AttachedFile:
    """Per-process bookkeeping for one database file attached to the shared instance."""

    def __init__(self, path: str, alias: str):
        self.path = path
        self.alias = alias
        self.users = 0
        self.guard = threading.Lock()  # held while attaching, detaching or moving the file
        self.writer = threading.RLock()  # serialises writes to this file within the process


_instance: duckdb.DuckDBPyConnection | None = None
_files: dict[str, _AttachedFile] = {}
_registry_guard = threading.Lock()


def _file(path: Path) -> _AttachedFile:
    key = os.path.realpath(path)
    with _registry_guard:
        entry = _files.get(key)
        if entry is None:
            entry = _files[key] = _AttachedFile(key, f"worktrack_db{len(_files) + 1}")
        return entry


def _cursor() -> duckdb.DuckDBPyConnection:
    """A new connection (cursor) on the process-wide in-memory instance."""
    global _instance
    with _registry_guard:
        if _instance is None:
            _instance = duckdb.connect(":memory:")
        return _instance.cursor()


# Another process's file lock is an IOException; a second opening inside this process is a
# ResourceInUseException (DuckDB keeps a process-wide registry of open files).
_BUSY_ERRORS = tuple(getattr(duckdb, name) for name in ("IOException", "ResourceInUseException")
                     if hasattr(duckdb, name))


def _is_busy_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "could not set lock" in text or "conflicting lock" in text or "unique file handle conflict" in text


def _attach(entry: _AttachedFile, busy_timeout: float) -> None:
    """ATTACH the file, retrying with backoff while another process (or connection) holds it."""
    deadline = time.monotonic() + busy_timeout
    delay = 0.02
    while True:
        cur = _cursor()
        try:
            cur.execute(f"ATTACH {_sql_text(entry.path)} AS {entry.alias}")
            _make_database_private(entry.path)  # DuckDB creates files with the process umask
            return
        except duckdb.Error as exc:
            if not (isinstance(exc, _BUSY_ERRORS) and _is_busy_error(exc)):
                known = store_error(exc, entry.path)
                if isinstance(known, StoreCorrupt) and not _looks_like_duckdb(Path(entry.path)):
                    known = None  # some other kind of file, not a damaged database
                logger.warning("cannot attach %s: %s", entry.path, exc)
                raise known or StoreError(f"无法打开数据库文件“{entry.path}”：{exc}") from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StoreBusy(BUSY_MESSAGE.format(seconds=busy_timeout)) from None
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)
        finally:
            cur.close()


def _detach(entry: _AttachedFile) -> None:
    cur = _cursor()
    try:
        cur.execute(f"DETACH {entry.alias}")
    except duckdb.Error as exc:
        # DETACH checkpoints; a damaged file or a full disk fails it (the file is detached anyway).
        logger.error("detaching %s failed: %s", entry.path, exc)
        known = store_error(exc, entry.path)
        if known is None:
            raise
        raise known from exc
    finally:
        cur.close()


def _looks_like_duckdb(path: Path) -> bool:
    """True for an empty file or one with DuckDB's magic bytes: a (possibly damaged) database file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return len(head) == 0 or head[8:12] == b"DUCK"


@contextmanager
def _open(path: Path, busy_timeout: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor whose default database is the file; the file is released when the last user ends."""
    entry = _file(path)
    with entry.guard:
        if entry.users == 0:
            _attach(entry, busy_timeout)
        entry.users += 1
    cur = None
    try:
        cur = _cursor()
        cur.execute(f"USE {entry.alias}")
        yield cur
    except (duckdb.Error, OSError) as exc:
        known = store_error(exc, path)
        if known is None or known is exc:
            raise
        logger.error("database %s: %s", path, exc)
        raise known from exc
    finally:
        if cur is not None:
            cur.close()
        with entry.guard:
            entry.users -= 1
            if entry.users == 0:
                _detach(entry)


@contextmanager
def _exclusive(path: Path, busy_timeout: float) -> Iterator[Literal["absent", "empty", "data", "damaged"]]:
    """Nothing in this process touches the file while the block runs (so it can be moved).

    Yields what the file is: absent, an empty worktrack database, one holding data (see
    `_has_content`), or a damaged database file that cannot be read. Attaching it first proves that
    no other process has it open at that moment; a damaged file is probed with the same lock DuckDB
    takes. A file that is not a DuckDB database at all is refused.
    """
    entry = _file(path)
    with entry.writer, entry.guard:
        if entry.users:
            raise StoreBusy("数据库正被本程序的其他操作使用，请稍后重试。")
        if not path.exists():
            yield "absent"
            return
        try:
            _attach(entry, busy_timeout)
        except StoreCorrupt as exc:
            logger.warning("%s is damaged: %s", path, exc)
            _probe_lock(path)
            yield "damaged"
            return
        except StoreBusy:
            raise
        except StoreError:
            raise StoreRefused(f"“{path}”不是 worktrack 数据库文件，不会覆盖它。") from None
        state: Literal["empty", "data", "damaged"] = "empty"
        cur = _cursor()
        try:
            cur.execute(f"USE {entry.alias}")
            state = "data" if _has_content(cur) else "empty"
        except duckdb.Error as exc:
            if not isinstance(store_error(exc, path), StoreCorrupt):
                raise
            logger.warning("%s is damaged: %s", path, exc)
            state = "damaged"
        finally:
            cur.close()
            try:
                _detach(entry)
            except StoreCorrupt:
                state = "damaged"
        yield state


def _probe_lock(path: Path) -> None:
    """Raise StoreBusy if another process holds the file's lock (DuckDB locks the whole file with fcntl)."""
    import fcntl

    with open(path, "rb+") as fh:
        try:
            fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise StoreBusy(BUSY_MESSAGE.format(seconds=0)) from None
        fcntl.lockf(fh, fcntl.LOCK_UN)


def _forget_instance_in_child() -> None:
    """A forked child must not use the parent's DuckDB instance; it starts its own."""
    global _instance, _registry_guard
    _instance = None
    _files.clear()
    _registry_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_instance_in_child)


# ---------------------------------------------------------------------------
# Reads


class StoreReader:
    """Every read, over one open connection: several reads from one consistent snapshot.

    Obtain one with `Store.snapshot()`; the Store's own read methods each use a fresh one.
    The large reads (facts, monthly_values, category_values, task_statuses) come in no
    particular row order: sorting 250k+ string rows would cost more than the query itself at
    city scale, and callers group or pivot anyway. Sort when order matters.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None = None, plan_id: str | None = None):
        self._con = con
        self._path = path
        self.plan_id = plan_id  # reads see this plan's uploads only (None: every plan's)

    def _small(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self._con.execute(_plan_scoped(sql, self.plan_id), params or []).df()

    def _large(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        # Through Arrow: twice as fast as .df() for hundreds of thousands of string rows.
        return self._con.sql(_plan_scoped(sql, self.plan_id), params=params or None).to_arrow_table().to_pandas()

    def _scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        return self._run(sql, params).fetchall()[0][0]

    def _run(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        return self._con.execute(_plan_scoped(sql, self.plan_id), params or [])

    def _arrays(self, sql: str, params: list[Any] | None = None) -> dict[str, Any]:
        """A large read as one numpy array per column, through Arrow (at city scale about half the
        time of `fetchnumpy` for 250k rows)."""
        table = self._con.sql(_plan_scoped(sql, self.plan_id), params=params or []).to_arrow_table()
        return {name: table[name].to_numpy() for name in table.column_names}

    def uploads(self, unit: str | None = None, month: str | None = None) -> pd.DataFrame:
        """Every upload in every state (without the raw bytes), oldest first."""
        where, params = [], []
        if unit is not None:
            where.append("reporting_unit = ?")
            params.append(unit)
        if month is not None:
            where.append("month = ?")
            params.append(check_month(month))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        return self._small(f"SELECT {', '.join(UPLOAD_COLUMNS)} FROM uploads {clause} ORDER BY upload_id", params)

    def active_uploads(self, through: str | None = None) -> pd.DataFrame:
        """The active upload of every unit-month up to `through` (inclusive)."""
        clause, params = _through("month", through)
        return self._large(f"SELECT {', '.join(ACTIVE_UPLOAD_COLUMNS)} FROM uploads "
                           f"WHERE state = 'active' {clause} ORDER BY month, reporting_unit", params)

    def active_receipts(self, through: str | None = None) -> pd.DataFrame:
        """Unit, month, version and time received of every active upload up to `through`, in no order.

        What reporting completeness needs: a tenth of the time of `active_uploads` at city scale,
        which also reads file names and hashes and sorts.
        """
        clause, params = _through("month", through)
        return self._large(f"SELECT {', '.join(RECEIPT_COLUMNS)} FROM uploads WHERE state = 'active' {clause}",
                           params)

    def facts(self, through: str | None = None, include_inactive: bool = False,
              approved_only: bool = False, upload_ids: list[int] | None = None) -> pd.DataFrame:
        """Fact rows of active uploads (of every upload with include_inactive), in file order.

        approved_only: of each unit-month's latest approved version instead (see `_APPROVED`);
        upload_ids: of exactly these uploads (a closed month's frozen snapshot).
        """
        clause, params = _through("month", through)
        active = "" if include_inactive and upload_ids is None else f"AND {_versions(approved_only, upload_ids)}"
        return self._large(f"SELECT {', '.join(FACT_COLUMNS)} FROM facts WHERE true {active} {clause}", params)

    def monthly_values(self, through: str | None = None, approved_only: bool = False,
                       upload_ids: list[int] | None = None) -> pd.DataFrame:
        """Metric values per unit, item and month, summed over categories."""
        clause, params = _through("month", through)
        return self._large("SELECT reporting_unit, item, month, value FROM metric_totals "
                           f"WHERE {_versions(approved_only, upload_ids)} {clause}", params)

    def category_values(self, through: str | None = None, approved_only: bool = False,
                        upload_ids: list[int] | None = None) -> pd.DataFrame:
        """Metric values per unit, item, category and month."""
        clause, params = _through("month", through)
        return self._large("SELECT reporting_unit, item, category, month, value FROM facts "
                           f"WHERE value IS NOT NULL AND {_versions(approved_only, upload_ids)} {clause}", params)

    def task_statuses(self, through: str | None = None, latest: bool = False, approved_only: bool = False,
                      upload_ids: list[int] | None = None) -> pd.DataFrame:
        """Task status words per unit, item and month; with latest=True only each unit-item's last."""
        if latest:
            return self._large(*self._latest_tasks_sql("reporting_unit, item", through, approved_only, upload_ids))
        clause, params = _through("month", through)
        return self._large("SELECT reporting_unit, item, month, status, note FROM facts "
                           f"WHERE status IS NOT NULL AND {_versions(approved_only, upload_ids)} {clause}",
                           params)

    def _latest_tasks_sql(self, keys: str, through: str | None, approved_only: bool = False,
                          upload_ids: list[int] | None = None) -> tuple[str, list[Any]]:
        """SQL for each unit-item's latest status up to `through`, of the active versions or the approved ones.

        From task_latest (the rows of that basis) when no unit has reported a later month (the usual
        reading: the latest month); otherwise the window over facts. (Restricting that window to the
        pairs with a later report measured slower in DuckDB than the plain window, which touches them
        nearly all.) Given upload ids (a frozen snapshot): the window over those uploads' facts.
        """
        columns = f"{keys}, month, status, note"
        if upload_ids is not None:
            clause, params = _through("month", through)
            return f"SELECT {columns} FROM ({_task_latest_select(_versions(False, upload_ids), clause)})", params
        basis = "approved" if approved_only else "active"
        if through is None:
            return f"SELECT {columns} FROM task_latest WHERE basis = ?", [basis]
        through = check_month(through)
        later = self._run("SELECT count(*) FROM task_latest WHERE basis = ? AND month > ?",
                                  [basis, through]).fetchall()[0][0]
        if not later:
            return f"SELECT {columns} FROM task_latest WHERE basis = ?", [basis]
        return f"SELECT {columns} FROM ({_task_latest_select(TASK_BASES[basis], 'AND month <= ?')})", [through]

    def approved_upload_ids(self, through: str | None = None) -> list[int]:
        """Ids of each unit-month's latest approved version up to `through`, ascending."""
        clause, params = _through("month", through)
        return [r[0] for r in self._run(
            f"SELECT upload_id FROM uploads WHERE {_APPROVED} {clause} ORDER BY upload_id", params).fetchall()]

    def receipts_of(self, upload_ids: list[int]) -> pd.DataFrame:
        """Unit, month, version and time received of exactly these uploads (a frozen snapshot)."""
        return self._large(f"SELECT {', '.join(RECEIPT_COLUMNS)} FROM uploads WHERE {_versions(False, upload_ids)}")

    def reviewed_uploads(self, unit: str | None = None, month: str | None = None,
                         through: str | None = None, active_only: bool = False) -> pd.DataFrame:
        """Uploads (without raw bytes) with their review: review_state (pending / approved / returned),
        review_reason, reviewed_at, reviewed_by; oldest first."""
        where, params = [], []
        if unit is not None:
            where.append("u.reporting_unit = ?")
            params.append(unit)
        if month is not None:
            where.append("u.month = ?")
            params.append(check_month(month))
        if through is not None:
            where.append("u.month <= ?")
            params.append(check_month(through))
        if active_only:
            where.append("u.state = 'active'")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join(f"u.{c}" for c in UPLOAD_COLUMNS)
        return self._small(
            f"SELECT {columns}, coalesce(r.state, 'pending') AS review_state, coalesce(r.reason, '') AS review_reason, "
            f"r.reviewed_at, r.reviewed_by FROM uploads u LEFT JOIN ({_LATEST_REVIEW}) r USING (upload_id) "
            f"{clause} ORDER BY u.upload_id", params)

    def review_cells(self, through: str | None = None, month: str | None = None) -> pd.DataFrame:
        """reporting_unit, month, state and review_state of every upload up to `through` (or of one
        `month`), oldest first: the four columns of `reviewed_uploads` that the status needs, in one
        narrow read, and the upload's plan_id."""
        if month is not None:
            clause, params = "WHERE u.month = ?", [check_month(month)]
        else:
            clause, params = ("WHERE u.month <= ?", [check_month(through)]) if through is not None else ("", [])
        return self._small(
            "SELECT u.reporting_unit, u.month, u.state, coalesce(r.state, 'pending') AS review_state, u.plan_id "
            f"FROM uploads u LEFT JOIN (SELECT upload_id, arg_max(state, review_id) AS state FROM upload_reviews "
            f"GROUP BY upload_id) r USING (upload_id) {clause} ORDER BY u.upload_id", params)

    def closes(self, month: str | None = None) -> pd.DataFrame:
        """Every close of a month, oldest first; reopened ones have reopened_at set."""
        clause, params = ("WHERE month = ?", [check_month(month)]) if month is not None else ("", [])
        return self._small(f"SELECT * FROM month_closes {clause} ORDER BY close_id", params)

    def current_close(self, month: str) -> dict[str, Any] | None:
        """The close in force for a month (not reopened), with its snapshot decoded; None if open."""
        row = _first(self._run(
            "SELECT close_id, month, closed_at, closed_by, close_date, snapshot FROM month_closes "
            "WHERE month = ? AND reopened_at IS NULL ORDER BY close_id DESC LIMIT 1", [check_month(month)]))
        if row is None:
            return None
        keys = ("close_id", "month", "closed_at", "closed_by", "close_date", "snapshot")
        close = dict(zip(keys, row, strict=True))
        close["snapshot"] = json.loads(close["snapshot"])
        return close

    # -- the same reads as integer codes (the status path) -----------------------------------
    #
    # The caller's dictionaries (name -> code) are joined in SQL, so no string of the large reads
    # reaches Python: units and metrics come back as codes (-1 for a name not in the dictionary),
    # months as their index from `origin` (year * 12 + month - 1 of the first month).

    def name_codes(self) -> dict[str, dict[int, str]]:
        """The store's own codes of unit and item names (table name_codes): {"unit": {code: name}, "item": ...}."""
        names: dict[str, dict[int, str]] = {"unit": {}, "item": {}}
        for kind, name, code in self._con.execute("SELECT kind, name, code FROM name_codes").fetchall():
            names[kind][code] = name
        return names

    def stored_metric_codes(self, through: str | None = None, approved_only: bool = False,
                            with_plan: bool = False) -> dict[str, Any]:
        """Metric totals of the active (or approved) versions through a month, in the store's own codes:
        unit_code, item_code (see `name_codes`), month_index (year * 12 + month - 1) and value arrays;
        with_plan adds each row's plan_id (for reads across plans)."""
        last = None if through is None else _month_number(through)
        plan = ", u.plan_id" if with_plan else ""
        joined = " JOIN uploads u USING (upload_id)" if with_plan else ""
        # joined to the versions' ids rather than `upload_id IN (...)`: the same rows, a third faster in DuckDB
        versions = _APPROVED_IDS if approved_only else _ACTIVE_IDS
        return self._arrays(
            f"SELECT m.unit_code, m.item_code, m.month_index, m.value{plan} FROM metric_codes m "
            f"JOIN ({versions}) v USING (upload_id){joined} {'' if last is None else 'WHERE m.month_index <= ?'}",
            [] if last is None else [last])

    def plans_with_registers(self) -> set[str | None]:
        """Plans with an active register upload."""
        return {r[0] for r in self._run("SELECT DISTINCT plan_id FROM register_uploads WHERE state = 'active'")
                .fetchall()}

    def for_plan(self, plan_id: str | None) -> StoreReader:
        """A reader of the same snapshot that sees one plan's uploads (None: every plan's)."""
        return StoreReader(self._con, self._path, plan_id)

    def status_codes(self, units: Mapping[str, int], metrics: Mapping[str, int], items: Mapping[str, int],
                     origin: int, through: str | None = None, approved_only: bool = False,
                     resolve_unit: Callable[[str], int] | None = None) -> dict[str, Any]:
        """The three reads the status needs, as the caller's codes.

        monthly: `monthly_values(through, approved_only)` as unit, metric, month, value arrays, read in
        the store's own codes (`name_codes`) and translated by lookup arrays; receipts: `active_receipts`
        (every active version: filing is filing) as unit, month, version, received_at arrays, and review:
        each upload's review state as a code (`REVIEW_STATES`); tasks: `task_statuses(through,
        latest=True, approved_only=...)`, read now and translated when first asked: a function giving
        unit, item, month codes with status and note as text (only the tasks table uses them). Months
        count from `origin`. A unit name missing from `units` gets `resolve_unit(name)` (an alias,
        another spelling), asked once per name that occurs; -1 when unknown. No name is compared as
        text row by row: each distinct name is looked up once.
        """
        import numpy as np
        import pyarrow.compute as pc

        clause, params = _through("m.month", through)
        stored_names = self.name_codes()
        unit_table = _CodeTable(stored_names["unit"], units, resolve_unit)
        metric_table = _CodeTable(stored_names["item"], metrics)
        stored = self.stored_metric_codes(through, approved_only)
        # every fact's unit and item has a stored code (the write path adds new names); a name without
        # one would read as -1 (`_CodeTable`'s spare slot): unknown, never another unit
        monthly = {"unit": unit_table(stored["unit_code"]), "metric": metric_table(stored["item_code"]),
                   "month": np.subtract(stored["month_index"], origin, dtype=np.int32), "value": stored["value"]}

        def unit_code(name: str) -> int:
            code = units.get(name, -1)
            return resolve_unit(name) if code < 0 and resolve_unit is not None else code

        def month_code(month: str) -> int:
            return _month_number(month) - origin

        def latest_tasks(source: str, source_params: list[Any]):
            return self._con.sql(_plan_scoped(source, self.plan_id), params=source_params).to_arrow_table()

        # task_latest answers when no unit has reported a month after `through` (the usual reading);
        # its rows show whether one has (`_latest_tasks_sql` asks the same with a query of its own)
        keys = "reporting_unit, item"
        table = latest_tasks(*self._latest_tasks_sql(keys, None, approved_only))
        if through is not None and len(table) and pc.max(table["month"]).as_py() > check_month(through):
            table = latest_tasks(*self._latest_tasks_sql(keys, through, approved_only))
        receipts = self._con.sql(_plan_scoped(
            f"SELECT m.reporting_unit, m.month, m.version, m.received_at, {_REVIEW_CODE} AS review FROM uploads m "
            "LEFT JOIN (SELECT upload_id, arg_max(state, review_id) AS state FROM upload_reviews "
            "GROUP BY upload_id) r ON r.upload_id = m.upload_id "
            f"WHERE m.state = 'active' {clause}", self.plan_id), params=params).to_arrow_table()
        return {"monthly": monthly,
                "tasks": functools.partial(_task_codes, table, unit_code, lambda name: items.get(name, -1), month_code),
                "receipts": {"unit": _text_codes(receipts["reporting_unit"], unit_code),
                             "month": _text_codes(receipts["month"], month_code),
                             "version": receipts["version"].to_numpy(), "received_at": receipts["received_at"].to_numpy(),
                             "review": receipts["review"].to_numpy()}}

    def audit_log(self, actor: str | None = None, action: str | None = None,
                  since: dt.datetime | dt.date | str | None = None) -> pd.DataFrame:
        """The audit log, oldest first, optionally filtered by actor, action and start time."""
        where, params = [], []
        if actor is not None:
            where.append("actor = ?")
            params.append(actor)
        if action is not None:
            where.append("action = ?")
            params.append(action)
        if since is not None:
            if isinstance(since, str):
                since = dt.datetime.fromisoformat(since)
            elif not isinstance(since, dt.datetime):
                since = dt.datetime.combine(since, dt.time())
            where.append('"at" >= ?')
            params.append(to_china_naive(since))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        columns = ", ".join(f'"{c}"' for c in AUDIT_COLUMNS)
        return self._small(f"SELECT {columns} FROM audit_log {clause} ORDER BY audit_id", params)

    def month_lock_history(self) -> pd.DataFrame:
        """Every lock period: [lock_id, month, locked_at, locked_by, unlocked_at, unlocked_by]."""
        return self._small("SELECT * FROM month_locks ORDER BY lock_id")

    def raw_file(self, upload_id: int) -> tuple[str, bytes]:
        """The file exactly as it was uploaded: (file name, bytes), checked against its hash."""
        row = _first(self._run("SELECT file_name, sha256 FROM uploads WHERE upload_id = ?", [upload_id]))
        if row is None:
            raise StoreRefused(f"找不到编号为 {upload_id} 的上传记录。")
        if self._path is None:
            raise StoreError("raw files need the database path")
        return row[0], _read_raw(raw_dir(self._path), row[1], self._path)

    def latest_month(self) -> str | None:
        """The latest month that has an active upload, or None."""
        return self._scalar("SELECT max(month) FROM uploads WHERE state = 'active'")

    def data_version(self) -> int:
        """A number that changes with every write (each write appends audit rows): a cache key."""
        return self._con.execute("SELECT coalesce(max(audit_id), 0) FROM audit_log").fetchall()[0][0]

    def is_empty(self) -> bool:
        """True when nothing was ever uploaded."""
        return self._scalar("SELECT count(*) FROM uploads") == 0

    def locked_months(self) -> list[str]:
        """Months currently locked, oldest first."""
        rows = self._run("SELECT DISTINCT month FROM month_locks WHERE unlocked_at IS NULL ORDER BY month")
        return [r[0] for r in rows.fetchall()]

    def is_locked(self, month: str) -> bool:
        return _locked(self._con, check_month(month), self.plan_id)

    def counts(self) -> dict[str, int]:
        """Row count of every table."""
        return {t: self._con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in (*_source_tables(self.schema_version()), *DERIVED_TABLES)}

    def schema_version(self) -> int:
        return _current_version(self._con)

    # -- registers (台账) ---------------------------------------------------

    def register_uploads(self, kind: str | None = None) -> pd.DataFrame:
        """Every register upload in every state, oldest first."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        return self._small(f"SELECT {', '.join(REGISTER_UPLOAD_COLUMNS)} FROM register_uploads {where} "
                           "ORDER BY upload_id", params)

    def register_filers(self) -> list[tuple[str, str]]:
        """(kind, reporting_unit) of every unit with an active register upload of a kind, sorted."""
        return [(kind, unit) for kind, unit in self._run(
            "SELECT DISTINCT kind, reporting_unit FROM register_uploads WHERE state = 'active' "
            "ORDER BY kind, reporting_unit").fetchall()]

    def register_figures(self, kind: str, unit_order: list[str], *, once_per: Literal["person", "receipt"],
                         through: str | None = None) -> pd.DataFrame:
        """[reporting_unit, category, month, value, cash, goods] counted from a kind's active rows.

        once_per="person": each person_key once, for the row with the earliest date (then the order
        of units given, then upload and row order), value = 1 per person. once_per="receipt": each
        receipt number once per unit, value = cash + goods valuation. Rows without a date do not count.
        """
        if once_per == "person":
            partition, value = "person_key", "1.0"
        else:
            partition, value = "reporting_unit, json_extract_string(fields, '$.receipt')", \
                "coalesce(cash, 0) + coalesce(goods_value, 0)"
        clause, params = _through("month", through)
        # the first row of each key by arg_min (a hash aggregate, no sort of the whole table)
        return self._large(f"""
            WITH firsts AS (
                SELECT arg_min(struct_pack(unit := reporting_unit, category := category,
                                           month := strftime(event_date, '%Y-%m'), value := {value},
                                           cash := coalesce(cash, 0), goods := coalesce(goods_value, 0)),
                               struct_pack(day := event_date,
                                           rank := coalesce(list_position(?::VARCHAR[], reporting_unit), 1000000000),
                                           upload := upload_id, source := source_row)) AS first
                FROM register_rows
                WHERE kind = ? AND event_date IS NOT NULL
                  AND upload_id IN (SELECT upload_id FROM register_uploads WHERE state = 'active')
                GROUP BY {partition})
            SELECT first.unit AS reporting_unit, first.category AS category, first.month AS month,
                   sum(first.value) AS value, sum(first.cash) AS cash, sum(first.goods) AS goods
            FROM firsts WHERE true {clause.replace("month", "first.month")}
            GROUP BY ALL ORDER BY reporting_unit, month, category""",
                           [list(unit_order), kind, *params])

    def register_rows(self, kind: str | None = None, unit: str | None = None) -> pd.DataFrame:
        """Rows of active register uploads (person_key and masked forms; never a full ID number)."""
        clauses, params = [], []
        if kind:
            clauses.append("kind = ?")
            params.append(kind)
        if unit:
            clauses.append("reporting_unit = ?")
            params.append(unit)
        where = "".join(f" AND {c}" for c in clauses)
        return self._large(f"SELECT {', '.join(REGISTER_ROW_COLUMNS)} FROM register_rows WHERE upload_id IN "
                           f"(SELECT upload_id FROM register_uploads WHERE state = 'active'){where} "
                           "ORDER BY upload_id, source_row", params)


class _CodeTable:
    """Store codes (`name_codes`) -> a caller's codes, by one lookup array. Code -1 (no stored code)
    reads the spare last slot: -1. Names missing from `wanted` are resolved on first use when a
    `resolve` is given (asked only for names that occur in the rows translated)."""

    def __init__(self, names: Mapping[int, str], wanted: Mapping[str, int],
                 resolve: Callable[[str], int] | None = None) -> None:
        import numpy as np

        self._names, self._resolve = names, resolve
        self._table = np.full(max(names, default=-1) + 2, -1, dtype=np.int32)  # half the memory of int64
        for code, name in names.items():
            self._table[code] = wanted.get(name, -1)
        self._asked: set[int] = set()

    def __call__(self, codes):
        import numpy as np

        codes = np.asarray(codes)
        out = self._table[codes]
        if self._resolve is not None and out.min(initial=0) < 0:
            missing = (out < 0) & (codes >= 0)
            if missing.any():
                for code in set(np.unique(codes[missing]).tolist()) - self._asked:
                    self._asked.add(code)
                    self._table[code] = self._resolve(self._names[code])
                out = self._table[codes]
        return out


def _month_number(month: str) -> int:
    """'YYYY-MM' -> year * 12 + month - 1 (metric_codes.month_index)."""
    return int(month[:4]) * 12 + int(month[5:]) - 1


def _text_codes(column, code: Callable[[str], int]):
    """A text column (Arrow) as an int64 array of codes, each distinct text given to `code` once
    (dictionary encoding); a missing value reads as -1."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    table = np.array([code(text) for text in encoded.dictionary.to_pylist()] + [-1], dtype=np.int64)
    return table[encoded.indices.fill_null(len(table) - 1).to_numpy()]


def _task_codes(table, unit_code: Callable[[str], int], item_code: Callable[[str], int],
                month_code: Callable[[str], int]) -> dict[str, Any]:
    """Latest task rows (Arrow: reporting_unit, item, month, status, note) as the status's codes."""
    return {"unit": _text_codes(table["reporting_unit"], unit_code), "item": _text_codes(table["item"], item_code),
            "month": _text_codes(table["month"], month_code), "status": table["status"].to_pandas(),
            "note": table["note"].to_pandas()}


def _versions(approved_only: bool, upload_ids: list[int] | None) -> str:
    """Which uploads' rows a read takes: given ids, the approved versions, or the active ones."""
    if upload_ids is not None:
        ids = ", ".join(str(int(i)) for i in upload_ids)
        return f"upload_id IN ({ids})" if ids else "false"
    return _APPROVED if approved_only else _ACTIVE


# ---------------------------------------------------------------------------
# The store


def is_postgres_url(location: object) -> bool:
    """True for a PostgreSQL connection URL (the database setting then selects the PostgreSQL backend)."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


class Store:
    """The worktrack database: every read and write of uploads, facts, locks and the audit log.

    `Store(path)` opens a DuckDB file; `Store("postgresql://...")` gives the PostgreSQL backend
    (`worktrack.store_pg.PgStore`), which has the same interface.
    """

    def __new__(cls, path: str | os.PathLike | None = None, *args: Any, **kwargs: Any) -> Store:
        if cls is Store and is_postgres_url(path):
            from worktrack.store_pg import PgStore

            return super().__new__(PgStore)
        return super().__new__(cls)

    def __init__(self, path: str | os.PathLike, *, busy_timeout: float = 10.0):
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        self.plan_id: str | None = None  # see for_plan
        _mkdir_private(self.path.parent)
        self._migrate()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})" + (f".for_plan({self.plan_id!r})" if self.plan_id else "")

    def for_plan(self, plan_id: str | None) -> Store:
        """The same database seen through one plan: reads see that plan's uploads only, and a report
        filed without a plan of its own is filed against it (None: every plan, as the store itself)."""
        scoped = copy.copy(self)
        scoped.plan_id = plan_id
        return scoped

    def _written_plan(self) -> str | None:
        """The plan a lock or close is made for: the store's scope, else the configured plan."""
        if self.plan_id is not None:
            return self.plan_id
        from worktrack.config import configured_plan_id

        return configured_plan_id()

    # -- connections -------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[StoreReader]:
        """Several reads from one moment, over one opening of the file."""
        with _open(self.path, self.busy_timeout) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield StoreReader(con, self.path, self.plan_id)
            finally:
                try:
                    con.execute("ROLLBACK")  # read-only: nothing to keep
                except duckdb.Error:
                    pass  # the transaction already ended with the error being raised

    # -- the single write path --------------------------------------------

    def _write(self, actor: str, action: str, fn: Callable[[duckdb.DuckDBPyConnection], _Outcome]) -> Any:
        """Run fn in one transaction, record its audit rows, commit and checkpoint.

        Every write in worktrack goes through here. fn decides; if it returns no audit rows the
        transaction is rolled back and nothing is written.
        """
        entry = _file(self.path)
        with entry.writer, _open(self.path, self.busy_timeout) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                outcome = fn(con)
                if not outcome.audits:
                    con.execute("ROLLBACK")
                    return outcome.result
                if outcome.unit_months:
                    _refresh_task_latest(con, outcome.unit_months, outcome.task_bases)
                at = now_china()
                next_id = con.execute("SELECT coalesce(max(audit_id), 0) + 1 FROM audit_log").fetchall()[0][0]
                for offset, audit in enumerate(outcome.audits):
                    detail = json.dumps(audit.detail, ensure_ascii=False, default=str) if audit.detail else None
                    con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [next_id + offset, at, audit.actor or actor, audit.action or action, audit.target,
                                 audit.old_value, audit.new_value, detail])
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass  # already rolled back by the failure itself
                raise
            _make_database_private(self.path)  # the write-ahead log may have just been created
            # The commit is already durable in the write-ahead log; the checkpoint folds it into
            # the main file. DuckDB refuses it while another thread has a transaction open, and
            # then it happens at a later write or when the file is detached. Any other failure
            # (a damaged file, a full disk) means the write cannot be vouched for.
            try:
                con.execute(f"CHECKPOINT {entry.alias}")
            except duckdb.Error as exc:
                if store_error(exc, self.path) is not None:
                    raise
                logger.debug("checkpoint of %s deferred: %s", self.path, exc)
            _verify_written(con, self.path, next_id, len(outcome.audits), outcome.uploads, outcome.unit_months)
            return outcome.result

    def _migrate(self) -> None:
        # Every migration not yet recorded runs, in order: branches merged in either order number
        # theirs apart (a database from before the several-plans merge may hold 9 without 8).
        def apply(con: duckdb.DuckDBPyConnection) -> _Outcome:
            done = _applied_versions(con)
            current = max(done, default=0)
            applied = []
            for migration in MIGRATIONS:
                if migration.version not in done:
                    _apply_migration(con, migration, self.path)
                    applied.append(_Audit(target="schema", old_value=str(current), new_value=str(migration.version),
                                          detail={"description": migration.description}))
                    current = max(current, migration.version)
            return _Outcome(None, applied)

        with _open(self.path, self.busy_timeout) as con:
            current = _current_version(con)
            # the row count and the maximum come from the table's statistics; the rows are read only
            # when some migration is missing (reading them would trip over a damaged block here)
            complete = current == SCHEMA_VERSION and con.execute(
                "SELECT count(*) FROM schema_version").fetchall()[0][0] == len(MIGRATIONS)
            done = set(range(1, SCHEMA_VERSION + 1)) if complete else _applied_versions(con)
        if current > SCHEMA_VERSION:
            raise StoreError(f"数据库结构版本为 {current}，比本程序支持的 {SCHEMA_VERSION} 新，请升级 worktrack。")
        if any(m.version not in done for m in MIGRATIONS):
            self._write(SYSTEM_ACTOR, "schema.migrate", apply)

    # -- account changes (the accounts live in the users file; the record of changing them lives here)

    def record_account_event(self, action: str, username: str, *, actor: str,
                             detail: dict[str, Any] | None = None) -> None:
        """Append an account change made in the users file (`account.*`) to the audit log; writes nothing else."""
        if not action.startswith("account."):
            raise ValueError(f"not an account action: {action}")
        self._write(actor, action, lambda _con: _Outcome(None, [_Audit(target=username, detail=detail)]))

    # -- how the database was made -------------------------------------------

    def mark_demo(self, *, actor: str) -> bool:
        """Record that the demo loader made this database (a `db.demo` audit row); False if already recorded."""

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            if _first(con.execute("SELECT 1 FROM audit_log WHERE action = 'db.demo' LIMIT 1")):
                return _Outcome(False)
            return _Outcome(True, [_Audit(target="database", new_value="demo")])

        return self._write(actor, "db.demo", write)

    def made_by_demo(self) -> bool:
        """True when the demo loader made this database (see mark_demo); never guessed from file names."""
        with self.snapshot() as r:
            return _first(r._con.execute("SELECT 1 FROM audit_log WHERE action = 'db.demo' LIMIT 1")) is not None

    # -- submit ------------------------------------------------------------

    def submit(self, report: IntakeReport, raw: bytes, *, submitted_by: str, confirm: bool = False,
               dry_run: bool = False, received_at: dt.datetime | None = None, note: str = "") -> SubmitResult:
        """Store one validated report as a new version of its unit-month, or say why not.

        Order of verdicts: errors → rejected; same bytes as the active version → unchanged;
        locked month → locked; unconfirmed warnings → needs_confirmation; else accepted.
        dry_run decides the same way and writes nothing.
        """
        upload = _Upload(Submission(report, raw, submitted_by, confirm, received_at, note), dry_run, raw_dir(self.path),
                         self.plan_id)
        if upload.verdict is not None:
            return upload.verdict
        if dry_run:
            with self.snapshot() as reader:
                return upload.dry_run(reader._con)
        return self._write(submitted_by, "upload.accept", upload.write)

    def submit_many(self, submissions: list[Submission]) -> list[SubmitResult]:
        """Store several reports in one transaction, in order; one result per report, as `submit` gives.

        Each report gets exactly the verdicts and writes `submit` would give it, seeing the ones
        before it in the list (a second version of a unit-month supersedes the first). The batch
        commits as a whole: no result is returned before every accepted report is durable, and a
        failure part-way stores none of them. For month-end batch imports and bulk history.
        """
        uploads = [_Upload(sub, dry_run=False, raw_directory=raw_dir(self.path), plan_id=self.plan_id)
                   for sub in submissions]
        results: list[SubmitResult | None] = [u.verdict for u in uploads]

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            audits: list[_Audit] = []
            written: dict[int, tuple[str, int]] = {}
            unit_months: set[tuple[str | None, str, str]] = set()
            for index, upload in enumerate(uploads):
                if upload.verdict is None:
                    outcome = upload.write(con)
                    results[index] = outcome.result
                    audits += outcome.audits
                    written.update(outcome.uploads)
                    unit_months |= outcome.unit_months
            return _Outcome(None, audits, written, unit_months, task_bases=("active",))

        if any(u.verdict is None for u in uploads):
            self._write(SYSTEM_ACTOR, "upload.accept", write)
        return results  # type: ignore[return-value]

    # -- rollback and month locks -----------------------------------------

    def rollback(self, upload_id: int, *, actor: str) -> RollbackResult:
        """Withdraw an active upload; the version it replaced (if any) becomes active again."""

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            row = _first(con.execute("SELECT reporting_unit, month, version, state, supersedes, plan_id FROM uploads "
                                     "WHERE upload_id = ?", [upload_id]))
            if row is None:
                raise StoreRefused(f"找不到编号为 {upload_id} 的上传记录。")
            unit, month, version, state, supersedes, plan = row
            if state != "active":
                why = {"superseded": "已被新版本替换", "rolled_back": "已经撤回过"}[state]
                raise StoreRefused(f"上传记录 {upload_id}（{unit} {month_label(month)}第 {version} 版）{why}，"
                                   "只能撤回当前有效的版本。")
            if _locked(con, month, plan):
                raise StoreRefused(f"{month_label(month)}已锁定，不能撤回该月的上传；如需更正，请先解锁。")
            con.execute("UPDATE uploads SET state = 'rolled_back' WHERE upload_id = ?", [upload_id])
            audits = [_Audit(target=f"upload:{upload_id}", old_value="active", new_value="rolled_back",
                             detail={"reporting_unit": unit, "month": month, "version": version})]
            restored_version = None
            if supersedes is not None:
                restored_version = con.execute("SELECT version FROM uploads WHERE upload_id = ?",
                                               [supersedes]).fetchall()[0][0]
                con.execute("UPDATE uploads SET state = 'active' WHERE upload_id = ?", [supersedes])
                audits.append(_Audit(action="upload.reactivate", target=f"upload:{supersedes}",
                                     old_value="superseded", new_value="active",
                                     detail={"reporting_unit": unit, "month": month, "version": restored_version,
                                             "rolled_back_upload": upload_id}))
                message = f"已撤回{unit} {month_label(month)}第 {version} 版，第 {restored_version} 版恢复为有效版本。"
            else:
                message = f"已撤回{unit} {month_label(month)}第 {version} 版，该月现在没有有效的上报。"
            return _Outcome(RollbackResult(upload_id, unit, month, version, supersedes, restored_version, message),
                            audits, unit_months={(plan, unit, month)})

        return self._write(actor, "upload.rollback", write)

    def lock_month(self, month: str, *, actor: str) -> bool:
        """Lock a month against uploads and rollbacks; False if it was already locked."""
        check_month(month)

        plan = self._written_plan()

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            if _locked(con, month, plan):
                return _Outcome(False)
            _insert_lock(con, month, actor, plan)
            return _Outcome(True, [_Audit(target=f"month:{month}", old_value="unlocked", new_value="locked")])

        return self._write(actor, "month.lock", write)

    def unlock_month(self, month: str, *, actor: str) -> bool:
        """Unlock a month (its lock period is closed, not removed); False if it was not locked."""
        check_month(month)

        plan = self._written_plan()

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            if not _locked(con, month, plan):
                return _Outcome(False)
            con.execute("UPDATE month_locks SET unlocked_at = ?, unlocked_by = ? "
                        "WHERE month = ? AND unlocked_at IS NULL AND plan_id IS NOT DISTINCT FROM ?",
                        [now_china(), actor, month, plan])
            return _Outcome(True, [_Audit(target=f"month:{month}", old_value="locked", new_value="unlocked")])

        return self._write(actor, "month.unlock", write)

    # -- the monthly cycle: review, reminders, close and reopen ------------

    def review(self, upload_id: int, decision: Literal["approved", "returned"], *, actor: str,
               reason: str = "", reviewer_unit: str | None = None) -> ReviewResult:
        """Approve an active upload, or return it with a reason; audited (`upload.review`).

        Refused: an upload that is not the active version, a return without a reason, a locked
        month, and a reviewer judging their own unit's report or a file they sent themselves.
        """
        return self.review_many([upload_id], decision, actor=actor, reason=reason, reviewer_unit=reviewer_unit)[0]

    def review_many(self, upload_ids: list[int], decision: Literal["approved", "returned"], *, actor: str,
                    reason: str = "", reviewer_unit: str | None = None) -> list[ReviewResult]:
        """Review several uploads in one transaction (all or none): "approve the normal ones" in one action."""
        if decision not in ("approved", "returned"):
            raise ValueError(f"unknown review decision {decision!r}")
        reason = (reason or "").strip()
        if decision == "returned" and not reason:
            raise StoreRefused("退回时必须写明原因，报送单位会看到这段话。")

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            results, audits, unit_months = [], [], set()
            next_id = con.execute("SELECT coalesce(max(review_id), 0) + 1 FROM upload_reviews").fetchall()[0][0]
            for upload_id in upload_ids:
                row = _first(con.execute(
                    f"SELECT u.reporting_unit, u.month, u.version, u.state, u.submitted_by, "
                    f"coalesce(r.state, 'pending'), u.plan_id FROM uploads u LEFT JOIN ({_LATEST_REVIEW}) r USING (upload_id) "
                    "WHERE u.upload_id = ?", [upload_id]))
                if row is None:
                    raise StoreRefused(f"找不到编号为 {upload_id} 的上传记录。")
                unit, month, version, state, submitted_by, previous, plan = row
                unit_months.add((plan, unit, month))
                what = f"{unit} {month_label(month)}第 {version} 版"
                if state != "active":
                    raise StoreRefused(f"上传记录 {upload_id}（{what}）不是当前有效版本，只能审核有效版本。")
                if _locked(con, month, plan):
                    raise StoreRefused(f"{month_label(month)}已锁定，不能再审核该月的上报；如需更正，请先重新开放。")
                if (reviewer_unit is not None and reviewer_unit == unit) or submitted_by == actor:
                    raise StoreRefused(f"不能审核本单位或本人提交的上报（{what}）。")
                con.execute("INSERT INTO upload_reviews VALUES (?, ?, ?, ?, ?, ?)",
                            [next_id, upload_id, decision, reason, now_china(), actor])
                next_id += 1
                audits.append(_Audit(target=f"upload:{upload_id}", old_value=previous, new_value=decision,
                                     detail={"reporting_unit": unit, "month": month, "version": version,
                                             "reason": reason}))
                results.append(ReviewResult(upload_id, unit, month, version, previous, decision, reason))
            # a review changes which version approved-only readings take
            return _Outcome(results, audits, unit_months=unit_months, task_bases=("approved",))

        if not upload_ids:
            return []
        return self._write(actor, "upload.review", write)

    def record_reminder_copy(self, month: str, reporting_unit: str | None, *, actor: str) -> None:
        """Write down that a reminder (one unit's, or the group message: None) was copied to be sent."""
        check_month(month)

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            return _Outcome(None, [_Audit(target=f"month:{month}", new_value=reporting_unit or "group")])

        self._write(actor, "remind.copy", write)

    def reminder_copies(self, month: str) -> pd.DataFrame:
        """When each reminder of a month was copied, by whom: at, actor, reporting_unit ('group': the group's)."""
        log = self.audit_log(action="remind.copy")
        log = log[log["target"] == f"month:{check_month(month)}"]
        return log.rename(columns={"new_value": "reporting_unit"})[["at", "actor", "reporting_unit"]].reset_index(
            drop=True)

    def close_month(self, month: str, *, actor: str, close_date: dt.date,
                    snapshot: Callable[[StoreReader], dict[str, Any]]) -> CloseResult:
        """Close a month: refused (closed=False, the blocking uploads listed) while any of its active
        uploads is pending or returned; otherwise lock it and store `snapshot(reader)`, the frozen
        as-of state its meeting pack is regenerated from, in the same transaction."""
        check_month(month)
        plan = self._written_plan()

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            reader = _reader_in_write(con, self.path, plan)  # the plan's uploads, close and snapshot only
            if reader.current_close(month) is not None:
                return _Outcome(CloseResult(month, False, [], already_closed=True))
            active = reader.reviewed_uploads(month=month, active_only=True)
            blocking = active[active["review_state"] != "approved"]
            if len(blocking):
                return _Outcome(CloseResult(month, False, [
                    {"upload_id": int(r.upload_id), "reporting_unit": r.reporting_unit, "month": r.month,
                     "version": int(r.version), "review_state": r.review_state, "review_reason": r.review_reason}
                    for r in blocking.itertuples(index=False)]))
            frozen = snapshot(reader)
            audits = []
            if not _locked(con, month, plan):
                _insert_lock(con, month, actor, plan)
                audits.append(_Audit(action="month.lock", target=f"month:{month}", old_value="unlocked",
                                     new_value="locked"))
            close_id = con.execute("SELECT coalesce(max(close_id), 0) + 1 FROM month_closes").fetchall()[0][0]
            con.execute("INSERT INTO month_closes (close_id, month, closed_at, closed_by, close_date, snapshot, plan_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", [close_id, month, now_china(), actor, close_date,
                                                         json.dumps(frozen, ensure_ascii=False, sort_keys=True), plan])
            audits.append(_Audit(target=f"month:{month}", old_value="open", new_value="closed",
                                 detail={"close_id": close_id, "close_date": close_date.isoformat(),
                                         "uploads": len(frozen.get("upload_ids", []))}))
            return _Outcome(CloseResult(month, True, [], close_id=close_id), audits)

        return self._write(actor, "month.close", write)

    def reopen_month(self, month: str, *, actor: str, reason: str) -> bool:
        """Reopen a closed month (unlock it; the close row keeps its snapshot); False if it was not closed."""
        check_month(month)
        reason = (reason or "").strip()
        if not reason:
            raise StoreRefused("重新开放月份必须写明原因。")

        plan = self._written_plan()

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            close = _reader_in_write(con, self.path, plan).current_close(month)
            if close is None:
                return _Outcome(False)
            now = now_china()
            con.execute("UPDATE month_closes SET reopened_at = ?, reopened_by = ?, reopen_reason = ? "
                        "WHERE close_id = ?", [now, actor, reason, close["close_id"]])
            audits = [_Audit(target=f"month:{month}", old_value="closed", new_value="open",
                             detail={"close_id": close["close_id"], "reason": reason})]
            if _locked(con, month, plan):
                con.execute("UPDATE month_locks SET unlocked_at = ?, unlocked_by = ? "
                            "WHERE month = ? AND unlocked_at IS NULL AND plan_id IS NOT DISTINCT FROM ?",
                            [now, actor, month, plan])
                audits.append(_Audit(action="month.unlock", target=f"month:{month}", old_value="locked",
                                     new_value="unlocked", detail={"reason": reason}))
            return _Outcome(True, audits)

        return self._write(actor, "month.reopen", write)

    # -- registers (台账) ---------------------------------------------------

    def submit_register(self, report: RegisterReport, raw: bytes, *, submitted_by: str, confirm: bool = False,
                        dry_run: bool = False, received_at: dt.datetime | None = None,
                        note: str = "") -> RegisterSubmitResult:
        """Store one validated register file as a new version of its kind-unit-month, or say why not.

        The verdicts are the monthly report's (rejected, unchanged, locked, needs_confirmation,
        accepted); the raw bytes are not kept, since they hold full ID numbers. The receipt says how
        many rows count now, how many were already counted (by this unit before, or by another unit:
        those are listed as duplicates for the street office), and how many are not yet counted.
        """
        upload = _RegisterUpload(report, raw, submitted_by, confirm, received_at, note, self.plan_id)
        if upload.verdict is not None:
            return upload.verdict
        if dry_run:
            with self.snapshot() as reader:
                outcome = upload.write(reader._con, dry_run=True)
            return outcome.result
        return self._write(submitted_by, "register.accept", upload.write)

    def rollback_register(self, upload_id: int, *, actor: str) -> RollbackResult:
        """Withdraw an active register upload; the version it replaced (if any) becomes active again."""

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            row = _first(con.execute("SELECT kind, reporting_unit, month, version, state, supersedes, plan_id "
                                     "FROM register_uploads WHERE upload_id = ?", [upload_id]))
            if row is None:
                raise StoreRefused(f"找不到编号为 {upload_id} 的台账上传记录。")
            kind, unit, month, version, state, supersedes, plan = row
            if state != "active":
                raise StoreRefused(f"台账上传 {upload_id} 不是当前有效的版本，只能撤回当前有效的版本。")
            if _locked(con, month, plan):
                raise StoreRefused(f"{month_label(month)}已锁定，不能撤回该月的台账；如需更正，请先解锁。")
            con.execute("UPDATE register_uploads SET state = 'rolled_back' WHERE upload_id = ?", [upload_id])
            detail = {"kind": kind, "reporting_unit": unit, "month": month, "version": version}
            audits = [_Audit(target=f"register_upload:{upload_id}", old_value="active", new_value="rolled_back",
                             detail=detail)]
            restored = None
            if supersedes is not None:
                restored = con.execute("SELECT version FROM register_uploads WHERE upload_id = ?",
                                       [supersedes]).fetchall()[0][0]
                con.execute("UPDATE register_uploads SET state = 'active' WHERE upload_id = ?", [supersedes])
                audits.append(_Audit(action="register.reactivate", target=f"register_upload:{supersedes}",
                                     old_value="superseded", new_value="active",
                                     detail={**detail, "version": restored, "rolled_back_upload": upload_id}))
                message = f"已撤回{unit} {month_label(month)}台账第 {version} 版，第 {restored} 版恢复为有效版本。"
            else:
                message = f"已撤回{unit} {month_label(month)}台账第 {version} 版，该月现在没有有效的台账。"
            return _Outcome(RollbackResult(upload_id, unit, month, version, supersedes, restored, message), audits)

        return self._write(actor, "register.rollback", write)

    def register_uploads(self, kind: str | None = None) -> pd.DataFrame:
        """Every register upload in every state, oldest first."""
        with self.snapshot() as r:
            return r.register_uploads(kind)

    # -- register evidence (台账佐证材料) ---------------------------------------

    def add_attachment(self, *, kind: str, unit: str, row_key: str, data: bytes, file_name: str, media_type: str,
                       actor: str) -> tuple[int, bool]:
        """Attach a file to a register entry: bytes to raw/<sha256> (durable first), then the row and audit.

        Returns (attachment id, added); the same bytes already attached to the entry add nothing.
        The caller has checked the type and size (`registers.evidence.check_evidence`).
        """
        sha = hashlib.sha256(data).hexdigest()

        def write(con: duckdb.DuckDBPyConnection) -> _Outcome:
            # inside the transaction (as an upload's file): `delete_unreferenced_raw_files` decides in one too
            put_raw(raw_dir(self.path), data)  # durable before the row that references it commits
            found = _first(con.execute("SELECT attachment_id FROM register_attachments WHERE kind = ? AND "
                                       "reporting_unit = ? AND row_key = ? AND sha256 = ?", [kind, unit, row_key, sha]))
            if found:
                return _Outcome((int(found[0]), False))
            attachment_id = con.execute("SELECT coalesce(max(attachment_id), 0) + 1 FROM register_attachments"
                                        ).fetchall()[0][0]
            con.execute("INSERT INTO register_attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [attachment_id, kind, unit, row_key, sha, file_name, media_type, len(data), now_china(), actor])
            detail = {"kind": kind, "reporting_unit": unit, "sha256": sha, "size": len(data), "media_type": media_type}
            return _Outcome((int(attachment_id), True), [_Audit(target=f"register_attachment:{attachment_id}",
                                                                new_value=sha, detail=detail)])

        return self._write(actor, "register.attach", write)

    def attachments(self, kind: str | None = None, unit: str | None = None) -> pd.DataFrame:
        """Attachments of register entries, oldest first (no bytes: see attachment_bytes)."""
        clauses, params = [], []
        for column, value in (("kind", kind), ("reporting_unit", unit)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.snapshot() as r:
            return r._small(f"SELECT * FROM register_attachments {where} ORDER BY attachment_id", params)

    def attachment_bytes(self, sha256: str) -> bytes:
        """An attachment's bytes from raw/<sha256>, checked against the hash."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            raise StoreRefused(f"佐证材料编号“{sha256}”无效。")
        path = raw_dir(self.path) / sha256
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreCorrupt(CORRUPT_MESSAGE.format(path=path, detail="佐证材料文件缺失")) from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreCorrupt(CORRUPT_MESSAGE.format(path=path, detail="佐证材料内容与校验值不符"))
        return data

    def record_unmasked_view(self, *, actor: str, kind: str, unit: str, rows: int, searched: bool = False) -> None:
        """Append a `register.view_unmasked` audit row: `actor` saw `rows` rows of `unit`'s register unmasked.

        The search text itself is not recorded: a clerk may type an ID number into it.
        """
        detail = {"kind": kind, "reporting_unit": unit, "rows": int(rows), "searched": bool(searched)}
        self._write(actor, "register.view_unmasked",
                    lambda _con: _Outcome(None, [_Audit(target=f"register:{kind}:{unit}", detail=detail)]))

    def register_rows(self, kind: str | None = None, unit: str | None = None) -> pd.DataFrame:
        """Rows of active register uploads (hashes and masked forms; never a full ID number)."""
        with self.snapshot() as r:
            return r.register_rows(kind, unit)

    # -- reads: each opens the file once (see StoreReader for the documentation) ------------

    def locked_months(self) -> list[str]:
        """Months currently locked, oldest first."""
        with self.snapshot() as r:
            return r.locked_months()

    def is_locked(self, month: str) -> bool:
        """True if the month is locked."""
        with self.snapshot() as r:
            return r.is_locked(month)

    def month_lock_history(self) -> pd.DataFrame:
        """Every lock period: [lock_id, month, locked_at, locked_by, unlocked_at, unlocked_by]."""
        with self.snapshot() as r:
            return r.month_lock_history()

    def uploads(self, unit: str | None = None, month: str | None = None) -> pd.DataFrame:
        """Every upload in every state (without the raw bytes), oldest first."""
        with self.snapshot() as r:
            return r.uploads(unit, month)

    def active_uploads(self, through: str | None = None) -> pd.DataFrame:
        """The active upload of every unit-month up to `through` (inclusive)."""
        with self.snapshot() as r:
            return r.active_uploads(through)

    def active_receipts(self, through: str | None = None) -> pd.DataFrame:
        """Unit, month, version and time received of every active upload up to `through`, in no order."""
        with self.snapshot() as r:
            return r.active_receipts(through)

    def facts(self, through: str | None = None, include_inactive: bool = False, approved_only: bool = False,
              upload_ids: list[int] | None = None) -> pd.DataFrame:
        """Fact rows of active uploads (of every upload with include_inactive; of approved versions)."""
        with self.snapshot() as r:
            return r.facts(through, include_inactive, approved_only, upload_ids)

    def monthly_values(self, through: str | None = None, approved_only: bool = False) -> pd.DataFrame:
        """Metric values per unit, item and month, summed over categories."""
        with self.snapshot() as r:
            return r.monthly_values(through, approved_only)

    def category_values(self, through: str | None = None, approved_only: bool = False) -> pd.DataFrame:
        """Metric values per unit, item, category and month."""
        with self.snapshot() as r:
            return r.category_values(through, approved_only)

    def reviewed_uploads(self, unit: str | None = None, month: str | None = None, through: str | None = None,
                         active_only: bool = False) -> pd.DataFrame:
        """Uploads with their review state and reason (see StoreReader.reviewed_uploads)."""
        with self.snapshot() as r:
            return r.reviewed_uploads(unit, month, through, active_only)

    def closes(self, month: str | None = None) -> pd.DataFrame:
        """Every close of a month, oldest first."""
        with self.snapshot() as r:
            return r.closes(month)

    def current_close(self, month: str) -> dict[str, Any] | None:
        """The close in force for a month with its frozen snapshot, or None."""
        with self.snapshot() as r:
            return r.current_close(month)

    def task_statuses(self, through: str | None = None, latest: bool = False,
                      approved_only: bool = False) -> pd.DataFrame:
        """Task status words per unit, item and month (latest=True: each unit-item's last only)."""
        with self.snapshot() as r:
            return r.task_statuses(through, latest, approved_only)

    def audit_log(self, actor: str | None = None, action: str | None = None,
                  since: dt.datetime | dt.date | str | None = None) -> pd.DataFrame:
        """The audit log, oldest first, optionally filtered by actor, action and start time."""
        with self.snapshot() as r:
            return r.audit_log(actor, action, since)

    def raw_file(self, upload_id: int) -> tuple[str, bytes]:
        """The file exactly as it was uploaded: (file name, bytes)."""
        with self.snapshot() as r:
            return r.raw_file(upload_id)

    def latest_month(self) -> str | None:
        """The latest month that has an active upload, or None."""
        with self.snapshot() as r:
            return r.latest_month()

    def data_version(self) -> int:
        """A number that changes with every write, from this process or any other: a cache key."""
        with self.snapshot() as r:
            return r.data_version()

    def is_empty(self) -> bool:
        """True when nothing was ever uploaded."""
        with self.snapshot() as r:
            return r.is_empty()

    def counts(self) -> dict[str, int]:
        """Row count of every table."""
        with self.snapshot() as r:
            return r.counts()

    def schema_version(self) -> int:
        """The schema version of the database file."""
        with self.snapshot() as r:
            return r.schema_version()

    # -- backup and restore ------------------------------------------------

    def unreferenced_raw_files(self, older_than: dt.timedelta = dt.timedelta(hours=24)) -> list[dict[str, Any]]:
        """Files in the uploaded-files directory that no upload (any plan, any state) and no register
        attachment names, last touched longer ago than `older_than`: name, bytes, modified (local time).
        Left-over temporary files of an interrupted write count too. Nothing is removed here."""
        with self.snapshot() as reader:
            referenced = _raw_references(reader._con)  # the connection itself: every plan's rows
        return _unreferenced(raw_dir(self.path), referenced, older_than)

    def delete_unreferenced_raw_files(self, actor: str, older_than: dt.timedelta = dt.timedelta(hours=24)
                                      ) -> dict[str, int]:
        """Remove `unreferenced_raw_files`, deciding inside a write transaction (so no upload can start
        naming a file meanwhile; every write stores its file inside its own transaction), with an audit
        row `raw.delete`. Returns {"files": n, "bytes": total}; nothing to remove writes nothing."""
        directory = raw_dir(self.path)

        def write(con) -> _Outcome:
            found = _unreferenced(directory, _raw_references(con), older_than)
            for entry in found:
                (directory / entry["name"]).unlink(missing_ok=True)
            removed = {"files": len(found), "bytes": sum(e["bytes"] for e in found)}
            if not found:
                return _Outcome(removed)
            logger.info("removed %d unreferenced raw files (%d bytes) from %s", removed["files"], removed["bytes"],
                        directory)
            return _Outcome(removed, [_Audit(target="raw", detail={**removed, "names": [e["name"] for e in found][:1000],
                                                                   "older_than_hours": older_than.total_seconds() / 3600})])

        return self._write(actor, "raw.delete", write)

    def backup(self, directory: str | os.PathLike, *, sign_key: bytes | None = None,
               users_file: str | os.PathLike | None = None) -> dict[str, Any]:
        """Write every table as Parquet, raw files under raw/<sha256>, the users file (argon2 hashes only)
        when given and present, and manifest.json; return it.

        With sign_key, manifest.json.sig holds an HMAC-SHA256 of the manifest's bytes, so that a
        restore holding the same key can tell this backup from one whose files and manifest were
        both rewritten. Every file and directory is created readable by the owner only.
        """
        out = Path(directory)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise StoreRefused(f"备份目录“{out}”不是空目录；为免覆盖已有备份，请指定一个新目录。")
        try:
            return self._backup(out, sign_key, users_file)
        except OSError as exc:
            known = store_error(exc, out)
            if known is None:
                raise
            raise known from exc

    def _backup(self, out: Path, sign_key: bytes | None, users_file: str | os.PathLike | None = None) -> dict[str, Any]:
        _mkdir_private(out / "raw")
        _make_private(out, PRIVATE_DIR_MODE)
        tables: dict[str, dict[str, Any]] = {}
        raw_count = 0
        with self.snapshot() as reader:  # one transaction: every table from the same moment
            con = reader._con
            version = _current_version(con)
            for table in _source_tables(version):  # a database at an older schema version lacks some tables
                columns = "* EXCLUDE (raw)" if table == "uploads" and version < RAW_OUT_VERSION else "*"
                if table == "register_rows":  # backups carry masked names only
                    columns = "* REPLACE (name_masked AS person_name)"
                target = out / f"{table}.parquet"
                con.execute(f"COPY (SELECT {columns} FROM {table} ORDER BY {_TABLE_ORDER[table]}) "
                            f"TO {_sql_text(target)} (FORMAT parquet)")
                _make_private(target)
                tables[table] = {"file": target.name,
                                 "rows": con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]}
            for sha, raw in self._raw_files(con, version):
                _write_private(out / "raw" / sha, raw)
                raw_count += 1
            attachment_count = _backup_attachments(con, version, raw_dir(self.path), out / "raw")
        users = Path(users_file) if users_file is not None else None
        if users is not None and users.is_file():
            _write_private(out / USERS_BACKUP_NAME, users.read_bytes())
        files = {p.relative_to(out).as_posix(): _sha256_file(p) for p in sorted(out.rglob("*")) if p.is_file()}
        manifest = {
            "format": BACKUP_FORMAT, "format_version": BACKUP_FORMAT_VERSION, "schema_version": version,
            "created_at": now_china().isoformat(sep=" "), "database": str(self.path),
            "tables": tables, "raw_files": raw_count, "files": files,
        }
        if attachment_count:
            manifest["attachment_files"] = attachment_count
        if USERS_BACKUP_NAME in files:
            manifest["users_file"] = USERS_BACKUP_NAME
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
        if sign_key is not None:
            signature = {"algorithm": SIGNATURE_ALGORITHM, "signature": _manifest_signature(sign_key, data)}
            _write_private(out / SIGNATURE_FILE, json.dumps(signature, indent=2).encode("utf-8"))
        # Written last: a directory without a manifest is an unfinished backup.
        _write_private(out / "manifest.json", data)
        return manifest

    def _raw_files(self, con: duckdb.DuckDBPyConnection, version: int) -> Iterator[tuple[str, bytes]]:
        """Every distinct uploaded file once, by hash: (sha256, bytes), for a backup."""
        if version < RAW_OUT_VERSION:  # the files are still a column of uploads
            cursor = con.execute("SELECT sha256, any_value(raw) FROM uploads GROUP BY sha256 ORDER BY sha256")
            while batch := cursor.fetchmany(256):
                for sha, raw in batch:
                    yield sha, bytes(raw)
        else:  # the database's raw files, each checked against its hash on the way
            source = raw_dir(self.path)
            for (sha,) in con.execute("SELECT DISTINCT sha256 FROM uploads ORDER BY sha256").fetchall():
                yield sha, _read_raw(source, sha, self.path)

    @classmethod
    def restore(cls, directory: str | os.PathLike, db_path: str | os.PathLike, *, force: bool = False,
                actor: str = SYSTEM_ACTOR, busy_timeout: float = 10.0, sign_key: bytes | None = None,
                users_file: str | os.PathLike | None = None) -> Store:
        """Verify a backup, rebuild the database from it and return the restored store.

        With sign_key the backup's signature is checked first: a signature that does not match is
        refused; a backup without one is restored, and the audit row says it was unsigned. Every
        file's hash is checked before anything is touched. A database that already holds data, or
        a damaged one, is refused unless force=True, and even then it is renamed aside, never
        deleted. The restored audit log is the backup's, plus one `db.restore` row recording the
        restore (with `signature`: valid, unsigned or unchecked).
        """
        if is_postgres_url(db_path):
            from worktrack.store_pg import PgStore

            return PgStore.restore_database(directory, str(db_path), force=force, actor=actor,
                                            busy_timeout=busy_timeout, sign_key=sign_key, users_file=users_file)
        src = Path(directory)
        signature = backup_signature(src, sign_key)
        manifest = verify_backup(src)
        target = Path(db_path)
        _mkdir_private(target.parent)
        building = target.with_name(f"{target.name}.restoring-{os.getpid()}-{threading.get_ident()}")
        _build_from_backup(src, manifest, building)
        moved_aside = None
        try:
            _restore_attachments(src, building, raw_dir(target))  # content-addressed: nothing is overwritten
            with _exclusive(target, busy_timeout) as state:
                if state == "data" and not force:
                    raise StoreRefused(f"数据库“{target}”里已有数据，不会覆盖。确需用备份替换，请加 --force"
                                       "（原数据库文件会改名保留，不会删除）。")
                if state == "damaged" and not force:
                    raise StoreRefused(f"数据库“{target}”已损坏，无法打开。确认要用备份重建，请加 --force"
                                       "（损坏的文件会改名保留，不会删除）。")
                # The uploaded files go beside the database before it is put in place. Content-addressed
                # names: a file already there holds the same bytes and is left alone (never overwritten).
                for rel in sorted(manifest["files"]):
                    if rel.startswith("raw/"):
                        _store_raw(raw_dir(target), rel.split("/", 1)[1], (src / rel).read_bytes())
                if state != "absent":
                    moved_aside = _aside_name(target)
                    target.rename(moved_aside)
                    wal = target.with_name(target.name + ".wal")
                    if wal.exists():
                        wal.rename(moved_aside.with_name(moved_aside.name + ".wal"))
                building.rename(target)
        finally:
            _remove_build(building)
        store = cls(target, busy_timeout=busy_timeout)  # applies migrations newer than the backup
        users_restored = previous_users = None
        if users_file is not None and manifest.get("users_file") == USERS_BACKUP_NAME:
            users_restored, previous_users = _restore_users_file(src / USERS_BACKUP_NAME, Path(users_file))

        def record(con: duckdb.DuckDBPyConnection) -> _Outcome:
            detail = {"backup": str(src.resolve()), "backup_created_at": manifest["created_at"],
                      "schema_version": manifest["schema_version"],
                      "rows": {t: v["rows"] for t, v in manifest["tables"].items()},
                      "previous_database": str(moved_aside) if moved_aside else None, "signature": signature,
                      "users_file": users_restored, "previous_users_file": previous_users}
            return _Outcome(None, [_Audit(target="database", new_value=str(src.resolve()), detail=detail)])

        store._write(actor, "db.restore", record)
        return store


# ---------------------------------------------------------------------------
# One upload: the checks and writes shared by Store.submit and Store.submit_many


class _Upload:
    """The verdict on one submission and, when it is accepted, its writes inside `Store._write`."""

    def __init__(self, sub: Submission, dry_run: bool, raw_directory: Path, plan_id: str | None = None):
        report, raw = sub.report, sub.raw
        self.sub = sub
        self.raw_directory = raw_directory
        self.plan_id = _upload_plan(report, plan_id)
        self.sha = sha = hashlib.sha256(raw).hexdigest()
        if report.sha256 and report.sha256 != sha:
            raise ValueError("report.sha256 does not match the raw bytes submitted with it")
        self.unit, self.month = unit, month = report.reporting_unit, report.month
        self.base = base = {"reporting_unit": unit, "month": month, "sha256": sha, "dry_run": dry_run}
        self.received = to_china_naive(sub.received_at) if sub.received_at is not None else now_china()
        self.confirmed = bool(report.warnings) and sub.confirm
        # A verdict that needs no database: set here, or None when the database decides.
        self.verdict: SubmitResult | None = None
        if report.errors:
            self.verdict = SubmitResult("rejected", False,
                                        f"文件有 {len(report.errors)} 处错误，未接收。请按提示逐条修改后重新上传。", **base)
        elif not unit or not month or not MONTH_RE.match(month):
            self.verdict = SubmitResult("rejected", False, "无法确定文件的上报单位或月份，未接收。", **base)
        else:
            stray = next((r for r in report.rows if r.reporting_unit != unit or r.month != month), None)
            if stray is not None:
                self.verdict = SubmitResult("rejected", False, f"第 {stray.row} 行的上报单位或月份与文件不一致，未接收。",
                                            **base)

    def decide(self, con: duckdb.DuckDBPyConnection) -> SubmitResult | tuple[int, tuple[int, int] | None, list]:
        """A final verdict, or (next version, (id, version) of the active upload, changes)."""
        report, unit, month, base = self.sub.report, self.unit, self.month, self.base
        current = _first(con.execute("SELECT upload_id, version, sha256 FROM uploads "
                                     "WHERE reporting_unit = ? AND month = ? AND state = 'active'"
                                     " AND plan_id IS NOT DISTINCT FROM ?",  # a version supersedes its own plan's
                                     [unit, month, self.plan_id]))
        if current and current[2] == self.sha:
            return SubmitResult("unchanged", True,
                                f"与当前有效的第 {current[1]} 版内容完全相同，无需重复上传，未做改动。",
                                upload_id=current[0], version=current[1], **base)
        if _locked(con, month, self.plan_id):
            return SubmitResult("locked", False, f"{month_label(month)}已锁定（例会后不再接收修改），本文件未接收。"
                                "如需更正，请联系管理员解锁。", **base)
        if report.warnings and not self.sub.confirm:
            return SubmitResult("needs_confirmation", False,
                                f"文件有 {len(report.warnings)} 条提示需要确认，确认无误后再提交才会接收。", **base)
        version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM uploads WHERE reporting_unit = ? "
                              "AND month = ? AND plan_id IS NOT DISTINCT FROM ?",
                              [unit, month, self.plan_id]).fetchall()[0][0]
        previous = (current[0], current[1]) if current else None
        changes = []
        if previous:
            old = {(item, cat): value if value is not None else status
                   for item, cat, value, status in con.execute(
                       "SELECT item, category, value, status FROM facts WHERE upload_id = ?",
                       [previous[0]]).fetchall()}
            changes = _changes(old, report.rows)
        return version, previous, changes

    def dry_run(self, con: duckdb.DuckDBPyConnection) -> SubmitResult:
        verdict = self.decide(con)
        if isinstance(verdict, SubmitResult):
            return verdict
        version, previous, changes = verdict
        return SubmitResult("accepted", True, f"试运行：文件有效，正式提交后将成为{self.unit} {month_label(self.month)}"
                            f"第 {version} 版（未写入数据库）。", version=version,
                            superseded_upload_id=previous[0] if previous else None, changes=changes, **self.base)

    def write(self, con: duckdb.DuckDBPyConnection) -> _Outcome:
        verdict = self.decide(con)
        if isinstance(verdict, SubmitResult):
            return _Outcome(verdict)
        sub, unit, month, raw = self.sub, self.unit, self.month, self.sub.raw
        report = sub.report
        version, previous, changes = verdict
        upload_id = con.execute("SELECT coalesce(max(upload_id), 0) + 1 FROM uploads").fetchall()[0][0]
        audits = [_Audit(target=f"upload:{upload_id}", old_value=str(previous[0]) if previous else None,
                         new_value=str(upload_id), actor=sub.submitted_by,
                         detail={"reporting_unit": unit, "month": month, "version": version,
                                 "file_name": report.file, "sha256": self.sha, "size": len(raw),
                                 "row_count": len(report.rows), "warnings_confirmed": self.confirmed,
                                 "received_at": self.received.isoformat(sep=" "), "changes": len(changes)})]
        if previous:
            con.execute("UPDATE uploads SET state = 'superseded' WHERE upload_id = ?", [previous[0]])
            audits.append(_Audit(action="upload.supersede", target=f"upload:{previous[0]}",
                                 old_value="active", new_value="superseded", actor=sub.submitted_by,
                                 detail={"reporting_unit": unit, "month": month, "version": previous[1],
                                         "superseded_by": upload_id}))
        _store_raw(self.raw_directory, self.sha, raw)  # durable before the row that names it commits
        # columns named: later migrations add columns (plan_id) after the first schema's
        con.execute("INSERT INTO uploads (upload_id, reporting_unit, month, version, file_name, sha256, size, "
                    "received_at, submitted_by, row_count, state, supersedes, warnings_confirmed, note, plan_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
                    [upload_id, unit, month, version, report.file, self.sha, len(raw), self.received,
                     sub.submitted_by, len(report.rows), previous[0] if previous else None, self.confirmed, sub.note,
                     self.plan_id])
        _insert_facts(con, upload_id, report.rows)
        replaced = f"，替换第 {previous[1]} 版" if previous else ""
        return _Outcome(SubmitResult(
            "accepted", True, f"已接收：{unit} {month_label(month)}第 {version} 版，共 {len(report.rows)} 行{replaced}。",
            upload_id=upload_id, version=version, superseded_upload_id=previous[0] if previous else None,
            changes=changes, **self.base), audits, {upload_id: (self.sha, len(report.rows))},
            {(self.plan_id, unit, month)},
            task_bases=("active",))


# ---------------------------------------------------------------------------
# Registers (台账): a register file is an upload of a kind


REGISTER_UPLOAD_COLUMNS = ["upload_id", "kind", "reporting_unit", "month", "version", "file_name", "sha256", "size",
                           "received_at", "submitted_by", "row_count", "state", "supersedes", "warnings_confirmed",
                           "note"]
REGISTER_ROW_COLUMNS = ["upload_id", "kind", "reporting_unit", "month", "source_row", "person_key", "id_masked",
                        "person_name", "name_masked", "category", "event_date", "cash", "goods_value", "fields"]


@dataclass
class RegisterSubmitResult(SubmitResult):
    """A register file's verdict with its receipt: rows counted now, already counted, not yet counted."""

    kind: str = ""
    counted: int = 0  # rows that add to the figures now (new households / people / donations)
    already_counted: int = 0  # counted before from this unit's earlier registers
    already_counted_in: dict[str, int] = field(default_factory=dict)  # month counted in -> rows, of already_counted
    counted_elsewhere: list[dict[str, Any]] = field(default_factory=list)  # counted by another unit: duplicates
    not_counted: int = 0  # retrofits without an acceptance date


class _RegisterUpload:
    """The verdict on one register file and, when accepted, its writes inside `Store._write`."""

    def __init__(self, report: RegisterReport, raw: bytes, submitted_by: str, confirm: bool,
                 received_at: dt.datetime | None, note: str, plan_id: str | None = None):
        self.report, self.submitted_by, self.confirm, self.note = report, submitted_by, confirm, note
        self.plan_id = _upload_plan(report, plan_id)
        self.sha = hashlib.sha256(raw).hexdigest()
        self.size = len(raw)
        if report.sha256 and report.sha256 != self.sha:
            raise ValueError("report.sha256 does not match the raw bytes submitted with it")
        self.kind, self.unit, self.month = report.kind, report.reporting_unit, report.month
        self.base = {"reporting_unit": self.unit, "month": self.month, "sha256": self.sha, "kind": self.kind}
        self.received = to_china_naive(received_at) if received_at is not None else now_china()
        self.verdict: RegisterSubmitResult | None = None
        if report.errors:
            self.verdict = RegisterSubmitResult("rejected", False, f"文件有 {len(report.errors)} 处错误，未接收。"
                                                "请按提示逐条修改后重新上传。", **self.base)
        elif not self.kind or not self.unit or not self.month or not MONTH_RE.match(self.month):
            self.verdict = RegisterSubmitResult("rejected", False, "无法确定台账的类型、上报单位或月份，未接收。",
                                                **self.base)
        elif any(r.reporting_unit != self.unit or r.month != self.month for r in report.rows):
            self.verdict = RegisterSubmitResult("rejected", False, "台账各行的上报单位或月份不一致，未接收。",
                                                **self.base)

    def write(self, con: duckdb.DuckDBPyConnection, dry_run: bool = False) -> _Outcome:
        kind, unit, month, report, base = self.kind, self.unit, self.month, self.report, self.base
        current = _first(con.execute("SELECT upload_id, version, sha256 FROM register_uploads "
                                     "WHERE kind = ? AND reporting_unit = ? AND month = ? AND state = 'active' "
                                     "AND plan_id IS NOT DISTINCT FROM ?", [kind, unit, month, self.plan_id]))
        if current and current[2] == self.sha:
            return _Outcome(RegisterSubmitResult("unchanged", True, f"与当前有效的第 {current[1]} 版内容完全相同，"
                                                 "无需重复上传，未做改动。", upload_id=current[0], version=current[1],
                                                 **base))
        if _locked(con, month, self.plan_id):
            return _Outcome(RegisterSubmitResult("locked", False, f"{month_label(month)}已锁定（例会后不再接收修改），"
                                                 "本台账未接收。如需更正，请联系管理员解锁。", **base))
        if report.warnings and not self.confirm:
            return _Outcome(RegisterSubmitResult("needs_confirmation", False, f"文件有 {len(report.warnings)} 条提示"
                                                 "需要确认，确认无误后再提交才会接收。", **base))
        version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM register_uploads WHERE kind = ? AND "
                              "reporting_unit = ? AND month = ? AND plan_id IS NOT DISTINCT FROM ?",
                              [kind, unit, month, self.plan_id]).fetchall()[0][0]
        receipt = self.receipt(con, current[0] if current else None)
        replaced = f"，替换第 {current[1]} 版" if current else ""
        summary = self.summary(receipt)
        if dry_run:
            return _Outcome(RegisterSubmitResult(
                "accepted", True, f"试运行：台账有效，正式提交后将成为{unit} {month_label(month)}第 {version} 版"
                f"（未写入数据库）。{summary}", version=version, dry_run=True,
                superseded_upload_id=current[0] if current else None, **receipt, **base))
        upload_id = con.execute("SELECT coalesce(max(upload_id), 0) + 1 FROM register_uploads").fetchall()[0][0]
        detail = {"kind": kind, "reporting_unit": unit, "month": month, "version": version, "file_name": report.file,
                  "sha256": self.sha, "size": self.size, "row_count": len(report.rows),
                  "counted": receipt["counted"], "already_counted": receipt["already_counted"],
                  "counted_elsewhere": len(receipt["counted_elsewhere"])}
        audits = [_Audit(target=f"register_upload:{upload_id}", old_value=str(current[0]) if current else None,
                         new_value=str(upload_id), actor=self.submitted_by, detail=detail)]
        if current:
            con.execute("UPDATE register_uploads SET state = 'superseded' WHERE upload_id = ?", [current[0]])
            audits.append(_Audit(action="register.supersede", target=f"register_upload:{current[0]}",
                                 old_value="active", new_value="superseded", actor=self.submitted_by,
                                 detail={"kind": kind, "reporting_unit": unit, "month": month,
                                         "version": current[1], "superseded_by": upload_id}))
        confirmed = bool(report.warnings) and self.confirm
        con.execute("INSERT INTO register_uploads (upload_id, kind, reporting_unit, month, version, file_name, sha256, "
                    "size, received_at, submitted_by, row_count, state, supersedes, warnings_confirmed, note, plan_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?)",
                    [upload_id, kind, unit, month, version, report.file, self.sha, self.size, self.received,
                     self.submitted_by, len(report.rows), current[0] if current else None, confirmed, self.note,
                     self.plan_id])
        _insert_register_rows(con, upload_id, kind, report.rows)
        stored = con.execute("SELECT count(*) FROM register_rows WHERE upload_id = ?", [upload_id]).fetchall()[0][0]
        if stored != len(report.rows):
            raise StoreCorrupt(CORRUPT_MESSAGE.format(path="register_rows", detail="台账行写入后读回数量不符"))
        return _Outcome(RegisterSubmitResult(
            "accepted", True, f"已接收：{unit} {month_label(month)}台账第 {version} 版，共 {len(report.rows)} 行{replaced}。"
            f"{summary}", upload_id=upload_id, version=version, superseded_upload_id=current[0] if current else None,
            **receipt, **base), audits)

    def receipt(self, con: duckdb.DuckDBPyConnection, replaced_upload: int | None) -> dict[str, Any]:
        """How each row of this file counts against the active rows of other uploads of the same kind."""
        rows = self.report.rows
        by_key = "receipt" if self.kind == "donation_register" else "person_key"
        keys = sorted({self._key(r) for r in rows if self._key(r)})
        earlier: dict[str, list[tuple[str, str | None]]] = {}
        if keys:
            column = "json_extract_string(fields, '$.receipt')" if by_key == "receipt" else "person_key"
            found = con.execute(
                f"SELECT {column}, reporting_unit, id_masked, strftime(event_date, '%Y-%m') FROM register_rows "
                f"WHERE kind = ? AND {column} IN "
                f"(SELECT unnest(?::VARCHAR[])) AND upload_id IN (SELECT upload_id FROM register_uploads "
                "WHERE state = 'active' AND upload_id IS DISTINCT FROM ? AND plan_id IS NOT DISTINCT FROM ?) "
                + ("AND event_date IS NOT NULL" if self.kind == "retrofit_register" else ""),
                [self.kind, keys, replaced_upload, self.plan_id]).fetchall()
            for key, unit, masked, counted_month in found:
                earlier.setdefault(key, []).append((unit, masked, counted_month))
        counted = already = not_counted = 0
        already_in: dict[str, int] = {}
        elsewhere: list[dict[str, Any]] = []
        seen: set[str] = set()
        for row in rows:
            key = self._key(row)
            if self.kind == "retrofit_register" and row.event_date is None:
                not_counted += 1
                continue
            if key in seen and self.kind == "help_register":
                continue  # a second help for the same person in this file: the person counts once
            seen.add(key)
            units = {u for u, _, _ in earlier.get(key, [])}
            if self.kind == "donation_register":
                units &= {self.unit}  # receipt numbers are per community: another unit's R1 is not this one
            if not units:
                counted += 1
            elif self.unit in units:
                already += 1
                # the month it counts in: its earliest dated row of this unit
                months = sorted(m for u, _, m in earlier[key] if u == self.unit and m)
                if months:
                    already_in[months[0]] = already_in.get(months[0], 0) + 1
            else:
                elsewhere.append({"row": row.row, "id_masked": row.id_masked, "units": sorted(units)})
        return {"counted": counted, "already_counted": already, "already_counted_in": dict(sorted(already_in.items())),
                "counted_elsewhere": elsewhere, "not_counted": not_counted}

    def _key(self, row: Any) -> str | None:
        return row.fields.get("receipt") if self.kind == "donation_register" else row.person_key

    def summary(self, receipt: dict[str, Any]) -> str:
        what = {"retrofit_register": "户", "donation_register": "笔捐赠", "help_register": "人"}[self.kind]
        parts = [f"新增 {receipt['counted']} {what}"]
        for counted_month, n in receipt["already_counted_in"].items():
            parts.append(f"{n} {what}已在 {counted_month} 计入")
        undated = receipt["already_counted"] - sum(receipt["already_counted_in"].values())
        if undated:
            parts.append(f"{undated} {what}此前已计入")
        if receipt["counted_elsewhere"]:
            units = sorted({u for d in receipt["counted_elsewhere"] for u in d["units"]})
            parts.append(f"{len(receipt['counted_elsewhere'])} {what}已由{'、'.join(units)}登记（列为重复，由街道核定）")
        if receipt["not_counted"]:
            parts.append(f"{receipt['not_counted']} 户尚未验收，暂不计入")
        return "；".join(parts) + "。"


def _insert_register_rows(con: duckdb.DuckDBPyConnection, upload_id: int, kind: str, rows: list[Any]) -> None:
    import pyarrow as pa

    from worktrack.registers.identity import mask_name

    def masked(row: Any) -> str:
        # organisations and anonymous donors are shown as written; people are masked
        if kind == "donation_register" and row.fields.get("donor_type") in ("单位", "匿名"):
            return row.person_name
        return mask_name(row.person_name)

    table = pa.table({
        "upload_id": pa.array([upload_id] * len(rows), pa.int64()),
        "kind": pa.array([kind] * len(rows), pa.string()),
        "reporting_unit": pa.array([r.reporting_unit for r in rows], pa.string()),
        "month": pa.array([r.month for r in rows], pa.string()),
        "source_row": pa.array([r.row for r in rows], pa.int32()),
        "person_key": pa.array([r.person_key for r in rows], pa.string()),
        "id_masked": pa.array([r.id_masked for r in rows], pa.string()),
        "person_name": pa.array([r.person_name for r in rows], pa.string()),
        "name_masked": pa.array([masked(r) for r in rows], pa.string()),
        "category": pa.array([r.category for r in rows], pa.string()),
        "event_date": pa.array([r.event_date for r in rows], pa.date32()),
        "cash": pa.array([r.cash for r in rows], pa.float64()),
        "goods_value": pa.array([r.goods_value for r in rows], pa.float64()),
        "fields": pa.array([json.dumps(r.fields, ensure_ascii=False, sort_keys=True) for r in rows], pa.string()),
    })
    if not isinstance(con, duckdb.DuckDBPyConnection):  # another backend's connection (see store_pg)
        con.insert_arrow("register_rows", table)
        return
    con.register("new_register_rows", table)
    try:
        con.execute("INSERT INTO register_rows BY NAME SELECT * FROM new_register_rows")
    finally:
        con.unregister("new_register_rows")


# ---------------------------------------------------------------------------
# Internals


def _chosen_upload(con: duckdb.DuckDBPyConnection, basis: str, plan: str | None, unit: str, month: str) -> int | None:
    """The upload of a plan's unit-month a basis reads: its active version, or its latest approved
    version that was not rolled back (`_APPROVED` for one unit-month)."""
    if basis == "active":
        row = _first(con.execute("SELECT upload_id FROM uploads WHERE reporting_unit = ? AND month = ? "
                                 "AND plan_id IS NOT DISTINCT FROM ? AND state = 'active'", [unit, month, plan]))
    else:
        row = _first(con.execute(
            "SELECT arg_max(u.upload_id, u.version) FROM uploads u JOIN (SELECT upload_id, "
            "arg_max(state, review_id) AS state FROM upload_reviews WHERE upload_id IN (SELECT upload_id FROM "
            "uploads WHERE reporting_unit = ? AND month = ? AND plan_id IS NOT DISTINCT FROM ?) GROUP BY upload_id) r "
            "USING (upload_id) WHERE u.state <> 'rolled_back' AND r.state = 'approved'",
            [unit, month, plan]))
    return row[0] if row else None


def _refresh_task_latest(con: duckdb.DuckDBPyConnection, unit_months: set[tuple[str | None, str, str]],
                         bases: tuple[str, ...] = ("active", "approved")) -> None:
    """Bring task_latest up to date, for both bases, for plan-unit-months whose active or approved
    upload may just have changed (a submit, a rollback, a review).

    Only what changed is touched: the rows that came from that unit-month are dropped, the upload now
    read's statuses replace earlier months' ones, and an item the month no longer reports falls back
    to the unit's latest earlier status (a look into facts for that unit and those items only).
    A basis whose upload for the unit-month did not change is left alone. Another plan's rows of the
    same unit are never touched.
    """
    same = "basis = ? AND plan_id IS NOT DISTINCT FROM ? AND reporting_unit = ?"
    for plan, unit, month in sorted(unit_months, key=lambda key: (key[0] or "", key[1], key[2])):
        for basis in bases:
            versions = TASK_BASES[basis]
            chosen = _chosen_upload(con, basis, plan, unit, month)
            held = {r[0] for r in con.execute(f"SELECT DISTINCT upload_id FROM task_latest WHERE {same} AND month = ?",
                                              [basis, plan, unit, month]).fetchall()}
            if chosen is not None and held == {chosen}:
                continue  # this basis still reads the same upload for the unit-month
            dropped = {r[0] for r in con.execute(f"DELETE FROM task_latest WHERE {same} AND month = ? RETURNING item",
                                                 [basis, plan, unit, month]).fetchall()}
            if chosen is not None:
                con.execute(f"DELETE FROM task_latest WHERE {same} AND month < ? AND item IN "
                            "(SELECT item FROM facts WHERE upload_id = ? AND status IS NOT NULL)",
                            [basis, plan, unit, month, chosen])
                con.execute("INSERT INTO task_latest SELECT ?, reporting_unit, item, month, status, note, upload_id, ? "
                            "FROM facts WHERE upload_id = ? AND status IS NOT NULL AND item NOT IN "
                            f"(SELECT item FROM task_latest WHERE {same}) "
                            "QUALIFY row_number() OVER (PARTITION BY item ORDER BY source_row DESC) = 1",
                            [basis, plan, chosen, basis, plan, unit])
            if dropped:
                present = {r[0] for r in con.execute(f"SELECT item FROM task_latest WHERE {same}",
                                                     [basis, plan, unit]).fetchall()}
                lost = sorted(dropped - present)
                if lost:
                    marks = ", ".join("?" for _ in lost)
                    fallback = _task_latest_select(versions, f"AND plan_id IS NOT DISTINCT FROM ? "
                                                             f"AND reporting_unit = ? AND item IN ({marks})")
                    con.execute(f"INSERT INTO task_latest SELECT ?, * FROM ({fallback})", [basis, plan, unit, *lost])


def _verify_written(con: duckdb.DuckDBPyConnection, path: Path, first_audit: int, n_audits: int,
                    uploads: dict[int, tuple[str, int]], unit_months: set[tuple[str | None, str, str]] | None = None) -> None:
    """Read back what a write just committed; raise StoreCorrupt if the file does not give it back.

    A receipt is only handed out for data the database can be shown to hold: the audit rows, each
    new upload's file (read back from raw/ and hashed), its fact rows and metric totals, the latest
    task statuses of the units written, and the small tables every reading starts from. A damaged
    block anywhere on that path fails here, not at the next read.
    """
    problems = []
    # One statement for the small tables (the first reads of every later reading), so that a write's
    # read-back costs one round trip, not one per table.
    units = sorted({unit for _, unit, _ in unit_months or ()})
    latest = (", (SELECT count(*) + coalesce(max(length(month)), 0) + coalesce(max(length(status)), 0) "
              "+ coalesce(max(length(note)), 0) FROM task_latest WHERE reporting_unit IN "
              f"({', '.join('?' for _ in units)}))") if units else ""
    audits = con.execute(
        "SELECT (SELECT count(*) FROM audit_log WHERE audit_id BETWEEN ? AND ?), "
        "(SELECT count(*) + coalesce(max(version), 0) + coalesce(max(length(description)), 0) FROM schema_version), "
        "(SELECT count(*) + coalesce(max(length(month)), 0) + coalesce(max(length(locked_by)), 0) "
        f"+ coalesce(max(length(unlocked_by)), 0) FROM month_locks){latest}",
        [first_audit, first_audit + n_audits - 1, *units]).fetchall()[0][0]
    if audits != n_audits:
        problems.append(f"审计记录应有 {n_audits} 条，读回 {audits} 条")
    if uploads:
        low, high = min(uploads), max(uploads)
        stored, facts, totals, coded, expected_totals = {}, {}, {}, {}, {}
        for upload_id, sha, row_count, n_facts, n_items, n_totals, n_codes in con.execute(
                "WITH f AS (SELECT upload_id, count(*) AS n, count(DISTINCT item) FILTER (WHERE value IS NOT NULL) "
                "AS items FROM facts WHERE upload_id BETWEEN ? AND ? GROUP BY upload_id), "
                "t AS (SELECT upload_id, count(*) AS n FROM metric_totals WHERE upload_id BETWEEN ? AND ? "
                "GROUP BY upload_id), "
                "c AS (SELECT upload_id, count(*) AS n FROM metric_codes WHERE upload_id BETWEEN ? AND ? "
                "GROUP BY upload_id) "
                "SELECT u.upload_id, u.sha256, u.row_count, coalesce(f.n, 0), coalesce(f.items, 0), "
                "coalesce(t.n, 0), coalesce(c.n, 0) FROM uploads u LEFT JOIN f ON f.upload_id = u.upload_id "
                "LEFT JOIN t ON t.upload_id = u.upload_id LEFT JOIN c ON c.upload_id = u.upload_id "
                "WHERE u.upload_id BETWEEN ? AND ?", [low, high] * 4).fetchall():
            stored[upload_id] = (sha, row_count)
            facts[upload_id], expected_totals[upload_id] = n_facts, n_items
            totals[upload_id], coded[upload_id] = n_totals, n_codes
        directory = raw_dir(path)
        for upload_id, (sha, rows) in uploads.items():
            got = stored.get(upload_id)
            try:
                file_ok = _read_raw(directory, sha, path) is not None
            except StoreCorrupt:
                file_ok = False
            if got is None or got[0] != sha or not file_ok or got[1] != rows:
                problems.append(f"上传 {upload_id} 的记录或原始文件读回不一致")
            elif (facts.get(upload_id, 0) != rows or totals.get(upload_id, 0) != expected_totals.get(upload_id, 0)
                  or coded.get(upload_id, 0) != totals.get(upload_id, 0)):
                problems.append(f"上传 {upload_id} 的数据行读回不一致")
    if problems:
        logger.error("read-back after commit to %s failed: %s", path, problems)
        raise StoreCorrupt(CORRUPT_MESSAGE.format(path=path, detail="写入后读回校验不符：" + "；".join(problems[:3])))


def _reader_in_write(con: duckdb.DuckDBPyConnection, path: Path | None = None,
                     plan_id: str | None = None) -> StoreReader:
    """A StoreReader for reads inside a write function, seeing `plan_id`'s uploads (None: every plan's):
    over the write's own connection on DuckDB; a backend whose SQL is not DuckDB's provides one
    (PostgreSQL: a snapshot of the committed state, which is what the write sees, since writes are
    serialised)."""
    make = getattr(con, "snapshot_reader", None)
    if make is None:
        return StoreReader(con, path, plan_id)
    reader = make()
    reader.plan_id = plan_id
    return reader


def _first(result: duckdb.DuckDBPyConnection) -> tuple | None:
    """The first row or None; the result is read to the end, as DuckDB wants before the next query."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _locked(con: duckdb.DuckDBPyConnection, month: str, plan_id: str | None = None) -> bool:
    """Whether a plan's month is locked (plan None: any plan's)."""
    if plan_id is None:
        return con.execute("SELECT count(*) FROM month_locks WHERE month = ? AND unlocked_at IS NULL",
                           [month]).fetchall()[0][0] > 0
    return con.execute("SELECT count(*) FROM month_locks WHERE month = ? AND unlocked_at IS NULL AND plan_id = ?",
                       [month, plan_id]).fetchall()[0][0] > 0


def _insert_lock(con: duckdb.DuckDBPyConnection, month: str, actor: str, plan_id: str | None) -> None:
    lock_id = con.execute("SELECT coalesce(max(lock_id), 0) + 1 FROM month_locks").fetchall()[0][0]
    con.execute("INSERT INTO month_locks (lock_id, month, locked_at, locked_by, plan_id) VALUES (?, ?, ?, ?, ?)",
                [lock_id, month, now_china(), actor, plan_id])


def _through(column: str, through: str | None) -> tuple[str, list[Any]]:
    if through is None:
        return "", []
    return f"AND {column} <= ?", [check_month(through)]


def _source_tables(version: int) -> tuple[str, ...]:
    """The source tables a database (or backup) of a schema version holds, in restore order."""
    since = {**TABLES_SINCE, **{t: REGISTER_MIGRATION.version for t in REGISTER_TABLES},
             **{t: EVIDENCE_MIGRATION.version for t in EVIDENCE_TABLES}}
    return tuple(t for t in (*TABLES, *REGISTER_TABLES, *EVIDENCE_TABLES) if since.get(t, 1) <= version)


def _applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The schema versions recorded as applied (none in a new file)."""
    if not _current_version(con):
        return set()
    return {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                         "AND table_schema = current_schema() AND table_name = 'schema_version'").fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchall()[0][0]


def _apply_migration(con: duckdb.DuckDBPyConnection, migration: Migration, path: Path) -> None:
    if migration.before is not None:
        migration.before(con, path)
    con.execute(migration.sql)
    con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [migration.version, migration.description, now_china()])


def _plan_migration_variable(con: duckdb.DuckDBPyConnection) -> None:
    """The plan id existing uploads are given: the plan file the deployment is configured with."""
    from worktrack.config import configured_plan_id

    if hasattr(con, "snapshot_reader"):  # PostgreSQL: a setting of this transaction (its migration 8 form)
        con.execute("SELECT set_config('worktrack.plan_id', ?, true)", [configured_plan_id() or ""])
    else:
        con.execute("SET VARIABLE worktrack_plan_id = ?", [configured_plan_id()])


# Tables with a plan_id column; facts, metric_totals, metric_codes and register_rows are read through
# upload ids. (register_attachments, keyed by unit and row, are not told apart by plan.)
PLAN_TABLES = ("uploads", "task_latest", "month_locks", "month_closes", "register_uploads")


def _plan_scoped(sql: str, plan_id: str | None) -> str:
    """The query with the plan tables narrowed to one plan's rows (a CTE shadows a table in every
    subquery, so facts and totals, which are read through upload ids, are narrowed too)."""
    if plan_id is None:
        return sql
    text = _sql_text(plan_id)
    scope = ", ".join(f"{table} AS (SELECT * FROM {table} WHERE plan_id = {text})" for table in PLAN_TABLES)
    stripped = sql.lstrip()
    if stripped[:5].upper() == "WITH ":
        return f"WITH {scope}, {stripped[5:]}"
    return f"WITH {scope} {sql}"


def _upload_plan(report: IntakeReport, plan_id: str | None) -> str | None:
    """The plan an upload is filed against: the report's own (intake read it against a plan), else the
    store's scope, else the plan the deployment is configured with."""
    if getattr(report, "plan_id", None):
        return report.plan_id
    if plan_id is not None:
        return plan_id
    from worktrack.config import configured_plan_id

    return configured_plan_id()


def _insert_facts(con: duckdb.DuckDBPyConnection, upload_id: int, rows: list[FactRow]) -> None:
    import pyarrow as pa

    table = pa.table({
        "upload_id": pa.array([upload_id] * len(rows), pa.int64()),
        "reporting_unit": pa.array([r.reporting_unit for r in rows], pa.string()),
        "month": pa.array([r.month for r in rows], pa.string()),
        "item": pa.array([r.item for r in rows], pa.string()),
        "category": pa.array([r.category or "" for r in rows], pa.string()),
        "value": pa.array([None if r.value is None else float(r.value) for r in rows], pa.float64()),
        "status": pa.array([r.status for r in rows], pa.string()),
        "note": pa.array([r.note or "" for r in rows], pa.string()),
        "source_row": pa.array([r.row for r in rows], pa.int32()),
    })
    if not isinstance(con, duckdb.DuckDBPyConnection):  # another backend's connection (see store_pg)
        con.insert_arrow("facts", table)
        con.execute("INSERT INTO metric_totals SELECT upload_id, reporting_unit, month, item, sum(value) FROM facts "
                    "WHERE upload_id = ? AND value IS NOT NULL GROUP BY upload_id, reporting_unit, month, item",
                    [upload_id])
        for kind, column in (("unit", "reporting_unit"), ("item", "item")):
            con.execute(
                "INSERT INTO name_codes SELECT ?, name, CAST((SELECT coalesce(max(code), -1) FROM name_codes "
                "WHERE kind = ?) + row_number() OVER (ORDER BY name) AS INTEGER) "
                f"FROM (SELECT DISTINCT {column} AS name FROM facts WHERE upload_id = ? AND {column} NOT IN "
                "(SELECT name FROM name_codes WHERE kind = ?)) AS new_names", [kind, kind, upload_id, kind])
        con.execute("INSERT INTO metric_codes " + _METRIC_CODES_SELECT.format(source="metric_totals")
                    + " WHERE t.upload_id = ?", [upload_id])
        return
    con.register("new_facts", table)
    try:
        con.execute("INSERT INTO facts BY NAME SELECT * FROM new_facts")
        totals = ("SELECT upload_id, reporting_unit, month, item, sum(value) AS value FROM new_facts "
                  "WHERE value IS NOT NULL GROUP BY upload_id, reporting_unit, month, item")
        con.execute("INSERT INTO metric_totals " + totals)
        # names seen for the first time get the next free code of their kind (looked for in one
        # statement: a unit's later reports bring no new names)
        new_kinds = {row[0] for row in con.execute(
            "SELECT DISTINCT 'unit' FROM new_facts WHERE reporting_unit NOT IN "
            "(SELECT name FROM name_codes WHERE kind = 'unit') UNION ALL "
            "SELECT DISTINCT 'item' FROM new_facts WHERE item NOT IN "
            "(SELECT name FROM name_codes WHERE kind = 'item')").fetchall()}
        for kind, column in (("unit", "reporting_unit"), ("item", "item")):
            if kind not in new_kinds:
                continue
            con.execute(
                "INSERT INTO name_codes SELECT ?, name, CAST((SELECT coalesce(max(code), -1) FROM name_codes "
                "WHERE kind = ?) + row_number() OVER (ORDER BY name) AS INTEGER) "
                f"FROM (SELECT DISTINCT {column} AS name FROM new_facts WHERE {column} NOT IN "
                "(SELECT name FROM name_codes WHERE kind = ?))", [kind, kind, kind])
        # the totals just inserted, summed again from the upload's own rows: no scan of metric_totals
        con.execute("INSERT INTO metric_codes " + _METRIC_CODES_SELECT.format(source=f"({totals})"))
    finally:
        con.unregister("new_facts")


def _changes(old: dict[tuple[str, str], float | str | None], rows: list[FactRow]) -> list[dict[str, Any]]:
    """What the new rows change against the previous version: item, category, old, new."""
    changes = []
    seen = set()
    for r in rows:
        key = (r.item, r.category or "")
        seen.add(key)
        new = float(r.value) if r.value is not None else r.status
        prev = old.get(key)
        if prev != new:
            changes.append({"item": key[0], "category": key[1], "old": prev, "new": new})
    changes += [{"item": k[0], "category": k[1], "old": v, "new": None} for k, v in old.items() if k not in seen]
    return changes


def _has_content(con: duckdb.DuckDBPyConnection) -> bool:
    """True if the database holds anything a person put there (beyond an empty schema)."""
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()").fetchall()}
    if not tables:
        return False
    if not {"uploads", "audit_log", "month_locks"} <= tables:
        return True  # some other database: never replace it quietly
    return con.execute(
        "SELECT (SELECT count(*) FROM uploads) + (SELECT count(*) FROM month_locks) + "
        "(SELECT count(*) FROM audit_log WHERE action <> 'schema.migrate')").fetchall()[0][0] > 0


def _manifest_signature(key: bytes, manifest_bytes: bytes) -> str:
    return hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()


MIN_SIGN_KEY_BYTES = 16


def load_sign_key(path: str | os.PathLike) -> bytes:
    """The backup signing key from the operator's key file (surrounding whitespace ignored)."""
    key_path = Path(path)
    try:
        key = key_path.read_bytes().strip()
    except OSError as exc:
        raise StoreRefused(f"无法读取签名密钥文件“{key_path}”：{exc.strerror or exc}。") from None
    if len(key) < MIN_SIGN_KEY_BYTES:
        raise StoreRefused(f"签名密钥文件“{key_path}”太短（至少 {MIN_SIGN_KEY_BYTES} 个字符），"
                           "可用 openssl rand -hex 32 生成。")
    if key_path.stat().st_mode & 0o077:
        logger.warning("signing key %s is readable by other users", key_path)
    return key


def backup_signature(directory: str | os.PathLike,
                     sign_key: bytes | None) -> Literal["valid", "unsigned", "unchecked"]:
    """Check a backup's manifest signature: valid, unsigned, or unchecked (signed, but no key given).

    Raises StoreRefused when the signature does not match the manifest under this key: the backup
    was not made with this key, or its manifest was changed after it was signed.
    """
    src = Path(directory)
    sig_path = src / SIGNATURE_FILE
    if not sig_path.is_file():
        return "unsigned"
    if sign_key is None:
        return "unchecked"
    try:
        recorded = json.loads(sig_path.read_text(encoding="utf-8"))
        algorithm, signature = recorded["algorithm"], recorded["signature"]
        manifest_bytes = (src / "manifest.json").read_bytes()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise StoreRefused(f"备份签名文件 {SIGNATURE_FILE} 已损坏或缺少清单，没有做任何恢复。") from None
    if algorithm != SIGNATURE_ALGORITHM or not isinstance(signature, str) or not hmac.compare_digest(
            signature, _manifest_signature(sign_key, manifest_bytes)):
        raise StoreRefused("备份签名与清单不符：这份备份不是用本机的密钥制作的，或制作后被改动过"
                           "（即使清单里的校验值都对得上）。没有做任何恢复。")
    return "valid"


def verify_backup(directory: str | os.PathLike) -> dict[str, Any]:
    """Check a backup's manifest and every file's hash; return the manifest or raise StoreRefused."""
    src = Path(directory)
    manifest_path = src / "manifest.json"
    if not manifest_path.is_file():
        raise StoreRefused(f"“{src}”里没有 manifest.json，不是完整的 worktrack 备份目录。")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreRefused(f"备份清单 manifest.json 已损坏：{exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise StoreRefused("manifest.json 不是 worktrack 备份清单。")
    if manifest.get("format_version") != BACKUP_FORMAT_VERSION:
        raise StoreRefused(f"备份格式版本 {manifest.get('format_version')} 不受支持。")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        raise StoreRefused(f"备份的数据库结构版本为 {version}，本程序支持 1 到 {SCHEMA_VERSION}，请升级 worktrack。")
    files, tables = manifest.get("files"), manifest.get("tables")
    if not isinstance(files, dict) or not isinstance(tables, dict):
        raise StoreRefused("备份清单缺少文件列表，无法校验。")
    problems = []
    for table in TABLES:
        if TABLES_SINCE.get(table, 1) > version:
            continue
    for table in _source_tables(version):
        entry = tables.get(table)
        if not isinstance(entry, dict) or entry.get("file") not in files or not isinstance(entry.get("rows"), int):
            problems.append(f"清单里缺少数据表 {table}")
    for rel, expected in sorted(files.items()):
        rel_path = Path(rel)
        if rel_path.is_absolute() or ".." in rel_path.parts:
            problems.append(f"清单里的路径不安全：{rel}")
        elif not (src / rel_path).is_file():
            problems.append(f"缺少文件 {rel}")
        elif _sha256_file(src / rel_path) != expected:
            problems.append(f"文件 {rel} 的校验值与清单不符（被修改或已损坏）")
        elif rel_path.parts[0] == "raw" and rel_path.name != expected:
            problems.append(f"原始文件 {rel} 的内容与文件名里的校验值不符")
    if problems:
        shown = "；".join(problems[:10]) + (f"；另有 {len(problems) - 10} 处" if len(problems) > 10 else "")
        raise StoreRefused(f"备份校验未通过，没有做任何恢复：{shown}。")
    return manifest


def _aside_name(target: Path) -> Path:
    """target.replaced-<China time>[-n]: a name no file has yet, so nothing is ever overwritten."""
    stamp = now_china().strftime("%Y%m%d-%H%M%S")
    candidate = target.with_name(f"{target.name}.replaced-{stamp}")
    n = 1
    while candidate.exists() or candidate.with_name(candidate.name + ".wal").exists():
        n += 1
        candidate = target.with_name(f"{target.name}.replaced-{stamp}-{n}")
    return candidate


def _restore_users_file(backup_copy: Path, target: Path) -> tuple[str, str | None]:
    """Put the backed-up users file at `target` (mode 0600, atomically); a different file already there
    is renamed aside, never deleted. Returns (target, where the old file went or None)."""
    data = backup_copy.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    moved = None
    if target.exists() and target.read_bytes() != data:
        moved = _aside_name(target)
        target.rename(moved)
    tmp = target.with_name(f".{target.name}.restoring-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return str(target), str(moved) if moved else None


def _remove_build(building: Path) -> None:
    """Remove a half-built restore file (our own temporary file, never user data)."""
    for leftover in (building, building.with_name(building.name + ".wal")):
        if leftover.exists():
            leftover.unlink()


def _backup_attachments(con: duckdb.DuckDBPyConnection, version: int, source: Path, out_raw: Path) -> int:
    """Copy every attached file into the backup's raw/ (checked against its hash); return how many."""
    if "register_attachments" not in _source_tables(version):
        return 0
    count = 0
    for (sha,) in con.execute("SELECT DISTINCT sha256 FROM register_attachments ORDER BY sha256").fetchall():
        path = source / sha
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreCorrupt(CORRUPT_MESSAGE.format(path=path, detail="佐证材料文件缺失，备份未完成")) from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise StoreCorrupt(CORRUPT_MESSAGE.format(path=path, detail="佐证材料内容与校验值不符，备份未完成"))
        if not (out_raw / sha).exists():  # the same bytes may also be an uploaded file
            _write_private(out_raw / sha, data)
        count += 1
    return count


def _restore_attachments(src: Path, building: Path, target_raw: Path) -> None:
    """Put the restored database's attachments into raw/ beside it, each checked against its hash."""
    con = duckdb.connect(str(building), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        shas = [r[0] for r in con.execute("SELECT DISTINCT sha256 FROM register_attachments").fetchall()] \
            if "register_attachments" in tables else []
    finally:
        con.close()
    for sha in shas:
        data = (src / "raw" / sha).read_bytes()  # present and verified by verify_backup / _build_from_backup
        if put_raw(target_raw, data) != sha:
            raise StoreRefused(f"备份里的佐证材料 raw/{sha} 内容与校验值不符，没有做任何恢复。")


def _build_from_backup(src: Path, manifest: dict[str, Any], building: Path) -> None:
    """Create the database file `building` holding exactly the backup's data."""
    import pyarrow as pa

    _remove_build(building)
    version = manifest["schema_version"]
    files = set(manifest["files"])
    con = duckdb.connect(str(building))
    try:
        con.execute("BEGIN TRANSACTION")
        # The schema as it was when the backup was taken; later migrations run when the store opens.
        for migration in MIGRATIONS:
            if migration.version <= version:
                con.execute(migration.sql)
        for table in TABLES:
            if table not in manifest["tables"]:
                continue  # introduced after the backup's schema version (checked by verify_backup)
        for table in _source_tables(version):
            parquet = _sql_text(src / manifest["tables"][table]["file"])
            if table == "uploads":
                shas = [r[0] for r in con.execute(f"SELECT DISTINCT sha256 FROM read_parquet({parquet})").fetchall()]
                missing = [s for s in shas if f"raw/{s}" not in files]
                if missing:
                    raise StoreRefused(f"备份缺少 {len(missing)} 个原始文件（如 raw/{missing[0]}），没有做任何恢复。")
            if table == "uploads" and version >= RAW_OUT_VERSION:
                con.execute(f"INSERT INTO uploads BY NAME SELECT * FROM read_parquet({parquet})")
            elif table == "uploads":  # a backup from before the files moved out: the column is filled here
                raw = pa.table({"sha256": pa.array(shas, pa.string()),
                                "raw": pa.array([(src / "raw" / s).read_bytes() for s in shas], pa.binary())})
                con.register("raw_files", raw)
                con.execute(f"INSERT INTO uploads BY NAME SELECT u.*, r.raw FROM read_parquet({parquet}) u "
                            "JOIN raw_files r USING (sha256)")
                con.unregister("raw_files")
            else:
                if table == "register_attachments":
                    missing = [r[0] for r in con.execute(f"SELECT DISTINCT sha256 FROM read_parquet({parquet})"
                                                         ).fetchall() if f"raw/{r[0]}" not in files]
                    if missing:
                        raise StoreRefused(f"备份缺少 {len(missing)} 个佐证材料文件（如 raw/{missing[0]}），没有做任何恢复。")
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet({parquet})")
            got = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            if got != manifest["tables"][table]["rows"]:
                raise StoreRefused(f"数据表 {table} 读出 {got} 行，清单记录为 {manifest['tables'][table]['rows']} 行，"
                                   "没有做任何恢复。")
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for table, rebuild in DERIVED_TABLES.items():
            if table in tables:
                if table == "task_latest" and version < PLAN_MIGRATION.version:
                    rebuild = _TASK_LATEST_REBUILD_ONE_PLAN  # migration 8 adds the plan when the store opens
                con.execute(f"DELETE FROM {table}")  # emptied only inside the file being built
                con.execute(rebuild)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    except BaseException as exc:
        con.close()
        _remove_build(building)
        known = store_error(exc, building)
        if known is None or known is exc:
            raise
        raise known from exc
    con.close()
    _make_database_private(building)

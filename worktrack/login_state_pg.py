"""Sessions and failed-login counters in PostgreSQL, for several app servers sharing one database.

With the PostgreSQL store every server must see every session and every failed login, so the
tables of `worktrack.login_state` (sessions, failures) live in the store's PostgreSQL database
instead of a SQLite file beside the users file, and so does the session signing key (table
login_keys, created once by whichever server comes first) unless WORKTRACK_SESSION_KEY names a key
file the operator deploys to every server. The SQL is login_state's own; each transaction takes a
transaction-level advisory lock first, as SQLite's BEGIN IMMEDIATE takes its writer lock.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Iterator
from typing import Any

from worktrack.login_state import _SCHEMA, LoginState

log = logging.getLogger(__name__)

_PG_SCHEMA = re.sub(r"\bREAL\b", "DOUBLE PRECISION", _SCHEMA) + """;
CREATE TABLE IF NOT EXISTS login_keys (
    name TEXT PRIMARY KEY,
    key TEXT NOT NULL
)"""
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('worktrack.login_state'))"
_SQLITE_FORMS = {"LIMIT -1 OFFSET": "OFFSET"}  # "every row after the first n"


class _Connection:
    """login_state's statements (`?` placeholders, SQLite's LIMIT -1) on a psycopg connection."""

    def __init__(self, conn: Any):
        self._conn = conn

    def execute(self, sql: str, params: tuple | list = ()) -> Any:
        from worktrack.store_pg import pg_statement

        for sqlite, pg in _SQLITE_FORMS.items():
            sql = sql.replace(sqlite, pg)
        return self._conn.execute(pg_statement(sql, True), list(params)) if params else self._conn.execute(sql)


class PgLoginState(LoginState):
    """LoginState whose tables (and, without a configured key file, its signing key) are in PostgreSQL."""

    def __init__(self, url: str, key_path: Any, *, key_in_database: bool = True, **options: Any):
        super().__init__(url, key_path, **options)
        self.url = url
        self.key_in_database = key_in_database

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Connection]:
        from worktrack.store_pg import _pool

        with _pool(self.url).connection() as conn, conn.transaction():
            if not self._ready:
                conn.execute(_LOCK)
                conn.execute(_PG_SCHEMA)
            else:
                conn.execute(_LOCK)
            yield _Connection(conn)
        self._ready = True

    def _signing_key(self) -> bytes:
        if not self.key_in_database:
            return super()._signing_key()
        if self._key is None:
            with self._transaction() as con:
                con.execute("INSERT INTO login_keys VALUES ('session', ?) ON CONFLICT (name) DO NOTHING",
                            (secrets.token_hex(32),))
                self._key = bytes.fromhex(con.execute("SELECT key FROM login_keys WHERE name = 'session'")
                                          .fetchone()[0])
        return self._key

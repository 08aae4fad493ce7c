"""What happens between a password and a page: failed-login counters and signed-in sessions.

Both live in one small SQLite file beside the users file (`<users file>.db`), because they change at
every login or click and are shared by every process serving the dashboard: SQLite gives atomic,
cross-process updates of one row without rewriting the rest (the users file itself is rewritten
whole and only changes when an account does).

Sessions. A browser holds a token `<session id>.<signature>`: a random id and an HMAC-SHA256 of it
under a server key (`<users file>.key`, created on first use with mode 0600; WORKTRACK_SESSION_KEY
names another path). The server keeps one record per session, under the SHA-256 of its id (the file
alone never yields a usable token): username, created, last seen, and the account's session
generation when it was opened. A session ends when it is revoked, when it has been idle longer than
the idle timeout, or when the account's generation moved on (a new password, a disabled account).

Failed logins. Counters are kept per account and client pair, per client, and per account. Waits
are only ever imposed by what the waiting client itself did (its pair and client counters): a
stranger's stream of wrong guesses from elsewhere can never lock an account's owner out. The
account-wide counter only makes each client's free attempts fewer while an account is under attack.
The table is bounded: expired rows go at every write, and beyond `max_rows` the oldest rows go.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SESSION_KEY_ENV = "WORKTRACK_SESSION_KEY"
SESSION_IDLE_ENV = "WORKTRACK_SESSION_IDLE_HOURS"
DEFAULT_IDLE_HOURS = 8.0
# last_seen is written at most this often per session: a click is a read, not a write
TOUCH_INTERVAL = 60.0
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$")

# Throttling: a client's first PAIR_FREE failures on one account are free, then each attempt waits
# BASE_DELAY * 2**k seconds up to MAX_DELAY. A client failing on many accounts is throttled after
# CLIENT_FREE failures. An account with ACCOUNT_ALARM failures in the window (from anywhere) gives
# each client only one free failure.
PAIR_FREE = 3
CLIENT_FREE = 10
ACCOUNT_ALARM = 10
BASE_DELAY = 2.0
MAX_DELAY = 60.0
FAILURE_WINDOW = 15 * 60.0
MAX_ROWS = 20_000
PRUNE_EVERY = 64  # each process enforces the size cap at every PRUNE_EVERY-th counted attempt

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    generation INTEGER NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    revoked REAL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (username);
CREATE INDEX IF NOT EXISTS sessions_by_last_seen ON sessions (last_seen);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last_failure REAL NOT NULL,
    locked_until REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_last_failure ON failures (last_failure);
"""


def idle_timeout_seconds() -> float:
    """The idle timeout: the session_idle_hours setting (WORKTRACK_SESSION_IDLE_HOURS, default 8), read when asked."""
    from worktrack import config

    return config.settings().session_idle_hours * 3600


def _private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist (SQLite's own files inherit the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def load_or_create_key(path: Path) -> bytes:
    """The server's signing key at `path`: 32 random bytes, created once with mode 0600.

    Two processes starting together race on O_EXCL: one writes the key, the other reads it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    for _ in range(50):  # the winner of the race may not have written yet
        text = path.read_text(encoding="ascii").strip()
        if text:
            return bytes.fromhex(text)
        time.sleep(0.02)
    raise RuntimeError(f"session key file {path} is empty")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Throttle:
    """The outcome of counting a login attempt: `wait` seconds to refuse it for (0: check the password)."""

    wait: float
    delay_after_failure: float
    undo: tuple  # the rows as they were, to put back when the password turns out right


class LoginState:
    """Sessions and failed-login counters in one SQLite file; every method is one short transaction."""

    def __init__(
        self,
        path: str | os.PathLike,
        key_path: str | os.PathLike,
        *,
        clock: Callable[[], float] = time.time,
        idle_timeout: float | None = None,
        pair_free: int = PAIR_FREE,
        client_free: int = CLIENT_FREE,
        account_alarm: int = ACCOUNT_ALARM,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        failure_window: float = FAILURE_WINDOW,
        max_rows: int = MAX_ROWS,
        prune_every: int = PRUNE_EVERY,
    ):
        self.path = Path(path)
        self.key_path = Path(key_path)
        self._clock = clock
        self.idle_timeout = idle_timeout if idle_timeout is not None else idle_timeout_seconds()
        self.pair_free = pair_free
        self.client_free = client_free
        self.account_alarm = account_alarm
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.failure_window = failure_window
        self.max_rows = max_rows
        self.prune_every = prune_every
        self._key: bytes | None = None
        self._ready = False  # the tables exist (checked once per instance)
        self._writes = 0

    # -- the file

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: the writer lock is taken up front, across processes)."""
        _private_file(self.path)
        con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("BEGIN IMMEDIATE")
            try:
                if not self._ready:
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        con.execute(statement)
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            self._ready = True
        finally:
            con.close()

    # -- session tokens

    def _signing_key(self) -> bytes:
        if self._key is None:
            self._key = load_or_create_key(self.key_path)
        return self._key

    def _sign(self, session_id: str) -> str:
        return _b64(hmac.new(self._signing_key(), session_id.encode("ascii"), hashlib.sha256).digest())

    def _session_id(self, token: str | None) -> str | None:
        """The session id of a well-formed token with a valid signature, else None."""
        if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
            return None
        session_id, signature = token.split(".")
        return session_id if hmac.compare_digest(signature, self._sign(session_id)) else None

    @staticmethod
    def _id_hash(session_id: str) -> str:
        return hashlib.sha256(session_id.encode("ascii")).hexdigest()

    # -- sessions

    def create_session(self, username: str, generation: int) -> str:
        """Open a session for `username` at account generation `generation`; return its token."""
        session_id = _b64(secrets.token_bytes(24))
        token = f"{session_id}.{self._sign(session_id)}"
        now = self._clock()
        with self._transaction() as con:
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, NULL)",
                        (self._id_hash(session_id), username, int(generation), now, now))
            con.execute("DELETE FROM sessions WHERE last_seen < ?", (now - self.idle_timeout,))
        return token

    def resume_session(self, token: str | None, generation_of: Callable[[str], int | None]) -> str | None:
        """The username of a live session, marking it seen; None if the token is forged, revoked, idle
        too long, or from an older generation of its account (`generation_of(username)`; None: no account)."""
        session_id = self._session_id(token)
        if session_id is None:
            return None
        id_hash = self._id_hash(session_id)
        now = self._clock()
        with self._transaction() as con:
            row = con.execute("SELECT username, generation, last_seen, revoked FROM sessions WHERE id_hash = ?",
                              (id_hash,)).fetchone()
            if row is None:
                return None
            username, generation, last_seen, revoked = row
            if revoked is not None or now - last_seen > self.idle_timeout or generation_of(username) != generation:
                con.execute("UPDATE sessions SET revoked = coalesce(revoked, ?) WHERE id_hash = ?", (now, id_hash))
                return None
            if now - last_seen >= TOUCH_INTERVAL:
                con.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, id_hash))
            return username

    def revoke_session(self, token: str | None) -> None:
        """End one session (its token is refused from now on)."""
        session_id = self._session_id(token)
        if session_id is not None:
            with self._transaction() as con:
                con.execute("UPDATE sessions SET revoked = ? WHERE id_hash = ? AND revoked IS NULL",
                            (self._clock(), self._id_hash(session_id)))

    def revoke_sessions(self, username: str) -> int:
        """End every session of `username`; return how many were live."""
        with self._transaction() as con:
            return con.execute("UPDATE sessions SET revoked = ? WHERE username = ? AND revoked IS NULL",
                               (self._clock(), username)).rowcount

    def live_sessions(self, username: str) -> int:
        """How many sessions of `username` are open and not idle too long."""
        now = self._clock()
        with self._transaction() as con:
            return con.execute("SELECT count(*) FROM sessions WHERE username = ? AND revoked IS NULL "
                               "AND last_seen >= ?", (username, now - self.idle_timeout)).fetchone()[0]

    # -- failed logins

    def count_attempt(self, account: str, client: str) -> Throttle:
        """Refuse the attempt for `wait` seconds, or count it as failed before the password is checked
        (so parallel guesses cannot all slip past); `forgive` takes the count back on success."""
        keys = (f"p:{client}|{account}", f"c:{client}", f"a:{account}")
        now = self._clock()
        with self._transaction() as con:
            rows = {key: self._live(con.execute(
                "SELECT count, last_failure, locked_until FROM failures WHERE key = ?", (key,)).fetchone(), now)
                for key in keys}
            pair, client_row, account_row = (rows[k] for k in keys)
            wait = max((r[2] - now for r in (pair, client_row) if r is not None), default=0.0)
            if wait > 0:
                return Throttle(min(wait, self.max_delay), 0.0, ())
            account_count = (account_row[0] if account_row else 0) + 1
            free = 1 if account_count > self.account_alarm else self.pair_free
            pair_count = (pair[0] if pair else 0) + 1
            client_count = (client_row[0] if client_row else 0) + 1
            pair_delay = self._delay(pair_count, free)
            client_delay = self._delay(client_count, self.client_free)
            for key, count, delay in ((keys[0], pair_count, pair_delay), (keys[1], client_count, client_delay),
                                      (keys[2], account_count, 0.0)):
                con.execute("INSERT INTO failures VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                            "count = excluded.count, last_failure = excluded.last_failure, "
                            "locked_until = excluded.locked_until", (key, count, now, now + delay))
            self._prune(con, now)
        return Throttle(0.0, max(pair_delay, client_delay), tuple(rows.items()))

    def forgive(self, throttle: Throttle) -> None:
        """A right password: forget the failures of the account, take this attempt back from the client."""
        with self._transaction() as con:
            for key, row in throttle.undo:
                if not key.startswith("c:") or row is None:
                    con.execute("DELETE FROM failures WHERE key = ?", (key,))
                else:
                    con.execute("UPDATE failures SET count = ?, last_failure = ?, locked_until = ? WHERE key = ?",
                                (*row, key))

    def failure_count(self, account: str) -> int:
        """Failed logins on `account` within the window, from every client."""
        now = self._clock()
        with self._transaction() as con:
            row = self._live(con.execute("SELECT count, last_failure, locked_until FROM failures WHERE key = ?",
                                         (f"a:{account}",)).fetchone(), now)
        return row[0] if row else 0

    def clear_failures(self, account: str) -> None:
        """Forget every counter about `account` (an administrator's unlock, a new password)."""
        pattern = "p:%|" + account.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._transaction() as con:
            con.execute("DELETE FROM failures WHERE key = ? OR key LIKE ? ESCAPE '\\'", (f"a:{account}", pattern))

    def failure_rows(self) -> int:
        """How many counters are stored (the table is bounded by `max_rows`)."""
        with self._transaction() as con:
            return con.execute("SELECT count(*) FROM failures").fetchone()[0]

    def _live(self, row: tuple | None, now: float) -> tuple | None:
        if row is None or (row[2] <= now and now - row[1] > self.failure_window):
            return None
        return row

    def _delay(self, failures: int, free: int) -> float:
        if failures < free:
            return 0.0
        return min(self.base_delay * 2 ** min(failures - free, 32), self.max_delay)

    def _prune(self, con: sqlite3.Connection, now: float) -> None:
        # Expired rows: an index range scan over rows that are deleted once each.
        con.execute("DELETE FROM failures WHERE last_failure < ? AND locked_until <= ?",
                    (now - self.failure_window, now))
        self._writes += 1
        if self._writes % max(self.prune_every, 1) == 0:
            con.execute("DELETE FROM failures WHERE key IN (SELECT key FROM failures ORDER BY last_failure DESC "
                        "LIMIT -1 OFFSET ?)", (self.max_rows,))

"""Local accounts: the users file, argon2 password hashes, login throttling and permissions.

The dashboard learns who a user is only from its server-side session, set after `authenticate`
succeeds; nothing here trusts a name typed into a widget. The users file holds argon2 hashes,
never a password. Sessions and failed-login counters live beside it in `<users file>.db`
(worktrack.login_state), so that they survive restarts and are shared by every process serving the
dashboard. An account's `session_generation` moves on at a new password and when it is disabled,
which ends every session opened before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import math
import os
import re
import secrets
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

try:
    import fcntl
except ImportError:  # Windows: the in-process lock still serialises the writers of one process
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from worktrack.plan import Plan

Role = Literal["leader", "community", "admin", "reviewer"]
ROLES: tuple[Role, ...] = ("leader", "community", "admin", "reviewer")
ROLE_LABELS: dict[str, str] = {"leader": "街道领导", "community": "社区（上报单位）", "admin": "管理员",
                               "reviewer": "审核人员（街道民政办）"}

USERS_ENV = "WORKTRACK_USERS"
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")
DEMO_PREFIX = "demo-"
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
MAX_DISPLAY_NAME_LENGTH = 40

# Throttling: after MAX_FAILURES consecutive failures each attempt waits BASE_DELAY * 2**k seconds,
# capped at MAX_DELAY; counters older than FAILURE_WINDOW (and not locking) are forgotten.
MAX_FAILURES = 3
BASE_DELAY = 2.0
MAX_DELAY = 60.0
FAILURE_WINDOW = 15 * 60.0

LOGIN_FAILED = "用户名或密码错误"
LOGIN_THROTTLED = "登录失败次数过多，请 {seconds} 秒后再试。"
LOGIN_DISABLED = "该账号已停用，请联系管理员。"
LOGIN_OK = "登录成功"

_FILE_HEADER = (
    "# worktrack accounts, managed with `python -m worktrack users ...`.\n"
    "# Passwords are stored as argon2 hashes only. Keep this file out of version control.\n"
)


def users_path(explicit: str | os.PathLike | None = None) -> Path:
    """The users file: explicit argument, then WORKTRACK_USERS, then data/users.yaml in the project."""
    from worktrack import config

    return config.users_path(explicit)


# ---------------------------------------------------------------------------
# Values


class AccountError(ValueError):
    """An account change was refused; `code` is stable, `message` is Chinese and shown to the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class UserStoreError(RuntimeError):
    """The users file exists but cannot be read as a users file."""


@dataclass(frozen=True)
class User:
    """An account as the rest of worktrack sees it: never carries the password hash."""

    username: str
    display_name: str
    role: Role
    unit: str | None = None  # canonical reporting-unit name, community accounts only
    disabled: bool = False
    created_at: dt.datetime | None = None
    password_changed_at: dt.datetime | None = None
    demo: bool = False  # a demo-mode identity: no password, never stored
    email: str | None = None  # for single sign-on: the identity provider's email maps to this account

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (the `users list --json` contract)."""
        return {
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "unit": self.unit,
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "password_changed_at": self.password_changed_at.isoformat() if self.password_changed_at else None,
        }


@dataclass(frozen=True)
class AuthResult:
    """Outcome of one login attempt; `retry_after` is whole seconds to wait (0: may retry now)."""

    ok: bool
    user: User | None
    message: str
    retry_after: int = 0


# ---------------------------------------------------------------------------
# Validation


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: compare and store them folded to lower case."""
    return unicodedata.normalize("NFKC", str(username)).strip().lower()


def check_username(username: str) -> str:
    """Return the normalised username or raise AccountError('invalid-username')."""
    name = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise AccountError(
            "invalid-username",
            f"用户名“{username}”不符合要求：以英文字母开头，只含英文字母、数字、下划线、点或连字符，长度 2–32 位",
        )
    if name.startswith(DEMO_PREFIX):
        raise AccountError("invalid-username", f"以“{DEMO_PREFIX}”开头的用户名留给演示模式，请换一个")
    return name


def password_problem(password: str, username: str = "") -> str | None:
    """The first way `password` breaks the password policy, in Chinese, or None if it is acceptable."""
    if not isinstance(password, str) or not password:
        return "密码不能为空"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码最多 {MAX_PASSWORD_LENGTH} 位"
    if password.isdigit():
        return "密码不能全是数字"
    if username and password.strip().lower() == normalize_username(username):
        return "密码不能与用户名相同"
    return None


def resolve_unit(role: str, unit: str | None, plan: Plan | Iterable[str] | None) -> str | None:
    """The canonical reporting unit for an account of `role`, or raise AccountError.

    `plan` is a Plan (names, ids and aliases resolve through `plan.find_unit`) or the valid unit
    names themselves (exact match).
    """
    if role not in ROLES:
        raise AccountError("invalid-role", f"角色“{role}”不存在，只能是 {'、'.join(ROLES)}")
    unit = (unit or "").strip() or None
    if role != "community":
        if unit:
            raise AccountError("unexpected-unit", "只有社区账号绑定上报单位，领导和管理员账号不要填写单位")
        return None
    if unit is None:
        raise AccountError("missing-unit", "社区账号必须绑定一个上报单位")
    if plan is None:
        raise TypeError("a community account needs plan= (a Plan or the valid reporting-unit names)")
    if hasattr(plan, "find_unit"):
        found = plan.find_unit(unit)
        names = [u.name for u in plan.units]
        if found is not None and found.name in names:
            return found.name
    else:
        names = list(plan)
        folded = unicodedata.normalize("NFKC", unit)
        if folded in names:
            return folded
    raise AccountError("unknown-unit", f"“{unit}”不是计划中的上报单位，可选：{'、'.join(names)}")


def _fold_email(email: Any) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower() if isinstance(email, str) else ""


def _clean_display_name(display_name: str | None, fallback: str) -> str:
    text = " ".join(str(display_name or "").split())
    if not text:
        return fallback
    if len(text) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountError("invalid-display-name", f"显示名最多 {MAX_DISPLAY_NAME_LENGTH} 个字")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise AccountError("invalid-display-name", "显示名不能包含控制字符")
    return text


# ---------------------------------------------------------------------------
# Files: one lock serialises every writer, every write is atomic


_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    key = os.path.abspath(path)
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(key, threading.Lock())


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold the in-process lock and an flock on `lock_path` (other processes) for a read-modify-write."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock(lock_path):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to a temp file beside `path`, fsync it, then rename it over `path` (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    # the rename itself must reach the disk, or a crash could bring back the old file
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(value)
    return None


# ---------------------------------------------------------------------------
# The store


class UserStore:
    """Accounts in a YAML users file; sessions and failed-login counters in `<users file>.db` beside it."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
        max_failures: int = MAX_FAILURES,
        base_delay: float = BASE_DELAY,
        max_delay: float = MAX_DELAY,
        failure_window: float = FAILURE_WINDOW,
        idle_timeout: float | None = None,
        key_path: str | os.PathLike | None = None,
    ):
        from worktrack.login_state import LoginState

        self.path = users_path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.state_path = self.path.with_name(self.path.name + ".db")
        from worktrack import config

        configured = config.settings().session_key
        self.key_path = Path(key_path or configured or self.path.with_name(self.path.name + ".key"))
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        options = dict(clock=clock, idle_timeout=idle_timeout, pair_free=max_failures, base_delay=base_delay,
                       max_delay=max_delay, failure_window=failure_window)
        database = config.db_path()
        if isinstance(database, str):  # PostgreSQL: every app server must see the same sessions and counters
            from worktrack.login_state_pg import PgLoginState

            self.state = PgLoginState(database, self.key_path, key_in_database=not (key_path or configured),
                                      **options)
        else:
            self.state = LoginState(self.state_path, self.key_path, **options)
        self._dummy: str | None = None

    # -- reading

    def get(self, username: str) -> User | None:
        """The account named `username` (case-insensitive), or None."""
        name = normalize_username(username)
        record = self._read_users().get(name)
        return self._user(name, record) if record is not None else None

    def list(self) -> list[User]:
        """Every account, sorted by username."""
        return [self._user(name, rec) for name, rec in sorted(self._read_users().items())]

    def find_by_email(self, email: str) -> User | None:
        """The account whose `email` field matches (case-insensitive), for single sign-on; None if none.

        Two accounts claiming the same email match neither: an ambiguous mapping must not pick one.
        """
        wanted = _fold_email(email)
        if not wanted:
            return None
        found = [(name, rec) for name, rec in self._read_users().items() if _fold_email(rec.get("email")) == wanted]
        return self._user(*found[0]) if len(found) == 1 else None

    # -- changing accounts

    def add(
        self,
        username: str,
        password: str,
        role: Role,
        unit: str | None = None,
        display_name: str | None = None,
        *,
        plan: Plan | Iterable[str] | None = None,
    ) -> User:
        """Create an account; community accounts need `plan` to check and canonicalise `unit`."""
        name = check_username(username)
        canonical_unit = resolve_unit(role, unit, plan)
        display = _clean_display_name(display_name, name)
        if problem := password_problem(password, name):
            raise AccountError("weak-password", problem)
        if name in self._read_users():
            raise AccountError("duplicate-user", f"用户名“{name}”已存在")
        password_hash = self._hasher.hash(password)  # slow on purpose: outside the lock
        with self._editing_users() as records:
            if name in records:
                raise AccountError("duplicate-user", f"用户名“{name}”已存在")
            now = self._now_text()
            records[name] = {
                "display_name": display,
                "role": role,
                "unit": canonical_unit,
                "disabled": False,
                "password_hash": password_hash,
                "created_at": now,
                "password_changed_at": now,
            }
            return self._user(name, records[name])

    def set_password(self, username: str, password: str) -> User:
        """Replace an account's password (policy applies) and clear its failed-login counter."""
        name = self._existing_name(username)
        if problem := password_problem(password, name):
            raise AccountError("weak-password", problem)
        password_hash = self._hasher.hash(password)
        with self._editing_users() as records:
            record = self._record(records, name)
            record["password_hash"] = password_hash
            record["password_changed_at"] = self._now_text()
            _bump_generation(record)  # every session opened with the old password ends
            user = self._user(name, record)
        self.clear_failures(name)
        return user

    def disable(self, username: str) -> User:
        """Stop an account from logging in; nothing is deleted."""
        return self._set_disabled(username, True)

    def enable(self, username: str) -> User:
        """Let a disabled account log in again, with a fresh failed-login counter."""
        user = self._set_disabled(username, False)
        self.clear_failures(user.username)
        return user

    def set_unit(self, username: str, unit: str | None, *, plan: Plan | Iterable[str] | None = None) -> User:
        """Bind a community account to another reporting unit (checked against `plan`)."""
        name = self._existing_name(username)
        record = self._read_users()[name]
        canonical = resolve_unit(str(record.get("role")), unit, plan)
        with self._editing_users() as records:
            record = self._record(records, name)
            record["unit"] = canonical
            return self._user(name, record)

    def clear_failures(self, username: str) -> None:
        """Forget the failed-login counters of `username` (an administrator's unlock)."""
        self.state.clear_failures(self._throttle_key(username))

    # -- sessions

    def session_generation(self, username: str) -> int | None:
        """The account's session generation (moves on at a new password or when disabled); None: no account."""
        record = self._read_users().get(normalize_username(username))
        if record is None:
            return None
        try:
            return int(record.get("session_generation", 0))
        except (TypeError, ValueError):
            return 0

    def start_session(self, user: User) -> str:
        """Open a server-side session for `user` and return its signed token (for the browser's cookie)."""
        generation = self.session_generation(user.username)
        return self.state.create_session(user.username, generation if generation is not None else -1)

    def resume_session(self, token: str | None) -> User | None:
        """The account behind a session token, read afresh; None if the session or the account has ended."""
        username = self.state.resume_session(token, self.session_generation)
        if username is None:
            return None
        user = self.get(username)
        if user is None or user.disabled:
            return None
        return user

    def end_session(self, token: str | None) -> None:
        """Revoke one session token."""
        self.state.revoke_session(token)

    def end_sessions(self, username: str) -> int:
        """Revoke every session of `username` (signing out ends the account's sessions everywhere)."""
        return self.state.revoke_sessions(normalize_username(username))

    # -- logging in

    def authenticate(self, username: str, password: str, client: str | None = None) -> AuthResult:
        """Check a login; throttles failures per account and client and never says which part was wrong.

        `client` identifies where the attempt comes from (an IP address); waits are imposed only on
        the client that failed, so someone else's wrong guesses never lock the owner out.
        """
        key = self._throttle_key(username)
        throttle = self.state.count_attempt(key, _client_key(client))
        if throttle.wait > 0:
            wait = max(1, math.ceil(throttle.wait))
            return AuthResult(False, None, LOGIN_THROTTLED.format(seconds=wait), wait)
        wait = math.ceil(throttle.delay_after_failure)

        name = normalize_username(username)
        record = self._read_users().get(name) if USERNAME_PATTERN.fullmatch(name) else None
        if not self._verify(record, password):
            message = LOGIN_FAILED + ("。" + LOGIN_THROTTLED.format(seconds=wait) if wait else "")
            return AuthResult(False, None, message, wait)
        assert record is not None
        if record.get("disabled"):
            return AuthResult(False, None, LOGIN_DISABLED, wait)
        self.state.forgive(throttle)
        self._rehash_if_needed(name, record["password_hash"], password)
        return AuthResult(True, self._user(name, record), LOGIN_OK, 0)

    def failure_count(self, username: str) -> int:
        """Failed logins currently counted against `username`, from every client."""
        return self.state.failure_count(self._throttle_key(username))

    # -- internals

    def _existing_name(self, username: str) -> str:
        name = normalize_username(username)
        if name not in self._read_users():
            raise AccountError("unknown-user", f"没有用户名为“{username}”的账号")
        return name

    @staticmethod
    def _record(records: dict[str, dict], name: str) -> dict:
        if name not in records:
            raise AccountError("unknown-user", f"没有用户名为“{name}”的账号")
        return records[name]

    def _set_disabled(self, username: str, disabled: bool) -> User:
        name = normalize_username(username)
        with self._editing_users() as records:
            record = self._record(records, name)
            if disabled and not record.get("disabled"):
                _bump_generation(record)
            record["disabled"] = disabled
            return self._user(name, record)

    def _now_text(self) -> str:
        return dt.datetime.fromtimestamp(self._clock(), tz=dt.UTC).astimezone().isoformat(
            timespec="seconds")

    def _user(self, name: str, record: dict) -> User:
        role = record.get("role")
        if role not in ROLES:
            raise UserStoreError(f"账号文件 {self.path} 中用户“{name}”的角色“{role}”无效，只能是 {'、'.join(ROLES)}")
        return User(
            username=name,
            display_name=str(record.get("display_name") or name),
            role=role,
            unit=record.get("unit") or None,
            disabled=bool(record.get("disabled", False)),
            created_at=_timestamp(record.get("created_at")),
            password_changed_at=_timestamp(record.get("password_changed_at")),
            email=_fold_email(record.get("email")) or None,
        )

    def _read_users(self) -> dict[str, dict]:
        # Writers replace the file atomically, so a reader sees either the old or the new file whole.
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise UserStoreError(f"账号文件 {self.path} 格式错误：{exc}") from None
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(users or {}, dict):
            raise UserStoreError(f"账号文件 {self.path} 格式错误：应包含 users: 用户名 → 账号设置")
        records: dict[str, dict] = {}
        for name, record in (users or {}).items():
            if not isinstance(record, dict):
                raise UserStoreError(f"账号文件 {self.path} 中用户“{name}”的设置格式错误")
            records[normalize_username(name)] = record
        return records

    @contextlib.contextmanager
    def _editing_users(self) -> Iterator[dict[str, dict]]:
        """Read-modify-write the users file under the lock; an exception inside writes nothing."""
        with _exclusive(self.lock_path):
            records = self._read_users()
            yield records
            body = yaml.safe_dump({"version": 1, "users": records}, allow_unicode=True, sort_keys=False)
            _atomic_write(self.path, _FILE_HEADER + body)

    @staticmethod
    def _throttle_key(username: str) -> str:
        # Unknown names are throttled too, so the throttle does not reveal which accounts exist.
        return normalize_username(username)[:64]

    def _verify(self, record: dict | None, password: str) -> bool:
        password_hash = record.get("password_hash") if record else None
        if not isinstance(password_hash, str) or not isinstance(password, str):
            # Unknown users cost the same argon2 work as known ones.
            with contextlib.suppress(VerificationError, InvalidHashError, TypeError):
                self._hasher.verify(self._dummy_hash(), password if isinstance(password, str) else "")
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy

    def _rehash_if_needed(self, name: str, password_hash: str, password: str) -> None:
        """Upgrade a hash made with older argon2 parameters, now that the password is known."""
        try:
            if not self._hasher.check_needs_rehash(password_hash):
                return
        except InvalidHashError:
            return
        new_hash = self._hasher.hash(password)
        with self._editing_users() as records:
            record = records.get(name)
            if record is not None and record.get("password_hash") == password_hash:
                record["password_hash"] = new_hash


def _bump_generation(record: dict) -> None:
    try:
        record["session_generation"] = int(record.get("session_generation", 0)) + 1
    except (TypeError, ValueError):
        record["session_generation"] = 1


def _client_key(client: str | None) -> str:
    # One key for every client without an address (local use, tests): they share one counter.
    return (str(client).strip()[:64] or "-") if client else "-"


def authenticate(username: str, password: str, *, store: UserStore | None = None) -> AuthResult:
    """Check a login against `store` (default: the users file from WORKTRACK_USERS or data/users.yaml)."""
    return (store or UserStore()).authenticate(username, password)


# ---------------------------------------------------------------------------
# Permissions


def _active(user: User | None) -> bool:
    return user is not None and not user.disabled and user.role in ROLES


def can_upload(user: User | None, unit_name: str | None) -> bool:
    """Community accounts upload for their own unit only; admins for any unit; leaders never."""
    if not _active(user) or not unit_name:
        return False
    assert user is not None
    if user.role == "admin":
        return True
    return user.role == "community" and user.unit is not None and user.unit == unit_name


def can_view(user: User | None, unit_name: str | None = None) -> bool:
    """Leaders and admins see every unit; a community sees street-wide views (None) and its own unit."""
    if not _active(user):
        return False
    assert user is not None
    if user.role in ("leader", "admin", "reviewer"):
        return True
    return unit_name is None or (user.unit is not None and unit_name == user.unit)


def can_admin(user: User | None) -> bool:
    """Rollback, month locks and accounts: admins only."""
    return _active(user) and user.role == "admin"  # type: ignore[union-attr]


def reviewer_unit(user: User | None, plan: Plan | None) -> str | None:
    """The unit a user's own reports come from: a community's unit; a reviewer works for the street office."""
    if user is None:
        return None
    if user.unit:
        return user.unit
    if user.role == "reviewer" and plan is not None:
        return next((u.name for u in plan.units if u.kind == "street_office"), None)
    return None


def can_review(user: User | None, unit_name: str | None = None, plan: Plan | None = None) -> bool:
    """Approve or return monthly reports: reviewers (街道民政办 staff) and admins; never a report of the
    reviewer's own unit (with `plan`, a reviewer's unit is the street office)."""
    if not _active(user) or user.role not in ("reviewer", "admin"):  # type: ignore[union-attr]
        return False
    return unit_name is None or unit_name != reviewer_unit(user, plan)


def can_export(user: User | None) -> bool:
    """Meeting packs and exports: leaders and admins."""
    return _active(user) and user.role in ("leader", "admin")  # type: ignore[union-attr]


def uploadable_units(user: User | None, plan: Plan) -> list[str]:
    """The reporting units `user` may upload for, in plan order (for the upload page's unit picker)."""
    return [u.name for u in plan.units if can_upload(user, u.name)]


def visible_note_units(user: User | None, units: Iterable[str]) -> frozenset[str]:
    """Of `units`, those whose task notes (备注) `user` may read: leaders and admins every unit, a
    community account its own unit only, nobody else none. Statuses and figures are not notes: every
    signed-in role sees every unit's (see the README's table of what each role reads)."""
    if not _active(user):
        return frozenset()
    assert user is not None
    if user.role in ("leader", "admin"):
        return frozenset(units)
    return frozenset(u for u in units if user.unit is not None and u == user.unit)


def with_visible_notes(user: User | None, report: Any) -> Any:
    """A progress report (its `tasks` table: reporting_unit, note) with the notes `user` may not read
    emptied; the same report when nothing is hidden."""
    tasks = report.tasks
    if not len(tasks) or "note" not in tasks:
        return report
    hidden = ~tasks["reporting_unit"].isin(visible_note_units(user, tasks["reporting_unit"].unique()))
    if not hidden.any():
        return report
    tasks = tasks.copy()
    tasks["note"] = tasks["note"].where(~hidden, None)
    return dataclasses.replace(report, tasks=tasks)


class Permissions:
    """The permission checks under one name, for callers that prefer `Permissions.can_upload(...)`."""

    can_upload = staticmethod(can_upload)
    can_view = staticmethod(can_view)
    can_admin = staticmethod(can_admin)
    can_export = staticmethod(can_export)
    can_review = staticmethod(can_review)
    uploadable_units = staticmethod(uploadable_units)
    visible_note_units = staticmethod(visible_note_units)


# ---------------------------------------------------------------------------
# Demo mode


def demo_users(plan: Plan) -> list[User]:
    """In-memory identities for the demo role picker: a leader, an admin, one per community.

    They have no password and are never written to the users file; the `demo-` prefix is
    reserved so no real account can share their names.
    """
    users = [
        User(f"{DEMO_PREFIX}leader", "街道领导（演示）", "leader", demo=True),
        User(f"{DEMO_PREFIX}admin", "管理员（演示）", "admin", demo=True),
    ]
    for unit in plan.communities:
        users.append(User(f"{DEMO_PREFIX}{unit.id.replace('_', '-')}", f"{unit.name}（演示）", "community",
                          unit.name, demo=True))
    return users


# Demo data and real data never share a database. A database is a demo database when the `demo`
# command made it: the demo loader records a `db.demo` row in the store's audit log before loading
# (Store.mark_demo), and nothing else writes that action. File names (of the database or of an
# upload) say nothing. Inside a demo database an upload counts as demo data when the demo loader
# wrote it (file demo_*, sender <unit id>_demo) or a demo identity sent it (sender demo-*).
DEMO_ACTION = "db.demo"
DEMO_FILE_PREFIX = "demo_"
DEMO_LOADER_SUFFIX = "_demo"


def is_demo_upload(file_name: str, submitted_by: str) -> bool:
    """True for an upload made by the demo loader or by a demo-mode identity."""
    sender = str(submitted_by or "")
    loader = str(file_name or "").startswith(DEMO_FILE_PREFIX) and sender.endswith(DEMO_LOADER_SUFFIX)
    return loader or sender.startswith(DEMO_PREFIX)


def real_upload_count(uploads: Any) -> int:
    """How many rows of an uploads table (columns file_name, submitted_by) are not demo data."""
    return sum(not is_demo_upload(f, s) for f, s in zip(uploads["file_name"], uploads["submitted_by"], strict=True))


def demo_upload_count(uploads: Any) -> int:
    """How many rows of an uploads table are demo data."""
    return len(uploads) - real_upload_count(uploads)


def demo_write_refusal(demo_identity: bool, made_by_demo: bool, uploads: Callable[[], Any]) -> str | None:
    """Why a sender may not write to this database at all, as a code, or None.

    "demo-database": a real account (or the command line) writing into a database the demo command
    made; "real-database": a demo identity writing into any other database, or into one holding real
    uploads. `uploads` returns the uploads table and is only called for demo identities.
    """
    if not demo_identity:
        return "demo-database" if made_by_demo else None
    if not made_by_demo or real_upload_count(uploads()):
        return "real-database"
    return None


def demo_database_problem(db_path: str | os.PathLike, made_by_demo: bool, uploads: Callable[[], Any]) -> str | None:
    """Why demo mode (password-free role picker) must not run on this database, or None if it may.

    Demo mode needs a database the `demo` command made (`made_by_demo`, from Store.made_by_demo) that
    holds no real upload: otherwise anyone could pick the administrator role and change real figures.
    `uploads` returns the uploads table; it is only called for a demo database.
    """
    name = Path(db_path).name
    if not made_by_demo:
        return ("演示模式只能使用演示数据库（由 demo 命令建立，如 python -m worktrack --db data/demo.duckdb demo），"
                f"当前数据库 {name} 不是。已关闭演示模式，请用账号登录。")
    real = real_upload_count(uploads())
    if real:
        return (f"数据库 {name} 里有 {real} 份真实上报，不能作为演示数据库使用。已关闭演示模式，请用账号登录；"
                "演示请另用一个新的演示数据库。")
    return None

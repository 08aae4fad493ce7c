"""Local accounts: the users file, argon2 password hashes, login throttling and permissions.

The dashboard learns who a user is only from its server-side session, set after `authenticate`
succeeds; nothing here trusts a name typed into a widget. The users file holds argon2 hashes,
never a password. Failed-login counters live in a small state file beside it so that throttling
survives restarts and is shared by every process serving the dashboard.
"""

from __future__ import annotations

import contextlib
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
    """Accounts in a YAML users file, plus failed-login counters in `<users file>.state`."""

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
    ):
        self.path = users_path(path)
        self.state_path = self.path.with_name(self.path.name + ".state")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self.max_failures = max_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.failure_window = failure_window
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

    def clear_failures(self, username: str) -> None:
        """Forget the failed-login counter of `username` (an administrator's unlock)."""
        key = self._throttle_key(username)
        with _exclusive(self.lock_path):
            state = self._read_state()
            if state.pop(key, None) is not None:
                self._write_state(state, self._clock())

    # -- logging in

    def authenticate(self, username: str, password: str) -> AuthResult:
        """Check a login; throttles repeated failures per account and never says which part was wrong."""
        key = self._throttle_key(username)
        with _exclusive(self.lock_path):
            now = self._clock()
            state = self._read_state()
            entry = self._live_entry(state.get(key), now)
            if entry is not None and entry["locked_until"] > now:
                wait = max(1, math.ceil(min(entry["locked_until"] - now, self.max_delay)))
                return AuthResult(False, None, LOGIN_THROTTLED.format(seconds=wait), wait)
            # Count the attempt as failed before checking it, so parallel guesses cannot all slip
            # past the throttle; a success below takes it back.
            count = (entry["count"] if entry else 0) + 1
            delay = self._delay_after(count)
            state[key] = {"count": count, "last_failure": now, "locked_until": now + delay}
            self._write_state(state, now)
        wait = math.ceil(delay)

        name = normalize_username(username)
        record = self._read_users().get(name) if USERNAME_PATTERN.fullmatch(name) else None
        if not self._verify(record, password):
            message = LOGIN_FAILED + ("。" + LOGIN_THROTTLED.format(seconds=wait) if wait else "")
            return AuthResult(False, None, message, wait)
        assert record is not None
        if record.get("disabled"):
            return AuthResult(False, None, LOGIN_DISABLED, wait)
        self.clear_failures(name)
        self._rehash_if_needed(name, record["password_hash"], password)
        return AuthResult(True, self._user(name, record), LOGIN_OK, 0)

    def failure_count(self, username: str) -> int:
        """Consecutive failed logins currently counted against `username`."""
        entry = self._live_entry(self._read_state().get(self._throttle_key(username)), self._clock())
        return entry["count"] if entry else 0

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

    def _read_state(self) -> dict[str, dict]:
        # The counters are advisory: an unreadable state file must not lock everyone out.
        try:
            data = yaml.safe_load(self.state_path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            return {}
        failures = data.get("failures") if isinstance(data, dict) else None
        if not isinstance(failures, dict):
            return {}
        state = {}
        for key, entry in failures.items():
            try:
                state[str(key)] = {"count": int(entry["count"]), "last_failure": float(entry["last_failure"]),
                                   "locked_until": float(entry["locked_until"])}
            except (TypeError, KeyError, ValueError):
                continue
        return state

    def _write_state(self, state: dict[str, dict], now: float) -> None:
        live = {k: v for k, v in state.items() if self._live_entry(v, now) is not None}
        body = yaml.safe_dump({"version": 1, "failures": live}, allow_unicode=True, sort_keys=True)
        _atomic_write(self.state_path, "# worktrack failed-login counters; safe to delete.\n" + body)

    def _live_entry(self, entry: dict | None, now: float) -> dict | None:
        if entry is None:
            return None
        if entry["locked_until"] <= now and now - entry["last_failure"] > self.failure_window:
            return None
        return entry

    def _delay_after(self, failures: int) -> float:
        if failures < self.max_failures:
            return 0.0
        return min(self.base_delay * 2 ** min(failures - self.max_failures, 32), self.max_delay)

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


class Permissions:
    """The permission checks under one name, for callers that prefer `Permissions.can_upload(...)`."""

    can_upload = staticmethod(can_upload)
    can_view = staticmethod(can_view)
    can_admin = staticmethod(can_admin)
    can_export = staticmethod(can_export)
    can_review = staticmethod(can_review)
    uploadable_units = staticmethod(uploadable_units)


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


# Demo data and real data never share a database. An upload counts as demo data when the demo loader
# wrote it (file demo_*, sender <unit id>_demo) or a demo identity sent it (sender demo-*).
DEMO_DB_MARK = "demo"
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


def demo_database_problem(db_path: str | os.PathLike, uploads: Callable[[], Any]) -> str | None:
    """Why demo mode (password-free role picker) must not run on this database, or None if it may.

    Demo mode needs a database whose file name says it is a demo database and that holds no real
    upload: otherwise anyone could pick the administrator role and change real figures. `uploads`
    returns the uploads table; it is only called when the file name passes.
    """
    name = Path(db_path).name
    if DEMO_DB_MARK not in name.lower():
        return (f"演示模式只能使用演示数据库（文件名含“{DEMO_DB_MARK}”，如 data/demo.duckdb），"
                f"当前数据库是 {name}。已关闭演示模式，请用账号登录。")
    real = real_upload_count(uploads())
    if real:
        return (f"数据库 {name} 里有 {real} 份真实上报，不能作为演示数据库使用。已关闭演示模式，请用账号登录；"
                "演示请另用一个新的演示数据库。")
    return None

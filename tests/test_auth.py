"""Accounts: the users file, hashes only, login throttling, permissions and the `users` CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import threading

import pytest
import yaml
from argon2 import PasswordHasher

from tests.conftest import PLAN_PATH, ROOT
from worktrack.auth import (
    LOGIN_FAILED,
    AccountError,
    Permissions,
    User,
    UserStore,
    can_admin,
    can_export,
    can_upload,
    can_view,
    demo_users,
    password_problem,
    uploadable_units,
    users_path,
)
from worktrack.login_state import MAX_ROWS, PRUNE_EVERY

PASSWORD = "Jinpen-ling-2023"
CHINESE_PASSWORD = "金盆岭街道民政办2023"


class FakeClock:
    """A clock the test moves by hand: throttling is tested without sleeping."""

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingHasher(PasswordHasher):
    """Cheap argon2 parameters for speed, and a count of verify calls."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verify_calls = 0

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verify_calls += 1
        return super().verify(hash, password)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def store(tmp_path, clock, hasher) -> UserStore:
    return UserStore(tmp_path / "users.yaml", hasher=hasher, clock=clock)


def _file_bytes(store: UserStore) -> bytes:
    return b"".join(p.read_bytes() for p in (store.path, store.state_path, store.lock_path) if p.exists())


# ---------------------------------------------------------------------------
# add / list / disable


def test_add_list_get_disable_enable(store, plan):
    leader = store.add("Leader01", PASSWORD, "leader", display_name="王主任")
    admin = store.add("admin", PASSWORD, "admin")
    community = store.add("htl", PASSWORD, "community", unit="黄土岭社区", plan=plan)

    assert leader.username == "leader01" and leader.display_name == "王主任" and leader.unit is None
    assert admin.display_name == "admin"
    assert community.unit == "黄土岭社区" and community.role == "community"
    assert leader.created_at is not None and leader.password_changed_at == leader.created_at
    assert [u.username for u in store.list()] == ["admin", "htl", "leader01"]
    assert store.get("LEADER01") == leader
    assert store.get("nobody") is None

    assert store.disable("htl").disabled
    assert store.get("htl").disabled
    assert not store.enable("htl").disabled
    assert not store.get("htl").disabled


def test_new_store_on_same_file_sees_accounts(store, tmp_path):
    store.add("admin", PASSWORD, "admin")
    again = UserStore(tmp_path / "users.yaml")
    assert [u.username for u in again.list()] == ["admin"]


def test_duplicate_username_is_rejected_case_insensitively(store):
    store.add("admin", PASSWORD, "admin")
    with pytest.raises(AccountError) as exc:
        store.add("ADMIN", "Another-pass-1", "leader")
    assert exc.value.code == "duplicate-user"


@pytest.mark.parametrize("username", ["a", "1abc", "张三", "has space", "x" * 33, "", "demo-leader", "a/b"])
def test_invalid_usernames_are_rejected(store, username):
    with pytest.raises(AccountError) as exc:
        store.add(username, PASSWORD, "leader")
    assert exc.value.code == "invalid-username"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("", "密码不能为空"),
        ("Ab1-xyz", "密码至少 8 位"),
        ("12345678", "密码不能全是数字"),
        ("２０２３０５０１", "密码不能全是数字"),  # full-width digits are digits too
        ("wangfang", "密码不能与用户名相同"),
        ("WangFang", "密码不能与用户名相同"),
        ("x" * 257, "密码最多 256 位"),
    ],
)
def test_password_policy(store, password, problem):
    assert password_problem(password, "wangfang") == problem
    with pytest.raises(AccountError) as exc:
        store.add("wangfang", password, "leader")
    assert exc.value.code == "weak-password" and exc.value.message == problem
    assert not store.path.exists()


@pytest.mark.parametrize("password", ["abcdefgh", "1234567a", CHINESE_PASSWORD, "pass word 1"])
def test_acceptable_passwords(password):
    assert password_problem(password, "wangfang") is None


def test_unknown_account_changes_are_rejected(store):
    for change in (lambda: store.disable("ghost"), lambda: store.enable("ghost"),
                   lambda: store.set_password("ghost", PASSWORD)):
        with pytest.raises(AccountError) as exc:
            change()
        assert exc.value.code == "unknown-user"


def test_set_password_replaces_the_hash(store):
    before = store.add("admin", PASSWORD, "admin")
    hash_before = yaml.safe_load(store.path.read_text("utf-8"))["users"]["admin"]["password_hash"]
    store.set_password("admin", "A-new-pass-42")
    hash_after = yaml.safe_load(store.path.read_text("utf-8"))["users"]["admin"]["password_hash"]
    assert hash_after != hash_before
    assert not store.authenticate("admin", PASSWORD).ok
    assert store.authenticate("admin", "A-new-pass-42").ok
    assert store.get("admin").created_at == before.created_at


# ---------------------------------------------------------------------------
# community accounts need a valid reporting unit


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("黄土岭社区", "黄土岭社区"), ("黄土岭", "黄土岭社区"), ("黃土嶺社區", "黄土岭社区"),
     ("huangtuling", "黄土岭社区"), ("街道民政办", "街道民政办"), ("民政办", "街道民政办")],
)
def test_community_unit_is_resolved_and_stored_canonically(store, plan, typed, canonical):
    user = store.add("staff", PASSWORD, "community", unit=typed, plan=plan)
    assert user.unit == canonical
    assert yaml.safe_load(store.path.read_text("utf-8"))["users"]["staff"]["unit"] == canonical


@pytest.mark.parametrize(
    ("role", "unit", "code"),
    [("community", None, "missing-unit"), ("community", "", "missing-unit"),
     ("community", "月亮湾社区", "unknown-unit"), ("community", "各社区", "unknown-unit"),
     ("leader", "黄土岭社区", "unexpected-unit"), ("admin", "黄土岭社区", "unexpected-unit"),
     ("owner", None, "invalid-role")],
)
def test_unit_rules_by_role(store, plan, role, unit, code):
    with pytest.raises(AccountError) as exc:
        store.add("staff", PASSWORD, role, unit=unit, plan=plan)
    assert exc.value.code == code
    assert store.list() == []


def test_community_unit_against_a_set_of_names(store):
    assert store.add("staff", PASSWORD, "community", unit="天剑社区", plan={"天剑社区", "涂新社区"}).unit == "天剑社区"
    with pytest.raises(AccountError) as exc:
        store.add("other", PASSWORD, "community", unit="黄土岭社区", plan={"天剑社区"})
    assert exc.value.code == "unknown-unit"


# ---------------------------------------------------------------------------
# no plaintext on disk; file hygiene


@pytest.mark.parametrize("password", [PASSWORD, CHINESE_PASSWORD])
def test_only_hashes_are_stored(store, plan, password):
    store.add("htl", password, "community", unit="黄土岭", plan=plan)
    store.authenticate("htl", password)
    store.authenticate("htl", password + "x")  # leaves a failure counter in the state file
    store.set_password("htl", password + "2")
    store.authenticate("htl", password)

    assert store.state_path.exists()
    on_disk = _file_bytes(store)
    for secret in (password, password + "2", password + "x"):
        assert secret.encode("utf-8") not in on_disk
    record = yaml.safe_load(store.path.read_text("utf-8"))["users"]["htl"]
    assert record["password_hash"].startswith("$argon2id$")
    assert "password" not in record


def test_files_are_private_and_no_temp_files_remain(store, plan):
    store.add("admin", PASSWORD, "admin")
    store.add("htl", PASSWORD, "community", unit="黄土岭社区", plan=plan)
    store.disable("htl")
    store.authenticate("admin", "wrong-password")
    names = sorted(p.name for p in store.path.parent.iterdir())
    assert names == ["users.yaml", "users.yaml.db", "users.yaml.lock"]
    for path in store.path.parent.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(store, monkeypatch):
    store.add("admin", PASSWORD, "admin")
    before = store.path.read_bytes()

    def crash(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.add("leader", PASSWORD, "leader")
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["users.yaml", "users.yaml.lock"]


def test_concurrent_writers_in_threads_lose_nothing(tmp_path):
    paths = tmp_path / "users.yaml"

    def add_many(prefix: str) -> None:
        writer = UserStore(paths, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        for i in range(5):
            writer.add(f"{prefix}{i}", PASSWORD, "leader")

    threads = [threading.Thread(target=add_many, args=(p,)) for p in ("aa", "bb", "cc", "dd")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(UserStore(paths).list()) == 20


def test_concurrent_writers_in_processes_lose_nothing(tmp_path):
    script = (
        "import sys\n"
        "from argon2 import PasswordHasher\n"
        "from worktrack.auth import UserStore\n"
        "store = UserStore(sys.argv[1], hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))\n"
        "for i in range(8):\n"
        "    store.add(f'{sys.argv[2]}{i}', 'Jinpen-ling-2023', 'leader')\n"
    )
    path = tmp_path / "users.yaml"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), prefix], cwd=ROOT)
             for prefix in ("pa", "pb", "pc")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert len(UserStore(path).list()) == 24


def test_users_path_default_and_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("WORKTRACK_USERS", raising=False)
    assert users_path() == ROOT / "data" / "users.yaml"
    monkeypatch.setenv("WORKTRACK_USERS", str(tmp_path / "u.yaml"))
    assert users_path() == tmp_path / "u.yaml"
    assert UserStore().path == tmp_path / "u.yaml"
    assert users_path(tmp_path / "explicit.yaml") == tmp_path / "explicit.yaml"


def test_default_users_file_is_ignored_by_git():
    result = subprocess.run(["git", "check-ignore", "-q", "data/users.yaml"], cwd=ROOT)
    assert result.returncode == 0


# ---------------------------------------------------------------------------
# authenticate


def test_correct_password_logs_in(store):
    added = store.add("admin", PASSWORD, "admin")
    result = store.authenticate("Admin", PASSWORD)
    assert result.ok and result.user == added and result.retry_after == 0


def test_wrong_password_and_unknown_user_get_the_same_answer(store, hasher):
    store.add("admin", PASSWORD, "admin")
    wrong = store.authenticate("admin", "not-the-password")
    calls = hasher.verify_calls
    unknown = store.authenticate("nobody", "not-the-password")
    invalid_name = store.authenticate("no such user!", "not-the-password")
    assert not wrong.ok and not unknown.ok and not invalid_name.ok
    assert wrong.message == unknown.message == invalid_name.message == LOGIN_FAILED
    assert wrong.user is unknown.user is None
    # the unknown user cost an argon2 verification too (against a dummy hash)
    assert hasher.verify_calls == calls + 2


def test_disabled_user_cannot_log_in(store):
    store.add("admin", PASSWORD, "admin")
    store.disable("admin")
    result = store.authenticate("admin", PASSWORD)
    assert not result.ok and result.user is None and "停用" in result.message
    assert not store.authenticate("admin", "wrong-password").ok
    store.enable("admin")
    assert store.authenticate("admin", PASSWORD).ok


def test_throttling_with_a_fake_clock(store, clock, hasher):
    store.add("admin", PASSWORD, "admin")
    for _ in range(2):
        result = store.authenticate("admin", "wrong-password")
        assert (result.ok, result.retry_after, result.message) == (False, 0, LOGIN_FAILED)
    third = store.authenticate("admin", "wrong-password")
    assert not third.ok and third.retry_after == 2 and third.message.startswith(LOGIN_FAILED)

    # during the wait even the right password is refused, without being checked
    calls = hasher.verify_calls
    refused = store.authenticate("admin", PASSWORD)
    assert not refused.ok and refused.retry_after == 2 and "请 2 秒后再试" in refused.message
    clock.advance(1.5)
    refused = store.authenticate("admin", PASSWORD)
    assert not refused.ok and refused.retry_after == 1 and "请 1 秒后再试" in refused.message
    assert hasher.verify_calls == calls

    # each further failure doubles the wait: 4, 8, 16, 32, then capped at 60
    clock.advance(0.5)
    waits = []
    for _ in range(6):
        result = store.authenticate("admin", "wrong-password")
        assert not result.ok
        waits.append(result.retry_after)
        clock.advance(result.retry_after)
    assert waits == [4, 8, 16, 32, 60, 60]
    assert store.failure_count("admin") == 9

    # once the wait is over the right password works, and success resets the account's counters
    assert store.authenticate("admin", PASSWORD).ok
    assert store.failure_count("admin") == 0
    assert store.authenticate("admin", "wrong-password", client="10.0.0.9").retry_after == 0
    # ...but not the client's: nine failures from one place stay counted against that place, so
    # signing in to one's own account between guesses at others does not wipe the slate
    assert store.authenticate("admin", "wrong-password").retry_after == 2


def test_throttle_survives_a_restart(store, tmp_path, clock):
    store.add("admin", PASSWORD, "admin")
    for _ in range(3):
        store.authenticate("admin", "wrong-password")
    restarted = UserStore(tmp_path / "users.yaml", hasher=CountingHasher(), clock=clock)
    refused = restarted.authenticate("admin", PASSWORD)
    assert not refused.ok and refused.retry_after == 2


def test_unknown_users_are_throttled_like_known_ones(store, clock):
    store.add("admin", PASSWORD, "admin")
    known = [store.authenticate("admin", "wrong-password") for _ in range(4)]
    unknown = [store.authenticate("nobody", "wrong-password") for _ in range(4)]
    assert [(r.message, r.retry_after) for r in known] == [(r.message, r.retry_after) for r in unknown]


def test_throttling_is_per_account(store):
    store.add("admin", PASSWORD, "admin")
    store.add("leader", PASSWORD, "leader")
    for _ in range(3):
        store.authenticate("admin", "wrong-password")
    assert not store.authenticate("admin", PASSWORD).ok
    assert store.authenticate("leader", PASSWORD).ok


def test_old_failures_are_forgotten(store, clock):
    store.add("admin", PASSWORD, "admin")
    store.authenticate("admin", "wrong-password")
    store.authenticate("admin", "wrong-password")
    clock.advance(16 * 60)
    assert store.authenticate("admin", "wrong-password").retry_after == 0
    assert store.failure_count("admin") == 1


@pytest.mark.parametrize("unlock", ["set_password", "enable", "clear_failures"])
def test_administrator_actions_clear_the_throttle(store, unlock):
    store.add("admin", PASSWORD, "admin")
    for _ in range(3):
        store.authenticate("admin", "wrong-password")
    if unlock == "set_password":
        store.set_password("admin", PASSWORD + "!")
        password = PASSWORD + "!"
    else:
        getattr(store, unlock)("admin")
        password = PASSWORD
    assert store.failure_count("admin") == 0
    assert store.authenticate("admin", password).ok


def test_a_wrong_guess_a_minute_from_elsewhere_never_locks_the_owner_out(store, clock):
    """Regression: one wrong guess a minute kept the account's only counter locked for good."""
    store.add("admin", PASSWORD, "admin")
    for minute in range(120):
        store.authenticate("admin", "wrong-password", client="203.0.113.7")
        clock.advance(59)
        owner = store.authenticate("admin", PASSWORD, client="198.51.100.20")
        assert owner.ok, (minute, owner.message)
        clock.advance(1)
    # the guesser itself is held back to a guess a minute at most
    assert store.authenticate("admin", "wrong-password", client="203.0.113.7").retry_after == 60


def test_a_locked_out_owner_signs_in_with_the_right_password_after_the_wait(store, clock, hasher):
    store.add("admin", PASSWORD, "admin")
    waits = []
    for _ in range(5):
        waits.append(store.authenticate("admin", "wrong-password").retry_after)
        clock.advance(waits[-1] - 0.5 if len(waits) == 5 else waits[-1])
    assert waits == [0, 0, 2, 4, 8]
    assert not store.authenticate("admin", PASSWORD).ok  # within the wait: refused, unchecked
    clock.advance(0.5)
    calls = hasher.verify_calls
    assert store.authenticate("admin", PASSWORD).ok  # after it: checked, and right
    assert hasher.verify_calls == calls + 1


def test_a_client_guessing_across_many_accounts_is_throttled(store, clock):
    waits = []
    for n in range(12):
        waits.append(store.authenticate(f"user{n}", "wrong-password", client="203.0.113.7").retry_after)
        clock.advance(waits[-1] if n < 11 else 1)
    assert waits == [0] * 9 + [2, 4, 8]
    assert store.authenticate("user99", "wrong-password", client="203.0.113.7").retry_after == 7  # still waiting
    assert store.authenticate("user99", "wrong-password", client="198.51.100.20").retry_after == 0


def test_an_account_under_attack_gives_each_client_one_free_failure(store, clock):
    store.add("admin", PASSWORD, "admin")
    for n in range(10):
        store.authenticate("admin", "wrong-password", client=f"203.0.113.{n}")
    assert store.failure_count("admin") == 10
    assert store.authenticate("admin", "wrong-password", client="198.51.100.20").retry_after == 2
    # ...and still the owner's first attempt from a clean client is checked
    assert store.authenticate("admin", PASSWORD, client="198.51.100.21").ok


def test_ten_thousand_failed_usernames_never_touch_the_users_file(store, clock):
    """Regression: every failed login rewrote a YAML file of every counter (10,000 names: seconds per login)."""
    store.add("admin", PASSWORD, "admin")
    before = (store.path.read_bytes(), store.path.stat().st_mtime_ns)
    for n in range(10_000):
        store.state.count_attempt(f"nobody{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert (store.path.read_bytes(), store.path.stat().st_mtime_ns) == before
    assert not store.path.with_name("users.yaml.state").exists()
    # a pair, a client and an account row per attempt, held under the cap
    assert MAX_ROWS <= store.state.failure_rows() <= MAX_ROWS + 3 * PRUNE_EVERY
    assert store.authenticate("admin", PASSWORD).ok


# ---------------------------------------------------------------------------
# sessions


def test_a_session_survives_a_restart_and_follows_the_account(store, tmp_path, clock, plan):
    user = store.add("htl", PASSWORD, "community", unit="黄土岭社区", plan=plan)
    token = store.start_session(user)
    restarted = UserStore(tmp_path / "users.yaml", hasher=CountingHasher(), clock=clock)
    assert restarted.resume_session(token) == user
    store.set_unit("htl", "天剑社区", plan=plan)
    assert restarted.resume_session(token).unit == "天剑社区"  # read afresh, not from the session


@pytest.mark.parametrize("change", ["set_password", "disable"])
def test_a_new_password_or_disabling_ends_every_session(store, change):
    """Regression: a session opened with the old password still uploaded after `users passwd`."""
    user = store.add("admin", PASSWORD, "admin")
    tokens = [store.start_session(user) for _ in range(3)]
    other = store.start_session(store.add("lead", PASSWORD, "leader"))
    if change == "set_password":
        store.set_password("admin", PASSWORD + "!")
    else:
        store.disable("admin")
        store.enable("admin")  # enabling again does not bring old sessions back
    assert [store.resume_session(t) for t in tokens] == [None, None, None]
    assert store.resume_session(other) is not None
    assert store.resume_session(store.start_session(store.get("admin"))) == store.get("admin")


def test_ending_sessions_of_an_account(store):
    user = store.add("admin", PASSWORD, "admin")
    first, second = store.start_session(user), store.start_session(user)
    store.end_session(first)
    assert store.resume_session(first) is None and store.resume_session(second) == user
    assert store.end_sessions("ADMIN") == 1
    assert store.resume_session(second) is None


def test_sessions_end_after_the_idle_timeout(tmp_path, clock, hasher):
    store = UserStore(tmp_path / "users.yaml", hasher=hasher, clock=clock, idle_timeout=3600)
    token = store.start_session(store.add("admin", PASSWORD, "admin"))
    clock.advance(3599)
    assert store.resume_session(token) is not None
    clock.advance(3601)
    assert store.resume_session(token) is None


def test_the_session_key_path_is_configurable(tmp_path, monkeypatch, hasher):
    monkeypatch.setenv("WORKTRACK_SESSION_KEY", str(tmp_path / "secrets" / "worktrack.key"))
    store = UserStore(tmp_path / "users.yaml", hasher=hasher)
    store.start_session(store.add("admin", PASSWORD, "admin"))
    assert (tmp_path / "secrets" / "worktrack.key").is_file()
    assert not (tmp_path / "users.yaml.key").exists()


def test_outdated_hash_is_upgraded_on_login(tmp_path, clock):
    path = tmp_path / "users.yaml"
    UserStore(path, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)).add("admin", PASSWORD, "admin")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    assert UserStore(path, hasher=stronger, clock=clock).authenticate("admin", PASSWORD).ok
    new_hash = yaml.safe_load(path.read_text("utf-8"))["users"]["admin"]["password_hash"]
    assert not stronger.check_needs_rehash(new_hash)


# ---------------------------------------------------------------------------
# permissions


LEADER = User("leader", "领导", "leader")
ADMIN = User("admin", "管理员", "admin")
HTL = User("htl", "黄土岭", "community", "黄土岭社区")
DISABLED_ADMIN = User("old", "旧管理员", "admin", disabled=True)


@pytest.mark.parametrize(
    ("user", "unit", "expected"),
    [(LEADER, "黄土岭社区", False), (LEADER, "街道民政办", False),
     (ADMIN, "黄土岭社区", True), (ADMIN, "街道民政办", True),
     (HTL, "黄土岭社区", True), (HTL, "天剑社区", False), (HTL, "街道民政办", False), (HTL, "黄土岭", False),
     (ADMIN, None, False), (HTL, None, False), (DISABLED_ADMIN, "黄土岭社区", False), (None, "黄土岭社区", False)],
)
def test_can_upload(user, unit, expected):
    assert can_upload(user, unit) is expected
    assert Permissions.can_upload(user, unit) is expected


@pytest.mark.parametrize(
    ("user", "unit", "expected"),
    [(LEADER, None, True), (LEADER, "天剑社区", True), (ADMIN, "天剑社区", True),
     (HTL, None, True), (HTL, "黄土岭社区", True), (HTL, "天剑社区", False),
     (DISABLED_ADMIN, None, False), (None, None, False)],
)
def test_can_view(user, unit, expected):
    assert can_view(user, unit) is expected


@pytest.mark.parametrize(
    ("user", "admin", "export"),
    [(LEADER, False, True), (ADMIN, True, True), (HTL, False, False),
     (DISABLED_ADMIN, False, False), (None, False, False)],
)
def test_can_admin_and_export(user, admin, export):
    assert can_admin(user) is admin
    assert can_export(user) is export


REVIEWER = User("rev", "审核员", "reviewer")


@pytest.mark.parametrize(
    ("user", "unit", "expected"),
    [(REVIEWER, None, True), (REVIEWER, "黄土岭社区", True), (REVIEWER, "街道民政办", False),
     (ADMIN, "街道民政办", True), (LEADER, None, False), (LEADER, "黄土岭社区", False),
     (HTL, None, False), (HTL, "黄土岭社区", False), (HTL, "天剑社区", False),
     (dataclasses.replace(REVIEWER, disabled=True), "黄土岭社区", False), (None, None, False)],
)
def test_can_review_reviewers_and_admins_never_their_own_unit(plan, user, unit, expected):
    from worktrack.auth import can_review

    assert can_review(user, unit, plan) is expected
    assert Permissions.can_review(user, unit, plan) is expected


def test_a_reviewer_sees_everything_uploads_nothing_and_exports_nothing(plan):
    from worktrack.auth import reviewer_unit

    assert can_view(REVIEWER, "天剑社区") and not can_upload(REVIEWER, "街道民政办")
    assert not can_admin(REVIEWER) and not can_export(REVIEWER)
    assert reviewer_unit(REVIEWER, plan) == "街道民政办" and reviewer_unit(HTL, plan) == "黄土岭社区"
    assert reviewer_unit(ADMIN, plan) is None


def test_a_reviewer_account_has_no_unit(tmp_path, plan):
    store = UserStore(tmp_path / "users.yaml")
    user = store.add("rev", "Reviewer-pass-2023", "reviewer", None, "审核员")
    assert (user.role, user.unit, user.role_label) == ("reviewer", None, "审核人员（街道民政办）")
    with pytest.raises(AccountError):
        store.add("rev2", "Reviewer-pass-2023", "reviewer", "黄土岭社区", "审核员", plan=plan)


def test_uploadable_units(plan):
    assert uploadable_units(HTL, plan) == ["黄土岭社区"]
    assert uploadable_units(LEADER, plan) == []
    assert uploadable_units(ADMIN, plan) == list(plan.unit_names)


# ---------------------------------------------------------------------------
# demo mode


def test_demo_users_are_in_memory_only(plan, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKTRACK_USERS", str(tmp_path / "users.yaml"))
    users = demo_users(plan)
    roles = [u.role for u in users]
    assert roles.count("leader") == 1 and roles.count("admin") == 1
    assert [u.unit for u in users if u.role == "community"] == [c.name for c in plan.communities]
    assert len({u.username for u in users}) == len(users)
    assert all(u.demo and u.username.startswith("demo-") for u in users)
    assert not (tmp_path / "users.yaml").exists()
    community = next(u for u in users if u.role == "community")
    assert can_upload(community, community.unit) and not can_admin(community)


# ---------------------------------------------------------------------------
# CLI


def _cli(tmp_path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "WORKTRACK_USERS": str(tmp_path / "users.yaml"), "WORKTRACK_PLAN": str(PLAN_PATH),
           "WORKTRACK_DB": str(tmp_path / "worktrack.duckdb"), "WORKTRACK_USER": "ops", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "worktrack", *args], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=60)


def test_cli_users_journey(tmp_path):
    ok = _cli(tmp_path, "users", "add", "admin", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    ok = _cli(tmp_path, "users", "add", "htl", "--role", "community", "--unit", "黄土岭", "--name", "黄土岭社区 张三",
              "--password-stdin", stdin=CHINESE_PASSWORD + "\r\n")
    assert ok.returncode == 0, ok.stderr

    listed = _cli(tmp_path, "users", "list", "--json")
    assert listed.returncode == 0
    data = json.loads(listed.stdout)
    assert data["file"] == str(tmp_path / "users.yaml")
    assert [u["username"] for u in data["users"]] == ["admin", "htl"]
    assert set(data["users"][0]) == {"username", "display_name", "role", "unit", "disabled", "created_at",
                                     "password_changed_at"}
    htl = data["users"][1]
    assert (htl["role"], htl["unit"], htl["display_name"], htl["disabled"]) == (
        "community", "黄土岭社区", "黄土岭社区 张三", False)

    store = UserStore(tmp_path / "users.yaml")
    assert store.authenticate("htl", CHINESE_PASSWORD).ok  # the CR/LF was not part of the password
    assert CHINESE_PASSWORD.encode() not in (tmp_path / "users.yaml").read_bytes()

    assert _cli(tmp_path, "users", "disable", "htl").returncode == 0
    assert json.loads(_cli(tmp_path, "users", "list", "--json").stdout)["users"][1]["disabled"] is True
    assert _cli(tmp_path, "users", "enable", "htl").returncode == 0
    changed = _cli(tmp_path, "users", "passwd", "htl", "--password-stdin", stdin="Another-pass-9\n")
    assert changed.returncode == 0, changed.stderr
    assert store.authenticate("htl", "Another-pass-9").ok

    text = _cli(tmp_path, "users", "list")
    assert text.returncode == 0 and "黄土岭社区" in text.stdout and "$argon2" not in text.stdout


def test_every_account_change_from_the_cli_is_in_the_audit_log(tmp_path):
    from worktrack.store import Store

    steps = [
        (("users", "add", "admin", "--role", "admin", "--password-stdin"), PASSWORD + "\n"),
        (("users", "add", "htl", "--role", "community", "--unit", "黄土岭社区", "--password-stdin", "--user", "li"),
         PASSWORD + "\n"),
        (("users", "passwd", "htl", "--password-stdin"), "Another-pass-9\n"),
        (("users", "disable", "htl"), None),
        (("users", "disable", "htl"), None),  # no change, no record
        (("users", "enable", "htl"), None),
        (("users", "unit", "htl", "--unit", "天剑"), None),
        (("users", "passwd", "ghost", "--password-stdin"), PASSWORD + "\n"),  # refused, no record
    ]
    for args, stdin in steps:
        _cli(tmp_path, *args, stdin=stdin)
    log = Store(tmp_path / "worktrack.duckdb").audit_log()
    log = log[log["action"].str.startswith("account.")]
    assert list(zip(log["actor"], log["action"], log["target"], strict=True)) == [
        ("ops", "account.add", "admin"), ("li", "account.add", "htl"), ("ops", "account.passwd", "htl"),
        ("ops", "account.disable", "htl"), ("ops", "account.enable", "htl"), ("ops", "account.unit", "htl")]
    assert json.loads(log["detail"].iloc[-1]) == {"old": "黄土岭社区", "new": "天剑社区"}
    assert all(PASSWORD not in str(v) and "argon2" not in str(v) for v in log.to_numpy().ravel())


@pytest.mark.parametrize(
    ("args", "stdin", "code", "says"),
    [
        (["users", "add", "weak", "--role", "leader", "--password-stdin"], "12345678\n", 1, "全是数字"),
        (["users", "add", "admin", "--role", "admin", "--password-stdin"], PASSWORD + "\n", 1, "已存在"),
        (["users", "add", "moon", "--role", "community", "--unit", "月亮湾社区", "--password-stdin"],
         PASSWORD + "\n", 1, "不是计划中的上报单位"),
        (["users", "add", "张三", "--role", "leader", "--password-stdin"], PASSWORD + "\n", 1, "用户名"),
        (["users", "passwd", "ghost", "--password-stdin"], PASSWORD + "\n", 1, "没有用户名"),
        (["users", "disable", "ghost"], None, 1, "没有用户名"),
        (["users", "add", "staff", "--role", "community", "--password-stdin"], PASSWORD + "\n", 2, "--unit"),
        (["users", "add", "boss", "--role", "leader", "--unit", "黄土岭社区", "--password-stdin"],
         PASSWORD + "\n", 2, "--unit"),
        (["users", "add", "boss", "--role", "owner", "--password-stdin"], PASSWORD + "\n", 2, "用法错误"),
        (["users", "add", "boss", "--role", "leader", "--password", PASSWORD], None, 2, "用法错误"),
        (["users", "add", "boss", "--role", "leader", "--password-stdin"], "", 2, "标准输入为空"),
        (["users", "add", "boss", "--role", "leader"], "", 2, "--password-stdin"),
        (["users"], None, 2, "ACTION"),
    ],
)
def test_cli_exit_codes(tmp_path, args, stdin, code, says):
    UserStore(tmp_path / "users.yaml", hasher=CountingHasher()).add("admin", PASSWORD, "admin")
    result = _cli(tmp_path, *args, stdin=stdin)
    assert result.returncode == code, result.stderr
    assert says in result.stderr + result.stdout
    assert [u.username for u in UserStore(tmp_path / "users.yaml").list()] == ["admin"]


def test_cli_list_without_users_file(tmp_path):
    result = _cli(tmp_path, "users", "list", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["users"] == []
    assert not (tmp_path / "users.yaml").exists()

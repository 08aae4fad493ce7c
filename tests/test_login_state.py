"""Sessions and failed-login counters in the SQLite file beside the users file."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from worktrack.login_state import LoginState, idle_timeout_seconds, load_or_create_key
from worktrack.login_state_pg import PgLoginState


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(tmp_path, clock, backend, location_on) -> LoginState:
    """Login state in the SQLite file (DuckDB store) or in the PostgreSQL database (PostgreSQL store)."""
    if backend == "postgresql":
        from worktrack.login_state_pg import PgLoginState

        return PgLoginState(location_on(backend), tmp_path / "unused.key", clock=clock, idle_timeout=8 * 3600)
    return LoginState(tmp_path / "users.yaml.db", tmp_path / "users.yaml.key", clock=clock, idle_timeout=8 * 3600)


def twin(state: LoginState, **options) -> LoginState:
    """Another view of the same login state, as another process or app server opens it."""
    if isinstance(state, PgLoginState):
        return PgLoginState(state.url, state.key_path, clock=state._clock, **options)
    return LoginState(state.path, state.key_path, clock=state._clock, **options)


def same_generation(_username: str) -> int:
    return 0


# ---------------------------------------------------------------------------
# sessions


def test_a_session_is_resumed_by_its_token_in_another_process_view(state, tmp_path, clock):
    token = state.create_session("htl", 0)
    other = twin(state, idle_timeout=8 * 3600)
    assert other.resume_session(token, same_generation) == "htl"


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
    lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # id changed, signature kept
    lambda t: t.split(".")[0],  # no signature
    lambda t: "",
    lambda t: None,
    lambda t: t + "'; DROP TABLE sessions; --",
])
def test_a_forged_or_tampered_token_is_refused(state, tamper):
    token = state.create_session("htl", 0)
    assert state.resume_session(tamper(token), same_generation) is None
    assert state.resume_session(token, same_generation) == "htl"


def test_a_token_signed_with_another_key_is_refused(state, tmp_path, clock):
    other = LoginState(tmp_path / "b.db", tmp_path / "b.key", clock=clock)
    assert state.resume_session(other.create_session("htl", 0), same_generation) is None


def test_the_idle_timeout_ends_a_session_but_activity_keeps_it_open(state, clock):
    token = state.create_session("htl", 0)
    for _ in range(4):  # 4 x 7 hours of clicks, each within the 8-hour idle timeout
        clock.advance(7 * 3600)
        assert state.resume_session(token, same_generation) == "htl"
    clock.advance(8 * 3600 + 1)
    assert state.resume_session(token, same_generation) is None
    clock.advance(-(8 * 3600 + 1))  # once ended, it stays ended
    assert state.resume_session(token, same_generation) is None


def test_a_new_generation_of_the_account_ends_its_sessions(state):
    token = state.create_session("htl", 3)
    assert state.resume_session(token, lambda _u: 3) == "htl"
    assert state.resume_session(token, lambda _u: 4) is None
    assert state.resume_session(token, lambda _u: 3) is None  # revoked for good
    assert state.resume_session(state.create_session("htl", 3), lambda _u: None) is None  # no such account


def test_revoking_ends_one_session_or_all_of_an_account(state):
    first, second, other = (state.create_session(u, 0) for u in ("htl", "htl", "lead"))
    state.revoke_session(first)
    assert state.resume_session(first, same_generation) is None
    assert state.resume_session(second, same_generation) == "htl"
    assert state.revoke_sessions("htl") == 1
    assert state.resume_session(second, same_generation) is None
    assert state.resume_session(other, same_generation) == "lead"
    assert state.live_sessions("htl") == 0 and state.live_sessions("lead") == 1


def test_the_file_stores_no_usable_token(state, tmp_path):
    token = state.create_session("htl", 0)
    session_id, signature = token.split(".")
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert session_id.encode() not in data and signature.encode() not in data, path.name


def test_the_key_is_private_created_once_and_shared(tmp_path):
    # eight separate processes race to create the key: each must read the same one
    path = tmp_path / "keys" / "session.key"
    code = ("import sys, pathlib; from worktrack.login_state import load_or_create_key; "
            "print(load_or_create_key(pathlib.Path(sys.argv[1])).hex())")
    racers = [subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True,
                               cwd=ROOT) for _ in range(8)]
    keys = [bytes.fromhex(p.communicate(timeout=60)[0].strip()) for p in racers]
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == keys[0]


def test_the_state_file_is_private(tmp_path, clock):
    state = LoginState(tmp_path / "users.yaml.db", tmp_path / "users.yaml.key", clock=clock)
    state.create_session("htl", 0)
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


@pytest.mark.parametrize(("value", "hours"), [(None, 8), ("2", 2), ("0.5", 0.5)])
def test_idle_timeout_setting(monkeypatch, value, hours):
    if value is None:
        monkeypatch.delenv("WORKTRACK_SESSION_IDLE_HOURS", raising=False)
    else:
        monkeypatch.setenv("WORKTRACK_SESSION_IDLE_HOURS", value)
    assert idle_timeout_seconds() == hours * 3600


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan"])
def test_a_wrong_idle_timeout_names_the_variable(monkeypatch, value):
    from worktrack.config import SettingsError

    monkeypatch.setenv("WORKTRACK_SESSION_IDLE_HOURS", value)
    with pytest.raises(SettingsError, match="WORKTRACK_SESSION_IDLE_HOURS"):
        idle_timeout_seconds()


# ---------------------------------------------------------------------------
# failed-login counters


def test_failed_login_counters_are_bounded(state):
    clock = state._clock
    state = twin(state, max_rows=300, prune_every=1)
    for n in range(1000):
        state.count_attempt(f"user{n}", f"10.0.{n // 250}.{n % 250}")
        clock.advance(0.01)
    assert state.failure_rows() <= 300
    # the newest counters are the ones kept
    assert state.failure_count("user999") == 1 and state.failure_count("user0") == 0


def test_expired_counters_are_deleted_at_the_next_write(state, clock):
    for n in range(50):
        state.count_attempt(f"user{n}", "-")
    clock.advance(16 * 60)
    state.count_attempt("late", "10.0.0.1")
    assert state.failure_rows() == 3  # the pair, client and account rows of the last attempt only

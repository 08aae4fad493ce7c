"""Sessions, failed-login counters and the session key in PostgreSQL: shared by every app server.

The behaviour of sessions and counters is tested on both backends in test_login_state.py; here:
what only the PostgreSQL form has (the key in the database) and its choice by the database setting.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT
from worktrack.auth import UserStore
from worktrack.login_state import LoginState
from worktrack.login_state_pg import PgLoginState


def test_the_key_is_created_once_in_the_database_and_shared_by_every_process(pg_url, tmp_path):
    code = ("import sys; from worktrack.login_state_pg import PgLoginState; "
            "print(PgLoginState(sys.argv[1], 'unused.key')._signing_key().hex())")
    racers = [subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, text=True, cwd=ROOT)
              for _ in range(6)]
    keys = {p.communicate(timeout=120)[0].strip() for p in racers}
    assert len(keys) == 1 and len(bytes.fromhex(keys.pop())) == 32
    assert not (tmp_path / "unused.key").exists() and not (ROOT / "unused.key").exists()


def test_a_session_opened_on_one_server_is_resumed_and_revoked_on_another(pg_url, tmp_path):
    # two servers: their own users file copies and no key file in common, one database
    one = PgLoginState(pg_url, tmp_path / "a" / "users.yaml.key")
    two = PgLoginState(pg_url, tmp_path / "b" / "users.yaml.key")
    token = one.create_session("htl", 3)
    assert two.resume_session(token, lambda _name: 3) == "htl"
    two.revoke_session(token)
    assert one.resume_session(token, lambda _name: 3) is None


def test_failed_logins_on_one_server_count_on_another(pg_url, tmp_path):
    one, two = PgLoginState(pg_url, tmp_path / "k1"), PgLoginState(pg_url, tmp_path / "k2")
    for _ in range(3):
        one.count_attempt("htl", "10.0.0.1")
    assert two.failure_count("htl") == 3
    assert two.count_attempt("htl", "10.0.0.1").wait > 0  # the fourth guess waits, whichever server takes it


def test_the_postgresql_database_setting_keeps_login_state_in_the_database(pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKTRACK_DB", pg_url)
    monkeypatch.delenv("WORKTRACK_SESSION_KEY", raising=False)
    users = UserStore(tmp_path / "users.yaml")
    assert isinstance(users.state, PgLoginState) and users.state.key_in_database
    users.state.create_session("htl", 0)
    assert not users.state_path.exists() and not users.key_path.exists()


def test_a_configured_key_file_is_used_with_postgresql_too(pg_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKTRACK_DB", pg_url)
    monkeypatch.setenv("WORKTRACK_SESSION_KEY", str(tmp_path / "deployed.key"))
    users = UserStore(tmp_path / "users.yaml")
    token = users.state.create_session("htl", 0)
    assert (tmp_path / "deployed.key").exists()
    file_view = LoginState(tmp_path / "x.db", tmp_path / "deployed.key")
    assert file_view._session_id(token) is not None  # signed with the deployed key


def test_a_duckdb_database_setting_keeps_the_sqlite_file(db_path, tmp_path):
    users = UserStore(tmp_path / "users.yaml")
    assert type(users.state) is LoginState

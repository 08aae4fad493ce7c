"""Signing in and out under AppTest: local accounts, throttling, demo mode, single sign-on, navigation by role."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml
from streamlit.testing.v1 import AppTest

import app_support
from tests.apptest import ENTRY, FAST_HASHER, dashboard, texts
from tests.conftest import ROOT
from worktrack.auth import LOGIN_FAILED, UserStore
from worktrack.demo import load_demo
from worktrack.intake import read_report
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

ALL_PAGES = ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py", "pages/upload.py",
             "pages/admin.py"]
SECRET = "Unique-secret-7431"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def own_users(tmp_path, plan, monkeypatch, entry_script):
    """A users file of this test alone (failed-login counters must not leak between tests)."""
    path = tmp_path / "accounts" / "users.yaml"
    store = UserStore(path, hasher=FAST_HASHER)
    store.add("tianjian", SECRET, "community", "天剑社区", "天剑社区", plan=plan)
    store.add("lead", SECRET, "leader", None, "王领导", plan=plan)
    monkeypatch.setenv("WORKTRACK_USERS", str(path))
    return path


def anonymous() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key="FormSubmitter:login_form-登录").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_without_signing_in_only_the_login_page_exists(db_path, own_users):
    at = anonymous()
    assert at.title[0].value == "登录"
    for page in ALL_PAGES:
        with pytest.raises(ValueError):
            at.switch_page(page)
    assert not at.metric and not at.dataframe


def test_no_single_sign_on_button_without_an_auth_section(db_path, own_users):
    at = anonymous()
    assert "使用统一身份认证登录" not in [b.label for b in at.button]


def test_a_wrong_password_gets_the_generic_message(db_path, own_users):
    at = sign_in(anonymous(), "tianjian", "Wrong-password-1")
    assert [e.value for e in at.error] == [LOGIN_FAILED]
    assert at.title[0].value == "登录"
    assert "auth_user" not in at.session_state


def test_an_unknown_user_gets_the_same_message(db_path, own_users):
    at = sign_in(anonymous(), "nobody", "Wrong-password-1")
    assert [e.value for e in at.error] == [LOGIN_FAILED]


def test_the_right_password_signs_in_and_shows_who_is_signed_in(db_path, own_users):
    at = sign_in(anonymous(), "TianJian", SECRET)
    assert at.title[0].value == "总览"
    sidebar = [e.value for e in at.sidebar.text] + [c.value for c in at.sidebar.caption]
    assert "天剑社区" in sidebar and "社区（上报单位）" in sidebar and "单位：天剑社区" in sidebar
    assert at.sidebar.button(key="logout").label == "退出登录"
    assert at.session_state["auth_user"].username == "tianjian"


def test_repeated_failures_are_slowed(db_path, own_users, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(app_support, "user_store", lambda: UserStore(own_users, clock=clock))
    at = anonymous()
    for _ in range(2):
        sign_in(at, "tianjian", "Wrong-password-1")
        assert [e.value for e in at.error] == [LOGIN_FAILED]
    sign_in(at, "tianjian", "Wrong-password-1")
    assert at.error[0].value == "用户名或密码错误。登录失败次数过多，请 2 秒后再试。"
    # during the wait even the right password is refused, unchecked
    sign_in(at, "tianjian", SECRET)
    assert at.error[0].value == "登录失败次数过多，请 2 秒后再试。"
    assert "auth_user" not in at.session_state
    clock.advance(2)
    sign_in(at, "tianjian", SECRET)
    assert at.title[0].value == "总览"


def test_no_password_is_kept_in_the_session_or_on_disk(db_path, own_users, tmp_path):
    at = sign_in(anonymous(), "tianjian", "Wrong-password-1")
    assert at.session_state["login_password"] == ""
    sign_in(at, "tianjian", SECRET)
    assert at.title[0].value == "总览"
    at.switch_page("pages/upload.py").run()
    assert SECRET not in repr([at.session_state[k] for k in at.session_state])
    needles = [s.encode(enc) for s in (SECRET, "Wrong-password-1") for enc in ("utf-8", "utf-16-le")]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "users.yaml" for p in files) and any(p.name == "users.yaml.db" for p in files)
    for path in files:
        data = path.read_bytes()
        assert not any(n in data for n in needles), f"a password is stored in {path}"


def test_signing_out_ends_the_session(db_path, own_users):
    at = sign_in(anonymous(), "tianjian", SECRET)
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "登录"
    assert "auth_user" not in at.session_state
    with pytest.raises(ValueError):
        at.switch_page("pages/upload.py")


def test_a_disabled_account_is_signed_out_at_its_next_click(db_path, own_users):
    at = sign_in(anonymous(), "tianjian", SECRET)
    UserStore(own_users).disable("tianjian")
    at.run()
    assert at.title[0].value == "登录"


def _cli(*args: str, stdin: str | None = None, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worktrack", *args], input=stdin, capture_output=True, text=True,
                          encoding="utf-8", env={**os.environ, **env, "PYTHONIOENCODING": "utf-8"}, cwd=ROOT,
                          timeout=60)


def test_a_session_opened_with_the_old_password_ends_at_users_passwd(db_path, own_users, plan):
    """Regression: a session opened with the old password still uploaded after `users passwd`."""
    at = sign_in(anonymous(), "tianjian", SECRET)
    at.switch_page("pages/upload.py").run()
    assert at.title[0].value == "上报月报" and at.file_uploader
    changed = _cli("users", "passwd", "tianjian", "--password-stdin", stdin="Changed-secret-2024\n",
                   env={"WORKTRACK_USERS": str(own_users), "WORKTRACK_DB": str(db_path)})
    assert changed.returncode == 0, changed.stderr
    at.run()  # the next click
    assert at.title[0].value == "登录" and not at.file_uploader
    assert "auth_user" not in at.session_state
    assert sign_in(at, "tianjian", "Changed-secret-2024").title[0].value == "上报月报"  # back where it was


def test_signing_out_ends_the_accounts_other_sessions_too(db_path, own_users):
    first = sign_in(anonymous(), "tianjian", SECRET)
    second = sign_in(anonymous(), "tianjian", SECRET)
    other = sign_in(anonymous(), "lead", SECRET)
    first.sidebar.button(key="logout").click().run()
    second.run()
    other.run()
    assert second.title[0].value == "登录"
    assert other.title[0].value == "总览"


def cookie_scripts(at) -> list[str]:
    """The page's cookie-writing scripts (the shared page CSS is an html element too)."""
    return [h.proto.body for h in at.get("html") if "document.cookie" in h.proto.body]


def test_a_sign_in_writes_the_session_cookie_and_a_sign_out_clears_it(db_path, own_users):
    at = sign_in(anonymous(), "tianjian", SECRET)
    token = at.session_state["auth_session"]
    scripts = cookie_scripts(at)
    assert len(scripts) == 1 and f"worktrack_session={token}; Path=/; SameSite=Strict; Max-Age=2592000" in scripts[0]
    assert "location.protocol === 'https:' ? '; Secure'" in scripts[0]
    at.run()
    assert not cookie_scripts(at)  # written once
    at.sidebar.button(key="logout").click().run()
    assert "worktrack_session=; Path=/; SameSite=Strict; Max-Age=0" in cookie_scripts(at)[0]
    assert UserStore(own_users).resume_session(token) is None


def test_a_reload_resumes_the_session_from_its_cookie(db_path, own_users, monkeypatch):
    token = sign_in(anonymous(), "tianjian", SECRET).session_state["auth_session"]
    # A reload is a new Streamlit session whose only link to the sign-in is the browser's cookie.
    monkeypatch.setattr(app_support, "_cookie_token", lambda: token)
    at = anonymous()
    assert at.title[0].value == "总览"
    assert at.session_state["auth_user"].username == "tianjian" and not cookie_scripts(at)
    monkeypatch.setattr(app_support, "_cookie_token", lambda: token[:-2] + "xx")  # a forged cookie
    at = anonymous()
    assert at.title[0].value == "登录" and "Max-Age=0" in cookie_scripts(at)[0]
    at.run()
    assert not cookie_scripts(at)  # cleared once, not at every click


def test_after_signing_out_the_old_cookie_does_not_sign_back_in(db_path, own_users, monkeypatch):
    token = sign_in(anonymous(), "tianjian", SECRET).session_state["auth_session"]
    monkeypatch.setattr(app_support, "_cookie_token", lambda: token)  # the tab was opened with the cookie
    at = anonymous()
    assert at.title[0].value == "总览"
    at.sidebar.button(key="logout").click().run()
    assert at.title[0].value == "登录"
    assert at.run().title[0].value == "登录" and not cookie_scripts(at)
    assert anonymous().title[0].value == "登录"  # a reload with the stale cookie


def test_an_idle_session_ends_after_the_timeout(db_path, own_users, monkeypatch):
    clock = FakeClock()
    monkeypatch.setenv("WORKTRACK_SESSION_IDLE_HOURS", "8")
    monkeypatch.setattr(app_support, "user_store", lambda: UserStore(own_users, clock=clock))
    at = sign_in(anonymous(), "tianjian", SECRET)
    for _ in range(3):
        clock.advance(7 * 3600)
        assert at.run().title[0].value == "总览"
    clock.advance(8 * 3600 + 1)
    assert at.run().title[0].value == "登录"


def test_a_session_without_a_server_record_is_not_trusted(db_path, own_users):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.session_state["auth_user"] = UserStore(own_users).get("tianjian")
    at.session_state["auth_method"] = "password"
    at.session_state["auth_session"] = "A" * 32 + "." + "B" * 43
    at.run()
    assert at.title[0].value == "登录"


@pytest.mark.parametrize(("role", "pages"), [
    ("leader", {"overview", "plan", "community", "meeting"}),
    ("tianjian", {"overview", "plan", "community", "meeting", "upload"}),
    ("office", {"overview", "plan", "community", "meeting", "upload"}),
    ("admin", {"overview", "plan", "community", "meeting", "upload", "admin"}),
])
def test_the_menu_by_role(db_path, accounts, role, pages):
    names = [p.removeprefix("pages/").removesuffix(".py") for p in ALL_PAGES]
    assert {name for name in names if app_support.may_open(accounts[role], name)} == pages
    at = dashboard(accounts[role])
    for page in ALL_PAGES:  # every screen is registered (hidden when not offered), so no "page not found"
        at.switch_page(page)


@pytest.mark.parametrize(("role", "page", "refusal"), [
    ("leader", "pages/upload.py", "只有社区账号"),
    ("leader", "pages/admin.py", "只有管理员可以使用管理页面"),
    ("tianjian", "pages/admin.py", "只有管理员可以使用管理页面"),
])
def test_a_screen_outside_the_menu_refuses_when_its_address_is_opened(db_path, accounts, role, page, refusal):
    at = dashboard(accounts[role], page)
    assert refusal in texts(at)
    assert not at.file_uploader and not at.dataframe


def test_signed_out_every_address_shows_the_sign_in_form(db_path, own_users):
    at = sign_in(anonymous(), "tianjian", SECRET)
    at.switch_page("pages/upload.py").run()
    assert at.title[0].value == "上报月报"
    at.sidebar.button(key="logout").click().run()  # signed out on the upload page's address
    assert at.title[0].value == "登录" and not at.file_uploader
    sign_in(at, "tianjian", SECRET)
    assert at.title[0].value == "上报月报"  # back where one signed out


def test_a_community_sees_street_wide_pages_and_its_own_unit(db_path, accounts):
    at = dashboard(accounts["tianjian"])
    assert at.sidebar.selectbox(key="unit_filter").options == ["全部单位", "天剑社区"]
    at.switch_page("pages/community.py").run()
    assert at.selectbox(key="community_choice").options == ["天剑社区"]
    at.switch_page("pages/plan.py").run()
    assert at.selectbox(key="plan_unit").options == ["全部单位", "天剑社区"]


def test_a_leader_may_filter_every_unit(db_path, accounts, plan):
    at = dashboard(accounts["leader"])
    assert len(at.sidebar.selectbox(key="unit_filter").options) == 1 + len(plan.units)


# -- demo mode


@pytest.fixture
def demo_db_env(tmp_path, monkeypatch, plan, entry_script):
    path = tmp_path / "demo.duckdb"
    monkeypatch.setenv("WORKTRACK_DB", str(path))
    monkeypatch.setenv("WORKTRACK_DEMO", "1")
    monkeypatch.setenv("WORKTRACK_USERS", str(tmp_path / "users.yaml"))
    load_demo(plan, Store(path), "2023-05", tmp_path / "samples")
    return path


def test_demo_mode_offers_a_role_picker_without_password(demo_db_env, plan):
    at = anonymous()
    assert "演示模式" in texts(at)
    picker = at.radio(key="demo_role")
    assert len(picker.options) == 2 + len(plan.communities)
    assert not [t for t in at.text_input if t.key == "login_password"]
    picker.set_value(2).run()  # the first community
    at.button(key="demo_enter").click().run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert "演示模式" in texts(at)  # the banner stays on every page
    user = at.session_state["auth_user"]
    assert user.demo and user.role == "community" and user.unit == plan.communities[0].name
    at.switch_page("pages/upload.py").run()
    assert at.title[0].value == "上报月报"
    assert not (demo_db_env.parent / "users.yaml").exists()  # demo identities are never written


def test_demo_mode_is_refused_on_a_database_not_named_demo(tmp_path, monkeypatch, plan, entry_script):
    monkeypatch.setenv("WORKTRACK_DB", str(tmp_path / "worktrack.duckdb"))
    monkeypatch.setenv("WORKTRACK_DEMO", "1")
    monkeypatch.setenv("WORKTRACK_USERS", str(tmp_path / "users.yaml"))
    at = anonymous()
    assert "演示模式只能使用演示数据库" in texts(at)
    assert not at.radio and at.text_input(key="login_password")


def test_demo_mode_is_refused_on_a_demo_database_holding_real_reports(demo_db_env, plan):
    from tests.test_upload import GOOD, filled

    data = filled(plan, "天剑社区", "2023-06", GOOD)
    Store(demo_db_env).submit(read_report(data, "real.csv", plan), data, submitted_by="tianjian")
    at = anonymous()
    assert "1 份真实上报" in texts(at)
    assert not at.radio


def test_a_demo_identity_is_dropped_when_demo_mode_ends(demo_db_env, plan, monkeypatch):
    at = anonymous()
    at.button(key="demo_enter").click().run()
    assert at.title[0].value == "总览"
    monkeypatch.delenv("WORKTRACK_DEMO")
    at.run()
    assert at.title[0].value == "登录"


# -- single sign-on (no provider needed: AppTest stands in for st.user)


def _with_email(users_path, username: str, email: str) -> None:
    data = yaml.safe_load(users_path.read_text(encoding="utf-8"))
    data["users"][username]["email"] = email
    users_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


AUTH_SECRETS = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                         "client_id": "worktrack", "client_secret": "s",
                         "server_metadata_url": "https://sso.example.org/.well-known/openid-configuration"}}


def test_single_sign_on_button_with_an_auth_section(db_path, own_users):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.secrets.update(AUTH_SECRETS)
    at.user = {"is_logged_in": False}
    at.run()
    assert "使用统一身份认证登录" in [b.label for b in at.button]


def test_single_sign_on_maps_the_email_to_an_account(db_path, own_users):
    _with_email(own_users, "tianjian", "TJ@Example.org")
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.secrets.update(AUTH_SECRETS)
    at.user = {"is_logged_in": True, "email": "tj@example.org", "name": "天剑"}
    at.run()
    assert not at.exception
    assert at.title[0].value == "总览"
    assert at.session_state["auth_user"].username == "tianjian"
    assert at.session_state["auth_method"] == "oidc"


def test_single_sign_on_with_an_unknown_email_is_refused(db_path, own_users):
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.secrets.update(AUTH_SECRETS)
    at.user = {"is_logged_in": True, "email": "stranger@example.org"}
    at.run()
    assert at.title[0].value == "登录"
    assert "没有对应的本系统账号" in texts(at) and "stranger@example.org" in texts(at)
    assert "auth_user" not in at.session_state


def test_single_sign_on_that_cannot_start_says_so_in_chinese(db_path, own_users, monkeypatch):
    """A missing Authlib or a broken [auth] section: a Chinese message, and the password form stays."""
    import streamlit

    def broken_login(*args, **kwargs):
        raise ImportError("To use authentication features, you need to install Authlib>=1.3.2")

    monkeypatch.setattr(streamlit, "login", broken_login)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.secrets.update(AUTH_SECRETS)
    at.user = {"is_logged_in": False}
    at.run()
    at.button(key="oidc_login").click().run()
    assert not at.exception
    assert "统一身份认证暂时无法使用" in texts(at)
    assert at.text_input(key="login_password")  # the password form is still there


def test_find_by_email_is_case_insensitive_and_never_guesses(own_users):
    _with_email(own_users, "tianjian", " TJ@Example.org ")
    store = UserStore(own_users)
    assert store.find_by_email("tj@example.ORG").username == "tianjian"
    assert store.get("tianjian").email == "tj@example.org"
    assert store.find_by_email("") is None and store.find_by_email("other@example.org") is None
    _with_email(own_users, "lead", "tj@example.org")  # two accounts claim one email: neither matches
    assert store.find_by_email("tj@example.org") is None

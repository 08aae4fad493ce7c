"""AppTest helpers: the dashboard run from its entry script, with test accounts to sign in as.

Load its fixtures in a test module with `pytest_plugins = ["tests.apptest"]`. The test modules import
its helpers before pytest loads it as a plugin, so it raises its own errors instead of relying on
assert rewriting (PYTEST_DONT_REWRITE).
"""

from __future__ import annotations

import pytest
import streamlit.testing.v1.app_test as app_test_module
from argon2 import PasswordHasher
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from worktrack.auth import User, UserStore

ENTRY = str(ROOT / "dashboard.py")
PASSWORD = "Test-password-2023"
# Cheap argon2 parameters for building the shared test accounts; logins verify them the same way.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ACCOUNTS = {
    "leader": ("lead", "leader", None, "王领导"),
    "admin": ("admin1", "admin", None, "李管理"),
    "tianjian": ("tianjian", "community", "天剑社区", "天剑社区"),
    "xiajiachong": ("xiajiachong", "community", "夏家冲社区", "夏家冲社区"),
    "office": ("office", "community", "街道民政办", "街道民政办"),
}


class _EntryScriptPagesManager(PagesManager):
    """Run every AppTest run through dashboard.py, as a real server does after its first request.

    AppTest forgets before each run that st.navigation switched off Streamlit's legacy pages/
    folder mode, and would then run a page file without the entry script (no sign-in, no sidebar).
    A server leaves that mode once for good (app_support._leave_legacy_multipage_mode).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture
def entry_script(monkeypatch):
    monkeypatch.setattr(app_test_module, "PagesManager", _EntryScriptPagesManager)


@pytest.fixture(scope="session")
def users_file(tmp_path_factory, plan):
    """A users file with one account per role (and three reporting units), built once."""
    path = tmp_path_factory.mktemp("accounts") / "users.yaml"
    store = UserStore(path, hasher=FAST_HASHER)
    for username, role, unit, name in ACCOUNTS.values():
        store.add(username, PASSWORD, role, unit, name, plan=plan)
    return path


@pytest.fixture
def accounts(users_file, monkeypatch, entry_script) -> dict[str, User]:
    """The test accounts by key (leader, admin, tianjian, xiajiachong, office); WORKTRACK_USERS points at them."""
    monkeypatch.setenv("WORKTRACK_USERS", str(users_file))
    store = UserStore(users_file)
    return {key: store.get(username) for key, (username, *_rest) in ACCOUNTS.items()}


def signed_in(at: AppTest, user: User) -> AppTest:
    """Put a completed sign-in of `user` into the session: the identity and, for an account, a real
    server-side session in the users file's session store (as the login form would open)."""
    at.session_state["auth_user"] = user
    at.session_state["auth_method"] = "demo" if user.demo else "password"
    if not user.demo:
        at.session_state["auth_session"] = UserStore().start_session(user)
    return at


def dashboard(user: User | None = None, page: str | None = None, lang: str | None = None, **state) -> AppTest:
    """Run the dashboard signed in as `user` (a completed sign-in: the identity is in the session), open `page`."""
    at = AppTest.from_file(ENTRY, default_timeout=60)
    if user is not None:
        signed_in(at, user)
    if lang:
        at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    if at.exception:
        raise AssertionError(f"the dashboard raised: {[e.value for e in at.exception]}")
    return at


def texts(at: AppTest) -> str:
    """Every message, caption, markdown and text on screen, joined (for `in` assertions)."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "text", "success", "info", "warning", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def table_text(at: AppTest) -> str:
    """Every cell and column name of every dataframe on screen, joined."""
    parts = []
    for frame in at.dataframe:
        value = frame.value
        parts += [str(c) for c in value.columns] + [str(v) for v in value.to_numpy().ravel()]
    return "\n".join(parts)

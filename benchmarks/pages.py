"""Dashboard page reruns under Streamlit's AppTest, the way tests/test_app.py drives the pages.

Signed in as an administrator (who sees every page; a users file with one account is written
next to the database), for each page registered in dashboard.py: run the entry script, clear
Streamlit's cached query results, switch to the page and run it once (this first run fills the
caches: the status reports, the monthly values; it is reported as "first run"), then time
further `at.run()` reruns. A rerun is what a user's click costs once the data is cached: the
entry script (sign-in check, navigation, sidebar) and the page, with Streamlit serialising every
element. As in tests/apptest.py, every run goes through dashboard.py.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY = ROOT / "dashboard.py"


def registered_pages() -> list[str]:
    """The page files dashboard.py names, in the order it names them (each once)."""
    return list(dict.fromkeys(re.findall(r"""["'](pages/[^"']+\.py)["']""", ENTRY.read_text(encoding="utf-8"))))


@dataclass
class PageTiming:
    page: str
    first: float = float("nan")  # the page's first run, without cached query results
    reruns: list[float] = field(default_factory=list)
    title: str = ""
    signed_out: bool = False
    error: str | None = None

    @property
    def median(self) -> float:
        from statistics import median

        return median(self.reruns) if self.reruns else float("nan")


def _admin(users_file: Path, plan_path: Path):
    """An administrator account in a users file of its own (cheap hashing: signing in is not timed)."""
    from argon2 import PasswordHasher

    from worktrack.auth import UserStore
    from worktrack.plan import load_plan

    for stale in users_file.parent.glob(users_file.name + "*"):
        stale.unlink()
    store = UserStore(users_file, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    store.add("bench_admin", "Bench-password-2023", "admin", None, "基准测试管理员", plan=load_plan(plan_path))
    return store.get("bench_admin")


@contextmanager
def _through_entry_script() -> Iterator[None]:
    """Every AppTest run goes through dashboard.py, as a server does after its first request."""
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager

    class EntryScriptPagesManager(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    original = app_test_module.PagesManager
    app_test_module.PagesManager = EntryScriptPagesManager
    try:
        yield
    finally:
        app_test_module.PagesManager = original


def time_pages(db: Path, plan: Path, *, runs: int, warmup: int, pages: list[str] | None = None) -> list[PageTiming]:
    """Median rerun time of every page on one database (caches cleared before each page)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    users_file = db.parent / f"{db.stem}-users.yaml"
    admin = _admin(users_file, plan)
    os.environ["WORKTRACK_DB"] = str(db)
    os.environ["WORKTRACK_PLAN"] = str(plan)
    os.environ["WORKTRACK_USERS"] = str(users_file)
    os.environ.pop("WORKTRACK_DEMO", None)
    results = []
    for page in pages or registered_pages():
        st.cache_data.clear()
        st.cache_resource.clear()
        timing = PageTiming(page)
        results.append(timing)
        try:
            with _through_entry_script():
                _time_page(AppTest, page, admin, timing, runs, warmup)
        except Exception as exc:  # noqa: BLE001 - one failing page must not hide the others' numbers
            timing.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    st.cache_data.clear()
    st.cache_resource.clear()
    return results


def _time_page(AppTest, page: str, admin, timing: PageTiming, runs: int, warmup: int) -> None:  # noqa: N803
    from worktrack.auth import UserStore

    at = AppTest.from_file(str(ENTRY), default_timeout=900)
    at.session_state["auth_user"] = admin
    at.session_state["auth_method"] = "password"
    # a completed sign-in holds a server-side session too (as the login form opens one)
    at.session_state["auth_session"] = UserStore().start_session(admin)
    at.run()
    try:
        at.switch_page(page)
    except ValueError:
        # a page offered only to someone not signed in (the sign-in page): time it signed out
        at = AppTest.from_file(str(ENTRY), default_timeout=900)
        at.run()
        at.switch_page(page)
        timing.signed_out = True
    # The first run of the page starts without cached query results (as after an accepted upload,
    # which clears them: `clear_data_caches`); the plan and the store stay cached, as they do in a
    # running dashboard.
    from app_support import clear_data_caches

    clear_data_caches()
    started = time.perf_counter()
    at.run()
    timing.first = time.perf_counter() - started
    for _ in range(warmup):
        at.run()
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        timing.reruns.append(time.perf_counter() - started)
    if at.exception:
        timing.error = "; ".join(str(e.value)[:200] for e in at.exception)
    timing.title = at.title[0].value if len(at.title) else ""

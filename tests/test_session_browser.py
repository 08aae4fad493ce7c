"""Sessions in headless Chromium: a sign-in survives a reload, a new tab and a bookmark, and ends when
the password changes; the server answers no metrics to anyone."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.browser import browser_page, running_dashboard, wait_for_app
from tests.conftest import PLAN_PATH, ROOT
from worktrack.auth import UserStore

pytestmark = pytest.mark.browser

PASSWORD = "Browser-pass-2023"


@pytest.fixture(scope="module")
def server(tmp_path_factory, plan):
    root = tmp_path_factory.mktemp("session-browser")
    users = root / "users.yaml"
    store = UserStore(users)
    store.add("tianjian", PASSWORD, "community", "天剑社区", "天剑社区", plan=plan)
    env = {"WORKTRACK_DB": str(root / "worktrack.duckdb"), "WORKTRACK_PLAN": str(PLAN_PATH),
           "WORKTRACK_USERS": str(users)}
    with running_dashboard(env) as url:
        yield {"url": url, "env": env}


def heading_and_account(page) -> tuple[str, bool]:
    """The page's first heading once the app has run, and whether the sidebar shows the account box."""
    page.locator("h1").first.wait_for(timeout=30_000)
    wait_for_app(page)
    return page.locator("h1").first.inner_text(), page.get_by_test_id("stSidebar").get_by_text("退出登录").count() > 0


def test_a_sign_in_survives_a_reload_a_new_tab_and_a_bookmark_and_ends_at_users_passwd(server):
    url = server["url"]
    with browser_page() as page:
        page.goto(url)
        wait_for_app(page)
        page.get_by_role("heading", name="登录").wait_for(timeout=30_000)
        page.get_by_label("用户名").fill("tianjian")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
        wait_for_app(page)
        page.wait_for_function("() => document.cookie.includes('worktrack_session=')", timeout=30_000)
        cookie = next(c for c in page.context.cookies() if c["name"] == "worktrack_session")
        assert (cookie["path"], cookie["sameSite"], cookie["httpOnly"], cookie["secure"]) == ("/", "Strict", False,
                                                                                             False)

        page.reload()  # F5
        heading, account = heading_and_account(page)
        assert heading.startswith("总览") and account

        tab = page.context.new_page()  # a new tab, opened on a bookmarked deep link
        tab.goto(f"{url}/plan")
        heading, account = heading_and_account(tab)
        assert not heading.startswith("登录") and account
        assert tab.url.endswith("/plan")

        changed = subprocess.run(
            [sys.executable, "-m", "worktrack", "users", "passwd", "tianjian", "--password-stdin"],
            input="Changed-pass-2024\n", capture_output=True, text=True, encoding="utf-8", cwd=ROOT, timeout=60,
            env={**os.environ, **server["env"], "PYTHONIOENCODING": "utf-8"})
        assert changed.returncode == 0, changed.stderr

        # the next click in the open tab signs out
        page.get_by_test_id("stSidebarNav").get_by_text("目标").click()
        page.get_by_role("heading", name="登录").wait_for(timeout=30_000)
        # and the cookie no longer opens anything
        tab.reload()
        tab.get_by_role("heading", name="登录").wait_for(timeout=30_000)
        wait_for_app(tab)
        page.wait_for_function("() => !document.cookie.includes('worktrack_session=')", timeout=30_000)


def test_the_metrics_endpoint_answers_nobody(server):
    for path in ("/_stcore/metrics", "/_stcore/metrics?families=session_events"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server["url"] + path, timeout=10)
        assert refused.value.code == 404
        assert b"# TYPE" not in refused.value.read()
    with urllib.request.urlopen(server["url"] + "/_stcore/health", timeout=10) as ok:  # the server itself is up
        assert ok.status == 200

"""Real journeys in headless Chromium against a running `streamlit run dashboard.py`."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory):
    # Demo mode (as `bash scripts/run.sh` starts it) on an empty demo database: the role picker signs in.
    root = tmp_path_factory.mktemp("browser")
    env = {"WORKTRACK_DB": str(root / "demo.duckdb"), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_DEMO": "1",
           "WORKTRACK_USERS": str(root / "users.yaml")}
    with running_dashboard(env) as url:
        yield url


def enter_demo_as_leader(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_text("街道领导（演示）").wait_for(timeout=30_000)
    page.get_by_role("button", name="进入演示").click()
    page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
    wait_for_app(page)


def test_plan_page_shows_chinese_heading(dashboard_url):
    with browser_page() as page:
        enter_demo_as_leader(page, dashboard_url)
        page.get_by_role("link", name="目标").click()
        page.get_by_role("heading", name="工作要点与目标").wait_for(timeout=30_000)
        page.get_by_text("基本民生保障兜牢兜准").first.wait_for(timeout=30_000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_text("基本民生保障兜牢兜准").count() >= 1
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        screenshot(page, "plan")


def test_a_deep_link_while_signed_out_shows_the_sign_in_page(dashboard_url):
    with browser_page() as page:
        page.goto(dashboard_url + "/plan")
        wait_for_app(page)
        page.get_by_role("button", name="进入演示").wait_for(timeout=30_000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_role("heading", name="工作要点与目标").count() == 0
        page.get_by_role("button", name="进入演示").click()
        page.get_by_role("heading", name="工作要点与目标").wait_for(timeout=30_000)  # the page asked for
        assert page.get_by_text("Page not found").count() == 0

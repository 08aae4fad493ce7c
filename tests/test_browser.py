"""Real journeys in headless Chromium against a running `streamlit run dashboard.py`."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH

pytestmark = pytest.mark.browser

PAGES = [("", "总览"), ("plan", "工作要点与目标"), ("community", "社区")]


@pytest.fixture(scope="module")
def dashboard_url(demo_db):
    env = {"WORKTRACK_DB": str(demo_db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_DEMO": "1"}
    with running_dashboard(env) as url:
        yield url


def assert_clean(page) -> None:
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0


@pytest.mark.parametrize(("path", "heading"), PAGES, ids=[p or "overview" for p, _ in PAGES])
def test_page_shows_its_chinese_heading(dashboard_url, path, heading):
    with browser_page() as page:
        page.goto(f"{dashboard_url}/{path}")
        wait_for_app(page)
        page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        assert_clean(page)
        screenshot(page, f"page-{path or 'overview'}")


def test_deep_link_on_first_request_runs_through_the_entry_script(demo_db):
    """Regression: with a pages/ folder, the server's first request used to run the page alone."""
    env = {"WORKTRACK_DB": str(demo_db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_DEMO": "1"}
    with running_dashboard(env) as url, browser_page() as page:
        page.goto(f"{url}/community")
        wait_for_app(page)
        page.get_by_role("heading", name="社区", exact=True).wait_for(timeout=30_000)
        # the entry script's sidebar (language, as-of month) is there, and the Chinese navigation
        page.get_by_text("截至月份").first.wait_for(timeout=30_000)
        assert page.get_by_role("link", name="总览").count() >= 1
        assert_clean(page)

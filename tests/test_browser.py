"""Real journeys in headless Chromium against a running `streamlit run dashboard.py`."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "worktrack.duckdb"
    env = {"WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH)}
    with running_dashboard(env) as url:
        yield url


def test_plan_page_shows_chinese_heading(dashboard_url):
    with browser_page() as page:
        page.goto(dashboard_url)
        wait_for_app(page)
        page.get_by_role("heading", name="工作要点与目标").wait_for(timeout=30_000)
        page.get_by_text("基本民生保障兜牢兜准").first.wait_for(timeout=30_000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_text("基本民生保障兜牢兜准").count() >= 1
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        screenshot(page, "plan")

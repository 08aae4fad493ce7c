"""例会 in headless Chromium: page through the slides on a running dashboard with the demo data.

The dashboard runs in demo mode on the demo database, so the street leader is picked without a
password; the meeting page is then opened from the navigation (a fresh URL would start a new session).
"""

from __future__ import annotations

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard_url(demo_db):
    env = {"WORKTRACK_DB": str(demo_db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_DEMO": "1"}
    with running_dashboard(env) as url:
        yield url


def slide_title(page) -> str:
    return page.locator("[data-testid='stMain'] h1").first.inner_text().strip()


def test_clicking_next_walks_through_the_slides(dashboard_url, plan):
    with browser_page() as page:
        page.goto(dashboard_url)
        wait_for_app(page)
        page.locator(".st-key-demo_enter button").click()  # the first identity offered is the street leader
        wait_for_app(page)
        page.locator("[data-testid='stSidebarNav'] a[href$='/meeting']").click()
        wait_for_app(page)
        next_button = page.get_by_role("button", name="下一页")
        next_button.wait_for(timeout=30_000)
        titles = [slide_title(page)]
        assert titles[0] == plan.title
        for _ in range(3):
            next_button.click()
            page.wait_for_function(
                "previous => { const h = document.querySelector(\"[data-testid='stMain'] h1\");"
                " return h && h.innerText.trim() !== previous; }", arg=titles[-1], timeout=30_000)
            wait_for_app(page)
            titles.append(slide_title(page))
        assert len(set(titles[1:])) == 3, titles
        assert titles[1] == "核心指标" and titles[2].startswith("一、")
        assert page.get_by_text("第 4 / ").count() >= 1
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.get_by_text("Traceback").count() == 0
        screenshot(page, "meeting")

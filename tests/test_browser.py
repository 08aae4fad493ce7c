"""Real journeys in headless Chromium against a running `streamlit run dashboard.py`."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory):
    # Demo mode (as `bash scripts/run.sh` starts it) on an empty demo database: the role picker signs in.
    from worktrack.store import Store

    root = tmp_path_factory.mktemp("browser")
    Store(root / "demo.duckdb").mark_demo(actor="demo")  # what the demo command does before loading
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


# Every screen, as the demo administrator (who may open all of them), on the demo story.
SCREENS = [("总览", "总览"), ("目标", "工作要点与目标"), ("社区", "社区"), ("例会", None), ("上报", "上报月报"), ("管理", "管理")]


@pytest.fixture(scope="module")
def demo_story_url(tmp_path_factory):
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("story")
    db = root / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "--plan", str(PLAN_PATH), "demo", "--out",
                    str(root / "samples")], check=True, capture_output=True)
    env = {"WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_DEMO": "1",
           "WORKTRACK_USERS": str(root / "users.yaml")}
    with running_dashboard(env) as url:
        yield url


@pytest.mark.parametrize(("label", "heading"), SCREENS, ids=[label for label, _ in SCREENS])
def test_every_screen_shows_its_chinese_heading_and_no_error(demo_story_url, label, heading):
    with browser_page() as page:
        page.goto(demo_story_url)
        wait_for_app(page)
        page.get_by_text("管理员（演示）").first.click()
        page.get_by_role("button", name="进入演示").click()
        page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
        page.get_by_role("link", name=label).first.click()
        if heading:
            page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=30_000)
        else:  # the meeting page opens its stage on the title slide, headed by the plan's title
            stage = page.frame_locator("iframe").first
            stage.get_by_role("heading", name="金盆岭街道2023年民政和基层社会治理工作要点").first.wait_for(
                timeout=30_000)
        wait_for_app(page)
        page.wait_for_timeout(1000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        assert page.get_by_text("Traceback").count() == 0
        page.get_by_text("演示模式").first.wait_for(timeout=10_000)  # the demo banner on every screen
        screenshot(page, f"screen-{label}")


@pytest.mark.parametrize("width", [1440, 390])
def test_the_attention_list_is_readable_in_full(demo_story_url, width):
    # regression: the 说明 column was cut off at 1440 px and invisible on a phone
    with browser_page() as page:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(demo_story_url)
        wait_for_app(page)
        page.get_by_text("街道领导（演示）").first.click()
        page.get_by_role("button", name="进入演示").click()
        page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
        wait_for_app(page)
        table = page.locator("table.wt-wrapped").first
        table.wait_for(timeout=30_000)
        table.scroll_into_view_if_needed()
        blocked = page.get_by_text("开放式老旧小区引入物业服务，居民意见未统一，暂缓推进", exact=False).first
        assert blocked.is_visible()
        overflow = page.evaluate("""() => {
            const cells = [...document.querySelectorAll('table.wt-wrapped td')];
            const bad = cells.filter(td => td.scrollWidth > td.clientWidth + 1
                                         || td.getBoundingClientRect().right > window.innerWidth + 1);
            return {cells: cells.length, bad: bad.map(td => td.innerText).slice(0, 5)};
        }""")
        assert overflow["cells"] > 20 and overflow["bad"] == [], overflow
        screenshot(page, f"attention-{width}")

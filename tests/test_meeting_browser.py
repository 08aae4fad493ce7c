"""例会 in headless Chromium: the presenter stage driven by keyboard and clicker on a running dashboard.

The dashboard runs in demo mode on the demo database, so the street leader is picked without a
password; the meeting page is then opened from the navigation (a fresh URL would start a new session).
"""

from __future__ import annotations

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH

pytestmark = pytest.mark.browser

# Every element of a slide must lie inside the slide; text must not be cut inside its cell or box.
MEASURE_SLIDE = """() => {
  const doc = document.querySelector('iframe').contentDocument;
  const slide = doc.querySelector('#wt-stage .slide.active');
  const stage = doc.querySelector('#wt-stage').getBoundingClientRect();
  const box = slide.getBoundingClientRect();
  const outside = [];
  for (const el of slide.querySelectorAll('h1, p, td, th, li, .card, .card div, svg, svg text, footer span')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
      outside.push(el.tagName + ': ' + (el.textContent || '').slice(0, 40));
    }
    if ((el.tagName === 'TD' || el.tagName === 'TH') && el.scrollHeight > el.clientHeight + 2) {
      outside.push('cut ' + (el.textContent || '').slice(0, 40));
    }
  }
  const body = slide.querySelector('.body');
  if (body) {
    const b = body.getBoundingClientRect();
    for (const child of body.children) {
      if (child.getBoundingClientRect().bottom > b.bottom + 1) outside.push('below the body: ' + child.tagName);
    }
  }
  const sizes = [...slide.querySelectorAll('td, th, li, svg text')].map(el => parseFloat(getComputedStyle(el).fontSize)
      * (el.ownerSVGElement ? el.ownerSVGElement.getScreenCTM().a : 1) * parseFloat(doc.body.dataset.scale));
  return {
    key: slide.dataset.key, outside,
    smallest: sizes.length ? Math.min(...sizes) : null,
    scroll: [doc.scrollingElement.scrollHeight > doc.scrollingElement.clientHeight,
             document.scrollingElement.scrollHeight > document.scrollingElement.clientHeight + 1],
    fits: stage.right <= window.innerWidth + 1 && stage.bottom <= window.innerHeight + 1,
    slide: doc.body.dataset.slide,
  };
}"""


@pytest.fixture(scope="module")
def dashboard_url(demo_db):
    env = {"WORKTRACK_DB": str(demo_db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_DEMO": "1"}
    with running_dashboard(env) as url:
        yield url


def open_meeting(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.locator(".st-key-demo_enter button").click()  # the first identity offered is the street leader
    wait_for_app(page)
    page.locator("[data-testid='stSidebarNav'] a[href$='/meeting']").click()
    wait_for_app(page)
    page.frame_locator("iframe").first.locator("#wt-present").wait_for(timeout=30_000)


def current(page) -> int:
    return int(page.evaluate("() => document.querySelector('iframe').contentDocument.body.dataset.slide"))


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)])
def test_the_presenter_view_fits_every_slide_without_scrolling(dashboard_url, width, height):
    with browser_page() as page:
        page.set_viewport_size({"width": width, "height": height})
        open_meeting(page, dashboard_url)
        frame = page.frame_locator("iframe").first
        total = int(frame.locator("#wt-count").inner_text().split("/")[1])
        frame.locator("#wt-present").click()
        page.keyboard.press("Home")
        assert current(page) == 0
        seen = []
        for number in range(total):
            result = page.evaluate(MEASURE_SLIDE)
            assert result["outside"] == [], result
            assert result["fits"] and result["scroll"] == [False, False], result
            if width == 1920 and result["smallest"] is not None:
                assert result["smallest"] >= 19.9, result  # table text and axis labels readable from the back
            seen.append(result["key"])
            if number in (0, 3, 4):
                screenshot(page, f"stage-{width}-{number + 1}")
            page.keyboard.press("PageDown" if number % 2 == 0 else "ArrowRight")  # a clicker sends PageDown
        assert len(set(seen)) == total
        assert current(page) == total - 1  # the last key press stops at the end
        page.keyboard.press("PageUp")
        assert current(page) == total - 2
        page.keyboard.press("Space")
        assert current(page) == total - 1
        page.keyboard.press("Home")
        assert current(page) == 0
        page.keyboard.press("End")
        assert current(page) == total - 1
        page.keyboard.press("ArrowLeft")
        assert current(page) == total - 2
        # presenting covers the page: nothing but the slide and the progress line
        frame_box = page.locator("iframe").first.bounding_box()
        assert frame_box["width"] >= width - 1 and frame_box["height"] >= height - 1
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.querySelector('iframe').getBoundingClientRect().width < innerWidth")


def test_a_reload_keeps_the_slide(dashboard_url):
    with browser_page() as page:
        open_meeting(page, dashboard_url)
        page.keyboard.press("Home")
        for _ in range(3):
            page.keyboard.press("PageDown")
        assert current(page) == 3
        page.reload()
        wait_for_app(page)
        page.wait_for_selector(".st-key-demo_enter button, iframe", timeout=30_000)
        if page.locator(".st-key-demo_enter button").count():  # a reload is a new session: sign in again
            page.locator(".st-key-demo_enter button").click()
            wait_for_app(page)
        page.frame_locator("iframe").first.locator("#wt-present").wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('iframe').contentDocument.body.dataset.slide")
        assert current(page) == 3


def test_the_presenter_tab_follows_the_stage(dashboard_url):
    with browser_page() as page:
        open_meeting(page, dashboard_url)
        page.keyboard.press("Home")
        frame = page.frame_locator("iframe").first
        with page.context.expect_page() as opened:
            frame.locator("#wt-presenter-open").click()
        presenter = opened.value
        wait_for_app(presenter)
        presenter.wait_for_selector(".st-key-demo_enter button, iframe", timeout=30_000)
        if presenter.locator(".st-key-demo_enter button").count():  # a new tab is a new session
            presenter.locator(".st-key-demo_enter button").click()
            wait_for_app(presenter)
        notes = presenter.frame_locator("iframe").first.locator("#wt-notes")
        notes.wait_for(timeout=30_000)
        first_notes = notes.inner_text()
        assert len(first_notes) > 20
        page.bring_to_front()
        page.keyboard.press("PageDown")
        presenter.wait_for_function(
            "() => document.querySelector('iframe').contentDocument.body.dataset.slide === '1'", timeout=10_000)
        assert notes.inner_text() != first_notes
        upcoming = presenter.frame_locator("iframe").first.locator("#wt-upcoming .slide")
        assert upcoming.count() == 1
        screenshot(presenter, "presenter-view")


def test_the_notes_are_drawn_when_opened(dashboard_url):
    with browser_page() as page:
        open_meeting(page, dashboard_url)
        box = page.locator(".st-key-meeting_notes")
        assert "各位领导、同志们" not in box.inner_text()  # closed: not sent
        box.get_by_text("讲稿（演讲者备注）").click()
        box.get_by_text("各位领导、同志们", exact=False).first.wait_for(timeout=30_000)
        wait_for_app(page)
        assert box.get_by_text("1. ", exact=False).count() >= 1

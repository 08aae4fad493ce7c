"""The dashboard on a phone (390 x 844, a phone's user agent) in headless Chromium.

What is checked here, by the boxes the browser lays out (screenshots go to test-results/ to look at):
- choosing a page in the sidebar closes it (Streamlit does this itself for a phone's user agent);
- a row of headline cards wraps two to a row (app_support.mobile_css), and nothing overflows sideways;
- tables scroll sideways inside their own frame, not the page;
- on the upload page, problems are cards whose 说明与修改方法 is on screen; the table is hidden.
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser import browser_page, running_dashboard, wait_for_app
from tests.browser import screenshot as save_screenshot
from tests.conftest import PLAN_PATH
from worktrack.auth import UserStore
from worktrack.intake import read_report
from worktrack.store import Store
from worktrack.template import build_template

pytestmark = pytest.mark.browser

PASSWORD = "Phone-pass-2023"
PHONE = {"width": 390, "height": 844}
PHONE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36")


def template_with(plan, unit: str, month: str, values: dict[str, str]) -> bytes:
    rows = list(csv.reader(io.StringIO(build_template(plan, unit, month, "csv").decode("utf-8-sig"))))
    for row in rows[2:]:
        if row[2] in values and not row[6]:
            row[5] = values[row[2]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


@pytest.fixture(scope="module")
def server(tmp_path_factory, plan):
    root = tmp_path_factory.mktemp("phone-browser")
    users = root / "users.yaml"
    accounts = UserStore(users)
    accounts.add("tianjian", PASSWORD, "community", "天剑社区", "天剑社区", plan=plan)
    accounts.add("lead", PASSWORD, "leader", None, "王领导", plan=plan)
    db = root / "worktrack.duckdb"
    store = Store(db)
    for month in ("2023-05", "2023-06"):  # real uploads through intake: figures on the overview, a history
        data = template_with(plan, "天剑社区", month, {"retrofit_households": "1", "governance_reports": "2"})
        store.submit(read_report(data, f"天剑社区-{month}.csv", plan), data, submitted_by="tianjian")
    env = {"WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_USERS": str(users)}
    with running_dashboard(env) as url:
        yield {"url": url, "db": db, "root": root}


def phone_page():
    return browser_page(viewport=PHONE, user_agent=PHONE_UA, is_mobile=True, has_touch=True, device_scale_factor=2)


def sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
    page.locator("[data-testid='stHorizontalBlock']").first.wait_for(timeout=30_000)
    wait_for_app(page)


def open_sidebar(page) -> None:
    page.locator("[data-testid='stExpandSidebarButton']").click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                           ".getBoundingClientRect().right > 200", timeout=10_000)


def sidebar_right_edge(page) -> float:
    return page.evaluate("() => document.querySelector('[data-testid=\"stSidebar\"]').getBoundingClientRect().right")


def no_sideways_page_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"


def test_choosing_a_page_closes_the_sidebar_on_a_phone(server):
    with phone_page() as page:
        sign_in(page, server["url"], "lead")
        assert sidebar_right_edge(page) <= 0  # a phone opens on the page, not the menu
        open_sidebar(page)
        save_screenshot(page, "phone-sidebar-open")
        page.get_by_role("link", name="目标").click()
        page.get_by_role("heading", name="工作要点与目标").wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                               ".getBoundingClientRect().right <= 0", timeout=10_000)
        wait_for_app(page)
        save_screenshot(page, "phone-after-navigation")


def test_headline_cards_are_two_to_a_row_on_a_phone(server):
    with phone_page() as page:
        sign_in(page, server["url"], "lead")
        save_screenshot(page, "phone-overview")
        rows = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stHorizontalBlock"]')]
            .map(block => [...block.children].filter(c => c.dataset.testid === 'stColumn')
                 .map(c => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width]; }))
            .filter(columns => columns.length >= 3)""")
        assert rows, "no row of three or more cards on the overview"
        for columns in rows:
            tops = sorted({round(top) for _, top, _ in columns})
            assert len(tops) == (len(columns) + 1) // 2, f"{len(columns)} cards on {len(tops)} rows: {columns}"
            for left, top, width in columns:
                assert left >= 0 and left + width <= PHONE["width"] + 0.5
                paired = [c for c in columns if round(c[1]) == round(top)]
                assert len(paired) <= 2
                if len(paired) == 2:
                    assert width < PHONE["width"] / 2
        no_sideways_page_scroll(page)


def test_upload_page_on_a_phone(server, plan, tmp_path):
    with phone_page() as page:
        sign_in(page, server["url"], "tianjian")
        open_sidebar(page)
        page.get_by_role("link", name="上报").click()
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=30_000)
        wait_for_app(page)
        assert sidebar_right_edge(page) <= 0

        # The history table scrolls sideways inside its own frame; the page itself does not.
        grid = page.locator("[data-testid='stDataFrame']").last
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
        scroller = grid.locator(".dvn-scroller")
        inner, outer = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert inner > outer, "the history table fits a phone: nothing to check"
        save_screenshot(page, "phone-history-table")
        scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
        page.wait_for_timeout(300)  # a repaint of the canvas, not a timing assertion
        save_screenshot(page, "phone-history-table-scrolled")
        no_sideways_page_scroll(page)

        bad = tmp_path / "错误的月报.csv"
        bad.write_bytes(template_with(plan, "天剑社区", "2023-07", {"retrofit_households": "五十",
                                                                     "governance_reports": "-2"}))  # the default month
        page.locator("input[type='file']").set_input_files(str(bad))
        page.get_by_text("文件有 2 处问题，未保存任何数据").wait_for(timeout=30_000)
        wait_for_app(page)
        assert not page.locator(".st-key-upload_error_table").is_visible()
        cards = page.locator(".st-key-upload_error_cards")
        assert cards.is_visible()
        explanation = cards.get_by_text("五十", exact=False).first
        explanation.scroll_into_view_if_needed()
        box = explanation.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5
        assert cards.get_by_text("本月数值", exact=False).count() >= 2  # where: 第 n 行 · 本月数值
        no_sideways_page_scroll(page)
        save_screenshot(page, "phone-upload-errors")

"""The monthly cycle in headless Chromium, with real accounts (no demo mode):

clerk files → reviewer returns it with a reason → clerk sees the reason and refiles → reviewer
approves → the leader's figures go from 含待审核 to approved → the admin closes the month → a late
upload for that month is refused with the Chinese reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH
from tests.test_upload_browser import PASSWORD, download, fill_csv_template, no_errors_on, sign_in
from worktrack.auth import UserStore
from worktrack.store import Store

pytestmark = pytest.mark.browser

TODAY = "2023-07-03"  # June's reports are due on 5 July
MONTH = "2023-06"
UNIT = "天剑社区"
REASON = "适老化改造户数与台账不符，请核对后重新上报"


@pytest.fixture(scope="module")
def server(tmp_path_factory, plan):
    root = tmp_path_factory.mktemp("cycle-browser")
    users = root / "users.yaml"
    accounts = UserStore(users)
    accounts.add("tianjian", PASSWORD, "community", UNIT, UNIT, plan=plan)
    accounts.add("rev", PASSWORD, "reviewer", None, "民政办审核员", plan=plan)
    accounts.add("lead", PASSWORD, "leader", None, "王领导", plan=plan)
    accounts.add("admin1", PASSWORD, "admin", None, "李管理", plan=plan)
    db = root / "worktrack.duckdb"
    env = {"WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_USERS": str(users),
           "WORKTRACK_DEMO": "0", "WORKTRACK_TODAY": TODAY}
    with running_dashboard(env) as url:
        yield {"url": url, "db": db}


def open_page(page, link: str, heading: str) -> None:
    page.get_by_role("link", name=link).click()
    page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
    wait_for_app(page)


def file_report(page, tmp_path: Path, retrofits: str, version: int) -> None:
    template = download(page, "下载 CSV 模板")
    filled = tmp_path / f"{UNIT}-{MONTH}-v{version}.csv"
    filled.write_bytes(fill_csv_template(Path(template.path()).read_bytes(),
                                         {"retrofit_households": retrofits, "governance_reports": "2"}))
    page.locator("input[type='file']").set_input_files(str(filled))
    page.get_by_text("检查通过").wait_for(timeout=30_000)
    page.get_by_role("button", name="提交").click()
    page.get_by_text(f"已接收：{UNIT} 2023年6月第 {version} 版").wait_for(timeout=30_000)
    wait_for_app(page)


def headline_values(page) -> str:
    """The overview's card values, once the page has drawn them (the sidebar is drawn before them)."""
    page.locator("[data-testid='stMetricValue']").first.wait_for(timeout=30_000)
    wait_for_app(page)
    return " ".join(page.locator("[data-testid='stMetricValue']").all_inner_texts())


def test_file_return_refile_approve_close_and_a_late_upload_is_refused(server, tmp_path):
    store = Store(server["db"])
    with browser_page() as clerk:
        sign_in(clerk, server["url"], "tianjian")
        open_page(clerk, "上报", "上报月报")
        file_report(clerk, tmp_path, "5", 1)
    first = int(store.uploads()["upload_id"].max())
    assert store.reviewed_uploads()["review_state"].tolist() == ["pending"]

    # the reviewer returns it with a reason
    with browser_page() as reviewer:
        sign_in(reviewer, server["url"], "rev")
        assert reviewer.get_by_role("link", name="上报").count() == 0
        open_page(reviewer, "审核", "审核")
        reviewer.get_by_text("待审核").first.wait_for(timeout=30_000)
        reviewer.get_by_label("退回原因（报送单位会看到）").fill(REASON)
        reviewer.get_by_role("button", name="退回").click()
        reviewer.get_by_text(f"已退回：{UNIT} 2023年6月第 1 版。").wait_for(timeout=30_000)
        no_errors_on(reviewer)
    assert store.reviewed_uploads()["review_state"].tolist() == ["returned"]

    # the clerk reads the reason and refiles
    with browser_page() as clerk:
        sign_in(clerk, server["url"], "tianjian")
        open_page(clerk, "上报", "上报月报")
        clerk.get_by_text(REASON).wait_for(timeout=30_000)
        assert clerk.get_by_text("2023年6月第 1 版月报已被退回").count() == 1
        screenshot(clerk, "cycle-returned")
        clerk.locator(f".st-key-refile_{MONTH} button").click()  # beside the returned notice
        clerk.get_by_text(f"模板已预先填好{UNIT} 2023年6月要报送的所有事项").wait_for(timeout=30_000)
        wait_for_app(clerk)
        file_report(clerk, tmp_path, "1", 2)
        clerk.reload()
        wait_for_app(clerk)
    assert store.reviewed_uploads(active_only=True)["review_state"].tolist() == ["pending"]

    with browser_page() as leader:
        sign_in(leader, server["url"], "lead")
        leader.get_by_text("以下数字只含已通过审核的月报。").wait_for(timeout=30_000)
        assert "含待审核" not in headline_values(leader)
        leader.get_by_text("含待审核", exact=True).click()  # the sidebar switch
        leader.get_by_text("标有“含待审核”的数字可能还会变").wait_for(timeout=30_000)
        wait_for_app(leader)
        assert "1户（含待审核）" in headline_values(leader)
        screenshot(leader, "cycle-pending-figures")

    # the reviewer approves the refiled version
    with browser_page() as reviewer:
        sign_in(reviewer, server["url"], "rev")
        open_page(reviewer, "审核", "审核")
        reviewer.get_by_role("button", name="通过", exact=True).click()
        reviewer.get_by_text(f"已通过：{UNIT} 2023年6月第 2 版。").wait_for(timeout=30_000)
        no_errors_on(reviewer)

    # the leader's figures are approved ones now: the same figure without the marker, switch on or off
    with browser_page() as leader:
        sign_in(leader, server["url"], "lead")
        leader.get_by_text("以下数字只含已通过审核的月报。").wait_for(timeout=30_000)
        assert "1户" in headline_values(leader) and "含待审核" not in headline_values(leader)
        leader.get_by_text("含待审核", exact=True).click()
        leader.get_by_text("以下数字所用的月报均已通过审核。").wait_for(timeout=30_000)
        wait_for_app(leader)
        assert "1户" in headline_values(leader) and "含待审核" not in headline_values(leader)
        no_errors_on(leader)

    # the admin closes June
    with browser_page() as admin:
        sign_in(admin, server["url"], "admin1")
        open_page(admin, "管理", "管理")
        admin.get_by_role("tab", name="月份锁定").click()
        admin.get_by_role("button", name="关账").click()
        admin.get_by_text("已关账：2023年6月已锁定").wait_for(timeout=30_000)
        no_errors_on(admin)
    assert store.is_locked(MONTH) and store.current_close(MONTH) is not None

    # a late upload for June is refused, in Chinese
    with browser_page() as clerk:
        sign_in(clerk, server["url"], "tianjian")
        open_page(clerk, "上报", "上报月报")
        clerk.locator(".st-key-upload_month").click()
        clerk.get_by_role("option", name=re.compile("2023年6月")).click()
        wait_for_app(clerk)
        clerk.get_by_text("2023年6月已锁定（例会后不再接收修改），不能上报。").wait_for(timeout=30_000)
        wait_for_app(clerk)
        # no file picker for a closed month (the previous month's one leaves once the run is done)
        clerk.wait_for_function("() => document.querySelectorAll(\"input[type='file']\").length === 0",
                                timeout=30_000)
        no_errors_on(clerk)
        screenshot(clerk, "cycle-closed")
    assert store.uploads()["upload_id"].max() == first + 1

"""A community's monthly upload in headless Chromium: sign in, download the template, upload, keep the receipt."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH
from worktrack.auth import UserStore
from worktrack.intake import read_report
from worktrack.store import Store

pytestmark = pytest.mark.browser

PASSWORD = "Browser-pass-2023"
MONTH = "2023-12"  # the default month on an empty database once the 2023 plan is over


@pytest.fixture(scope="module")
def server(tmp_path_factory, plan):
    root = tmp_path_factory.mktemp("upload-browser")
    users = root / "users.yaml"
    store = UserStore(users)
    store.add("tianjian", PASSWORD, "community", "天剑社区", "天剑社区", plan=plan)
    store.add("admin1", PASSWORD, "admin", None, "李管理", plan=plan)
    store.add("lead", PASSWORD, "leader", None, "王领导", plan=plan)
    db = root / "worktrack.duckdb"
    env = {"WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_USERS": str(users)}
    with running_dashboard(env) as url:
        yield {"url": url, "db": db, "root": root}


def sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    wait_for_app(page)
    page.get_by_role("heading", name="登录").wait_for(timeout=30_000)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
    wait_for_app(page)


def no_errors_on(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Traceback").count() == 0
    assert page.get_by_text("Page not found").count() == 0


def fill_csv_template(template: bytes, values: dict[str, str]) -> bytes:
    rows = list(csv.reader(io.StringIO(template.decode("utf-8-sig"))))
    for row in rows[2:]:
        if row[2] in values and not row[6]:
            row[5] = values[row[2]]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def download(page, button: str):
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name=button).click()
    return info.value


def test_login_page_in_the_browser(server):
    with browser_page() as page:
        page.goto(server["url"] + "/upload")  # a deep link while signed out lands on the sign-in page
        wait_for_app(page)
        page.get_by_role("heading", name="登录").wait_for(timeout=30_000)
        assert page.get_by_text("上报月报").count() == 0
        assert page.get_by_role("button", name="使用统一身份认证登录").count() == 0
        page.get_by_label("用户名").fill("tianjian")
        page.get_by_label("密码").fill("Wrong-password-1")
        page.get_by_role("button", name="登录").click()
        page.get_by_text("用户名或密码错误").wait_for(timeout=30_000)
        no_errors_on(page)
        screenshot(page, "login")


def test_a_community_uploads_its_monthly_report(server, plan, tmp_path):
    with browser_page() as page:
        sign_in(page, server["url"], "tianjian")
        page.get_by_role("link", name="上报").click()
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        wait_for_app(page)
        assert page.get_by_role("link", name="管理").count() == 0

        xlsx = download(page, "下载 Excel 模板（.xlsx）")
        assert xlsx.suggested_filename == f"天剑社区-{MONTH}-月报.xlsx"
        checked = read_report(Path(xlsx.path()).read_bytes(), xlsx.suggested_filename, plan)
        assert (checked.reporting_unit, checked.month, checked.errors) == ("天剑社区", MONTH, [])
        template = download(page, "下载 CSV 模板")
        filled = fill_csv_template(Path(template.path()).read_bytes(),
                                   {"retrofit_households": "1", "governance_reports": "2"})
        good = tmp_path / f"天剑社区-{MONTH}-月报.csv"
        good.write_bytes(filled)

        page.locator("input[type='file']").set_input_files(str(good))
        page.get_by_text("检查通过").wait_for(timeout=30_000)
        page.get_by_role("button", name="提交").click()
        page.get_by_text("已接收：天剑社区 2023年12月第 1 版").wait_for(timeout=30_000)
        wait_for_app(page)
        no_errors_on(page)
        screenshot(page, "upload-receipt")

        receipt = download(page, "下载回执（文本）")
        text = Path(receipt.path()).read_bytes().decode("utf-8-sig")
        assert hashlib.sha256(filled).hexdigest() in text and "天剑社区" in text
        original = download(page, "下载所选版本的原始文件")
        assert Path(original.path()).read_bytes() == filled

    uploads = Store(server["db"]).uploads()
    assert list(uploads["submitted_by"]) == ["tianjian"] and list(uploads["sha256"]) == [
        hashlib.sha256(filled).hexdigest()]


def test_a_file_with_errors_is_explained_in_the_browser(server, tmp_path):
    before = Store(server["db"]).counts()
    with browser_page() as page:
        sign_in(page, server["url"], "tianjian")
        page.get_by_role("link", name="上报").click()
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        template = download(page, "下载 CSV 模板")
        bad = tmp_path / "错误的月报.csv"
        bad.write_bytes(fill_csv_template(Path(template.path()).read_bytes(),
                                          {"retrofit_households": "五十", "governance_reports": "-2"}))
        page.locator("input[type='file']").set_input_files(str(bad))
        page.get_by_text("文件有 2 处问题，未保存任何数据").wait_for(timeout=30_000)
        wait_for_app(page)
        assert page.get_by_role("button", name="提交").count() == 0
        # a wide screen shows the table; the cards are for phones (tests/test_phone_browser.py)
        assert page.locator(".st-key-upload_error_table [data-testid='stDataFrame']").is_visible()
        assert not page.locator(".st-key-upload_error_cards").is_visible()
        # the table toolbar offers search and full screen, but not its own raw CSV download
        page.locator(".st-key-upload_error_table [data-testid='stDataFrame']").hover()
        toolbar = page.locator("[data-testid='stElementToolbar']").first
        toolbar.get_by_role("button", name="Search").wait_for(timeout=10_000)
        raw_download = toolbar.locator("button[aria-label='Download as CSV']")
        assert raw_download.count() == 1 and not raw_download.is_visible()  # there, but hidden (mobile_css)
        # the problem list download carries the refused "-2" as text, never as a formula
        problems = download(page, "下载问题清单（CSV）")
        rows = list(csv.reader(io.StringIO(Path(problems.path()).read_bytes().decode("utf-8-sig"))))
        assert "'-2" in [row[2] for row in rows[1:]] and "-2" not in [row[2] for row in rows[1:]]
        no_errors_on(page)
        screenshot(page, "upload-errors")
    assert Store(server["db"]).counts() == before


def test_the_admin_page_in_the_browser(server):
    with browser_page() as page:
        sign_in(page, server["url"], "admin1")
        page.get_by_role("link", name="管理").click()
        page.get_by_role("heading", name="管理").wait_for(timeout=30_000)
        wait_for_app(page)
        page.get_by_role("tab", name="计划检查").click()
        page.get_by_text("计划文件检查通过").wait_for(timeout=30_000)
        page.get_by_role("tab", name="操作日志").click()
        wait_for_app(page)
        no_errors_on(page)
        screenshot(page, "admin")


def test_a_leader_has_no_upload_page_in_the_browser(server):
    with browser_page() as page:
        sign_in(page, server["url"], "lead")
        assert page.get_by_role("link", name="上报").count() == 0
        assert page.get_by_role("link", name="管理").count() == 0
        no_errors_on(page)
        # A typed address keeps the sign-in (the session cookie): the upload page refuses a leader by itself.
        page.goto(server["url"] + "/upload")
        wait_for_app(page)
        page.wait_for_timeout(1500)
        assert page.locator("input[type='file']").count() == 0
        no_errors_on(page)

"""The register journey in headless Chromium: a clerk files the retrofit register, a leader browses it
masked, the community prints its public notice."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH
from tests.test_registers import FIXTURES
from tests.test_upload_browser import PASSWORD, download, no_errors_on, sign_in
from worktrack.auth import UserStore
from worktrack.progress import status_from_store
from worktrack.registers import read_register
from worktrack.registers.identity import load_key
from worktrack.store import Store

pytestmark = pytest.mark.browser

MONTH = "2023-12"  # the default month on a database without monthly reports once the 2023 plan is over
ALREADY = ("天剑路1栋101", "张三明", "430103194805061234", "高龄", "扶手、防滑", "3000", "湘居装饰", "2023-11-02",
           "2023-11-10")
NEW = [("天剑路5栋501", "欧阳秀英", "430103194203017893", "失能", "扶手、呼叫设备", "2500", "湘居装饰", "2023-12-03",
        "2023-12-12"),
       ("天剑路6栋601", "赵六", "430103195508153217", "特困", "防滑", "800", "湘居装饰", "2023-12-05", "2023-12-18")]


@pytest.fixture(scope="module")
def server(tmp_path_factory, plan):
    """天剑社区 filed November's retrofit register (one household) and June's donations and help."""
    root = tmp_path_factory.mktemp("registers-browser")
    users = root / "users.yaml"
    accounts = UserStore(users)
    accounts.add("tianjian", PASSWORD, "community", "天剑社区", "天剑社区", plan=plan)
    accounts.add("lead", PASSWORD, "leader", None, "王领导", plan=plan)
    db, key_file = root / "worktrack.duckdb", root / "register.key"
    store, key = Store(db), load_key(key_file)
    header = (FIXTURES / "retrofit_2023-06.csv").read_text(encoding="utf-8").splitlines()[0]
    november = (header + "\n" + ",".join(("天剑社区", "2023-11", *ALREADY)) + ",\n").encode()
    for data, name, kind in ((november, "retrofit_2023-11.csv", "retrofit_register"),
                             ((FIXTURES / "donation_2023-06.csv").read_bytes(), "d.csv", "donation_register"),
                             ((FIXTURES / "help_2023-06.csv").read_bytes(), "h.csv", "help_register")):
        assert store.submit_register(read_register(data, name, plan, kind, key=key), data,
                                     submitted_by="tianjian").accepted
    env = {"WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(PLAN_PATH), "WORKTRACK_USERS": str(users),
           "WORKTRACK_REGISTER_KEY": str(key_file), "WORKTRACK_NOTICE_CONTACT": "街道民政办 0731-85550000"}
    with running_dashboard(env) as url:
        yield {"url": url, "db": db, "root": root}


def fill_register(template: bytes, households: list[tuple[str, ...]]) -> bytes:
    """The downloaded register template with households typed into its pre-filled lines, as a clerk does."""
    rows = list(csv.reader(io.StringIO(template.decode("utf-8-sig"))))
    for line, household in zip(rows[2:], households, strict=False):
        line[2:2 + len(household)] = household
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_the_register_journey(server, plan, tmp_path):
    with browser_page() as page:
        # a clerk downloads the retrofit register template, fills 3 households, one counted last month
        sign_in(page, server["url"], "tianjian")
        page.get_by_role("link", name="上报").click()
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        wait_for_app(page)
        page.locator(".st-key-register_open label").click()
        wait_for_app(page)
        template = download(page, "下载适老化改造台账模板（CSV）")
        assert template.suggested_filename == f"天剑社区-{MONTH}-适老化改造台账.csv"
        filled = tmp_path / "适老化改造台账.csv"
        filled.write_bytes(fill_register(Path(template.path()).read_bytes(), [ALREADY, *NEW]))
        page.locator("input[type='file']").nth(1).set_input_files(str(filled))
        page.get_by_text("台账检查通过：3 行").wait_for(timeout=30_000)
        page.get_by_role("button", name="提交台账").click()
        page.get_by_text("新增 2 户；1 户已在 2023-11 计入。").wait_for(timeout=30_000)
        wait_for_app(page)
        no_errors_on(page)
        screenshot(page, "register-receipt")

        # the leader sees the rows masked
        page.context.clear_cookies()
    store = Store(server["db"])
    status = status_from_store(plan, store, MONTH)
    metric = plan.metric_for_register("retrofit_register").id
    mine = status.unit_metrics.set_index(["reporting_unit", "metric"]).loc[("天剑社区", metric)]
    monthly = status.monthly_values
    december = monthly[(monthly["reporting_unit"] == "天剑社区") & (monthly["item"] == metric)
                       & (monthly["month"] == MONTH)]["value"].sum()
    assert december == 2 and mine["actual"] == 3  # the 2 new this month, the November household once

    with browser_page() as page:
        sign_in(page, server["url"], "lead")
        page.get_by_role("link", name="台账", exact=True).click()
        page.get_by_role("heading", name="台账", exact=True).wait_for(timeout=30_000)
        wait_for_app(page)
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for(timeout=30_000)
        # the grid draws on a canvas; its accessible table carries the cells the leader sees
        grid.locator("table").first.wait_for(state="attached", timeout=30_000)
        shown = grid.locator("table").first.evaluate("t => t.textContent")
        assert "张*明" in shown and "4301**********1234" in shown
        assert page.get_by_text("姓名与身份证号均已遮挡").count() == 1
        assert page.get_by_role("checkbox", name="显示本单位登记的完整姓名（将记入审计日志）").count() == 0
        assert "张三明" not in shown and "欧阳秀英" not in shown and "430103194805061234" not in shown
        no_errors_on(page)
        screenshot(page, "registers-leader")
    table = store.register_rows("retrofit_register")
    assert set(table["name_masked"]) == {"张*明", "欧**英", "赵*"}
    assert store.audit_log(action="register.view_unmasked").empty

    with browser_page() as page:
        # the community prints its notice for the second quarter
        sign_in(page, server["url"], "tianjian")
        page.get_by_role("link", name="社区").click()
        page.get_by_text("公示（居务公开栏、微信群）").wait_for(timeout=30_000)
        wait_for_app(page)
        page.locator(".st-key-notice_period").click()
        page.keyboard.type("2023Q2")  # the list is long: filter it as a user would
        page.get_by_role("option", name="2023Q2").click()
        wait_for_app(page)
        page.get_by_role("button", name="生成公示 PDF（A4）").click()
        notice = download(page, "下载公示 PDF")
        no_errors_on(page)
        pdf = tmp_path / "公示.pdf"
        pdf.write_bytes(Path(notice.path()).read_bytes())
    assert notice.suggested_filename == "天剑社区-2023Q2-基金公示.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf), str(tmp_path / "page")], check=True)
        pages = sorted(tmp_path.glob("page*.png"))
        assert len(pages) == 1 and pages[0].stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        for total in ("800.00 元", "2,000.00 元", "500.00 元", "300.00 元", "2 人", "街道民政办 0731-85550000"):
            assert total in text, total


def test_a_scan_larger_than_a_monthly_report_attaches_as_evidence(server, tmp_path):
    """A 7 MB scanned PDF is within the 10 MB evidence limit the page states, though above the 5 MB report limit:
    the browser accepts it, the row lists it; the report uploader keeps its own 5 MB."""
    scan = tmp_path / "验收单扫描件.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + b"0" * (7 * 1024 * 1024) + b"\n%%EOF\n")
    with browser_page() as page:
        sign_in(page, server["url"], "tianjian")
        page.get_by_role("link", name="台账", exact=True).click()
        page.get_by_role("heading", name="佐证材料").wait_for(timeout=30_000)
        wait_for_app(page)
        uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="上传佐证材料")
        assert "10MB" in uploader.inner_text().replace(" ", "")
        uploader.locator("input[type='file']").set_input_files(str(scan))
        page.get_by_role("button", name="附上").click()
        page.get_by_role("button", name="下载 验收单扫描件.pdf").wait_for(timeout=60_000)
        wait_for_app(page)
        no_errors_on(page)

        page.get_by_role("link", name="上报").click()
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        wait_for_app(page)
        report = page.locator("[data-testid='stFileUploader']").filter(has_text="选择填好的月报文件")
        assert "5MB" in report.inner_text().replace(" ", "")
    attachments = Store(server["db"]).attachments("retrofit_register", "天剑社区")
    assert (attachments["file_name"] == "验收单扫描件.pdf").sum() == 1

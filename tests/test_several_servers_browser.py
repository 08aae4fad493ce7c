"""Two dashboards (two processes, two ports) on one PostgreSQL database, driven by one headless browser.

What a load balancer in front of several app servers needs: a session opened on one server is good on
the other (sessions and the signing key are in the database, the browser's cookie goes to both), and an
upload taken by one server is seen by the other within the cache interval (the data version is read
from the database).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import browser_page, running_dashboard, screenshot, wait_for_app
from tests.conftest import PLAN_PATH
from tests.test_upload_browser import PASSWORD, download, fill_csv_template, no_errors_on, sign_in
from worktrack.auth import UserStore
from worktrack.store import Store

pytestmark = pytest.mark.browser


@pytest.fixture
def two_servers(pg_url, tmp_path, plan, monkeypatch):
    # each server has its own copy of the users file in its own directory, as on two machines: nothing
    # beside it (a SQLite state file, a key file) can be what makes the session good on both
    users = {name: tmp_path / name / "users.yaml" for name in ("a", "b")}
    monkeypatch.setenv("WORKTRACK_DB", pg_url)
    monkeypatch.delenv("WORKTRACK_SESSION_KEY", raising=False)
    UserStore(users["a"]).add("tianjian", PASSWORD, "community", "天剑社区", "天剑社区", plan=plan)
    users["b"].parent.mkdir()
    users["b"].write_bytes(users["a"].read_bytes())
    env = {"WORKTRACK_DB": pg_url, "WORKTRACK_PLAN": str(PLAN_PATH)}
    Store(pg_url)  # the schema, once, before both servers start
    with running_dashboard({**env, "WORKTRACK_USERS": str(users["a"]), "WORKTRACK_LOG": str(tmp_path / "a.log")}) \
            as first, running_dashboard({**env, "WORKTRACK_USERS": str(users["b"]),
                                         "WORKTRACK_LOG": str(tmp_path / "b.log")}) as second:
        yield first, second, pg_url


def test_sign_in_on_one_server_upload_on_the_other_and_see_it_on_the_first(two_servers, tmp_path):
    first, second, url = two_servers
    assert first.rsplit(":", 1)[1] != second.rsplit(":", 1)[1]
    with browser_page() as page:
        sign_in(page, first, "tianjian")
        page.goto(first + "/upload")
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        page.get_by_text("还没有上报记录。").wait_for(timeout=30_000)

        # the other server: the browser's session cookie is honoured there, no second sign-in
        page.goto(second + "/upload")
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        wait_for_app(page)
        assert page.get_by_role("heading", name="登录").count() == 0
        template = download(page, "下载 CSV 模板")
        filled = fill_csv_template(Path(template.path()).read_bytes(),
                                   {"retrofit_households": "4", "governance_reports": "1"})
        upload = tmp_path / "天剑社区-月报.csv"
        upload.write_bytes(filled)
        page.locator("input[type='file']").set_input_files(str(upload))
        page.get_by_text("检查通过").wait_for(timeout=30_000)
        page.get_by_role("button", name="提交").click()
        page.get_by_text("第 1 版").first.wait_for(timeout=30_000)
        no_errors_on(page)

        # back on the first server: the upload is there (its cached reads follow the database's version)
        page.goto(first + "/upload")
        page.get_by_role("heading", name="上报月报").wait_for(timeout=30_000)
        page.get_by_role("button", name="下载所选版本的原始文件").wait_for(timeout=30_000)
        original = download(page, "下载所选版本的原始文件")
        assert Path(original.path()).read_bytes() == filled
        no_errors_on(page)
        screenshot(page, "two-servers-upload-seen")
    assert not list(tmp_path.glob("*/users.yaml.db")) and not list(tmp_path.glob("*/users.yaml.key"))

    uploads = Store(url).uploads()
    assert list(uploads["submitted_by"]) == ["tianjian"] and list(uploads["version"]) == [1]


def test_twenty_uploads_at_once_across_both_servers_end_with_exact_versions(two_servers, tmp_path):
    """Twenty browser tabs, ten on each server, send twenty different versions of one unit-month at once."""
    first, second, url = two_servers
    n = 20
    with browser_page() as page:
        sign_in(page, first, "tianjian")
        template = download(_upload_page(page, first), "下载 CSV 模板")
        files = []
        for k in range(n):
            path = tmp_path / f"天剑社区-{k}.csv"
            path.write_bytes(fill_csv_template(Path(template.path()).read_bytes(),
                                               # twenty different files, every figure small enough to need
                                               # no confirmation (a larger one opens the warning dialog)
                                               {"retrofit_households": str(k % 5 + 1),
                                                "governance_reports": str(k // 5 + 1)}))
            files.append(path)
        tabs = []
        for k in range(n):  # every tab ready to send: file checked, the submit button showing
            tab = page.context.new_page()
            _upload_page(tab, (first, second)[k % 2])
            tab.locator("input[type='file']").set_input_files(str(files[k]))
            tab.get_by_text("检查通过").wait_for(timeout=60_000)
            tab.get_by_role("button", name="提交").wait_for(timeout=60_000)
            tabs.append(tab)
        for tab in tabs:  # then all at once
            tab.get_by_role("button", name="提交").click(no_wait_after=True)
        versions = []
        for tab in tabs:
            receipt = tab.get_by_text("已接收：天剑社区").first
            receipt.wait_for(timeout=120_000)
            versions.append(int(receipt.inner_text().split("第 ")[1].split(" 版")[0]))
            no_errors_on(tab)
    assert sorted(versions) == list(range(1, n + 1))

    store = Store(url)
    uploads = store.uploads().sort_values("version")
    assert list(uploads["version"]) == list(range(1, n + 1))
    assert list(uploads["state"]) == ["superseded"] * (n - 1) + ["active"]
    assert list(uploads["supersedes"].iloc[1:]) == list(uploads["upload_id"].iloc[:-1])
    log = store.audit_log()
    assert list(log["audit_id"]) == list(range(1, len(log) + 1))
    accepts = log[log["action"] == "upload.accept"]
    assert len(accepts) == n and len(log[log["action"] == "upload.supersede"]) == n - 1
    by_id = uploads.set_index("upload_id")
    for row in accepts.itertuples():
        detail = json.loads(row.detail)
        upload = by_id.loc[int(row.new_value)]
        assert (detail["version"], detail["sha256"], row.actor) == (upload.version, upload.sha256, "tianjian")


def _upload_page(page, server: str):
    page.goto(server + "/upload")
    page.get_by_role("heading", name="上报月报").wait_for(timeout=60_000)
    wait_for_app(page)
    return page

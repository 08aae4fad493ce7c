"""Two dashboards (two processes, two ports) on one PostgreSQL database, driven by one headless browser.

What a load balancer in front of several app servers needs: a session opened on one server is good on
the other (sessions and the signing key are in the database, the browser's cookie goes to both), and an
upload taken by one server is seen by the other within the cache interval (the data version is read
from the database).
"""

from __future__ import annotations

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

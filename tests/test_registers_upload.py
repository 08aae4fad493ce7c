"""Filing a register on the 上报 page: templates, check, receipt (new / already counted), permissions."""

from __future__ import annotations

import pytest

from tests.apptest import dashboard, table_text, texts
from tests.test_registers import FIXTURES
from worktrack.registers import read_register
from worktrack.registers.upload import (
    register_template,
    register_template_filename,
    submit_register_upload,
    validate_register_upload,
)
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

UPLOAD = "pages/upload.py"


@pytest.fixture(autouse=True)
def register_key(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKTRACK_REGISTER_KEY", str(tmp_path / "register.key"))


def open_upload(user, month: str) -> object:
    at = dashboard(user, UPLOAD)
    assert len(at.get("file_uploader")) == 1  # the register section is closed until asked for
    at.selectbox(key="upload_month").select(month).run()
    at.toggle(key="register_open").set_value(True).run()
    return at


def upload_register(at, name: str, data: bytes):
    uploader = next(u for u in at.get("file_uploader") if u.key.startswith("register_file_"))
    uploader.set_value((name, data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_clerk_files_two_months_and_the_receipt_says_new_and_already_counted(db_path, accounts):
    at = open_upload(accounts["tianjian"], "2023-06")
    labels = {b.label for b in at.get("download_button")}
    assert {"下载适老化改造台账模板（Excel）", "下载适老化改造台账模板（CSV）"} <= labels
    upload_register(at, "retrofit.csv", (FIXTURES / "retrofit_2023-06.csv").read_bytes())
    assert "台账检查通过：2 行" in texts(at)
    at.button(key="register_submit").click().run()
    assert "新增 2 户。" in texts(at)

    at.selectbox(key="upload_month").select("2023-07").run()
    upload_register(at, "retrofit.csv", (FIXTURES / "retrofit_2023-07.csv").read_bytes())
    at.button(key="register_submit").click().run()
    shown = texts(at)
    assert "已接收：天剑社区 2023年7月 适老化改造台账 第 1 版，共 3 行。" in shown
    assert "新增 2 户；1 户已在 2023-06 计入。" in shown
    assert "有效" in table_text(at)  # the register history
    uploads = Store(db_path).register_uploads()
    assert list(uploads["submitted_by"]) == ["tianjian", "tianjian"]


def test_a_register_with_errors_shows_rows_and_writes_nothing(db_path, accounts):
    at = open_upload(accounts["tianjian"], "2023-06")
    data = (FIXTURES / "retrofit_2023-06.csv").read_bytes().replace(b"430103194805061234", b"430103194805061235")
    upload_register(at, "retrofit.csv", data)
    assert "台账有 1 处问题" in texts(at)
    assert "4301**********1235" in table_text(at) and "430103194805061235" not in table_text(at)
    assert not [b for b in at.button if b.key == "register_submit"]
    assert Store(db_path).register_uploads().empty


def test_a_community_cannot_file_another_units_register(db_path, accounts, plan):
    data = (FIXTURES / "retrofit_other_unit_2023-07.csv").read_bytes()  # 涂新社区's rows
    report = validate_register_upload(plan, accounts["tianjian"], data, "r.csv", "retrofit_register", None,
                                      "2023-07")
    assert report.errors and not report.rows
    # even a report read for another unit is refused at submission
    other = read_register(data, "r.csv", plan, "retrofit_register")
    result = submit_register_upload(Store(db_path), accounts["tianjian"], other, data, confirm=True)
    assert result.status == "rejected" and Store(db_path).register_uploads().empty


def test_a_leader_files_nothing(db_path, accounts, plan):
    data = (FIXTURES / "retrofit_2023-06.csv").read_bytes()
    report = read_register(data, "r.csv", plan, "retrofit_register")
    result = submit_register_upload(Store(db_path), accounts["leader"], report, data, confirm=True)
    assert result.status == "rejected" and Store(db_path).register_uploads().empty


def test_the_templates_read_back_clean(plan, accounts):
    for kind in ("retrofit_register", "donation_register", "help_register"):
        for fmt in ("csv", "xlsx"):
            data = register_template(plan, kind, "天剑社区", "2023-06", fmt)
            name = register_template_filename(kind, "天剑社区", "2023-06", fmt)
            assert name.startswith("天剑社区-2023-06-") and name.endswith(f"台账.{fmt}")
            report = validate_register_upload(plan, accounts["tianjian"], data, name, kind, "天剑社区", "2023-06")
            assert [f.code for f in report.errors] == ["no-data"]  # nothing filled in yet: said, not crashed

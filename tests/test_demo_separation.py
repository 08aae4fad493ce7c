"""Demo data and real data never share a database: the dashboard's role picker and the `demo` command."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import ENTRY
from tests.conftest import PLAN_PATH
from tests.test_upload import GOOD, filled
from worktrack.auth import (
    UserStore,
    demo_database_problem,
    demo_write_refusal,
    is_demo_upload,
    real_upload_count,
)
from worktrack.demo import load_demo
from worktrack.i18n import translate
from worktrack.intake import read_report
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: entry_script


@pytest.mark.parametrize(("file_name", "sender", "demo"), [
    ("demo_tianjian_2023-05.csv", "tianjian_demo", True),  # the demo loader
    ("天剑社区-2023-06-月报.csv", "demo-tianjian", True),  # a demo identity in the browser
    ("demo_tianjian_2023-05.csv", "tianjian", False),  # a real account, whatever the file is called
    ("天剑社区.csv", "tianjian_demo", False),
])
def test_is_demo_upload(file_name, sender, demo):
    assert is_demo_upload(file_name, sender) is demo


def test_demo_database_problem(tmp_path):
    none = pd.DataFrame({"file_name": [], "submitted_by": []})
    real = pd.DataFrame({"file_name": ["a.csv"], "submitted_by": ["tianjian"]})
    assert demo_database_problem(tmp_path / "any-name.duckdb", True, lambda: none) is None
    assert "由 demo 命令建立" in demo_database_problem(tmp_path / "demo.duckdb", False, lambda: none)
    assert "1 份真实上报" in demo_database_problem(tmp_path / "x.duckdb", True, lambda: real)
    assert real_upload_count(real) == 1


@pytest.mark.parametrize(("demo_identity", "made_by_demo", "uploads", "refusal"), [
    (False, False, [], None),
    (False, True, [], "demo-database"),
    (True, True, [], None),
    (True, True, [("a.csv", "tianjian")], "real-database"),
    (True, False, [], "real-database"),
])
def test_demo_write_refusal(demo_identity, made_by_demo, uploads, refusal):
    table = pd.DataFrame(uploads, columns=["file_name", "submitted_by"])
    assert demo_write_refusal(demo_identity, made_by_demo, lambda: table) == refusal


def _accept(db, plan, file_name: str, sender: str = "tianjian") -> None:
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    result = Store(db).submit(read_report(data, file_name, plan), data, submitted_by=sender)
    assert result.accepted, result.message


def test_an_upload_named_demo_report_does_not_make_a_demo_database(tmp_path, plan, monkeypatch, entry_script):
    """Regression: an accepted upload named demo_report.csv turned the production dashboard into 演示模式."""
    from tests.apptest import dashboard, texts

    db = tmp_path / "demo.duckdb"  # not even the database's own name counts
    monkeypatch.setenv("WORKTRACK_DB", str(db))
    monkeypatch.setenv("WORKTRACK_PLAN", str(PLAN_PATH))
    monkeypatch.setenv("WORKTRACK_USERS", str(tmp_path / "users.yaml"))
    _accept(db, plan, "demo_report.csv", sender="tianjian_demo")
    assert not Store(db).made_by_demo()
    at = dashboard(UserStore(tmp_path / "users.yaml").add("lead", "Leader-pass-1", "leader"))
    assert at.title[0].value == "总览" and "演示模式" not in texts(at)
    monkeypatch.setenv("WORKTRACK_DEMO", "1")  # asking for demo mode does not help either
    at = AppTest.from_file(ENTRY, default_timeout=60).run()
    assert not at.radio and "演示模式只能使用演示数据库" in texts(at)


def test_the_demo_loader_marks_the_database_once(tmp_path, plan):
    store = Store(tmp_path / "anything.duckdb")
    load_demo(plan, store, "2023-04", tmp_path / "samples")
    load_demo(plan, store, "2023-04", tmp_path / "samples")
    assert store.made_by_demo()
    marks = store.audit_log(action="db.demo")
    assert list(marks["actor"]) == ["demo"]


def test_the_cli_refuses_real_reports_into_a_demo_database_as_the_app_does(tmp_path, plan):
    db = tmp_path / "showcase.duckdb"
    load_demo(plan, Store(db), "2023-04", tmp_path / "samples")
    before = Store(db).counts()
    report = tmp_path / "天剑社区-2023-06.csv"
    report.write_bytes(filled(plan, "天剑社区", "2023-06", GOOD))
    result = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "--plan", str(PLAN_PATH), "ingest",
                             str(report), "--user", "tianjian"], capture_output=True, text=True, encoding="utf-8")
    assert result.returncode == 1
    assert translate("upload.refused_demo_db", "zh") in result.stderr
    assert Store(db).counts() == before


def test_the_demo_command_refuses_a_database_with_data_it_did_not_make(tmp_path, plan):
    db = tmp_path / "demo.duckdb"
    _accept(db, plan, "demo_tianjian_2023-06.csv", sender="tianjian_demo")  # looks like demo data, is not
    result = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "--plan", str(PLAN_PATH), "demo",
                             "--through", "2023-04", "--out", str(tmp_path / "samples")],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "不能导入演示数据" in result.stderr
    assert not Store(db).made_by_demo()


def test_demo_command_refuses_a_database_with_real_reports(tmp_path, plan):
    db = tmp_path / "worktrack.duckdb"
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    Store(db).submit(read_report(data, "a.csv", plan), data, submitted_by="tianjian")
    before = Store(db).counts()
    result = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "--plan", str(PLAN_PATH), "demo",
                             "--through", "2023-04", "--out", str(tmp_path / "samples")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "1 份真实上报" in result.stderr and "不能导入演示数据" in result.stderr
    assert Store(db).counts() == before


def test_demo_command_fills_a_new_demo_database(tmp_path):
    db = tmp_path / "demo.duckdb"
    result = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "--plan", str(PLAN_PATH), "demo",
                             "--through", "2023-04", "--out", str(tmp_path / "samples")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    uploads = Store(db).uploads()
    assert len(uploads) and real_upload_count(uploads) == 0 and Store(db).made_by_demo()

"""Demo data and real data never share a database: the dashboard's role picker and the `demo` command."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import PLAN_PATH
from tests.test_upload import GOOD, filled
from worktrack.auth import demo_database_problem, is_demo_upload, real_upload_count
from worktrack.intake import read_report
from worktrack.store import Store


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
    assert demo_database_problem(tmp_path / "demo.duckdb", lambda: none) is None
    assert "文件名" in demo_database_problem(tmp_path / "worktrack.duckdb", lambda: none)
    assert "1 份真实上报" in demo_database_problem(tmp_path / "Demo-2023.duckdb", lambda: real)
    assert real_upload_count(real) == 1


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
    assert len(uploads) and real_upload_count(uploads) == 0

"""Settings: one object read from WORKTRACK_* variables, lazily, documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT
from worktrack import config
from worktrack.config import Settings, SettingsError, settings


def test_defaults_point_into_the_project(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"WORKTRACK_{name.upper()}", raising=False)
    s = settings()
    assert s.db == ROOT / "data" / "worktrack.duckdb" and s.plan == ROOT / "targets.yaml"
    assert s.users == ROOT / "data" / "users.yaml"
    assert (s.demo, s.busy_timeout, s.user, s.backup_sign_key, s.chromium) == (False, 10.0, None, None, None)


def test_read_afresh_on_every_call_not_at_import(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKTRACK_DB", str(tmp_path / "one.duckdb"))
    assert config.db_path() == tmp_path / "one.duckdb"
    monkeypatch.setenv("WORKTRACK_DB", str(tmp_path / "two.duckdb"))
    assert config.db_path() == tmp_path / "two.duckdb"
    assert config.db_path(tmp_path / "explicit.duckdb") == tmp_path / "explicit.duckdb"


def test_an_empty_variable_counts_as_unset(monkeypatch):
    monkeypatch.setenv("WORKTRACK_PLAN", "")
    monkeypatch.setenv("WORKTRACK_BUSY_TIMEOUT", "")
    assert config.plan_path() == config.DEFAULT_PLAN and settings().busy_timeout == 10.0


@pytest.mark.parametrize("variable, value, reason", [
    ("WORKTRACK_BUSY_TIMEOUT", "soon", "数字"),
    ("WORKTRACK_BUSY_TIMEOUT", "-1", "负数"),
    ("WORKTRACK_DEMO", "maybe", "1 或 0"),
    ("WORKTRACK_LOG_LEVEL", "LOUD", "WARNING"),
])
def test_a_bad_value_names_the_variable_in_chinese(monkeypatch, variable, value, reason):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        settings()
    assert variable in str(info.value) and value in str(info.value) and reason in str(info.value)


def test_demo_accepts_the_usual_spellings(monkeypatch):
    for value, expected in (("1", True), ("0", False), ("true", True)):
        monkeypatch.setenv("WORKTRACK_DEMO", value)
        assert settings().demo is expected


def readme_settings_table() -> dict[str, str]:
    """Variable -> default, from the README's settings table (rows that start with `WORKTRACK_...`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(WORKTRACK_[A-Z_]+)` \| ([^|]*) \|", text, flags=re.M)
    return {name: default.strip() for name, default in rows}


def test_every_setting_is_in_the_readme_table_and_nothing_else():
    table = readme_settings_table()
    assert set(table) == {f"WORKTRACK_{name.upper()}" for name in Settings.model_fields}


def test_the_readme_table_gives_each_default():
    table = readme_settings_table()
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(ROOT).as_posix()
        shown = "（无）" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        assert shown in table[f"WORKTRACK_{name.upper()}"], name


def test_no_module_reads_the_environment_behind_the_settings_back():
    readers = []
    for path in [*(ROOT / "worktrack").rglob("*.py"), ROOT / "app_support.py", ROOT / "dashboard.py",
                 *(ROOT / "pages").glob("*.py")]:
        if path.name == "config.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"os\.environ|os\.getenv", text):
            readers.append(path.relative_to(ROOT).as_posix())
    assert readers == []


def test_a_bad_value_fixed_is_seen_at_the_next_call(monkeypatch):
    monkeypatch.setenv("WORKTRACK_BUSY_TIMEOUT", "soon")
    with pytest.raises(SettingsError):
        settings()
    monkeypatch.setenv("WORKTRACK_BUSY_TIMEOUT", "3")
    assert settings().busy_timeout == 3.0
    assert settings() is settings()  # one immutable object per environment

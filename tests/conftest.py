"""Shared fixtures: the real plan, temporary databases, Streamlit cache isolation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAN_PATH = ROOT / "targets.yaml"
SOURCE_TEXT = ROOT / "docs" / "source" / "jinpenling-2023-work-points.txt"  # the published document, verbatim


@pytest.fixture(scope="session")
def plan():
    from worktrack.plan import load_plan

    return load_plan(PLAN_PATH)


@pytest.fixture
def db_path(tmp_path, monkeypatch) -> Path:
    """A fresh database path, also exported as WORKTRACK_DB for code that reads the environment."""
    path = tmp_path / "worktrack.duckdb"
    monkeypatch.setenv("WORKTRACK_DB", str(path))
    monkeypatch.setenv("WORKTRACK_PLAN", str(PLAN_PATH))
    return path


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """AppTest runs share one process: never let one test see another's cached data."""
    yield
    if "streamlit" in __import__("sys").modules:
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()


def pytest_report_header(config):
    return f"plan: {PLAN_PATH} (WORKTRACK_DB={os.environ.get('WORKTRACK_DB', '-')})"

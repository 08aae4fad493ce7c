"""The log file: where it goes, that it is configured once, and that the CLI entry sets it up."""

from __future__ import annotations

import logging

import pytest

from worktrack import config
from worktrack.logs import LOG_ENV, configure_logging, log_path


@pytest.fixture
def clean_root():
    """Remove the handlers a test adds to the root logger, so tests do not leak into each other."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


def test_log_path_default_is_under_data(monkeypatch):
    monkeypatch.delenv(LOG_ENV, raising=False)
    assert log_path() == config.PROJECT_ROOT / "data" / "worktrack.log"


def test_log_path_env_is_read_lazily(monkeypatch, tmp_path):
    monkeypatch.setenv(LOG_ENV, str(tmp_path / "from-env.log"))
    assert log_path() == tmp_path / "from-env.log"
    assert log_path(tmp_path / "explicit.log") == tmp_path / "explicit.log"


def test_records_with_tracebacks_reach_the_file(tmp_path, clean_root):
    target = configure_logging(tmp_path / "logs" / "w.log")
    assert target == (tmp_path / "logs" / "w.log").resolve()
    try:
        raise KeyError("boom")
    except KeyError:
        logging.getLogger("worktrack.somewhere").exception("failed while testing")
    text = target.read_text(encoding="utf-8")
    assert "ERROR worktrack.somewhere" in text and "failed while testing" in text
    assert "Traceback (most recent call last)" in text and "KeyError: 'boom'" in text


def test_configure_twice_adds_one_handler(tmp_path, clean_root):
    root = logging.getLogger()
    before = len(root.handlers)
    configure_logging(tmp_path / "w.log")
    configure_logging(tmp_path / "w.log")
    assert len(root.handlers) == before + 1


def test_unwritable_log_is_said_in_chinese_and_not_fatal(tmp_path, clean_root, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert configure_logging(blocker / "w.log") is None
    assert "无法写入日志文件" in capsys.readouterr().err


def test_cli_entry_configures_the_log_file(tmp_path, monkeypatch, clean_root, capsys):
    from worktrack.cli import main

    monkeypatch.setenv(LOG_ENV, str(tmp_path / "cli.log"))
    assert main(["plan", "check"]) == 0
    files = [getattr(h, "worktrack_log", None) for h in logging.getLogger().handlers]
    assert (tmp_path / "cli.log").resolve() in files  # earlier CLI runs in this process may have added others

"""One log file for the command line and the app; every module logs through logging.getLogger(__name__).

The file is data/worktrack.log unless WORKTRACK_LOG names another; both are read when
`configure_logging` is called, never at import time.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from worktrack import config

LOG_ENV = "WORKTRACK_LOG"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"

logger = logging.getLogger(__name__)
_lock = threading.Lock()


def log_path(explicit: str | os.PathLike | None = None) -> Path:
    """The log file: explicit argument, then WORKTRACK_LOG, then data/worktrack.log in the project."""
    if explicit:
        return Path(explicit)
    try:
        return Path(config.settings().log)
    except config.SettingsError:  # a wrong setting is reported by the command itself; log to the default
        return config.DEFAULT_LOG


def configure_logging(path: str | os.PathLike | None = None, level: int = logging.INFO) -> Path | None:
    """Send worktrack's log records (and warnings of the libraries it uses) to the log file.

    Idempotent per file: calling it again, from the CLI and the app in one process, adds no second
    handler. Returns the file, or None when it cannot be opened (then a Chinese note goes to stderr
    and records fall back to Python's last-resort handler, so nothing is lost silently).
    """
    target = log_path(path).resolve()
    root = logging.getLogger()
    with _lock:
        for handler in root.handlers:
            if getattr(handler, "worktrack_log", None) == target:
                return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(target, encoding="utf-8")
        except OSError as exc:
            print(f"提示：无法写入日志文件 {target}（{exc.strerror or exc}），日志改为输出到终端。", file=sys.stderr)
            return None
        handler.worktrack_log = target  # type: ignore[attr-defined]
        handler.setLevel(level)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
        package = logging.getLogger("worktrack")
        if package.level == logging.NOTSET or package.level > level:
            package.setLevel(level)
    return target

"""Where the plan, database and users file live; read lazily so tests can point elsewhere."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLAN = PROJECT_ROOT / "targets.yaml"
DEFAULT_DB = PROJECT_ROOT / "data" / "worktrack.duckdb"
DEMO_DB = PROJECT_ROOT / "data" / "demo.duckdb"
SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"


def plan_path(explicit: str | os.PathLike | None = None) -> Path:
    """The plan file: explicit argument, then WORKTRACK_PLAN, then targets.yaml in the project."""
    return Path(explicit or os.environ.get("WORKTRACK_PLAN") or DEFAULT_PLAN)


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The database file: explicit argument, then WORKTRACK_DB, then data/worktrack.duckdb."""
    return Path(explicit or os.environ.get("WORKTRACK_DB") or DEFAULT_DB)


def today() -> dt.date:
    """Today in China (Asia/Shanghai); WORKTRACK_TODAY=YYYY-MM-DD pins it (tests, rehearsing a meeting)."""
    pinned = os.environ.get("WORKTRACK_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    from worktrack.store import now_china

    return now_china().date()

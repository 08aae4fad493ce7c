"""Settings: where the plan, database and users file live, and how worktrack behaves.

Every setting is read from an environment variable WORKTRACK_<NAME> (an empty value counts as
unset). `settings()` looks at the environment on every call, never at import time: AppTest runs and
tests share one process and change the environment between runs. The README's settings table lists
every field (tests/test_config.py checks it).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PlainValidator, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLAN = PROJECT_ROOT / "targets.yaml"
DEFAULT_LOG = PROJECT_ROOT / "data" / "worktrack.log"
DEFAULT_DB = PROJECT_ROOT / "data" / "worktrack.duckdb"
DEFAULT_USERS = PROJECT_ROOT / "data" / "users.yaml"
DEFAULT_REGISTER_KEY = PROJECT_ROOT / "data" / "register.key"
DEMO_DB = PROJECT_ROOT / "data" / "demo.duckdb"
SAMPLES_DIR = PROJECT_ROOT / "data" / "samples"
ENV_PREFIX = "WORKTRACK_"

logger = logging.getLogger(__name__)


def database_location(value: str | os.PathLike) -> Path | str:
    """A database setting as the store takes it: a postgresql:// URL stays a string, anything else is a
    DuckDB file path."""
    text = os.fspath(value)
    if isinstance(text, str) and text.startswith(("postgresql://", "postgres://")):
        return text
    return Path(text)


DatabaseLocation = Annotated[Path | str, PlainValidator(database_location)]


class SettingsError(ValueError):
    """A setting with a value that cannot be used; the message names the variable (Chinese)."""


class Settings(BaseSettings):
    """Every setting of worktrack; the environment variable is WORKTRACK_ + the field name in capitals."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore",
                                      frozen=True)

    db: DatabaseLocation = Field(DEFAULT_DB, description="数据库：DuckDB 文件路径，或 PostgreSQL 地址 postgresql://用户@主机/库名")
    raw_dir: Path | None = Field(None, description="上传原始文件的目录：数据库为 PostgreSQL 时必填（各台服务器共用同一目录）；DuckDB 时不用设置，文件在数据库文件旁的 raw/")
    plan: Path = Field(DEFAULT_PLAN, description="计划文件 targets.yaml")
    plans: str | None = Field(None, description="同一部署里的其他计划文件：用逗号分隔的文件，或一个目录（其中每个 *.yaml 和 */targets.yaml）")
    users: Path = Field(DEFAULT_USERS, description="账号文件 users.yaml")
    demo: bool = Field(False, description="演示模式：1 时在演示数据库上提供免密码的角色选择")
    busy_timeout: float = Field(10.0, ge=0, description="数据库被另一程序占用时最多等待的秒数")
    user: str | None = Field(None, description="命令行操作记入审计日志的操作人（默认 cli:系统用户名）")
    backup_sign_key: Path | None = Field(None, description="备份签名密钥文件：backup 用它签名，restore 用它核验")
    register_key: Path = Field(DEFAULT_REGISTER_KEY, description="台账身份证号加密哈希（HMAC）的密钥文件，放在数据库之外；首次使用时自动生成（0600）")
    chromium: Path | None = Field(None, description="导出 PDF 用的 Chromium 路径（默认自动查找）")
    notice_contact: str | None = Field(None, description="台账公示上的异议联系方式（如 街道民政办 0731-8xxxxxxx）；默认写街道民政办")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "WARNING", description="命令行写到标准错误的日志级别")
    log: Path = Field(DEFAULT_LOG, description="日志文件")
    session_idle_hours: float = Field(8.0, gt=0, description="登录多久不操作后失效（小时）")
    session_key: Path | None = Field(None, description="会话签名密钥文件（默认账号文件旁的 users.yaml.key）")
    today: dt.date | None = Field(None, description="把“今天”固定为某日（如 2023-11-03），用于测试和例会预演；默认按北京时间")


def settings() -> Settings:
    """The settings as the environment says now; SettingsError names any variable that is wrong.

    Building a Settings object costs about a millisecond and pages ask for paths many times per run,
    so one object is kept per distinct set of WORKTRACK_* values (a change of environment is seen at
    the next call; the objects are immutable, so sharing them between sessions is safe).
    """
    key = tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith(ENV_PREFIX)))
    return _settings_for(key)


@functools.lru_cache(maxsize=16)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    # `environment` is the cache key only: Settings reads the same values from os.environ.
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
            raw = os.environ.get(name, "")
            problems.append(f"环境变量 {name}=“{raw}” 无效：{_reason(error)}")
        raise SettingsError("；".join(problems)) from None


def _reason(error: dict) -> str:
    kind = error.get("type", "")
    if kind.startswith("float") or kind.startswith("int"):
        return "应为数字（秒数），如 10"
    if kind.startswith("bool"):
        return "应为 1 或 0"
    if kind == "literal_error":
        return "应为 DEBUG、INFO、WARNING、ERROR 或 CRITICAL"
    if kind == "greater_than_equal":
        return "不能为负数"
    return str(error.get("msg", kind))


def plan_path(explicit: str | os.PathLike | None = None) -> Path:
    """The plan file: explicit argument, then WORKTRACK_PLAN, then targets.yaml in the project."""
    return Path(explicit) if explicit else settings().plan


def plan_paths() -> list[Path]:
    """Every plan file of the deployment: the `plan` setting first, then those `plans` names (a comma-
    separated list of files, or directories whose *.yaml and */targets.yaml are plan files); no repeats."""
    paths = [settings().plan]
    for part in (settings().plans or "").split(","):
        if not part.strip():
            continue
        entry = Path(part.strip())
        if entry.is_dir():
            paths += sorted([*entry.glob("*.yaml"), *entry.glob("*/targets.yaml")])
        else:
            paths.append(entry)
    seen: set[Path] = set()
    unique = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def configured_plan_id() -> str | None:
    """The plan.id of the `plan` setting's file (read from the YAML alone), or None when it cannot be read.

    Uploads that carry no plan of their own (those stored before plans were told apart) belong to it."""
    return plan_id_of(settings().plan)


def plan_id_of(path: str | os.PathLike) -> str | None:
    """The plan.id a plan file declares (read from the YAML alone, no validation), or None if unreadable."""
    path = Path(path)
    try:
        return _plan_id_of(str(path), path.stat().st_mtime)
    except OSError as exc:
        logger.warning("plan file %s unreadable for its plan id: %s", path, exc)
        return None


@functools.lru_cache(maxsize=8)
def _plan_id_of(path: str, mtime: float) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        logger.warning("plan file %s unreadable for its plan id: %s", path, exc)
        return None
    plan = data.get("plan") if isinstance(data, dict) else None
    plan_id = plan.get("id") if isinstance(plan, dict) else None
    return str(plan_id) if plan_id is not None else None


def db_path(explicit: str | os.PathLike | None = None) -> Path | str:
    """The database: explicit argument, then WORKTRACK_DB, then data/worktrack.duckdb; a DuckDB file path,
    or a postgresql:// URL (a string) for the PostgreSQL backend."""
    return database_location(explicit) if explicit else settings().db


def users_path(explicit: str | os.PathLike | None = None) -> Path:
    """The users file: explicit argument, then WORKTRACK_USERS, then data/users.yaml."""
    return Path(explicit) if explicit else settings().users


def today() -> dt.date:
    """Today in China (Asia/Shanghai); the `today` setting (WORKTRACK_TODAY=YYYY-MM-DD) pins it for tests
    and for rehearsing a meeting."""
    pinned = settings().today
    if pinned is not None:
        return pinned
    from worktrack.store import now_china

    return now_china().date()

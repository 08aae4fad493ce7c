"""The administration screen's tables without Streamlit: audit log, uploads, month locks, plan check, accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from worktrack.auth import User
from worktrack.i18n import translate
from worktrack.plan import PlanIssue, Reconciliation

ACTIONS = ("upload.accept", "upload.supersede", "upload.rollback", "upload.reactivate", "month.lock",
           "month.unlock", "db.restore", "schema.migrate", "upload.review", "month.close", "month.reopen",
           "remind.copy")


def action_label(action: str, lang: str = "zh") -> str:
    """A Chinese (or English) name for an audit action; unknown actions show their code."""
    key = f"admin.action_{action.replace('.', '_')}"
    text = translate(key, lang)
    return action if text == key else text


def _time(value: Any, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    return pd.Timestamp(value).strftime(fmt)


def audit_until(log: pd.DataFrame, until: dt.date | None) -> pd.DataFrame:
    """The audit rows up to the end of `until` (the store filters the start, this the end)."""
    if until is None or not len(log):
        return log
    end = pd.Timestamp(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    return log[pd.to_datetime(log["at"]) < end]


def audit_filter(log: pd.DataFrame, actor: str | None = None, action: str | None = None,
                 since: dt.date | None = None, until: dt.date | None = None) -> pd.Series:
    """Which audit rows match the admin page's filters (each None means 'any'); days are inclusive."""
    keep = pd.Series(True, index=log.index)
    if not len(log):
        return keep
    if actor is not None:
        keep &= log["actor"] == actor
    if action is not None:
        keep &= log["action"] == action
    at = pd.to_datetime(log["at"])
    if since is not None:
        keep &= at >= pd.Timestamp(dt.datetime.combine(since, dt.time()))
    if until is not None:
        keep &= at < pd.Timestamp(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
    return keep


def audit_table(log: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The audit log newest first, with readable action names; details stay as their JSON text."""
    names = ("audit_id", "at", "actor", "action", "action_code", "target", "old_value", "new_value", "detail")
    columns = [translate(f"admin.col_{n}", lang) for n in names]
    if not len(log):
        return pd.DataFrame(columns=columns)
    frame = log.sort_values("audit_id", ascending=False)
    table = pd.DataFrame({
        columns[0]: frame["audit_id"].astype(int),
        columns[1]: frame["at"].map(_time),
        columns[2]: frame["actor"].astype(str),
        columns[3]: frame["action"].map(lambda a: action_label(a, lang)),
        columns[4]: frame["action"].astype(str),
        columns[5]: frame["target"].fillna("").astype(str),
        columns[6]: frame["old_value"].fillna("").astype(str),
        columns[7]: frame["new_value"].fillna("").astype(str),
        columns[8]: frame["detail"].fillna("").astype(str),
    })
    return table.reset_index(drop=True)


def uploads_table(uploads: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Every upload newest first, for choosing one to roll back: a unit's history table plus the unit."""
    from worktrack.submission import history_table

    table = history_table(uploads, lang)
    unit = uploads.sort_values("upload_id", ascending=False)["reporting_unit"].astype(str).to_numpy() \
        if len(uploads) else []
    table.insert(1, translate("upload.col_reporting_unit", lang), unit)
    return table


def lock_history_table(history: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Every lock period newest first: month, locked when and by whom, unlocked when and by whom."""
    names = ("month", "locked_at", "locked_by", "unlocked_at", "unlocked_by")
    columns = [translate(f"admin.col_{n}", lang) for n in names]
    if not len(history):
        return pd.DataFrame(columns=columns)
    frame = history.sort_values("lock_id", ascending=False)
    table = pd.DataFrame({
        columns[0]: frame["month"].astype(str),
        columns[1]: frame["locked_at"].map(_time),
        columns[2]: frame["locked_by"].astype(str),
        columns[3]: frame["unlocked_at"].map(_time),
        columns[4]: frame["unlocked_by"].fillna("").astype(str),
    })
    return table.reset_index(drop=True)


def plan_issues_table(issues: list[PlanIssue], lang: str = "zh") -> pd.DataFrame:
    """Plan check findings: severity, file, line, field, message."""
    names = ("severity", "file", "line", "field", "message")
    columns = [translate(f"admin.col_{n}", lang) for n in names]
    rows = [[translate(f"admin.severity_{i.severity}", lang), i.file, "" if i.line is None else str(i.line), i.field,
             i.message] for i in issues]
    return pd.DataFrame(rows, columns=columns)


def _number(value: float, measure: str) -> str:
    """10000000 元 -> '10,000,000 元': exact, as the document writes it (no rounding to 万)."""
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{text} {measure}"


def reconciliation_table(items: list[Reconciliation], lang: str = "zh") -> pd.DataFrame:
    """Unit quotas against the street total, per metric (the 36 vs 35 retrofits among them)."""
    names = ("metric", "street_total", "quota_sum", "quota_count", "difference", "message")
    columns = [translate(f"admin.col_{n}", lang) for n in names]
    rows = [[r.metric, _number(r.street_total, r.measure), _number(r.quota_sum, r.measure), r.quota_count,
             ("+" if r.difference > 0 else "") + _number(r.difference, r.measure), r.message] for r in items]
    return pd.DataFrame(rows, columns=columns)


def accounts_table(users: list[User], failures: dict[str, int] | None = None, lang: str = "zh") -> pd.DataFrame:
    """The accounts without any secret: username, name, role, unit, email, state, dates, failed logins."""
    names = ("username", "display_name", "role", "unit", "email", "account_state", "created_at",
             "password_changed_at", "failures")
    columns = [translate(f"admin.col_{n}", lang) for n in names]
    failures = failures or {}
    rows = [[u.username, u.display_name, translate(f"login.role_{u.role}", lang), u.unit or "", u.email or "",
             translate("admin.account_disabled" if u.disabled else "admin.account_enabled", lang),
             _time(u.created_at, "%Y-%m-%d %H:%M"), _time(u.password_changed_at, "%Y-%m-%d %H:%M"),
             failures.get(u.username, 0)] for u in users]
    return pd.DataFrame(rows, columns=columns)

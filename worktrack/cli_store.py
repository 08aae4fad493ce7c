"""Store commands: ingest, uploads, rollback, lock, unlock, backup, restore."""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from worktrack import config
from worktrack.cli import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    load_plan_or_exit,
    month_option,
    other_plans,
    print_json,
    unit_option,
)
from worktrack.terminal import for_terminal

USER_ENV = "WORKTRACK_USER"
STATE_LABELS = {"active": "有效", "superseded": "已替换", "rolled_back": "已撤回"}
SIGNATURE_WARNINGS = {
    "unsigned": "注意：这份备份没有签名，无法确认它是本机制作且未被改动（只核对了清单里的校验值）。",
    "unchecked": "注意：这份备份有签名，但没有提供签名密钥（--sign-key 或 WORKTRACK_BACKUP_SIGN_KEY），签名未核验。",
}


def _busy_timeout() -> float:
    return config.settings().busy_timeout


def _sign_key(args: argparse.Namespace) -> bytes | None:
    """The signing key from --sign-key, else from WORKTRACK_BACKUP_SIGN_KEY, else None."""
    from worktrack.store import load_sign_key

    path = getattr(args, "sign_key", None) or config.settings().backup_sign_key
    return load_sign_key(path) if path else None


def _db(args: argparse.Namespace) -> Path | str:
    path = config.db_path(args.db)
    if isinstance(path, Path):  # a DuckDB file; a postgresql:// URL names a server
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _open_store(args: argparse.Namespace):
    from worktrack.store import Store

    # reads see the plan of --plan / WORKTRACK_PLAN only: several plans may share the database
    plan_id = config.plan_id_of(config.plan_path(getattr(args, "plan", None)))
    return Store(_db(args), busy_timeout=_busy_timeout()).for_plan(plan_id)


def _user(args: argparse.Namespace) -> str:
    if getattr(args, "user", None):
        return args.user
    configured = config.settings().user
    if configured:
        return configured
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _refusals_exit_1(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A busy database or a refused request is a plain Chinese message and exit 1, never a traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from worktrack.store import StoreError

        try:
            return handler(args)
        except StoreError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_REJECTED

    return run


def _finding_line(finding: dict[str, Any]) -> str:
    """第 R 行 · 列 C · 值 V：message (parts that are unknown are left out); safe to print."""
    parts = []
    if finding.get("row") is not None:
        parts.append(f"第 {finding['row']} 行")
    if finding.get("column"):
        parts.append(f"列 {for_terminal(finding['column'])}")
    if finding.get("value") not in (None, ""):
        parts.append(f"值 {for_terminal(finding['value'])}")
    head = " · ".join(parts)
    message = for_terminal(finding["message"])
    return f"{head}：{message}" if head else message


def _fmt_value(value: Any) -> str:
    if value is None:
        return "（无）"
    if isinstance(value, float):
        return f"{int(value):,}" if value == int(value) else f"{value:,.2f}"
    return for_terminal(value)


# ---------------------------------------------------------------------------
# ingest


# Several files are stored through Store.submit_many, this many per transaction: one commit and
# checkpoint per batch instead of per file (a month-end import of 1,000 files: ~12 s instead of ~80 s).
INGEST_BATCH = 500


def cmd_ingest(args: argparse.Namespace) -> int:
    from worktrack.auth import demo_write_refusal
    from worktrack.i18n import translate
    from worktrack.intake import read_report
    from worktrack.registers import MONTHLY_REPORT, detect_kind, read_register
    from worktrack.registers.monthly import note_register_figures
    from worktrack.store import StoreBusy, Submission

    plan = load_plan_or_exit(args)
    paths = [Path(f) for f in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"找不到文件：{'、'.join(missing)}")
    unit = unit_option(plan, args.unit) if args.unit is not None else None
    month = month_option(args.month) if args.month is not None else None
    store = _open_store(args)
    user = _user(args)
    # The upload screen's rule: demo and real data never share a database.
    if demo_write_refusal(False, store.made_by_demo(), store.uploads):
        print(translate("upload.refused_demo_db", "zh"), file=sys.stderr)
        return EXIT_REJECTED

    entries: list[dict[str, Any]] = []
    parsed = []
    others = other_plans(plan)
    for path in paths:
        data = path.read_bytes()
        kind = detect_kind(data, path.name, plan)
        if kind == MONTHLY_REPORT:
            report = read_report(data, path.name, plan, unit=unit, month=month, other_plans=others)
            with store.snapshot() as reader:  # rows the unit counts from a register: the typed value is not used
                note_register_figures(plan, reader, report)
        else:
            report = read_register(data, path.name, plan, kind, unit=unit, month=month)
        entries.append({
            "file": str(path), "kind": kind, "accepted": False, "version": None,
            "errors": [f.as_dict() for f in report.errors], "warnings": [f.as_dict() for f in report.warnings],
            "normalised": [f.as_dict() for f in report.normalised],
            "status": "rejected", "upload_id": None, "message": "", "reporting_unit": report.reporting_unit,
            "month": report.month, "sha256": report.sha256, "row_count": len(report.rows),
            "superseded_upload_id": None, "changes": [], "dry_run": args.dry_run,
        })
        parsed.append((kind, report, data))

    # Batches in file order: runs of monthly reports up to INGEST_BATCH per transaction, a register
    # file on its own; each file gets the verdict a single submit would give it, seeing the files
    # before it. A busy database stops the import: that batch and the rest are not stored.
    batches: list[range] = []
    start = 0
    for i, (kind, _, _) in enumerate(parsed):
        alone = args.dry_run or kind != MONTHLY_REPORT
        if i > start and (alone or parsed[i - 1][0] != MONTHLY_REPORT or i - start >= INGEST_BATCH):
            batches.append(range(start, i))
            start = i
    if parsed:
        batches.append(range(start, len(parsed)))
    busy_message = None
    for batch in batches:
        if busy_message is not None:
            for i in batch:
                entries[i].update(status="skipped", message="数据库忙，本文件未处理。")
            continue
        try:
            kind = parsed[batch[0]][0]
            if kind != MONTHLY_REPORT:
                _, report, data = parsed[batch[0]]
                results = [store.submit_register(report, data, submitted_by=user, confirm=args.confirm,
                                                 dry_run=args.dry_run)]
            elif args.dry_run:
                results = [store.submit(*parsed[i][1:], submitted_by=user, confirm=args.confirm, dry_run=True)
                           for i in batch]
            else:
                results = store.submit_many([Submission(*parsed[i][1:], submitted_by=user, confirm=args.confirm)
                                             for i in batch])
        except StoreBusy as exc:
            busy_message = str(exc)
            entries[batch[0]].update(status="busy", message=busy_message)
            for i in batch[1:]:
                entries[i].update(status="skipped", message="数据库忙，本文件未处理。")
            continue
        for i, result in zip(batch, results, strict=True):
            entry = entries[i]
            entry.update(accepted=result.accepted, version=result.version, status=result.status,
                         upload_id=result.upload_id, message=result.message, sha256=result.sha256,
                         superseded_upload_id=result.superseded_upload_id, changes=result.changes)
            if parsed[i][0] != MONTHLY_REPORT:
                entry.update(counted=result.counted, already_counted=result.already_counted,
                             already_counted_in=result.already_counted_in, counted_elsewhere=result.counted_elsewhere, not_counted=result.not_counted)
            if result.status == "needs_confirmation":
                entry["message"] += "核对提示后加 --confirm 重新运行即可接收。"

    if args.json:
        print_json({"files": entries})
    else:
        print(_render_ingest(entries, args.dry_run))
    if busy_message is not None:
        print(busy_message, file=sys.stderr)
    return EXIT_OK if all(e["accepted"] for e in entries) else EXIT_REJECTED


def _render_ingest(entries: list[dict[str, Any]], dry_run: bool) -> str:
    out = []
    for e in entries:
        where = for_terminal(f"{e['file']}（{e['reporting_unit'] or '?'} {e['month'] or '?'}）")
        if e["status"] == "accepted" and dry_run:
            head = f"试运行·可接收，将成为第 {e['version']} 版：{where}，未写入数据库"
        elif e["status"] == "accepted":
            head = f"已接收 第 {e['version']} 版：{where}，上传编号 {e['upload_id']}，共 {e['row_count']} 行"
        elif e["status"] == "unchanged":
            head = f"已接收 第 {e['version']} 版：{where}，与已有版本完全相同，未重复保存"
        else:
            head = f"未接收：{where}：{for_terminal(e['message'])}"
        out.append(head)
        if e.get("kind", "monthly_report") != "monthly_report" and e["status"] == "accepted":
            out.append(f"  {for_terminal(e['message'])}")  # the register receipt: new, already counted, duplicates
        if e["status"] == "accepted" and e["superseded_upload_id"] is not None:
            verb = "将替换" if dry_run else "替换了"
            out.append(f"  {verb}上一版（上传编号 {e['superseded_upload_id']}），变更 {len(e['changes'])} 处"
                       + ("：" if e["changes"] else "。"))
            for change in e["changes"][:20]:
                category = f"（{for_terminal(change['category'])}）" if change["category"] else ""
                out.append(f"    {for_terminal(change['item'])}{category}：{_fmt_value(change['old'])} → {_fmt_value(change['new'])}")
            if len(e["changes"]) > 20:
                out.append(f"    …… 另有 {len(e['changes']) - 20} 处")
        for key, label in (("errors", "错误"), ("warnings", "提示"), ("normalised", "已自动规范")):
            if e[key]:
                out.append(f"  {label} {len(e[key])} 条：")
                out += [f"    {_finding_line(f)}" for f in e[key]]
    accepted = sum(e["accepted"] for e in entries)
    unchanged = sum(e["status"] == "unchanged" for e in entries)
    summary = f"共 {len(entries)} 个文件：{'可' if dry_run else ''}接收 {accepted} 个"
    if unchanged:
        summary += f"（其中 {unchanged} 个与已有版本相同）"
    summary += f"，未接收 {len(entries) - accepted} 个。"
    out.append(summary)
    return "\n".join(out)


# ---------------------------------------------------------------------------
# uploads, rollback, lock, unlock


def _resolve_unit_loosely(args: argparse.Namespace, name: str) -> str:
    """Canonical unit name if the plan knows it; otherwise the name as typed (listing only)."""
    from worktrack.plan import PlanError, load_plan

    try:
        plan = load_plan(config.plan_path(args.plan))
    except (PlanError, OSError):
        return name
    found = plan.find_unit(name)
    return found.name if found else name


def cmd_uploads(args: argparse.Namespace) -> int:
    unit = _resolve_unit_loosely(args, args.unit) if args.unit is not None else None
    month = month_option(args.month, "MONTH") if args.month is not None else None
    frame = _open_store(args).reviewed_uploads(unit=unit, month=month)
    frame = frame.drop(columns=["reviewed_at", "reviewed_by"])
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    if args.json:
        print_json({"uploads": records})
        return EXIT_OK
    if not records:
        print("没有符合条件的上传记录。")
        return EXIT_OK
    from worktrack.cli_progress import format_table
    from worktrack.views.cycle import review_state_label

    headers = ["编号", "上报单位", "月份", "版本", "状态", "审核", "接收时间", "提交人", "行数", "文件名"]
    rows = [[r["upload_id"], for_terminal(r["reporting_unit"]), for_terminal(r["month"]), f"第{r['version']}版",
             STATE_LABELS.get(r["state"], r["state"]), review_state_label(r["review_state"], "zh"),
             str(r["received_at"])[:19], for_terminal(r["submitted_by"]), r["row_count"],
             for_terminal(r["file_name"])] for r in records]
    print(format_table(headers, rows, right={0, 8}))
    print(f"共 {len(records)} 条（有效 {sum(r['state'] == 'active' for r in records)} 条）。")
    return EXIT_OK


def _plain(value: Any) -> Any:
    """pandas scalars -> JSON-friendly Python values (NA -> None, timestamps -> text)."""
    import pandas as pd

    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ")
    if hasattr(value, "item"):
        return value.item()
    return value


def cmd_rollback(args: argparse.Namespace) -> int:
    result = _open_store(args).rollback(args.upload_id, actor=_user(args))
    print(result.message)
    return EXIT_OK


def cmd_lock(args: argparse.Namespace) -> int:
    from worktrack.store import month_label

    month = month_option(args.month, "MONTH")
    if _open_store(args).lock_month(month, actor=_user(args)):
        print(f"已锁定 {month_label(month)}：该月不再接收上传和撤回。")
    else:
        print(f"{month_label(month)}原本就已锁定，未做改动。")
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
    from worktrack.store import month_label

    month = month_option(args.month, "MONTH")
    if _open_store(args).unlock_month(month, actor=_user(args)):
        print(f"已解锁 {month_label(month)}：该月重新接收上传。")
    else:
        print(f"{month_label(month)}没有锁定，未做改动。")
    return EXIT_OK


# ---------------------------------------------------------------------------
# backup, restore


def cmd_backup(args: argparse.Namespace) -> int:
    from worktrack.auth import users_path

    key = _sign_key(args)
    manifest = _open_store(args).backup(args.directory, sign_key=key, users_file=users_path())
    if args.json:
        print_json({"directory": str(args.directory), "manifest": manifest})
        return EXIT_OK
    rows = manifest["tables"]
    users = "、账号文件（仅密码哈希）" if manifest.get("users_file") else ""
    print(f"已备份到 {args.directory}：上传 {rows['uploads']['rows']} 份、数据 {rows['facts']['rows']} 行、"
          f"审计记录 {rows['audit_log']['rows']} 条、原始文件 {manifest['raw_files']} 个{users}；"
          f"每个文件的校验值记在 manifest.json" + ("，并已用密钥签名。" if key else "（未签名）。"))
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    from worktrack.auth import users_path
    from worktrack.store import Store

    db = _db(args)
    store = Store.restore(args.directory, db, force=args.force, actor=_user(args), busy_timeout=_busy_timeout(),
                          sign_key=_sign_key(args), users_file=users_path())
    counts = store.counts()
    restored = store.audit_log(action="db.restore").iloc[-1]
    signature = json.loads(restored["detail"]).get("signature")
    if signature in SIGNATURE_WARNINGS:
        print(SIGNATURE_WARNINGS[signature], file=sys.stderr)
    message = (f"已从 {args.directory} 恢复到 {store.path}：上传 {counts['uploads']} 份、数据 {counts['facts']} 行、"
               f"审计记录 {counts['audit_log']} 条（含本次恢复记录）。")
    if args.json:
        print_json({"directory": str(args.directory), "db": str(store.path), "counts": counts,
                    "detail": restored["detail"], "message": message})
        return EXIT_OK
    print(message + ("备份签名核验通过。" if signature == "valid" else ""))
    detail = json.loads(restored["detail"])
    if detail.get("previous_database"):
        print(f"原数据库已改名保留为 {detail['previous_database']}。")
    if detail.get("users_file"):
        print(f"账号文件已恢复到 {detail['users_file']}。")
    if detail.get("previous_users_file"):
        print(f"原账号文件已改名保留为 {detail['previous_users_file']}。")
    return EXIT_OK


def cmd_raw_files(args: argparse.Namespace) -> int:
    import datetime as dt

    store = _open_store(args)
    older_than = dt.timedelta(hours=args.older_than_hours)
    if args.delete:
        removed = store.delete_unreferenced_raw_files(_user(args), older_than)
        if args.json:
            print_json({"deleted": True, **removed})
        elif removed["files"]:
            print(f"已删除 {removed['files']} 个没有任何上传或附件引用的原始文件，共 {removed['bytes']:,} 字节（已记入审计日志）。")
        else:
            print("没有可删除的原始文件。")
        return EXIT_OK
    found = store.unreferenced_raw_files(older_than)
    if args.json:
        print_json({"deleted": False, "files": len(found), "bytes": sum(e["bytes"] for e in found),
                    "unreferenced": [{**e, "modified": e["modified"].isoformat(sep=" ")} for e in found]})
        return EXIT_OK
    if not found:
        print(f"原始文件目录里没有超过 {args.older_than_hours:g} 小时、又没有任何上传或附件引用的文件。")
        return EXIT_OK
    for entry in found:
        print(f"{entry['name']}  {entry['bytes']:,} 字节  {entry['modified']:%Y-%m-%d %H:%M}")
    print(f"共 {len(found)} 个文件、{sum(e['bytes'] for e in found):,} 字节没有被引用；加 --delete 删除。")
    return EXIT_OK


# ---------------------------------------------------------------------------


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="导入月报文件（校验后入库；同一单位同一月份的新文件成为新版本）")
    p.add_argument("files", nargs="+", metavar="FILE", help="月报文件（CSV 或 XLSX），可以一次给多个")
    p.add_argument("--unit", help="上报单位（文件里没写或要核对时）")
    p.add_argument("--month", help="月份，如 2023-05（文件里没写或要核对时）")
    p.add_argument("--dry-run", action="store_true", help="只校验、不写入（包括检查月份是否已锁定）")
    p.add_argument("--confirm", action="store_true", help="确认文件中的提示（如数值异常大）后接收")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument("--user", help=f"提交人（默认：环境变量 {USER_ENV} 或当前系统用户）")
    p.set_defaults(func=_refusals_exit_1(cmd_ingest))

    p = sub.add_parser("uploads", help="列出上传记录（所有版本、所有状态）")
    p.add_argument("--unit", help="只看一个上报单位")
    p.add_argument("--month", help="只看一个月份，如 2023-05")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_uploads))

    p = sub.add_parser("rollback", help="撤回一次有效的上传，上一版恢复为有效")
    p.add_argument("upload_id", type=int, metavar="UPLOAD_ID", help="上传编号（见 uploads 命令）")
    p.add_argument("--user", help="操作人")
    p.set_defaults(func=_refusals_exit_1(cmd_rollback))

    p = sub.add_parser("lock", help="锁定月份：例会后该月不再接收上传和撤回")
    p.add_argument("month", metavar="MONTH", help="月份，如 2023-05")
    p.add_argument("--user", help="操作人")
    p.set_defaults(func=_refusals_exit_1(cmd_lock))

    p = sub.add_parser("unlock", help="解锁月份（锁定记录保留在历史中）")
    p.add_argument("month", metavar="MONTH", help="月份，如 2023-05")
    p.add_argument("--user", help="操作人")
    p.set_defaults(func=_refusals_exit_1(cmd_unlock))

    p = sub.add_parser("backup", help="备份数据库到一个新目录（Parquet + 原始文件 + 校验清单）")
    p.add_argument("directory", metavar="DIR", help="备份目录（须为空或不存在）")
    p.add_argument("--sign-key", metavar="FILE", help="用此密钥文件给备份签名（默认：WORKTRACK_BACKUP_SIGN_KEY）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_backup))

    p = sub.add_parser("raw-files", help="列出（加 --delete 删除）没有任何上传或附件引用的原始文件")
    p.add_argument("--delete", action="store_true", help="删除列出的文件（在写入锁内重新核对，记入审计日志）")
    p.add_argument("--older-than-hours", type=float, default=24.0, metavar="H",
                   help="只算最后修改超过 H 小时的文件（默认 24）")
    p.add_argument("--user", help="操作人")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_raw_files))

    p = sub.add_parser("restore", help="从备份目录恢复数据库（先校验每个文件）")
    p.add_argument("directory", metavar="DIR", help="备份目录")
    p.add_argument("--force", action="store_true", help="数据库已有数据或已损坏时仍然恢复（原文件改名保留）")
    p.add_argument("--sign-key", metavar="FILE",
                   help="用此密钥文件核验备份签名，不符则拒绝恢复（默认：WORKTRACK_BACKUP_SIGN_KEY）")
    p.add_argument("--user", help="操作人")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_restore))

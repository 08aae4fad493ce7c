"""The monthly cycle: review (approve / return), remind (催报 text), close and reopen a month."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys

from worktrack import config
from worktrack.cli import EXIT_OK, EXIT_REJECTED, UsageError, load_plan_or_exit, month_option, print_json
from worktrack.cli_store import _open_store, _refusals_exit_1, _user

logger = logging.getLogger(__name__)


def _reviewer_refusal(plan, name: str, unit: str) -> str | None:
    """Why the account `name` may not review a report of `unit`, or None. A name without an account
    (an operator at the command line) may review, as it may roll back and lock."""
    from worktrack.auth import UserStore, UserStoreError, can_review, users_path

    path = users_path()
    if not path.exists():
        return None
    try:
        account = UserStore(path).get(name)
    except UserStoreError as exc:
        logger.warning("cannot read the users file for the review check: %s", exc)
        return str(exc)
    if account is None:
        return None
    if not can_review(account, unit, plan):
        return f"账号“{name}”（{account.role_label}）不能审核{unit}的月报：只有审核人员和管理员可以审核，且不能审核本单位的月报。"
    return None


def cmd_review(args: argparse.Namespace) -> int:
    from worktrack.auth import UserStore, reviewer_unit, users_path

    plan = load_plan_or_exit(args)
    store = _open_store(args)
    user = _user(args)
    found = store.reviewed_uploads()
    row = found[found["upload_id"] == args.upload_id]
    if not len(row):
        print(f"找不到编号为 {args.upload_id} 的上传记录。", file=sys.stderr)
        return EXIT_REJECTED
    unit = row["reporting_unit"].iloc[0]
    refusal = _reviewer_refusal(plan, user, unit)
    if refusal:
        print(refusal, file=sys.stderr)
        return EXIT_REJECTED
    account = UserStore(users_path()).get(user) if users_path().exists() else None
    decision = "approved" if args.approve else "returned"
    result = store.review(args.upload_id, decision, actor=user, reason=args.return_reason or "",
                          reviewer_unit=reviewer_unit(account, plan))
    if args.json:
        print_json(result.as_dict())
    elif decision == "approved":
        print(f"已通过：{result.reporting_unit} {result.month} 第 {result.version} 版（上传编号 {result.upload_id}）。")
    else:
        print(f"已退回：{result.reporting_unit} {result.month} 第 {result.version} 版（上传编号 {result.upload_id}），"
              f"原因：{result.reason}")
    return EXIT_OK


def _date_option(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}：日期“{text}”应写成 2023-10-06 这样的形式") from None


def cmd_remind(args: argparse.Namespace) -> int:
    from worktrack import cycle
    from worktrack.views.cycle import remind_state_label, reminder_dict

    plan = load_plan_or_exit(args)
    month = month_option(args.month, "--month", plan)
    today = _date_option(args.as_of_date, "--as-of-date") if args.as_of_date else config.today()
    report = cycle.reminders(plan, _open_store(args), month, today, contact=args.contact)
    data = reminder_dict(report, args.lang)
    if args.json:
        print_json(data)
        return EXIT_OK
    print(f"{month} 月报报送情况（截至 {today.isoformat()}，截止日 {data['due_date']}）")
    for unit in data["units"]:
        print(f"  {unit['reporting_unit']}：{remind_state_label(unit['state'], args.lang)}")
    for unit in data["units"]:
        if unit["message"]:
            print()
            print(unit["message"])
    print()
    print(data["group_message"])
    return EXIT_OK


def cmd_close(args: argparse.Namespace) -> int:
    from worktrack import cycle
    from worktrack.views.cycle import blocking_lines

    plan = load_plan_or_exit(args)
    month = month_option(args.month, "MONTH", plan)
    result = cycle.close_month(plan, _open_store(args), month, actor=_user(args), today=config.today())
    if args.json:
        print_json(result.as_dict())
    elif result.closed:
        print(f"已关账 {month}：该月已锁定，例会材料所用的数据已冻结（export --as-of {month} 可按关账时的数据重新生成）。")
    elif result.already_closed:
        print(f"{month} 已经关账，未做改动。")
    else:
        print(f"{month} 还有 {len(result.blocking)} 份月报未通过审核，不能关账：")
        for line in blocking_lines(result.blocking, "zh"):
            print(f"  {line}")
    return EXIT_OK if result.closed or result.already_closed else EXIT_REJECTED


def cmd_reopen(args: argparse.Namespace) -> int:
    plan = load_plan_or_exit(args)
    month = month_option(args.month, "MONTH", plan)
    if _open_store(args).reopen_month(month, actor=_user(args), reason=args.reason):
        print(f"已重新开放 {month}（原因：{args.reason.strip()}）：该月重新接收上传，关账时冻结的数据保留在记录中。")
    else:
        print(f"{month} 没有关账，未做改动。")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="审核一份月报：通过，或写明原因退回")
    p.add_argument("upload_id", type=int, metavar="UPLOAD_ID", help="上传编号（见 uploads 命令）")
    decision = p.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true", help="通过")
    decision.add_argument("--return", dest="return_reason", metavar="REASON", help="退回，并写明原因")
    p.add_argument("--user", help="审核人")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_review))

    p = sub.add_parser("remind", help="催报：各单位本月报送情况和可直接发送的催报消息")
    p.add_argument("--month", required=True, help="月份，如 2023-10")
    p.add_argument("--as-of-date", help="按哪一天判断（默认：今天），如 2023-11-06")
    p.add_argument("--contact", help="消息里的联系人（默认：街道民政办）")
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="消息语言（默认 zh）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_remind))

    p = sub.add_parser("close", help="关账：该月月报全部通过审核后锁定月份，并冻结例会材料所用的数据")
    p.add_argument("month", metavar="MONTH", help="月份，如 2023-09")
    p.add_argument("--user", help="操作人")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=_refusals_exit_1(cmd_close))

    p = sub.add_parser("reopen", help="重新开放已关账的月份（须写明原因）")
    p.add_argument("month", metavar="MONTH", help="月份，如 2023-09")
    p.add_argument("--reason", required=True, help="重新开放的原因")
    p.add_argument("--user", help="操作人")
    p.set_defaults(func=_refusals_exit_1(cmd_reopen))

"""python -m worktrack: every job the dashboard does, for automation and batch work.

Exit status: 0 success, 1 input rejected (invalid plan, rejected file, ...), 2 usage error.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import logging
import os
import sys
from typing import Any

from worktrack import config
from worktrack.plan import Plan, PlanError, check_plan, load_plan, plan_as_dict

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
# Files the command line creates (databases, their logs, backups) are readable by their owner only.
PRIVATE_UMASK = 0o077

logger = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad arguments: exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 by default; keep that, in Chinese
        self.print_usage(sys.stderr)
        print(f"用法错误：{message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def load_plan_or_exit(args: argparse.Namespace) -> Plan:
    """Load the plan named by --plan / WORKTRACK_PLAN; print its errors and exit 1 if broken."""
    try:
        return load_plan(config.plan_path(args.plan))
    except PlanError as exc:
        for issue in exc.issues:
            print(issue.render(), file=sys.stderr)
        raise SystemExit(EXIT_REJECTED) from None


def other_plans(plan: Plan) -> list[Plan]:
    """The deployment's other plans (WORKTRACK_PLANS): a file refused for `plan` is checked against
    them to name the plan it belongs to. A plan file that does not load is left out (logged)."""
    others = []
    for path in config.plan_paths():
        try:
            other = load_plan(path)
        except (PlanError, OSError) as exc:
            logger.warning("plan %s left out of the other plans: %s", path, exc)
            continue
        if other.id != plan.id:
            others.append(other)
    return others


def month_option(text: str, option: str = "--month", plan: Plan | None = None) -> str:
    """A month argument in any usual spelling -> 'YYYY-MM'; a usage error (exit 2) otherwise."""
    from worktrack.plan import parse_month

    try:
        month = parse_month(text)
    except ValueError as exc:
        raise UsageError(f"{option}：{exc}") from None
    if plan is not None and month < plan.start_month:
        raise UsageError(f"{option} {month} 早于计划的起始月份 {plan.start_month}")
    return month


def unit_option(plan: Plan, text: str, option: str = "--unit") -> str:
    """A unit name, id, short name or Traditional form -> its canonical name; usage error otherwise."""
    found = plan.find_unit(text)
    if found is None:
        raise UsageError(f"{option}：不认识的报送单位“{text}”，可选：{'、'.join(plan.unit_names)}")
    return found.name


# ---------------------------------------------------------------------------
# plan


def cmd_plan_check(args: argparse.Namespace) -> int:
    path = config.plan_path(args.plan)
    plan, issues = check_plan(path)
    errors = [i for i in issues if i.severity == "error"]
    if args.json:
        print_json({"file": str(path), "valid": not errors, "issues": [i.as_dict() for i in issues]})
    else:
        for issue in issues:
            print(issue.render())
        if errors:
            print(f"计划文件有 {len(errors)} 处错误，请修改后重新检查。")
        else:
            n_warn = len(issues)
            assert plan is not None
            print(f"计划文件有效：{len(plan.sections)} 个部分、{len(plan.items)} 个事项、"
                  f"{len(plan.metrics)} 个指标、{len(plan.targets)} 个目标" + (f"；{n_warn} 条提示" if n_warn else "") + "。")
            for line in kind_summary(plan):
                print(line)
    return EXIT_REJECTED if errors else EXIT_OK


KIND_EXPLANATIONS = {
    "cumulative": "累计目标 {n} 个：到完成时限累计达到目标值，按月平均摊“按进度应完成”",
    "every_period": "每期任务 {n} 个（{cadences}）：每一期都要达到，逐期考核，不计“已完成”",
    "level": "水平（比率）目标 {n} 个：以最近一次上报的数值为准，不累加",
    "ceiling": "控制类目标 {n} 个：越少越好，超过上限即“已超限”，低于按进度的上限为正常",
    "stock": "存量目标 {n} 个：计划开始前的数量（opening）加上新增，到时限达到目标值",
}
CADENCE_WORDS = {"month": "每月", "quarter": "每季度", "half_year": "每半年"}


def kind_summary(plan) -> list[str]:
    """One line per kind of target in the plan: how many, and how each is judged."""
    lines = []
    for kind, text in KIND_EXPLANATIONS.items():
        targets = [t for t in plan.targets if t.kind == kind]
        if targets:
            cadences = "、".join(CADENCE_WORDS[c] for c in dict.fromkeys(t.cadence for t in targets))
            lines.append("  · " + text.format(n=len(targets), cadences=cadences))
    for m in plan.metrics.values():
        if m.is_rate:
            lines.append(f"  · 比率“{m.name}”= {plan.metrics[m.numerator].name} ÷ {plan.metrics[m.denominator].name}"
                         " × 100%：各单位上报这两个数，由系统计算（全街道按合计户数计算，不是各社区比率的平均）")
    return lines


DIFF_WHAT = {"item": "事项", "metric": "指标", "target": "目标"}
DIFF_CHANGE = {"added": "新增", "removed": "删除", "changed": "修改"}


def cmd_plan_diff(args: argparse.Namespace) -> int:
    from worktrack.plan import diff_plans

    plans = []
    for path in (args.old, args.new):
        try:
            plans.append(load_plan(path))
        except PlanError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_REJECTED
    changes = diff_plans(*plans)
    if args.json:
        print_json({"old": args.old, "new": args.new, "changes": changes})
        return EXIT_OK
    if not changes:
        print("两个计划文件的事项、指标和目标没有不同。")
    for c in changes:
        line = f"{DIFF_CHANGE[c['change']]}{DIFF_WHAT[c['what']]}：{c['label']}"
        if c["fields"]:
            line += "（" + "；".join(f"{k}: {v[0]} → {v[1]}" for k, v in c["fields"].items()) + "）"
        print(line)
    return EXIT_OK


def cmd_plan_show(args: argparse.Namespace) -> int:
    plan = load_plan_or_exit(args)
    data = plan_as_dict(plan)
    if args.json:
        print_json(data)
        return EXIT_OK
    print(f"{plan.title}（{plan.issue_date.isoformat()} 印发）")
    for section in plan.sections:
        print(f"{section.number}、{section.title}")
        for group in section.groups:
            print(f"  {group.number} {group.title}")
            for item_id in group.item_ids:
                item = plan.items[item_id]
                print(f"    {item.number} {item.title}  [{item.id}] 牵头：{item.lead} 时限：{item.deadline}")
        for item_id in section.item_ids:
            item = plan.items[item_id]
            print(f"  {item.number} {item.title}  [{item.id}] 牵头：{item.lead} 时限：{item.deadline}")
    print("量化目标：")
    for t in plan.targets:
        m = plan.metrics[t.metric]
        who = t.reporting_unit or "全街道"
        every = "每月" if t.period == "month" else f"{t.deadline} 前"
        print(f"  {m.name}  {who}  {every} {t.value:g} {m.measure}")
    return EXIT_OK


# ---------------------------------------------------------------------------
# parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; every subcommand registers its handler as `func`."""
    parser = _Parser(prog="python -m worktrack", description="worktrack 工作要点目标跟踪 命令行")
    parser.add_argument("--plan", help="计划文件 targets.yaml 的路径（默认：环境变量 WORKTRACK_PLAN 或 targets.yaml）")
    parser.add_argument("--db", help="数据库文件路径（默认：环境变量 WORKTRACK_DB 或 data/worktrack.duckdb）")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p_plan = sub.add_parser("plan", help="检查或查看计划文件")
    plan_sub = p_plan.add_subparsers(dest="plan_command", metavar="ACTION", parser_class=_Parser)
    p = plan_sub.add_parser("check", help="检查计划文件（错误与提示，含分解目标核对）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_plan_check)
    p = plan_sub.add_parser("show", help="显示规范化后的计划")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_plan_show)
    p = plan_sub.add_parser("diff", help="比较两个计划文件：新增、删除、修改的事项、指标和目标")
    p.add_argument("old", help="原计划文件")
    p.add_argument("new", help="新计划文件")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_plan_diff)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    _accept_global_options_everywhere(parser)
    return parser


def _accept_global_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """Let --db/--plan also follow the subcommand (`demo --db x.duckdb`), as scripts write them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                existing = {opt for a in subparser._actions for opt in a.option_strings}
                for flag, help_text in (("--db", "数据库文件路径"), ("--plan", "计划文件路径")):
                    if flag not in existing:
                        subparser.add_argument(flag, default=argparse.SUPPRESS, help=help_text)
                _accept_global_options_everywhere(subparser)


# Subcommands grouped by topic; each module has register(subparsers) that adds its commands
# and sets `func` on each. Imported lazily so `plan check` never pays for duckdb or openpyxl.
COMMAND_MODULES: list[str] = ["worktrack.cli_demo", "worktrack.cli_progress", "worktrack.cli_users",
                               "worktrack.cli_intake", "worktrack.cli_store", "worktrack.cli_export",
                               "worktrack.cli_cycle", "worktrack.cli_registers"]


def _log_to_stderr() -> None:
    """Diagnostics (English, for the operator) go to stderr at WORKTRACK_LOG_LEVEL, after the Chinese message."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="[%(levelname)s] %(name)s: %(message)s")
    logging.getLogger("worktrack").setLevel(config.settings().log_level)


def main(argv: list[str] | None = None) -> int:
    from worktrack.logs import configure_logging

    configure_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    previous_umask = os.umask(PRIVATE_UMASK)
    try:
        _log_to_stderr()
        return func(args)
    except (UsageError, config.SettingsError) as exc:
        print(f"用法错误：{exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (`status | head`): stop quietly, as other command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        # A busy, damaged or refused database and a full disk are expected conditions: a clear
        # message, never a traceback.
        from worktrack.store import StoreDiskFull, StoreError

        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            exc = StoreDiskFull(f"磁盘空间不足，无法写入“{exc.filename or ''}”，本次操作没有完成。请清理磁盘空间后重试。")
        if isinstance(exc, StoreError):
            logger.info("command failed: %s", exc)
            print(str(exc), file=sys.stderr)
            return EXIT_REJECTED
        raise
    finally:
        os.umask(previous_umask)

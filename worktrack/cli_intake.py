"""Monthly report subcommands: `template` writes a unit's pre-filled template for a month."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from worktrack.cli import EXIT_OK, UsageError, load_plan_or_exit, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the intake subcommands to the main parser."""
    from worktrack.plan import REGISTER_MEASURES

    p = subparsers.add_parser("template", help="生成某单位某月的月报模板（预填本单位要报的全部事项）或台账模板")
    p.add_argument("--kind", choices=("monthly_report", *REGISTER_MEASURES), default="monthly_report",
                   help="模板类型：monthly_report 月报（默认）；retrofit_register 适老化改造台账；"
                        "donation_register 基金募集台账；help_register 帮扶台账")
    p.add_argument("--unit", required=True, help="上报单位名称或简称，如 天剑社区、街道民政办")
    p.add_argument("--month", required=True, help="月份，如 2023-06")
    p.add_argument("--format", choices=("csv", "xlsx"), help="模板格式（默认按输出文件扩展名，否则 csv）")
    p.add_argument("-o", "--output", required=True, help="输出文件路径；写 - 输出到标准输出")
    p.add_argument("--json", action="store_true", help="输出 JSON 摘要")
    p.set_defaults(func=cmd_template)


def cmd_template(args: argparse.Namespace) -> int:
    from worktrack.intake import parse_month
    from worktrack.template import build_template

    plan = load_plan_or_exit(args)
    unit = plan.find_unit(args.unit)
    if unit is None:
        raise UsageError(f"不认识的单位“{args.unit}”，可选：{'、'.join(plan.unit_names)}")
    month = parse_month(args.month)
    if month is None:
        raise UsageError(f"月份“{args.month}”无法识别，请写成 2023-06 这样的形式")
    if month not in plan.months:
        raise UsageError(f"月份 {month} 不在计划的报告期（{plan.months[0]} 至 {plan.months[-1]}）内")
    fmt = args.format or ("xlsx" if args.output.lower().endswith(".xlsx") else "csv")
    if args.kind != "monthly_report":
        return _register_template(args, plan, unit.name, month, fmt)
    data = build_template(plan, unit.name, month, fmt, _register_prefill(args, plan, unit.name, month))
    rows = len(plan.template_rows(unit.name))
    path = _write_output(args.output, data)
    if path is None:
        return EXIT_OK
    if args.json:
        print_json({"file": str(path), "unit": unit.name, "month": month, "format": fmt, "rows": rows,
                    "bytes": len(data)})
    else:
        print(f"已生成 {unit.name} {month} 月报模板：{path}（{fmt.upper()}，{rows} 行）")
    return EXIT_OK


def _write_output(output: str, data: bytes) -> Path | None:
    """Write a template to `output` ("-": standard output, then None); the path written."""
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return None
    path = Path(output)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"无法写入文件 {path}：{exc.strerror or exc}") from None
    return path


def _register_prefill(args: argparse.Namespace, plan, unit_name: str, month: str) -> dict[tuple[str, str], float]:
    """Rows the unit counts from its registers, when the database exists (a template needs none)."""
    from worktrack import config
    from worktrack.cli_store import _open_store
    from worktrack.registers.monthly import prefilled_values

    location = config.db_path(args.db)
    if isinstance(location, Path) and not location.is_file():  # a PostgreSQL URL is a string
        return {}
    with _open_store(args).snapshot() as reader:
        return prefilled_values(plan, reader, unit_name, month)


def _register_template(args: argparse.Namespace, plan, unit_name: str, month: str, fmt: str) -> int:
    from worktrack.registers.kinds import KINDS
    from worktrack.registers.template import build_register_template

    data = build_register_template(plan, args.kind, unit_name, month, fmt)
    title = KINDS[args.kind].title
    path = _write_output(args.output, data)
    if path is None:
        return EXIT_OK
    if args.json:
        print_json({"file": str(path), "kind": args.kind, "unit": unit_name, "month": month, "format": fmt,
                    "bytes": len(data)})
    else:
        print(f"已生成 {unit_name} {month} {title}模板：{path}（{fmt.upper()}）")
    return EXIT_OK

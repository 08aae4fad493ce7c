"""Register subcommands: `registers` lists register rows (masked) or the households and people that
more than one unit registered; `notice` prints a community's public notice (公示) as PDF or PNG."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from worktrack.cli import EXIT_OK, EXIT_REJECTED, UsageError, load_plan_or_exit, print_json, unit_option
from worktrack.terminal import for_terminal

# What a listing shows: never the hash, never a full name (names masked for individuals).
LISTED_COLUMNS = ("reporting_unit", "month", "source_row", "id_masked", "name_masked", "category", "event_date",
                  "cash", "goods_value", "fields")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the register subcommands to the main parser."""
    from worktrack.plan import REGISTER_MEASURES

    p = subparsers.add_parser("registers", help="列出台账（身份证号、姓名遮挡显示），或跨社区重复登记的户和人")
    p.add_argument("--kind", choices=tuple(REGISTER_MEASURES),
                   help="台账类型：retrofit_register、donation_register、help_register")
    p.add_argument("--unit", help="只列某单位")
    p.add_argument("--duplicates", action="store_true", help="列出被多个社区登记的同一户/同一人（由街道核定）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_registers)

    p = subparsers.add_parser("notice", help="生成社区基金公示（A4 PDF 用于居务公开栏，PNG 用于微信群）")
    p.add_argument("--unit", required=True, help="社区")
    p.add_argument("--period", required=True, help="季度（2023Q3）或月份（2023-09）")
    p.add_argument("--format", choices=("pdf", "png"), help="默认按 -o 的后缀，否则 pdf")
    p.add_argument("--start", help="公示期第一天（默认今天），如 2023-10-08")
    p.add_argument("--contact", help="异议联系方式（默认 WORKTRACK_NOTICE_CONTACT，否则街道民政办）")
    p.add_argument("-o", "--output", required=True, help="输出文件")
    p.add_argument("--json", action="store_true", help="输出 JSON（公示的各项数字）")
    p.set_defaults(func=cmd_notice)


def cmd_registers(args: argparse.Namespace) -> int:
    from worktrack.cli_store import _open_store
    from worktrack.registers.counts import duplicates

    plan = load_plan_or_exit(args)
    if not args.duplicates and not args.kind:
        raise UsageError("请用 --kind 指定台账类型，或用 --duplicates 列出跨社区重复登记")
    unit = unit_option(plan, args.unit) if args.unit is not None else None
    store = _open_store(args)
    if args.duplicates:
        rows = store.register_rows(args.kind)
        found = duplicates(plan, rows)
        if unit is not None:
            found = [d for d in found if unit == d["counted_for"] or unit in d["also_registered_by"]]
        if args.json:
            print_json({"duplicates": found})
        elif not found:
            print("没有被多个社区重复登记的户或人。")
        else:
            for d in found:
                print(for_terminal(f"{d['id_masked']} {d['name_masked']}（{d['kind']}）：计入{d['counted_for']}"
                                   f"（{d['first_date']}），{'、'.join(d['also_registered_by'])}也登记了"))
            print(f"共 {len(found)} 条重复登记，请街道核定。")
        return EXIT_OK
    rows = store.register_rows(args.kind, unit)
    records: list[dict[str, Any]] = []
    for row in rows.itertuples(index=False):
        record = {column: getattr(row, column) for column in LISTED_COLUMNS}
        record["event_date"] = record["event_date"].isoformat() if record["event_date"] is not None and \
            record["event_date"] == record["event_date"] else None
        record["fields"] = json.loads(record["fields"])
        for money in ("cash", "goods_value"):
            if record[money] != record[money]:  # NaN: not filled
                record[money] = None
        records.append(record)
    if args.json:
        print_json({"kind": args.kind, "unit": unit, "rows": records})
        return EXIT_OK
    for r in records:
        amounts = "".join(f" {label}{r[key]:g}元" for key, label in (("cash", "现金"), ("goods_value", "物资"))
                          if r[key] is not None)
        print(for_terminal(f"{r['reporting_unit']} {r['month']} 第{r['source_row']}行 {r['id_masked'] or ''} "
                           f"{r['name_masked']} {r['category']} {r['event_date'] or '（无日期）'}{amounts}"))
    print(f"共 {len(records)} 行（有效版本）。")
    return EXIT_OK


def cmd_notice(args: argparse.Namespace) -> int:
    from worktrack import config
    from worktrack.cli_store import _open_store
    from worktrack.meeting.pdf import ExportUnavailable
    from worktrack.registers.notice import build_notice, notice_bytes, notice_contact, parse_period

    plan = load_plan_or_exit(args)
    unit = unit_option(plan, args.unit)
    period = parse_period(args.period)
    if period is None:
        raise UsageError(f"--period：“{args.period}”无法识别，请写季度（如 2023Q3）或月份（如 2023-09）")
    try:
        start = dt.date.fromisoformat(args.start) if args.start else config.today()
    except ValueError:
        raise UsageError(f"--start：“{args.start}”不是日期，请写成 2023-10-08") from None
    fmt = args.format or ("png" if args.output.lower().endswith(".png") else "pdf")
    notice = build_notice(_open_store(args).register_rows(), unit, period, start=start,
                          contact=args.contact or notice_contact(plan), issuer=unit)
    try:
        data = notice_bytes(notice, fmt)
    except ExportUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REJECTED
    output = Path(args.output)
    partial = output.with_name(f".{output.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, output)  # never a half-written notice under the real name
    if args.json:
        print_json({"file": str(output), "format": fmt, "unit": unit, "period": period.label,
                    "cash_received": notice.cash_received, "goods_received": notice.goods_received,
                    "cash_spent": notice.cash_spent, "persons_helped": notice.persons_helped,
                    "opening_balance": notice.opening_balance, "closing_balance": notice.closing_balance,
                    "donations": len(notice.donations), "notice_from": notice.notice_from.isoformat(),
                    "notice_to": notice.notice_to.isoformat(), "contact": notice.contact})
    else:
        print(for_terminal(f"已生成{unit}{period.label}基金公示：{output}（{fmt.upper()}，{len(data):,} 字节）"))
    return EXIT_OK


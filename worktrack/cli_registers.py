"""Register subcommands: `registers` lists register rows (masked) or the households and people that
more than one unit registered."""

from __future__ import annotations

import argparse
import json
from typing import Any

from worktrack.cli import EXIT_OK, UsageError, load_plan_or_exit, print_json, unit_option
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

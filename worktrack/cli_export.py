"""`export`: the review meeting's pack (PPTX / XLSX / PDF) for an as-of month, as the 例会 page builds it."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from worktrack import config
from worktrack.cli import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    load_plan_or_exit,
    month_option,
    print_json,
    unit_option,
)

FORMATS = ("pptx", "xlsx", "pdf")
FORMAT_NAMES = {"pptx": "PPTX 演示文稿", "xlsx": "XLSX 工作簿", "pdf": "PDF 文档"}


def cmd_export(args: argparse.Namespace) -> int:
    from worktrack import export
    from worktrack.cycle import frozen_pack, pack_facts
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    plan = load_plan_or_exit(args)
    as_of = month_option(args.as_of, "--as-of", plan) if args.as_of is not None else None
    unit = unit_option(plan, args.unit) if args.unit is not None else None
    output = Path(args.output)
    if not output.parent.is_dir():
        raise UsageError(f"-o：输出目录 {output.parent} 不存在")

    if args.format == "pdf":
        problem = export.pdf_problem(args.lang)
        if problem:  # say what to install before doing any work
            print(problem, file=sys.stderr)
            return EXIT_REJECTED

    started = time.perf_counter()
    store = Store(config.db_path(args.db)).for_plan(plan.id)  # this plan's reports only
    today = config.today()
    # A closed month's pack is rebuilt from what was frozen when it was closed, dated the close day.
    frozen = frozen_pack(plan, store, as_of, unit=unit) if as_of is not None and not args.include_pending else None
    if frozen is not None:
        report, facts, today = frozen.report, frozen.facts, frozen.generated
    else:
        report = status_from_store(plan, store, as_of, unit=unit, today=today,
                                   approved_only=not args.include_pending)
        facts = pack_facts(store.facts(through=report.as_of, approved_only=not args.include_pending))
    slides = export.slide_deck(plan, report, lang=args.lang, generated=today)
    try:
        if args.format == "pptx":
            data = export.pptx_bytes(plan, report, lang=args.lang, slides=slides, generated=today)
        elif args.format == "xlsx":
            data = export.xlsx_bytes(plan, report, facts, lang=args.lang, generated=today)
        else:
            data = export.pdf_bytes(plan, report, lang=args.lang, slides=slides, generated=today)
    except export.ExportUnavailable as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_REJECTED
    if args.format in ("pptx", "xlsx"):
        from worktrack.stable_zip import stable_zip

        data = stable_zip(data, today)  # the same pack, byte for byte, whenever it is rebuilt
    partial = output.with_name(f".{output.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, output)  # never leave a half-written pack under the real name
    seconds = time.perf_counter() - started

    if args.json:
        print_json({"file": str(output), "format": args.format, "as_of": report.as_of, "unit": report.unit,
                    "slides": len(slides), "bytes": len(data), "seconds": round(seconds, 2),
                    "approved_only": report.approved_only, "frozen": frozen is not None})
    else:
        pages = "" if args.format == "xlsx" else f"，{len(slides)} 页"
        print(f"已生成 {output}（{FORMAT_NAMES[args.format]}，截至 {report.as_of}"
              f"{'，' + report.unit if report.unit else ''}{pages}，{len(data) / 1024:,.0f} KB，用时 {seconds:.1f} 秒）")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="导出例会材料：PPTX 演示文稿、XLSX 数据工作簿或 PDF")
    p.add_argument("--as-of", help="截至月份，如 2023-09（默认：最近一个已报齐或已过报送截止日的月份）")
    p.add_argument("--format", required=True, choices=FORMATS, help="导出格式：pptx、xlsx 或 pdf")
    p.add_argument("-o", "--output", required=True, help="输出文件路径")
    p.add_argument("--unit", help="只导出一个报送单位，如 黄土岭社区")
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="语言（默认 zh）")
    p.add_argument("--include-pending", action="store_true",
                   help="数字包括尚未通过审核的月报（默认只用已通过审核的；已关账月份默认按关账时冻结的数据）")
    p.add_argument("--json", action="store_true", help="输出 JSON（文件、页数、大小、用时）")
    p.set_defaults(func=cmd_export)

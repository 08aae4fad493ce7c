"""`demo`: write the demo reports into data/samples/ and ingest them through the real path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from worktrack import config
from worktrack.cli import EXIT_OK, EXIT_REJECTED, UsageError, load_plan_or_exit, month_option, print_json


def cmd_demo(args: argparse.Namespace) -> int:
    from worktrack.auth import real_upload_count
    from worktrack.demo import load_demo
    from worktrack.store import Store

    plan = load_plan_or_exit(args)
    args.through = month_option(args.through, "--through")
    if args.through not in plan.months:
        raise UsageError(f"--through 应在 {plan.months[0]} 到 {plan.months[-1]} 之间")
    db = config.db_path(args.db)
    if isinstance(db, Path):  # a DuckDB file; a postgresql:// URL names a server
        db.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db)
    if args.if_empty and not store.is_empty():
        if not args.json:
            print(f"数据库 {db} 已有数据，未重新导入演示数据。")
        return EXIT_OK
    real = real_upload_count(store.uploads())
    if real or (not store.is_empty() and not store.made_by_demo()):
        print(f"数据库 {db} 里有 {real or len(store.uploads())} 份真实上报，不能导入演示数据：演示数据和真实数据不能"
              "放在同一个数据库。请用 --db 指定一个新的演示数据库（如 data/demo.duckdb）。", file=sys.stderr)
        return EXIT_REJECTED
    out_dir = Path(args.out) if args.out else config.SAMPLES_DIR

    def show(n: int, total: int, demo_file) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r导入演示数据 {n}/{total}：{demo_file.path.name}", end="", file=sys.stderr, flush=True)

    try:
        results = load_demo(plan, store, args.through, out_dir, progress=show)
    except RuntimeError as exc:
        print(f"\n{exc}", file=sys.stderr)
        return EXIT_REJECTED
    if args.json:
        print_json({"db": str(db), "samples": str(out_dir), "files": len(results), "through": args.through})
    else:
        print(f"\n已导入 {len(results)} 份演示月报（{plan.start_month} 至 {args.through}）到 {db}；文件在 {out_dir}。")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="生成并导入演示数据（虚构，标有【演示数据】）")
    p.add_argument("--through", default="2023-10", help="演示数据截至月份（默认 2023-10）")
    p.add_argument("--out", help="演示月报文件写到哪个目录（默认 data/samples/）")
    p.add_argument("--if-empty", action="store_true", help="数据库已有数据时什么也不做")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_demo)

"""`status`: progress against the plan as of a month — targets, obligations, tasks, reporting."""

from __future__ import annotations

import argparse
import unicodedata
from typing import Any

from worktrack import config
from worktrack.cli import EXIT_OK, load_plan_or_exit, month_option, print_json, unit_option


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(headers: list[str], rows: list[list[Any]], right: set[int] | None = None) -> str:
    """A plain-text table whose columns line up with Chinese characters (two columns wide)."""
    right = right or set()
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            parts.append(pad + cell if i in right else cell + pad)
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def render_text(report) -> str:
    """The readable Chinese summary printed by `status` without --json."""
    from worktrack.progress import FORECAST_METHOD_ZH, NOT_REPORTED_ZH, STATUS_LABELS_ZH, format_number

    plan = report.plan
    names = {m.id: m.short_name for m in plan.metrics.values()}
    measures = {m.id: m.measure for m in plan.metrics.values()}
    year, month = report.as_of.split("-")
    scope = f" · {report.unit}" if report.unit else ""
    out = [f"{plan.title}{scope}", f"进度截至 {year}年{int(month)}月", ""]
    counts = report.status_counts()
    out.append("目标状态：" + "，".join(f"{STATUS_LABELS_ZH[s]} {n}" for s, n in counts.items()))
    out.append("")

    t = report.targets
    out.append(f"一、量化目标（{len(t)} 项）")
    rows = []
    for r in t.itertuples(index=False):
        measure = measures[r.metric]
        every = "每月" if r.period == "month" else ""
        rows.append([names[r.metric], r.reporting_unit if isinstance(r.reporting_unit, str) else "全街道",
                     f"{every}{format_number(r.target)}{measure}", format_number(r.actual), format_number(r.expected),
                     format_number(r.gap), format_number(r.forecast), STATUS_LABELS_ZH[r.status]])
    if rows:
        out.append(format_table(["指标", "单位", "目标", "实际", "应完成", "差距", "预测", "状态"], rows,
                                right={3, 4, 5, 6}))
        out.append("（差距 = 应完成 − 实际，正数表示落后；每月目标的“实际”为当月数。）")
        out.append(FORECAST_METHOD_ZH)
    out.append("")

    missed = report.obligations[~report.obligations["met"]]
    out.append(f"二、每月任务未达标（{len(missed)} 次）")
    if len(missed):
        out.append(format_table(
            ["月份", "单位", "指标", "实际", "要求"],
            [[r.month, r.reporting_unit if isinstance(r.reporting_unit, str) else "全街道", names[r.metric],
              format_number(r.actual), f"≥{format_number(r.required)}{measures[r.metric]}"]
             for r in missed.itertuples(index=False)], right={3}))
    else:
        out.append("无")
    out.append("")

    overdue = report.tasks[report.tasks["overdue"]]
    out.append(f"三、逾期事项（{len(overdue)} 项）")
    if len(overdue):
        out.append(format_table(
            ["事项", "单位", "时限", "最新状态"],
            [[f"{plan.items[r.item_id].number} {plan.items[r.item_id].title}", r.reporting_unit, str(r.deadline),
              r.status if isinstance(r.status, str) else NOT_REPORTED_ZH]
             for r in overdue.itertuples(index=False)]))
    else:
        out.append("无")
    out.append("")

    rep = report.reporting
    problems = rep[~rep["received"] | (rep["on_time"] == False)]  # noqa: E712  (nullable boolean)
    out.append(f"四、月报未报送或逾期报送（{len(problems)} 份）")
    if len(problems):
        rows = []
        for r in problems.itertuples(index=False):
            if r.received:
                what = f"逾期报送（{r.received_at:%Y-%m-%d %H:%M} 收到，第 {r.version} 版）"
            else:
                what = "未报送"
            rows.append([r.reporting_unit, r.month, str(r.due_date), what])
        out.append(format_table(["单位", "月份", "截止日期", "情况"], rows))
    else:
        out.append("无")
    return "\n".join(out)


def cmd_status(args: argparse.Namespace) -> int:
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    plan = load_plan_or_exit(args)
    as_of = month_option(args.as_of, "--as-of", plan) if args.as_of is not None else None
    unit = unit_option(plan, args.unit) if args.unit is not None else None
    store = Store(config.db_path(args.db))
    report = status_from_store(plan, store, as_of, unit=unit)
    if args.json:
        print_json(report.as_dict())
    else:
        print(render_text(report))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="截至某月的进度：目标、每月任务、事项、月报报送情况")
    p.add_argument("--as-of", help="截至月份，如 2023-09（默认：最近一个有月报的月份）")
    p.add_argument("--unit", help="只看一个报送单位，如 黄土岭社区")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.set_defaults(func=cmd_status)

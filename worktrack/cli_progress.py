"""`status`: progress against the plan as of a month — targets, obligations, tasks, reporting."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from typing import Any

from worktrack import config
from worktrack.cli import EXIT_OK, load_plan_or_exit, month_option, unit_option


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


def render_text(report, attention: bool = True) -> str:
    """The readable Chinese summary printed by `status` without --json: yearly targets and monthly
    obligations as two tables, then what needs attention (left out with attention=False)."""
    from worktrack.i18n import translate
    from worktrack.views import (
        attention_rows,
        format_amount,
        format_number,
        metric_name,
        month_label,
        month_state_label,
        partial_banner,
        status_word,
        summary_line,
        unit_label,
    )

    plan = report.plan
    lang = "zh"
    scope = f" · {report.unit}" if report.unit else ""
    out = [f"{plan.title}{scope}", f"进度截至 {month_label(report.as_of, lang)}", summary_line(report, lang)]
    banner = partial_banner(report, lang)
    if banner:
        out.append(banner)
    from worktrack.views.cycle import figures_banner

    out.append(figures_banner(report, lang))
    out.append("")

    def amount(value, metric_id, expected=False):
        metric = plan.metrics[metric_id]
        return format_amount(value, metric.measure, lang, metric=metric, expected=expected)

    yearly = report.yearly
    out.append(f"一、年度目标（{len(yearly)} 项）")
    rows = [[metric_name(plan, r.metric, lang), unit_label(r.reporting_unit, lang), amount(r.target, r.metric),
             amount(r.actual, r.metric), amount(r.expected, r.metric, True), amount(r.gap, r.metric, True),
             amount(r.forecast, r.metric, True), status_word(r.status, lang)] for r in yearly.itertuples(index=False)]
    if rows:
        out.append(format_table(["指标", "单位", "目标", "实际", "应完成", "差距", "预测", "状态"], rows,
                                right={2, 3, 4, 5, 6}))
        out.append("（差距 = 应完成 − 实际，正数表示落后。）")
        out.append(translate("method.forecast", lang))
    else:
        out.append("无")
    out.append("")

    monthly = report.monthly
    out.append(f"二、每月任务（{len(monthly)} 项，逐月考核，不计“已完成”）")
    if len(monthly):
        missed_months = (report.obligations[~report.obligations["met"]].groupby("target_id")["month"]
                         .agg(lambda ms: "、".join(f"{int(m[5:])}月" for m in sorted(ms))))
        out.append(format_table(
            ["指标", "单位", "每月要求", "本月", "本月情况", "已达标月数", "未达标月份"],
            [[metric_name(plan, r.metric, lang), unit_label(r.reporting_unit, lang), f"≥{amount(r.target, r.metric)}",
              amount(r.actual, r.metric), month_state_label(r.month_state, lang),
              f"{format_number(r.months_met)}/{format_number(r.months_due)}", missed_months.get(r.target_id, "")]
             for r in monthly.itertuples(index=False)], right={3}))
    else:
        out.append("无")
    out.append("")

    if not attention:
        return "\n".join(out).rstrip("\n")
    rows = attention_rows(report, lang)
    out.append(f"三、需要关注（{len(rows)} 项）")
    if len(rows):
        out.append(format_table(["级别", "责任单位", "情况", "应完成"],
                                [[r.severity, r.unit, r.text, r.due] for r in rows.itertuples(index=False)]))
    else:
        out.append("无")
    return "\n".join(out)


def cmd_status(args: argparse.Namespace) -> int:
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    plan = load_plan_or_exit(args)
    as_of = month_option(args.as_of, "--as-of", plan) if args.as_of is not None else None
    unit = unit_option(plan, args.unit) if args.unit is not None else None
    store = Store(config.db_path(args.db)).for_plan(plan.id)
    report = status_from_store(plan, store, as_of, unit=unit, today=config.today(),
                               approved_only=not args.include_pending)
    if args.json:
        # written piece by piece: at city scale the whole text is ~35 MB and never held at once
        out = sys.stdout
        for chunk in report.json_chunks(summary=args.summary):
            out.write(chunk)
        out.flush()
    elif args.summary:
        print(render_text(report, attention=False))
    else:
        print(render_text(report))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="截至某月的进度：目标、每月任务、事项、月报报送情况")
    p.add_argument("--as-of", help="截至月份，如 2023-09（默认：最近一个已报齐或已过报送截止日的月份）")
    p.add_argument("--unit", help="只看一个报送单位，如 黄土岭社区")
    p.add_argument("--include-pending", action="store_true",
                   help="数字包括尚未通过审核（待审核、已退回）的月报（默认只用已通过审核的）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument("--summary", action="store_true",
                   help="只给目标和各项计数，不列逐月任务、事项和报送明细（JSON 里给出它们的行数）")
    p.set_defaults(func=cmd_status)

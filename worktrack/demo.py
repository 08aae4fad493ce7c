"""Demo data: a believable, deterministic year of monthly reports, ingested through the real path.

A plan may name a demo story (`demo:` in the plan file, e.g. demo/jinpenling-2023.yaml): which unit is
ahead or behind, who misses or is late with a month, which report is returned and refiled, which task is
blocked, in which file format each unit sends. This module is the engine that plays any story; a plan
without one gets believable figures from its targets alone (`plan_rows`).
Every file carries a 【演示数据】 title row, so demo files are never mistaken for real reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

from worktrack.demo_story import RuleIn, Story, load_story
from worktrack.plan import Plan, month_range

logger = logging.getLogger(__name__)

DEMO_MARK = "【演示数据】"
DEMO_SEED = 2023
DEMO_REVIEWER = "demo_reviewer"
HEADER = ["上报单位", "月份", "编号", "事项", "计量单位", "本月数值", "分类", "备注"]
BLOCKED = "受阻"


@dataclass(frozen=True)
class DemoFile:
    """One generated monthly report and when/by whom it was (notionally) submitted."""

    path: Path
    reporting_unit: str
    month: str
    received_at: dt.datetime
    submitted_by: str


def _received_at(unit: str, month: str, rng: random.Random, day: int | None = None) -> dt.datetime:
    y, m = map(int, month.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return dt.datetime(y, m, day or rng.randint(1, 4), rng.randint(9, 17), rng.randint(0, 59))


def _task_progress(month_index: int, deadline_month_index: int, rng: random.Random) -> str:
    """未开始, then 进行中, then 已完成 a little before the deadline."""
    start = rng.randint(0, 2)
    finish = max(start + 2, deadline_month_index - rng.randint(0, 3))
    if month_index < start:
        return "未开始"
    return "已完成" if month_index >= finish else "进行中"


def _story_task_status(story: Story, unit: str, item_id: str, month: str) -> tuple[str, str] | None:
    """(status, note) the story sets for a task this month, or None when the task just progresses."""
    for blocked in story.spec.tasks.blocked:
        if (blocked.unit, blocked.item) == (unit, item_id) and month >= blocked.from_month:
            return BLOCKED, blocked.note
    for finished in story.spec.tasks.finished:
        if finished.item == item_id:
            return ("已完成" if month >= finished.units.get(unit, finished.month) else "进行中"), ""
    return None


def _story_figure(rule: RuleIn, unit_kind: str, unit: str, month: str, month_index: int, category: str,
                  rng: random.Random) -> str:
    """One row's figure under a story rule; draws from `rng` exactly as the rule needs, in row order."""
    if rule.series is not None:
        return _figure(rule.series[unit][month_index])
    if rule.amounts is not None:
        amounts = rule.amounts.get(unit_kind)
        low, high = amounts.spread if amounts else (1, 1)
        amount = (amounts.by_category.get(category, 0) if amounts else 0) * rng.uniform(low, high)
        spike = rule.spike
        if spike is not None and (category, month) == (spike.category, spike.month):
            peak = getattr(spike, unit_kind)
            if peak is not None:
                amount = rng.uniform(*peak) if isinstance(peak, tuple) else peak
        return f"{round(amount, -round(math.log10(rule.round_to))):.0f}"
    if rule.shares is not None:
        total = rng.randint(*rule.shares.total[unit_kind])
        boost = rule.shares.boost
        if boost is not None and month == boost.month:
            total = int(total * boost.factor)
        return str(round(total * rule.shares.by_category.get(category, 0)))
    override = next((o.value for o in rule.overrides if (o.unit, o.month) == (unit, month)), None)
    if override is not None:
        return _figure(override)
    if rule.choice is not None:
        return _figure(rng.choice(rule.choice))
    if rule.constant is not None:
        return _figure(rule.constant)
    assert rule.once is not None  # RuleIn allows exactly one rule
    return "1" if month == rule.once.units.get(unit, rule.once.month) else "0"


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def demo_rows(plan: Plan, unit: str, month: str, *, corrected: bool = True, story: bool = True
              ) -> list[list[str]]:
    """The filled rows of one unit's report for one month (seeded by unit and month)."""
    told = load_story(plan) if story else None
    if told is None:
        return plan_rows(plan, unit, month)
    seed = told.seed
    months = plan.months
    idx = months.index(month)
    rng = random.Random(f"{seed}:{unit}:{month}")
    task_rng = random.Random(f"{seed}:{unit}:tasks")
    task_plans = {item.id: task_rng.random() for item in plan.tasks_for_unit(unit)}
    unit_kind = plan.unit(unit).kind
    returned = told.spec.returned
    rows: list[list[str]] = []
    for row in plan.template_rows(unit):
        note = ""
        if row.kind == "task":
            told_status = _story_task_status(told, unit, row.item, month)
            if told_status is not None:
                value, note = told_status
            else:
                item = plan.items[row.item]
                deadline_idx = months.index(f"{item.deadline.year:04d}-{item.deadline.month:02d}")
                seeded = random.Random(f"{seed}:{unit}:{row.item}:{task_plans[row.item]}")
                value = _task_progress(idx, deadline_idx, seeded)
        else:
            value = _story_figure(told.rule(row.item), unit_kind, unit, month, idx, row.category, rng)
            if not corrected and told.is_returned(unit, month) and row.item == returned.metric:
                value = _figure(returned.first_value)  # the first version's slip; the refiled one fixes it
        rows.append([unit, month, row.item, row.name, row.measure, value, row.category, note])
    return rows


def plan_rows(plan: Plan, unit: str, month: str) -> list[list[str]]:
    """Believable figures for any plan, from its targets alone (seeded by unit and month).

    Cumulative and stock targets advance at roughly the pace they need (some units ahead, some
    behind); every-period obligations are usually met, now and then missed; levels climb from their
    opening towards the target; ceilings stay mostly below their pro-rata line; tasks move from 未开始
    through 进行中 to 已完成 before their deadline.
    """
    months = plan.months
    idx = months.index(month)
    unit_rng = random.Random(f"{DEMO_SEED}:{plan.id}:{unit}")
    pace = unit_rng.uniform(0.7, 1.25)  # this unit's speed against the plan
    rng = random.Random(f"{DEMO_SEED}:{plan.id}:{unit}:{month}")
    rows: list[list[str]] = []
    for row in plan.template_rows(unit):
        note = ""
        if row.kind == "task":
            item = plan.items[row.item]
            deadline_idx = months.index(f"{item.deadline.year:04d}-{item.deadline.month:02d}")
            seeded = random.Random(f"{DEMO_SEED}:{plan.id}:{unit}:{item.number}")
            value = _task_progress(idx, deadline_idx, seeded)
        elif (rate := _rate_with_part(plan, row.item)) is not None:
            value = _rate_part_figure(plan, rate, row.item, unit, idx, pace)
        else:
            target = plan.unit_target(row.item, unit) or plan.street_target(row.item)
            value = _plan_figure(plan, row.item, target, unit, idx, pace, rng)
            categories = plan.categories(row.item)
            if categories and value not in ("", "0") and target is not None and target.kind != "level":
                # spread the figure over the categories: the first rows get the most
                share = 1 / len(categories) if len(categories) else 1
                value = str(max(round(float(value) * share * rng.uniform(0.6, 1.4)), 0))
        rows.append([unit, month, row.item, row.name, row.measure, value, row.category, note])
    return rows


def _rate_with_part(plan: Plan, metric_id: str):
    """The rate metric whose numerator or denominator `metric_id` is, or None."""
    return next((m for m in plan.metrics.values() if m.is_rate and metric_id in (m.numerator, m.denominator)), None)


def _rate_part_figure(plan: Plan, rate, metric_id: str, unit: str, month_index: int, pace: float) -> str:
    """A rate's two figures as they stand this month: the unit's households (a fixed number) and the
    share of them the rate's level target says by now."""
    households = random.Random(f"{DEMO_SEED}:{plan.id}:{unit}:{rate.denominator}").randint(800, 2400)
    if metric_id == rate.denominator:
        return str(households)
    target = plan.unit_target(rate.id, unit) or plan.street_target(rate.id)
    month_rng = random.Random(f"{DEMO_SEED}:{plan.id}:{unit}:{plan.months[month_index]}:{rate.id}")
    level = float(_plan_figure(plan, rate.id, target, unit, month_index, pace, month_rng))
    return str(min(int(households * level / 100), households))


def _plan_figure(plan: Plan, metric_id: str, target, unit: str, month_index: int, pace: float,
                 rng: random.Random) -> str:
    """One month's figure of one metric for one unit, shaped by the kind of its target."""
    if target is None:
        return str(rng.randint(0, 3))
    months_total = max(plan.months.index(f"{target.deadline.year:04d}-{target.deadline.month:02d}") + 1, 1)
    reporters = max(len(plan.metrics[metric_id].reported_by), 1)
    share = target.value if target.scope == "unit" else target.value / reporters
    if target.kind == "every_period":
        length = {"month": 1, "quarter": 3, "half_year": 6}[target.cadence]
        if length == 1:
            return str(max(int(round(target.value * rng.choice([0.5, 1, 1, 1.5, 2]))), 0))
        # a quarterly or half-yearly duty is done in one month of its period (now and then not at all)
        ordinal = int(plan.months[month_index][:4]) * 12 + int(plan.months[month_index][5:]) - 1
        period = random.Random(f"{DEMO_SEED}:{plan.id}:{unit}:{metric_id}:{ordinal // length}")
        held = period.random() < 0.85
        return str(int(target.value) if held and ordinal % length == period.randrange(length) else 0)
    if target.kind == "level":
        start = target.opening if target.opening is not None else target.value * 0.7
        level = start + (target.value - start) * min((month_index + 1) / months_total * pace, 1.05)
        return f"{min(level * rng.uniform(0.98, 1.02), 100 if plan.metrics[metric_id].measure == '%' else 1e12):.1f}"
    if target.kind == "ceiling":
        per_month = target.value / months_total / reporters
        return str(int(rng.random() < 0.05) if per_month == 0 else max(int(round(per_month * rng.uniform(0.3, 1.3))), 0))
    if target.kind == "stock":
        share = (target.value - (target.opening or 0)) / reporters
    if target.pace == "at_deadline":
        return "1" if month_index == months_total - 1 else "0"
    per_month = share / months_total * pace
    figure = per_month * rng.uniform(0.5, 1.5)
    if plan.metrics[metric_id].is_count:  # whole households or people: round up as often as the fraction says
        return str(int(figure) + (rng.random() < figure - int(figure)))
    return f"{round(figure, -2):.0f}"


def _csv_bytes(title: str, rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([title] + [""] * (len(HEADER) - 1))
    writer.writerow(HEADER)
    writer.writerows(rows)
    text = buf.getvalue()
    return text.encode("gb18030") if encoding == "gbk" else b"\xef\xbb\xbf" + text.encode("utf-8")


def _xlsx_bytes(title: str, rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "月报"
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    for row in rows:
        cells = list(row)
        # numbers typed into Excel are numbers, not text
        try:
            cells[5] = int(cells[5])
        except ValueError:
            pass
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def report_bytes(plan: Plan, unit: str, month: str, *, corrected: bool = True, story: bool = True
                 ) -> tuple[str, bytes]:
    """(file name, bytes) of one unit's demo report for one month, in that unit's usual format."""
    y, m = month.split("-")
    title = f"{DEMO_MARK}{unit}{y}年{int(m)}月工作进展月报"
    rows = demo_rows(plan, unit, month, corrected=corrected, story=story)
    told = load_story(plan)  # the story's file formats hold even for figures made from the plan alone
    fmt = told.file_format(unit) if told else "csv"
    unit_id = plan.unit(unit).id
    suffix = "" if corrected else "_初报"
    if fmt == "xlsx":
        return f"demo_{unit_id}_{month}{suffix}.xlsx", _xlsx_bytes(title, rows)
    return f"demo_{unit_id}_{month}{suffix}.csv", _csv_bytes(title, rows, fmt)


def write_demo_files(plan: Plan, through: str, out_dir: Path, story: bool = True) -> list[DemoFile]:
    """Write every demo report from the plan's start month through `through`, in submission order.

    story=False: figures generated from the plan alone, even for a plan that names a story."""
    out_dir.mkdir(parents=True, exist_ok=True)
    told = load_story(plan) if story else None
    files: list[DemoFile] = []
    for month in month_range(plan.start_month, through):
        for unit in plan.units:
            if told and told.missed(unit.name, month):
                continue
            rng = random.Random(f"{DEMO_SEED}:{unit.name}:{month}:received")
            received = _received_at(unit.name, month, rng, told.late_day(unit.name, month) if told else None)
            user = f"{unit.id}_demo"
            if told and told.is_returned(unit.name, month):
                name, data = report_bytes(plan, unit.name, month, corrected=False)
                (out_dir / name).write_bytes(data)
                files.append(DemoFile(out_dir / name, unit.name, month, received, user))
                received = received + dt.timedelta(days=1, hours=2)
            name, data = report_bytes(plan, unit.name, month, story=story)
            (out_dir / name).write_bytes(data)
            files.append(DemoFile(out_dir / name, unit.name, month, received, user))
    files.sort(key=lambda f: f.received_at)
    return files


def load_demo(plan: Plan, store, through: str, out_dir: Path, progress=None, story: bool = True,
              registers: bool = True) -> list:
    """Write the demo files and ingest each through the real intake path; return the submit results.

    The story's returned report is returned with its reason; every month before `through` is then
    approved, and `through` itself is left under review. registers: the communities also file
    registers (台账) with the same figures (worktrack.registers.demo)."""
    from worktrack.intake import read_report

    store.mark_demo(actor="demo")  # first: a half-loaded demo database is still a demo database
    store = store.for_plan(plan.id)  # the approvals below are this plan's; the database may hold others
    told = load_story(plan) if story else None
    reviewer = told.spec.story.reviewer if told else DEMO_REVIEWER
    files = write_demo_files(plan, through, out_dir, story=story)
    results = []
    for n, demo_file in enumerate(files, start=1):
        data = demo_file.path.read_bytes()
        report = read_report(data, demo_file.path.name, plan, unit=demo_file.reporting_unit, month=demo_file.month)
        result = store.submit(report, data, submitted_by=demo_file.submitted_by, confirm=True,
                              received_at=demo_file.received_at)
        if not result.accepted:
            problems = "; ".join(f"{f.code} 第{f.row}行 {f.column}: {f.message}" for f in report.errors[:5])
            raise RuntimeError(f"演示数据 {demo_file.path.name} 未被接收：{result.message} {problems}")
        results.append(result)
        if told and told.is_returned(demo_file.reporting_unit, demo_file.month) and result.version == 1:
            store.review(result.upload_id, "returned", actor=reviewer, reason=told.spec.returned.reason)
        if progress:
            progress(n, len(files), demo_file)
    if registers:
        from worktrack.registers.demo import load_demo_registers

        load_demo_registers(plan, store, files, out_dir / "registers")
    # Every month before the latest has been reviewed and approved; the latest is still under review.
    active = store.reviewed_uploads(active_only=True)
    done = active[(active["month"] < through) & (active["review_state"] == "pending")]
    store.review_many([int(i) for i in done["upload_id"]], "approved", actor=reviewer)
    return results

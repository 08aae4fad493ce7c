"""Demo data: a believable, deterministic year of monthly reports, ingested through the real path.

The story (Jinpenling 2023, from April):
- 天剑社区 is ahead on retrofits (its six done by September); 夏家冲社区 is behind (one so far).
- 狮子山社区 missed its July report entirely; 涂新社区 sent June's report late (after July 5th).
- 黄土岭社区 re-submitted a corrected August report: the street office returned the first (a typo in
  retrofits) with its reason, the refiled version was approved.
- The street office has approved every month before the latest; the latest month (October) is
  still under review.
- Fund raising by channel, with a 99公益日 spike in September; aid spread over the seven categories.
- Tasks move from 未开始 through 进行中 to 已完成; 涂新社区's 小区分类治理 is 受阻 (open estate,
  property service not yet accepted); 赤岭路社区's 做靓社区 pilot slipped past its May deadline.
- Files come as offices send them: UTF-8-with-BOM CSV from the template, GBK CSV saved by WPS
  (夏家冲社区), XLSX with a title row (天剑社区 and the street office).
Every file carries a 【演示数据】 title row, so demo files are never mistaken for real reports.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from pathlib import Path

from worktrack.plan import Plan, month_range

DEMO_MARK = "【演示数据】"
DEMO_SEED = 2023
HEADER = ["上报单位", "月份", "编号", "事项", "计量单位", "本月数值", "分类", "备注"]

# Retrofit households completed per month, April..December, per community (the story above).
RETROFITS = {
    "黄土岭社区": [1, 0, 1, 0, 1, 1, 1, 0, 1],
    "夏家冲社区": [0, 0, 0, 1, 0, 0, 1, 1, 2],
    "天剑社区": [1, 1, 1, 1, 1, 1, 0, 0, 0],
    "涂新社区": [0, 1, 1, 0, 1, 1, 1, 0, 1],
    "赤岭路社区": [1, 0, 1, 1, 0, 1, 0, 1, 1],
    "狮子山社区": [1, 1, 1, 0, 1, 0, 1, 1, 0],
}
FILE_FORMAT = {"夏家冲社区": "gbk", "天剑社区": "xlsx", "街道民政办": "xlsx"}
MISSED = {("狮子山社区", "2023-07")}
LATE = {("涂新社区", "2023-06"): 9}  # day of the following month the report arrived
CORRECTED = ("黄土岭社区", "2023-08")
DEMO_REVIEWER = "demo_reviewer"
RETURN_REASON = "特殊困难老年人家庭适老化改造户数与台账不符（本月台账为 1 户），请核对后重新上报。"
BLOCKED_TASK = ("涂新社区", "T2-6-3")
LATE_PILOT = "赤岭路社区"

COMMUNITY_CHANNELS = {"爱心企业": 10000, "小商户和群众": 7000, "消费捐": 4500, "定向捐": 5500, "爱心一元捐": 1500,
                      "商品销售返点": 1200, "社区资源盘活": 3500, "其他": 800}
OFFICE_CHANNELS = {"政府部门资金": 300000, "企业赞助": 180000, "基金会": 150000, "公益创投": 60000, "定向捐": 40000}
AID_SHARE = {"助困": 0.3, "助老": 0.25, "助残": 0.1, "助医": 0.1, "助学": 0.12, "助安": 0.08, "助推五社联动": 0.05}


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


def _task_status(unit: str, item_id: str, month_index: int, deadline_month_index: int, rng: random.Random) -> str:
    if (unit, item_id) == BLOCKED_TASK and month_index >= 3:
        return "受阻"
    if item_id == "T2-6-1":  # the 做靓社区 pilots, due May
        finish = 3 if unit == LATE_PILOT else 1
        return "已完成" if month_index >= finish else "进行中"
    return _task_progress(month_index, deadline_month_index, rng)


def _task_progress(month_index: int, deadline_month_index: int, rng: random.Random) -> str:
    """未开始, then 进行中, then 已完成 a little before the deadline."""
    start = rng.randint(0, 2)
    finish = max(start + 2, deadline_month_index - rng.randint(0, 3))
    if month_index < start:
        return "未开始"
    return "已完成" if month_index >= finish else "进行中"


def tells_the_story(plan: Plan) -> bool:
    """The shipped plan has its own demo story; any other plan gets believable figures from the plan alone."""
    return set(RETROFITS) <= set(plan.unit_names) and "retrofit_households" in plan.metrics


def demo_rows(plan: Plan, unit: str, month: str, *, corrected: bool = True, story: bool = True
              ) -> list[list[str]]:
    """The filled rows of one unit's report for one month (seeded by unit and month)."""
    if not story or not tells_the_story(plan):
        return plan_rows(plan, unit, month)
    months = plan.months
    idx = months.index(month)
    rng = random.Random(f"{DEMO_SEED}:{unit}:{month}")
    task_rng = random.Random(f"{DEMO_SEED}:{unit}:tasks")
    task_plans = {item.id: task_rng.random() for item in plan.tasks_for_unit(unit)}
    is_office = not plan.unit(unit).is_community
    september = month.endswith("-09")
    rows: list[list[str]] = []
    for row in plan.template_rows(unit):
        value: str
        note = ""
        if row.kind == "task":
            item = plan.items[row.item]
            deadline_idx = months.index(f"{item.deadline.year:04d}-{item.deadline.month:02d}")
            seeded = random.Random(f"{DEMO_SEED}:{unit}:{row.item}:{task_plans[row.item]}")
            value = _task_status(unit, row.item, idx, deadline_idx, seeded)
            if value == "受阻":
                note = "开放式老旧小区引入物业服务，居民意见未统一，暂缓推进"
        elif row.item == "retrofit_households":
            n = RETROFITS[unit][idx]
            if corrected is False and (unit, month) == CORRECTED:
                n = 11  # "1" typed twice; the corrected version fixes it
            value = str(n)
        elif row.item == "fund_raised_yuan":
            if is_office:
                base = OFFICE_CHANNELS.get(row.category, 0)
                amount = base * rng.uniform(0.8, 1.2)
                if row.category == "99公益日" and september:
                    amount = 1_800_000
            else:
                base = COMMUNITY_CHANNELS.get(row.category, 0)
                amount = base * rng.uniform(0.6, 1.4)
                if row.category == "99公益日" and september:
                    amount = rng.uniform(90_000, 160_000)
            value = f"{round(amount, -2):.0f}"
        elif row.item == "people_helped":
            total = rng.randint(500, 600) if is_office else rng.randint(80, 130)
            if september:
                total = int(total * 1.4)
            value = str(round(total * AID_SHARE[row.category]))
        elif row.item == "governance_reports":
            value = str(rng.choice([2, 2, 3, 3, 4]) if (unit, month) != ("赤岭路社区", "2023-06") else 1)
        elif row.item == "roundtable_meetings":
            value = str(rng.choice([1, 1, 2]))
        elif row.item == "sanzhang_reviews":
            value = str(1 if (unit, month) != ("夏家冲社区", "2023-08") else 0)
        elif row.item == "zuoliang_pilots":
            finish = 3 if unit == LATE_PILOT else 1
            value = "1" if idx == finish else "0"
        else:  # yearly one-off counts not due before December
            value = "1" if month.endswith("-12") else "0"
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
    fmt = FILE_FORMAT.get(unit, "csv")
    unit_id = plan.unit(unit).id
    suffix = "" if corrected else "_初报"
    if fmt == "xlsx":
        return f"demo_{unit_id}_{month}{suffix}.xlsx", _xlsx_bytes(title, rows)
    return f"demo_{unit_id}_{month}{suffix}.csv", _csv_bytes(title, rows, fmt)


def write_demo_files(plan: Plan, through: str, out_dir: Path, story: bool = True) -> list[DemoFile]:
    """Write every demo report from the plan's start month through `through`, in submission order.

    story=False: figures generated from the plan alone, even for the plan that has a story."""
    out_dir.mkdir(parents=True, exist_ok=True)
    story = story and tells_the_story(plan)
    files: list[DemoFile] = []
    for month in month_range(plan.start_month, through):
        for unit in plan.units:
            if story and (unit.name, month) in MISSED:
                continue
            rng = random.Random(f"{DEMO_SEED}:{unit.name}:{month}:received")
            received = _received_at(unit.name, month, rng, LATE.get((unit.name, month)) if story else None)
            user = f"{unit.id}_demo"
            if story and (unit.name, month) == CORRECTED:
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

    registers: the communities also file registers (台账) with the same figures (worktrack.registers.demo)."""
    from worktrack.intake import read_report

    store.mark_demo(actor="demo")  # first: a half-loaded demo database is still a demo database
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
        if (demo_file.reporting_unit, demo_file.month) == CORRECTED and result.version == 1:
            store.review(result.upload_id, "returned", actor=DEMO_REVIEWER, reason=RETURN_REASON)
        if progress:
            progress(n, len(files), demo_file)
    if registers:
        from worktrack.registers.demo import load_demo_registers

        load_demo_registers(plan, store, files, out_dir / "registers")
    # Every month before the latest has been reviewed and approved; the latest is still under review.
    active = store.reviewed_uploads(active_only=True)
    done = active[(active["month"] < through) & (active["review_state"] == "pending")]
    store.review_many([int(i) for i in done["upload_id"]], "approved", actor=DEMO_REVIEWER)
    return results

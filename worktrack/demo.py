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
    start = rng.randint(0, 2)
    finish = max(start + 2, deadline_month_index - rng.randint(0, 3))
    if month_index < start:
        return "未开始"
    return "已完成" if month_index >= finish else "进行中"


def demo_rows(plan: Plan, unit: str, month: str, *, corrected: bool = True) -> list[list[str]]:
    """The filled rows of one unit's report for one month (seeded by unit and month)."""
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


def report_bytes(plan: Plan, unit: str, month: str, *, corrected: bool = True) -> tuple[str, bytes]:
    """(file name, bytes) of one unit's demo report for one month, in that unit's usual format."""
    y, m = month.split("-")
    title = f"{DEMO_MARK}{unit}{y}年{int(m)}月工作进展月报"
    rows = demo_rows(plan, unit, month, corrected=corrected)
    fmt = FILE_FORMAT.get(unit, "csv")
    unit_id = plan.unit(unit).id
    suffix = "" if corrected else "_初报"
    if fmt == "xlsx":
        return f"demo_{unit_id}_{month}{suffix}.xlsx", _xlsx_bytes(title, rows)
    return f"demo_{unit_id}_{month}{suffix}.csv", _csv_bytes(title, rows, fmt)


def write_demo_files(plan: Plan, through: str, out_dir: Path) -> list[DemoFile]:
    """Write every demo report from the plan's start month through `through`, in submission order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[DemoFile] = []
    for month in month_range(plan.start_month, through):
        for unit in plan.units:
            if (unit.name, month) in MISSED:
                continue
            rng = random.Random(f"{DEMO_SEED}:{unit.name}:{month}:received")
            received = _received_at(unit.name, month, rng, LATE.get((unit.name, month)))
            user = f"{unit.id}_demo"
            if (unit.name, month) == CORRECTED:
                name, data = report_bytes(plan, unit.name, month, corrected=False)
                (out_dir / name).write_bytes(data)
                files.append(DemoFile(out_dir / name, unit.name, month, received, user))
                received = received + dt.timedelta(days=1, hours=2)
            name, data = report_bytes(plan, unit.name, month)
            (out_dir / name).write_bytes(data)
            files.append(DemoFile(out_dir / name, unit.name, month, received, user))
    files.sort(key=lambda f: f.received_at)
    return files


def load_demo(plan: Plan, store, through: str, out_dir: Path, progress=None) -> list:
    """Write the demo files and ingest each through the real intake path; return the submit results."""
    from worktrack.intake import read_report

    files = write_demo_files(plan, through, out_dir)
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
    # Every month before the latest has been reviewed and approved; the latest is still under review.
    active = store.reviewed_uploads(active_only=True)
    done = active[(active["month"] < through) & (active["review_state"] == "pending")]
    store.review_many([int(i) for i in done["upload_id"]], "approved", actor=DEMO_REVIEWER)
    return results

"""Demo registers (台账) for the demo story, derived from its generated monthly reports.

Every community files the three registers month by month, with exactly the figures its monthly
reports carry: one household per retrofit counted that month (accepted in it), one donation per
channel with money that month (a company's part of it as goods at a valuation), one new person per
person helped in each aid category. So once the registers take over those metrics, every figure and
status of the demo stays what it was (tests/test_registers_demo.py). Besides, each community lists
one household again in a later month (as clerks do): the receipt says it was already counted.

Names are made up from common characters; ID numbers are fictional (a Changsha Tianxin district
region code, a plausible date of birth, a running sequence) with a valid check character. Nothing
is random between runs: the same monthly files give the same register files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worktrack.plan import Plan
from worktrack.registers.kinds import KINDS, RETROFIT_CATEGORIES

logger = logging.getLogger(__name__)

SEED = "demo-registers-2023"
REGION = "430103"  # 长沙市天心区
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "秀英桂兰玉梅建国志强春华淑珍明德文华美玲海燕红霞国庆丽娟晓东子涵雨欣浩然家豪思远佳怡俊杰宏伟凤英金凤德胜"
RETROFIT_ITEMS = ("扶手、防滑垫", "呼叫设备", "扶手、呼叫设备", "防滑地面、扶手", "淋浴椅、扶手", "感应夜灯、防滑垫")
CONTRACTORS = ("湘居适老装饰有限公司", "长沙安康家居服务中心")
PROJECTS = ("微心愿", "银龄关爱", "助学圆梦", "邻里守望", "五社联动")
SERVICES = ("上门探访", "陪同就医", "助浴助洁", "心理疏导", "安全巡查", "志愿服务")
CASH_AID = {"助困": 500, "助医": 800, "助学": 1000}  # yuan per person; other aid categories are services
COMPANIES = ("湘江商贸有限公司", "金盆岭超市", "天心物业服务有限公司", "南湖建材有限公司", "爱心餐饮店")
ORGANISATION_CHANNELS = ("爱心企业", "定向捐", "商品销售返点", "社区资源盘活", "企业赞助", "基金会", "政府部门资金", "公益创投")
ANONYMOUS_CHANNELS = ("消费捐", "爱心一元捐", "99公益日")
GOODS_SHARE = 0.4  # of a company's donation given as goods (at a valuation)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


@dataclass(frozen=True)
class RegisterFile:
    """One generated register file: what it is, for whom, and when it was (notionally) filed."""

    path: Path
    kind: str
    reporting_unit: str
    month: str
    received_at: dt.datetime
    submitted_by: str


def fictional_id_number(born: dt.date, sequence: int) -> str:
    """An 18-character ID number with a valid check character, for nobody."""
    body = f"{REGION}{born:%Y%m%d}{sequence % 1000:03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


class _People:
    """Fictional people: a name and an ID number each, never the same number twice."""

    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def new(self, born_from: int, born_to: int) -> tuple[str, str]:
        rng = self.rng
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        while True:
            born = dt.date(rng.randint(born_from, born_to), rng.randint(1, 12), rng.randint(1, 28))
            number = fictional_id_number(born, rng.randint(1, 999))
            if number not in self.used:
                self.used.add(number)
                return name, number


def _day(month: str, rng: random.Random) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:]), rng.randint(1, 28))


def monthly_figures(plan: Plan, files: Iterable[Any]) -> dict[tuple[str, str, str, str], float]:
    """(unit, month, metric, category) -> value of each unit-month's last file (the version in force)."""
    from worktrack.intake import read_report

    figures: dict[tuple[str, str], dict[tuple[str, str], float]] = {}
    for demo_file in sorted(files, key=lambda f: f.received_at):
        data = Path(demo_file.path).read_bytes()
        report = read_report(data, Path(demo_file.path).name, plan, unit=demo_file.reporting_unit,
                             month=demo_file.month)
        figures[(demo_file.reporting_unit, demo_file.month)] = {
            (r.item, r.category or ""): float(r.value) for r in report.rows if r.value is not None}
    return {(unit, month, item, category): value for (unit, month), rows in figures.items()
            for (item, category), value in rows.items()}


def register_rows(plan: Plan, figures: dict[tuple[str, str, str, str], float]
                  ) -> dict[tuple[str, str, str], list[dict[str, str]]]:
    """(kind, unit, month) -> register rows (column key -> text) with exactly the monthly figures."""
    out: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    people = _People(random.Random(f"{SEED}:people"))
    communities = [u.name for u in plan.units if u.is_community]
    metrics = {kind: plan.metric_for_register(kind) for kind in KINDS}
    for unit in communities:
        rng = random.Random(f"{SEED}:{unit}")
        unit_id = plan.unit(unit).id
        receipts = 0
        first_household: dict[str, str] | None = None
        months = sorted({m for (u, m, _, _) in figures if u == unit})
        for month in months:
            here = {(item, category): value for (u, m, item, category), value in figures.items()
                    if u == unit and m == month}
            retrofit, donation, helped = (metrics[k].id if metrics[k] else None for k in KINDS)
            rows: list[dict[str, str]] = []
            for _ in range(int(here.get((retrofit, ""), 0))):
                name, number = people.new(1930, 1955)
                accepted = _day(month, rng)
                completed = max(accepted - dt.timedelta(days=rng.randint(3, 10)), accepted.replace(day=1))
                rows.append({"address": f"{unit[:-2]}{rng.randint(1, 40)}栋{rng.randint(1, 6)}0{rng.randint(1, 4)}",
                             "person_name": name, "id_number": number, "category": rng.choice(RETROFIT_CATEGORIES),
                             "items": rng.choice(RETROFIT_ITEMS), "cost": str(rng.randrange(800, 4000, 100)),
                             "contractor": rng.choice(CONTRACTORS), "completed_on": completed.isoformat(),
                             "event_date": accepted.isoformat()})
            if rows and first_household is None:
                first_household = dict(rows[0], note="")
            elif first_household is not None and first_household.get("note") == "":
                # listed again the month after (already counted: the receipt says so)
                rows.append(dict(first_household, note="上月已报，本月复核"))
                first_household["note"] = "listed"
            if rows and retrofit:
                out[("retrofit_register", unit, month)] = rows
            rows = []
            for (item, channel), value in sorted(here.items()):
                if item != donation or value <= 0:
                    continue
                receipts += 1
                row = {"category": channel, "event_date": _day(month, rng).isoformat(),
                       "receipt": f"{unit_id.upper()}-{month.replace('-', '')}-{receipts:03d}"}
                if channel in ORGANISATION_CHANNELS:
                    goods = round(value * GOODS_SHARE, -2) if channel == "爱心企业" else 0
                    row.update(donor=rng.choice(COMPANIES), donor_type="单位", cash=f"{value - goods:.0f}")
                    if goods:
                        row.update(goods="米面油等生活物资", goods_value=f"{goods:.0f}")
                elif channel in ANONYMOUS_CHANNELS:
                    row.update(donor="匿名", donor_type="匿名", cash=f"{value:.0f}")
                else:
                    row.update(donor=people.new(1950, 2000)[0], donor_type="个人", cash=f"{value:.0f}")
                rows.append(row)
            if rows and donation:
                out[("donation_register", unit, month)] = rows
            rows = []
            for (item, category), value in sorted(here.items()):
                if item != helped:
                    continue
                for _ in range(int(value)):
                    name, number = people.new(1935, 2012)
                    row = {"person_name": name, "id_number": number, "category": category,
                           "event_date": _day(month, rng).isoformat(), "project": rng.choice(PROJECTS)}
                    if category in CASH_AID:
                        row["cash"] = str(CASH_AID[category])
                    else:
                        row["service"] = rng.choice(SERVICES)
                    rows.append(row)
            if rows and helped:
                out[("help_register", unit, month)] = rows
    return out


def register_csv(kind: str, unit: str, month: str, rows: list[dict[str, str]]) -> bytes:
    """A register file as a clerk saves it from the CSV template (UTF-8 with BOM, a title line)."""
    columns = KINDS[kind].columns
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"【演示数据】{unit}{month}{KINDS[kind].title}"] + [""] * (len(columns) - 1))
    writer.writerow([c.label for c in columns])
    for row in rows:
        writer.writerow([unit if c.key == "reporting_unit" else month if c.key == "month" else row.get(c.key, "")
                         for c in columns])
    return buffer.getvalue().encode("utf-8-sig")


def write_demo_registers(plan: Plan, files: Iterable[Any], out_dir: Path) -> list[RegisterFile]:
    """Write the register files matching the monthly demo files; filed a day after each unit's report."""
    files = list(files)
    received = {(f.reporting_unit, f.month): (f.received_at, f.submitted_by) for f in
                sorted(files, key=lambda f: f.received_at)}
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (kind, unit, month), rows in sorted(register_rows(plan, monthly_figures(plan, files)).items(),
                                            key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        at, user = received[(unit, month)]
        path = out_dir / f"demo_{plan.unit(unit).id}_{month}_{kind}.csv"
        path.write_bytes(register_csv(kind, unit, month, rows))
        written.append(RegisterFile(path, kind, unit, month, at + dt.timedelta(hours=1), user))
    written.sort(key=lambda f: (f.received_at, f.kind))
    return written


def load_demo_registers(plan: Plan, store: Any, files: Iterable[Any], out_dir: Path,
                        progress: Callable[[int, int, RegisterFile], None] | None = None) -> list[Any]:
    """Write the demo registers for the monthly demo files and file each through the real register intake."""
    from worktrack.registers import read_register

    results = []
    written = write_demo_registers(plan, files, out_dir)
    for n, register in enumerate(written, start=1):
        data = register.path.read_bytes()
        report = read_register(data, register.path.name, plan, register.kind, unit=register.reporting_unit,
                               month=register.month)
        result = store.submit_register(report, data, submitted_by=register.submitted_by, confirm=True,
                                       received_at=register.received_at)
        if not result.accepted:
            problems = "; ".join(f"{f.code} 第{f.row}行 {f.column}: {f.message}" for f in report.errors[:5])
            raise RuntimeError(f"演示台账 {register.path.name} 未被接收：{result.message} {problems}")
        results.append(result)
        if progress:
            progress(n, len(written), register)
    logger.info("demo registers: %d files filed", len(results))
    return results

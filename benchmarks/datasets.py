"""Benchmark datasets: a plan, the monthly report files offices would send for it, and a database
built from those files through the real intake path.

Two scales:

- street: the shipped targets.yaml as it is (7 reporting units x 9 months, 2023-04..2023-12).
- city:   a targets.yaml variant with 1,000 reporting units (990 communities and 10 street
          offices) over 36 months (2021-01..2023-12, every deadline 2023-12-31 as shipped, the
          做靓社区 pilots 2023-05-31). Sections, items, metrics, categories and targets are the
          shipped ones; the first six communities and the first office keep their shipped names
          (so the items that name them stay valid). Street-wide targets are scaled by the number
          of units reporting the metric (35 retrofits for 6 communities -> 5,775 for 990), and
          every community gets its own fund-raising quota (`quotas:`, 300k..700k yuan).

Report files are CSV exactly as the template (`worktrack.template`) lays them out: UTF-8 with BOM,
CRLF, a title line above the header, one row per item and category the unit reports, every
metric and category filled. The story is seeded and deterministic: units work at different paces
(most on track, some at risk, some behind), task statuses move from 未开始 to 进行中 to 已完成
(a few 受阻), about 1.5 % of unit-months are never reported, about 5 % arrive after the due day,
about 2 % are corrected by a second version, and some zero figures are left blank.

A dataset directory holds targets.yaml, files/ (the reports), files.csv (one row per file:
file, reporting_unit, month, version, received_at, submitted_by, in submission order) and
worktrack.duckdb. The database is built by reading every file with `intake.read_report` and storing
it with the store's single write path: `Store.submit` per file at street scale; at city scale
`Store.submit_many` (the same checks and writes as `submit`, a batch of files per transaction,
parsing spread over worker processes) because 36,000 files one transaction each would take
~20 minutes. The directory name carries a hash of this file, the shipped plan, the scale
parameters, so a built city dataset is reused until one of those changes; delete benchmarks/out/
(or pass --rebuild) to force a rebuild. A cached database older than the store's schema is
migrated in place the first time it is used (the store's own migrations, as on a deployment).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import inspect
import io
import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from worktrack.plan import Plan, load_plan, month_range
from worktrack.template import TEMPLATE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_PLAN = ROOT / "targets.yaml"
OUT = Path(__file__).resolve().parent / "out"
SEED = 20231231

# Place names for generated communities: "东风第3社区" and so on.
PLACES = ("东风", "南湖", "西园", "北辰", "新华", "朝阳", "青山", "白沙", "红星", "桂花", "枫林", "梅岭", "湘江",
          "岳麓", "望城", "洞井", "雨花", "芙蓉", "开福", "天心", "星沙", "坪塘", "暮云", "圭塘", "砂子塘", "左家塘",
          "侯家塘", "东塘", "井湾", "桃花")
FUND_QUOTA_RANGE = (300_000, 700_000)


@dataclass(frozen=True)
class Scale:
    """What to generate: the shipped plan (communities None) or a city-scale variant."""

    name: str
    communities: int | None = None
    offices: int = 1
    start_month: str | None = None
    missing_share: float = 0.015
    late_share: float = 0.05
    corrected_share: float = 0.02

    def key(self) -> str:
        """A hash of everything the dataset depends on: the generator's code and constants, the shipped
        plan and the scale's parameters.

        Not the store's schema version: a built database is brought up to date by the store's own
        migrations the first time a newer store opens it (`dataset` does that once, in place), which
        is also how a deployed database is upgraded."""
        digest = hashlib.sha256()
        for part in _GENERATOR:
            digest.update(inspect.getsource(part).encode())
        digest.update(repr((PLACES, SEED, FUND_QUOTA_RANGE, TEMPLATE_COLUMNS, self)).encode())
        digest.update(SHIPPED_PLAN.read_bytes())
        return digest.hexdigest()[:12]


STREET = Scale("street")
CITY = Scale("city", communities=990, offices=10, start_month="2021-01")


@dataclass
class Dataset:
    """A built dataset: its plan file, report files and database."""

    scale: Scale
    root: Path
    plan_path: Path
    db_path: Path
    manifest_path: Path
    info: dict

    @property
    def files_dir(self) -> Path:
        return self.root / "files"

    def manifest(self) -> list[dict[str, str]]:
        with open(self.manifest_path, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------
# The plan


def city_plan_text(scale: Scale) -> str:
    """The shipped targets.yaml with the units, start month, street totals and quotas of a city."""
    data = yaml.safe_load(SHIPPED_PLAN.read_text(encoding="utf-8"))
    data.pop("demo", None)  # the demo story names the shipped units; the city has no demo
    shipped_units = data["units"]
    shipped_communities = [u for u in shipped_units if u["kind"] == "community"]
    shipped_offices = [u for u in shipped_units if u["kind"] == "street_office"]
    communities = list(shipped_communities)
    for i in range(len(communities), scale.communities):
        communities.append({"id": f"c{i:04d}", "name": f"{PLACES[i % len(PLACES)]}第{i // len(PLACES) + 1}社区",
                            "kind": "community"})
    offices = list(shipped_offices)
    for i in range(len(offices), scale.offices):
        offices.append({"id": f"street_office_{i + 1}", "name": f"第{i + 1}街道民政办", "kind": "street_office"})
    office_names = {u["name"] for u in shipped_offices}
    data["units"] = communities + offices
    data["plan"]["id"] = f"{data['plan']['id']}-city"
    data["plan"]["title"] = f"{data['plan']['title']}（城市规模基准测试）"
    data["plan"]["start_month"] = scale.start_month
    data["plan"]["issue_date"] = dt.date(int(scale.start_month[:4]), int(scale.start_month[5:]), 4)

    def expand(names: list[str]) -> list[str]:
        out = []
        for name in names:
            out += [o["name"] for o in offices] if name in office_names else [name]
        return out

    for metric in data["metrics"]:
        before = sum(len(shipped_communities) if n == "各社区" else 1 for n in metric["reported_by"])
        metric["reported_by"] = expand(metric["reported_by"])
        after = sum(len(communities) if n == "各社区" else 1 for n in metric["reported_by"])
        for target in metric["targets"]:
            if target["scope"] == "street":
                scaled = target["value"] * after / before
                target["value"] = round(scaled) if metric["measure"] != "元" else round(scaled, -4)
    rng = np.random.default_rng(SEED)
    low, high = FUND_QUOTA_RANGE
    data["quotas"] = [{"metric": "fund_raised_yuan", "unit": c["name"],
                       "value": int(round(rng.uniform(low, high), -4)),
                       "source_quote": "基准测试：按社区规模分解的募集任务"} for c in communities]
    header = ("# 城市规模基准测试用的计划文件（由 benchmarks/datasets.py 生成，不要手工修改）：\n"
              f"# {len(communities)} 个社区、{len(offices)} 个街道民政办，{scale.start_month} 起 36 个月。\n")
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


# ---------------------------------------------------------------------------
# The report files


def _pace(rng: np.random.Generator) -> float:
    """How fast a unit works against its targets: most on track, some at risk, some behind."""
    band = rng.random()
    if band < 0.55:
        return rng.uniform(1.0, 1.3)
    if band < 0.8:
        return rng.uniform(0.8, 1.0)
    return rng.uniform(0.35, 0.8)


def _split(total: float, shares: np.ndarray, rng: np.random.Generator, step: float) -> np.ndarray:
    noisy = shares * rng.uniform(0.5, 1.5, len(shares))
    noisy /= noisy.sum()
    return np.round(total * noisy / step) * step


class _UnitStory:
    """One unit's figures for every month, seeded by the unit's position in the plan."""

    def __init__(self, plan: Plan, index: int, months: list[str]):
        unit = plan.units[index]
        self.rng = rng = np.random.default_rng([SEED, index])
        self.unit = unit
        self.months = months
        self.pace = _pace(rng)
        n = len(months)
        self.month_index = {m: i for i, m in enumerate(months)}
        self.per_month: dict[str, np.ndarray] = {}
        for metric in plan.metrics_for_unit(unit.name):
            own = plan.unit_target(metric.id, unit.name)
            street = plan.street_target(metric.id)
            target = own or street
            if target is None:
                continue
            share = target.value if own else _street_share(plan, metric.id)
            total = max(month_index_of(plan, target.deadline) + 1, 1)
            if target.period == "month":
                need = max(round(share), 1)
                meets = rng.random(n) < min(0.97, 0.8 * self.pace)
                self.per_month[metric.id] = np.where(meets, need + rng.integers(0, 2, n), need - 1).astype(float)
            elif target.pace == "at_deadline":
                values = np.zeros(n)
                due = min(total - 1, n - 1)
                if rng.random() < 0.9 and due >= 0:
                    values[due] = max(round(share), 1)
                self.per_month[metric.id] = values
            elif metric.is_count and share <= 12:
                # a few whole things (retrofits, pilots): each done in some month before the deadline
                count = int(round(share))
                done = int(round(min(self.pace, 1.2) * count)) if self.pace >= 0.8 else int(self.pace * count)
                span = max(int(total / max(self.pace, 0.5)), 1)
                values = np.zeros(n)
                for month in np.sort(rng.integers(0, span, done)):
                    if month < n:
                        values[month] += 1
                self.per_month[metric.id] = values
            else:
                monthly = share / total * self.pace * rng.lognormal(0, 0.35, n)
                self.per_month[metric.id] = np.round(monthly) if metric.is_count else np.round(monthly, -2)
        self.tasks = {}
        for item in plan.tasks_for_unit(unit.name):
            deadline = month_index_of(plan, item.deadline)
            start = int(rng.integers(0, max(min(deadline, n) // 3, 1)))
            finish = start + int(rng.integers(2, max(int((deadline - start + 1) / max(self.pace, 0.4)), 3)))
            blocked = int(rng.integers(start, max(finish, start + 1))) if rng.random() < 0.03 else None
            self.tasks[item.id] = (start, finish, blocked)

    def rows(self, plan: Plan, month: str, version: int) -> list[list[str]]:
        i = self.month_index[month]
        rng = np.random.default_rng([SEED, plan.units.index(self.unit), i, version])
        rows = []
        by_metric: dict[str, np.ndarray] = {}
        for metric_id, values in self.per_month.items():
            categories = plan.categories(metric_id)
            value = values[i] + (version - 1)  # a correction changes the figures
            if categories:
                step = 100.0 if plan.metrics[metric_id].measure == "元" else 1.0
                by_metric[metric_id] = _split(value, np.ones(len(categories)), rng, step)
            else:
                by_metric[metric_id] = np.array([value])
        for row in plan.template_rows(self.unit.name):
            note = ""
            if row.kind == "task":
                start, finish, blocked = self.tasks[row.item]
                if blocked is not None and i >= blocked:
                    value = "受阻"
                    note = "居民意见未统一，暂缓推进"
                elif i < start:
                    value = "未开始"
                elif i < finish:
                    value = "进行中"
                else:
                    value = "已完成"
                if i and rng.random() < 0.15:
                    value, note = "", ""  # no change this month: the last status stands
            else:
                figures = by_metric.get(row.item)
                if figures is None:
                    value = "0"
                else:
                    k = plan.categories(row.item).index(row.category) if row.category else 0
                    number = float(figures[k])
                    value = f"{number:.0f}" if number == int(number) else f"{number:.2f}"
                    if value == "0" and rng.random() < 0.3:
                        value = ""  # a blank number is recorded as 0
            rows.append([self.unit.name, month, row.item, row.name, row.measure, value, row.category, note])
        return rows


def _street_share(plan: Plan, metric_id: str) -> float:
    """A street target's part for one unit without a quota: what the quotas leave, split evenly."""
    street = plan.street_target(metric_id)
    reporters = plan.metrics[metric_id].reported_by
    quotas = [plan.unit_target(metric_id, u) for u in reporters]
    free = sum(q is None for q in quotas) or 1
    left = street.value - sum(q.value for q in quotas if q is not None)
    return max(left, street.value * 0.1) / free


def month_index_of(plan: Plan, date: dt.date) -> int:
    y, m = map(int, plan.start_month.split("-"))
    return (date.year - y) * 12 + date.month - m


def report_csv(unit_name: str, month: str, rows: list[list[str]]) -> bytes:
    """One report in the template's CSV layout: title line, header, rows; UTF-8 with BOM, CRLF."""
    year, mon = month.split("-")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([f"{unit_name}{int(year)}年{int(mon)}月工作进展月报"] + [""] * (len(TEMPLATE_COLUMNS) - 1))
    writer.writerow(TEMPLATE_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


class Corrections:
    """New versions of existing reports, for the ingest benchmarks: same story, one figure changed.

    Correction k of a unit-month raises its first fund-raising figure by 100 x k yuan and says so
    in the note, so every correction is new bytes and a new version, never a large-value warning.
    """

    def __init__(self, plan: Plan):
        self.plan = plan
        self.months = plan.months
        self._stories: dict[int, _UnitStory] = {}

    def report(self, unit_index: int, month: str, k: int) -> tuple[str, bytes]:
        story = self._stories.get(unit_index)
        if story is None:
            story = self._stories[unit_index] = _UnitStory(self.plan, unit_index, self.months)
        rows = story.rows(self.plan, month, 1)
        for row in rows:
            if row[2] == "fund_raised_yuan":
                row[5] = f"{float(row[5] or 0) + 100 * k:.0f}"
                row[7] = f"第 {k} 次更正"
                break
        unit = self.plan.units[unit_index]
        return f"{unit.id}_{month}_fix{k}.csv", report_csv(unit.name, month, rows)


def _received_at(month: str, rng: np.random.Generator, late: bool) -> dt.datetime:
    y, m = map(int, month.split("-"))
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    day = int(rng.integers(6, 21)) if late else int(rng.integers(1, 5))
    return dt.datetime(y, m, day, int(rng.integers(8, 18)), int(rng.integers(0, 60)))


def write_report_files(plan: Plan, scale: Scale, root: Path) -> list[dict[str, str]]:
    """Write every report file of the dataset; return the manifest rows in submission order."""
    months = plan.months
    files_dir = root / "files"
    entries = []
    for index, unit in enumerate(plan.units):
        if not plan.template_rows(unit.name):
            continue
        story = _UnitStory(plan, index, months)
        unit_dir = files_dir / unit.id
        unit_dir.mkdir(parents=True, exist_ok=True)
        for month in months:
            rng = np.random.default_rng([SEED, index, months.index(month), 99])
            if rng.random() < scale.missing_share:
                continue
            received = _received_at(month, rng, rng.random() < scale.late_share)
            versions = 2 if rng.random() < scale.corrected_share else 1
            for version in range(1, versions + 1):
                name = f"{unit.id}_{month}_v{version}.csv"
                (unit_dir / name).write_bytes(report_csv(unit.name, month, story.rows(plan, month, version)))
                at = received + dt.timedelta(days=version - 1, hours=2 * (version - 1))
                entries.append({"file": f"files/{unit.id}/{name}", "reporting_unit": unit.name, "month": month,
                                "version": str(version), "received_at": at.isoformat(sep=" "),
                                "submitted_by": f"{unit.id}_upload"})
    entries.sort(key=lambda e: (e["received_at"], e["file"]))
    with open(root / "files.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(entries[0]))
        writer.writeheader()
        writer.writerows(entries)
    return entries


# What the data depends on (Scale.key hashes their source): editing anything else in this file
# keeps a built city dataset.
_GENERATOR = (city_plan_text, _pace, _split, _UnitStory, _street_share, month_index_of, report_csv, _received_at,
              write_report_files)


# ---------------------------------------------------------------------------
# The database, through read_report and the store's write path

_worker_plan: Plan | None = None


def _init_worker(plan_path: str) -> None:
    global _worker_plan
    _worker_plan = load_plan(plan_path)


def _parse(job: tuple[str, str, str, str]):
    from worktrack.intake import read_report

    path, name, unit, month = job
    data = Path(path).read_bytes()
    return data, read_report(data, name, _worker_plan, unit=unit, month=month)


def _parsed(plan_path: Path, root: Path, entries: list[dict[str, str]], workers: int) -> Iterator[tuple]:
    jobs = [(str(root / e["file"]), Path(e["file"]).name, e["reporting_unit"], e["month"]) for e in entries]
    if workers <= 1:
        _init_worker(str(plan_path))
        yield from map(_parse, jobs)
        return
    # spawned, not forked: the parent already holds a DuckDB instance with its own threads
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(str(plan_path),)) as pool:
        yield from pool.map(_parse, jobs, chunksize=64)


def build_database(plan_path: Path, root: Path, entries: list[dict[str, str]], db_path: Path, *,
                   batch: int | None = None, workers: int = 1,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Ingest every file of the manifest in order; batch=None stores one file per transaction."""
    from worktrack.store import Store, Submission

    store = Store(db_path)
    counts = {"files": 0, "accepted": 0}
    pending: list[Submission] = []

    def flush() -> None:
        results = store.submit_many(pending)
        bad = [r for r in results if not r.accepted]
        if bad:
            raise RuntimeError(f"benchmark file refused: {bad[0].message}")
        counts["accepted"] += len(results)
        pending.clear()

    for entry, (data, report) in zip(entries, _parsed(plan_path, root, entries, workers), strict=True):
        if not report.ok:
            problems = "; ".join(f"{f.code} {f.row} {f.column}: {f.message}" for f in report.errors[:3])
            raise RuntimeError(f"benchmark file {entry['file']} has errors: {problems}")
        received = dt.datetime.fromisoformat(entry["received_at"])
        if batch is None:
            result = store.submit(report, data, submitted_by=entry["submitted_by"], confirm=True,
                                  received_at=received)
            if not result.accepted:
                raise RuntimeError(f"benchmark file {entry['file']} refused: {result.message}")
            counts["accepted"] += 1
        else:
            pending.append(Submission(report, data, entry["submitted_by"], confirm=True, received_at=received))
            if len(pending) >= batch:
                flush()
        counts["files"] += 1
        if progress and counts["files"] % 1000 == 0:
            progress(counts["files"], len(entries))
    if pending:
        flush()
    return counts


# ---------------------------------------------------------------------------
# Build or reuse


def dataset(scale: Scale, *, rebuild: bool = False, workers: int = 2, log: Callable[[str], None] = print) -> Dataset:
    """The dataset for a scale, built into benchmarks/out/<scale>-<hash>/ unless already there."""
    root = OUT / f"{scale.name}-{scale.key()}"
    ready = root / "READY.json"
    if ready.exists() and not rebuild:
        info = json.loads(ready.read_text(encoding="utf-8"))
        _migrate_in_place(root / "worktrack.duckdb", info, ready, log)
        return Dataset(scale, root, root / "targets.yaml", root / "worktrack.duckdb", root / "files.csv", info)
    for stale in OUT.glob(f"{scale.name}-*"):  # older builds of this scale: only the current one is kept
        if stale.is_dir():
            shutil.rmtree(stale)
    root.mkdir(parents=True)
    plan_path = root / "targets.yaml"
    if scale.communities is None:
        shutil.copyfile(SHIPPED_PLAN, plan_path)
    else:
        plan_path.write_text(city_plan_text(scale), encoding="utf-8")
    plan = load_plan(plan_path)
    started = time.perf_counter()
    log(f"[{scale.name}] writing report files for {len(plan.units)} units x {len(plan.months)} months ...")
    entries = write_report_files(plan, scale, root)
    written = time.perf_counter()
    log(f"[{scale.name}] {len(entries)} files in {written - started:.0f} s; ingesting through read_report + store ...")
    city = len(entries) > 2000
    counts = build_database(
        plan_path, root, entries, root / "worktrack.duckdb", batch=500 if city else None,
        workers=workers if city else 1,
        progress=lambda n, total: log(f"[{scale.name}]   {n}/{total} files ({time.perf_counter() - written:.0f} s)"))
    built = time.perf_counter()
    info = {
        "scale": scale.name, "key": scale.key(), "units": len(plan.units), "months": len(plan.months),
        "first_month": plan.months[0], "last_month": plan.months[-1], "targets": len(plan.targets),
        "files": counts["files"], "bytes": sum((root / e["file"]).stat().st_size for e in entries),
        "generate_seconds": round(written - started, 1), "ingest_seconds": round(built - written, 1),
        "ingest_mode": "Store.submit_many, 500 files per transaction, parsing in "
                       f"{workers} worker processes" if city else "Store.submit, one file per transaction",
        "db_bytes": (root / "worktrack.duckdb").stat().st_size, "schema_version": _schema_version(),
        "built_at": dt.datetime.now().isoformat(timespec="seconds"),
    }
    ready.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"[{scale.name}] database built in {built - written:.0f} s")
    return Dataset(scale, root, plan_path, root / "worktrack.duckdb", root / "files.csv", info)


def _migrate_in_place(db_path: Path, info: dict, ready: Path, log: Callable[[str], None]) -> None:
    """Bring a cached database up to the store's schema, once, by opening it (as a deployment would)."""
    from worktrack.store import SCHEMA_VERSION, Store

    if info.get("schema_version") == SCHEMA_VERSION:
        return
    started = time.perf_counter()
    # a deployment migrates with its plan configured: rows stored before plans were told apart
    # belong to that plan (migration 8)
    before = os.environ.get("WORKTRACK_PLAN")
    os.environ["WORKTRACK_PLAN"] = str(db_path.parent / "targets.yaml")
    try:
        Store(db_path)
    finally:
        if before is None:
            os.environ.pop("WORKTRACK_PLAN", None)
        else:
            os.environ["WORKTRACK_PLAN"] = before
    seconds = time.perf_counter() - started
    log(f"[{info['scale']}] database migrated to schema {SCHEMA_VERSION} in {seconds:.1f} s")
    info.update(schema_version=SCHEMA_VERSION, db_bytes=db_path.stat().st_size,
                migrated={"to": SCHEMA_VERSION, "seconds": round(seconds, 1)})
    ready.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")


def working_copy(data: Dataset, directory: Path) -> Path:
    """A copy of the dataset's database that a benchmark may write to, with its raw files.

    The raw files are hard links: they are never written to once they exist (content-addressed),
    so sharing them is safe, and linking 36,000 files is far quicker than copying 160 MB.
    """
    from worktrack.store import raw_dir

    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{data.scale.name}.duckdb"
    for leftover in (target, target.with_name(target.name + ".wal")):
        if leftover.exists():
            leftover.unlink()
    shutil.copyfile(data.db_path, target)
    source, links = raw_dir(data.db_path), raw_dir(target)
    if source.is_dir():
        links.mkdir(mode=0o700, exist_ok=True)
        for path in source.iterdir():
            if not (links / path.name).exists():
                os.link(path, links / path.name)
    return target


def _schema_version() -> int:
    from worktrack.store import SCHEMA_VERSION

    return SCHEMA_VERSION


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


__all__ = ["CITY", "STREET", "Dataset", "Scale", "dataset", "month_range", "report_csv", "working_copy"]

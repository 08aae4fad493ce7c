"""District scale: 150 street plans × 8 units × 36 months in one database, on both store backends.

    .venv/bin/python -m benchmarks.district                # 150 streets; writes benchmarks/RESULTS-district.md
    .venv/bin/python -m benchmarks.district --streets 5    # a smoke run (writes benchmarks/out/RESULTS-district-5.md)

The dataset (`build_district`) is built from the city dataset (benchmarks/datasets.py) by a fast
loader, because 43,000 files through `read_report` and the store would take about 40 minutes here:

- The plans: street k (k = 1..150) is the city plan cut down to 8 units, plan id `district-s001`
  and so on: 7 communities, city communities 7(k-1) .. 7(k-1)+6 taken modulo the city's 990 (so
  the last streets reuse the first city communities' reports under their own names), and one
  street office, the city's first office (the one the plan names as lead of every item), each
  renamed `第001街道<city name>` / `第001街道民政办`. Every unit named in the city plan that the
  street does not have is left out where it is named (responsible units, communities, sites,
  assignments, quotas, target units); an item whose responsible units are all left out keeps the
  street office (its lead, which reports it anyway). Street-scope targets are scaled by the
  street's share of the units reporting the metric (rounded as datasets.city_plan_text rounds).
  Quotas of the street's communities are kept. The 150 plan files are in `plans/` of the cache
  folder, so `WORKTRACK_PLANS=<that folder>` serves them.
- The reports: each street unit sends exactly its city unit's reports (same months, versions,
  figures, task words, notes and times received) under its own name, without the rows of items
  it does not report: the city file with the unit renamed in the title line and unit column.
  Those files are written as the store keeps uploads (raw/<sha256> beside the database), so the
  uploads' hashes and sizes are the files' own and a backup can carry them to PostgreSQL.
- The database: a store created at the current schema; uploads and facts copied from the city
  database in SQL (upload ids offset by street, `plan_id` set per street, each fact's source row
  renumbered as in the copied file), then every derived table rebuilt with the store's own
  rebuild statements (`DERIVED_TABLES`), and one audit row records the fast load.
- The check (`check_sample`): for a seeded sample of 40 uploads the raw file is read with
  `read_report` against its street's plan, and its rows must equal the loaded facts field by field
  (item, category, value, status, note and source row); the raw file must also be what the city
  file turns into (RESULTS gives the counts that differ).

Measured on each backend (DuckDB file; PostgreSQL restored from a backup of it, a throwaway
cluster as in backends.py), in this process:
- full status of one street (`status_from_store(plan_k, store, "2023-12")`), warm, for a spread
  of streets: each street's median of --runs after one warm-up, and the median over the streets;
- that street's SQL floor: run.py's FLOOR_SQL (every unit's and the street's sum of every metric
  through the month) scoped to the plan's uploads, read through a store snapshot; status ÷ floor;
- the district roll-up (`worktrack.district.rollup`): every street's headline targets, all plans,
  checked against the same streets' `status_from_store` street rows;
- a month of single uploads: one new version per unit of every street for the last month (1,200
  files at 150 streets): read from disk, `read_report`, `Store.submit`, one transaction each
  (a file with warnings submitted as confirmed, as its sender would after reading them);
  median, p95, max;
- peak memory: a fresh process loading every plan, opening the store and running the roll-up and
  one street's status (VmHWM).
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import hashlib
import inspect
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.datasets import CITY, OUT, Dataset, dataset
from benchmarks.province import finish_fast_load
from benchmarks.run import (
    FLOOR_SQL,
    RATIO_RUNS,
    log,
    measure,
    measure_interleaved,
    speed_line,
    speed_probe,
    status_with_tables,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-district.md"
STREETS = 150
COMMUNITIES_PER_STREET = 7
AS_OF = "2023-12"
GOALS = {"street_status": 0.100, "rollup": 1.0, "upload_p95": 0.100, "floor_ratio": 3.0}
# The single-upload p95 before raw files moved out of the database, from an earlier run (city
# scale, 4,000 consecutive uploads): issue 14's table in benchmarks/RESULTS.md, column "before".
UPLOAD_P95_BEFORE = ("201 ms", "city scale, raw bytes still a column of `uploads` (issue 14's table, "
                     "'before' column of benchmarks/RESULTS.md, git log -p benchmarks/RESULTS.md); earlier "
                     "runs of the same kind gave 111–112 ms (commits bc87f40, b6da419), rising by ~20 ms per "
                     "500 uploads as every checkpoint rewrote the BLOB column's tail")


def street_id(k: int) -> str:
    return f"district-s{k + 1:03d}"


def street_prefix(k: int) -> str:
    return f"第{k + 1:03d}街道"


# ---------------------------------------------------------------------------
# The plans


def street_units(city: dict, k: int) -> list[tuple[dict, dict]]:
    """(city unit, street unit) for street k: 7 communities (modulo the city's) and the first office."""
    communities = [u for u in city["units"] if u["kind"] == "community"]
    office = next(u for u in city["units"] if u["kind"] != "community")
    chosen = [communities[(COMMUNITIES_PER_STREET * k + j) % len(communities)] for j in range(COMMUNITIES_PER_STREET)]
    out = []
    for unit in [*chosen, office]:
        name = f"{street_prefix(k)}民政办" if unit is office else f"{street_prefix(k)}{unit['name']}"
        out.append((unit, {"id": f"s{k + 1:03d}_{unit['id']}", "name": name, "kind": unit["kind"]}))
    return out


def street_plan_data(city: dict, k: int) -> dict:
    """The city plan cut down to street k's units (see the module docstring)."""
    pairs = street_units(city, k)
    rename = {c["name"]: s["name"] for c, s in pairs}
    office = pairs[-1][1]["name"]
    communities = len(pairs) - 1
    city_communities = sum(u["kind"] == "community" for u in city["units"])
    data = copy.deepcopy({key: value for key, value in city.items() if key != "units"})
    data["plan"]["id"] = street_id(k)
    data["plan"]["title"] = f"{street_prefix(k)}民政和基层社会治理工作要点（区级规模基准测试）"
    data["units"] = [s for _, s in pairs]

    def names(values: list[str]) -> list[str]:
        return [v if v == "各社区" else rename[v] for v in values if v == "各社区" or v in rename]

    def fix(node: dict) -> None:
        if node.get("lead") is not None:
            node["lead"] = rename.get(node["lead"], office)
        if node.get("responsible") is not None:
            node["responsible"] = names(node["responsible"]) or [office]
        if "communities" in node:
            node["communities"] = names(node["communities"])
        if "assignments" in node:
            node["assignments"] = {rename[u]: task for u, task in node["assignments"].items() if u in rename}
        if "sites" in node:
            node["sites"] = [dict(s, unit=rename[s["unit"]]) for s in node["sites"] if s["unit"] in rename]

    for section in data["sections"]:
        for group in section.get("groups", []):
            fix(group)
            for item in group["items"]:
                fix(item)
        for item in section.get("items", []):
            fix(item)

    def reporters(values: list[str], every: int) -> int:
        return sum(every if v == "各社区" else 1 for v in values)

    for metric in data["metrics"]:
        before = reporters(metric["reported_by"], city_communities)
        metric["reported_by"] = names(metric["reported_by"])
        after = reporters(metric["reported_by"], communities)
        kept = []
        for target in metric["targets"]:
            if target["scope"] == "street":
                scaled = target["value"] * after / before
                target["value"] = round(scaled) if metric["measure"] != "元" else round(scaled, -4)
            elif target.get("units"):
                target["units"] = names(target["units"])
                if not target["units"]:
                    continue
            kept.append(target)
        metric["targets"] = kept
    data["quotas"] = [dict(q, unit=rename[q["unit"]]) for q in data.get("quotas", []) if q["unit"] in rename]
    return data


def street_plan_text(city: dict, k: int) -> str:
    header = (f"# 区级规模基准测试用的计划文件（由 benchmarks/district.py 从城市规模计划裁剪生成，不要手工修改）：\n"
              f"# {street_prefix(k)}，{COMMUNITIES_PER_STREET} 个社区、1 个街道民政办。\n")
    return header + yaml.safe_dump(street_plan_data(city, k), allow_unicode=True, sort_keys=False, width=1000)


# ---------------------------------------------------------------------------
# The database


@dataclass
class District:
    root: Path
    plans_dir: Path
    db_path: Path
    info: dict

    def plan_paths(self) -> list[Path]:
        return sorted(self.plans_dir.glob("*.yaml"))


def district_key(city: Dataset, streets: int) -> str:
    digest = hashlib.sha256()
    for part in (street_units, street_plan_data, street_plan_text, copy_file, build_district):
        digest.update(inspect.getsource(part).encode())
    digest.update(repr((STREETS, COMMUNITIES_PER_STREET)).encode())
    return f"{city.info['key']}-{streets}-{digest.hexdigest()[:8]}"


def copy_file(data: bytes, city_unit: str, unit: str, reported: set[str]) -> tuple[bytes, dict[int, int]]:
    """The report a street unit sends: the city unit's file under its name, its own rows only; and
    each kept row's number in the city file -> its number in this one (the title line is row 1)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    title, header, body = rows[0], rows[1], rows[2:]
    title = [title[0].replace(city_unit, unit, 1), *title[1:]]
    unit_col, item_col = header.index("上报单位"), header.index("编号")
    kept, numbers = [], {}
    for number, row in enumerate(body, start=3):
        if row[item_col] in reported:
            row = list(row)
            row[unit_col] = unit
            kept.append(row)
            numbers[number] = len(kept) + 2
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([title, header, *kept])
    return out.getvalue().encode("utf-8-sig"), numbers


def build_district(city: Dataset, streets: int = STREETS, *, rebuild: bool = False) -> District:
    """The district dataset in benchmarks/out/district-<key>/, built from the city one unless there."""
    import duckdb
    import pyarrow as pa

    from worktrack.plan import load_plan
    from worktrack.store import SCHEMA_VERSION, Store, raw_dir

    key = district_key(city, streets)
    root = OUT / f"district-{key}"
    ready = root / "READY.json"
    if ready.exists() and not rebuild:
        info = json.loads(ready.read_text(encoding="utf-8"))
        if info.get("schema_version") == SCHEMA_VERSION:
            return District(root, root / "plans", root / "worktrack.duckdb", info)
    shutil.rmtree(root, ignore_errors=True)
    (root / "plans").mkdir(parents=True)
    started = time.perf_counter()
    city_data = yaml.load(city.plan_path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader",
                                                                                        yaml.SafeLoader))
    plans = []
    for k in range(streets):
        path = root / "plans" / f"{street_id(k)}.yaml"
        path.write_text(street_plan_text(city_data, k), encoding="utf-8")
        plans.append(load_plan(path))
    log(f"[district] {streets} plans written and loaded ({time.perf_counter() - started:.0f} s), "
        f"{sum(len(p.targets) for p in plans):,} targets")

    db_path = root / "worktrack.duckdb"
    Store(db_path)  # the current schema, through the store's migrations
    raw = raw_dir(db_path)
    raw.mkdir(mode=0o700, exist_ok=True)
    by_unit: dict[str, list[dict]] = {}
    for entry in city.manifest():
        by_unit.setdefault(entry["reporting_unit"], []).append(entry)
    copies = {"k": [], "city_unit": [], "unit": [], "plan_id": []}
    allowed = {"unit": [], "item": []}
    files = {"k": [], "city_unit": [], "month": [], "version": [], "sha256": [], "size": []}
    rows = {"k": [], "city_unit": [], "month": [], "version": [], "old": [], "new": []}
    for k, plan in enumerate(plans):
        for city_unit, unit in street_units(city_data, k):
            name = unit["name"]
            reported = {row.item for row in plan.template_rows(name)}
            copies["k"].append(k)
            copies["city_unit"].append(city_unit["name"])
            copies["unit"].append(name)
            copies["plan_id"].append(plan.id)
            allowed["unit"] += [name] * len(reported)
            allowed["item"] += sorted(reported)
            for entry in by_unit.get(city_unit["name"], []):
                data, numbers = copy_file((city.root / entry["file"]).read_bytes(), city_unit["name"], name, reported)
                sha = hashlib.sha256(data).hexdigest()
                target = raw / sha
                if not target.exists():
                    target.write_bytes(data)
                month, version = entry["month"], int(entry["version"])
                for column, value in (("k", k), ("city_unit", city_unit["name"]), ("month", month),
                                      ("version", version), ("sha256", sha), ("size", len(data))):
                    files[column].append(value)
                changed = [(old, new) for old, new in numbers.items() if old != new]
                for old, new in changed:
                    for column, value in (("k", k), ("city_unit", city_unit["name"]), ("month", month),
                                          ("version", version), ("old", old), ("new", new)):
                        rows[column].append(value)
        if (k + 1) % 25 == 0:
            log(f"[district]   {k + 1}/{streets} streets' files written ({time.perf_counter() - started:.0f} s)")
    con = duckdb.connect(str(db_path))
    try:
        for name, table in (("street_copies", copies), ("street_items", allowed), ("street_files", files),
                            ("renumbered", rows)):
            con.register(name, pa.table(table))
        con.execute(f"ATTACH '{city.db_path}' AS city (READ_ONLY)")
        stride = con.execute("SELECT max(upload_id) + 1 FROM city.uploads").fetchall()[0][0]
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO facts SELECT f.upload_id + c.k * ?, c.unit, f.month, f.item, f.category, f.value, "
            "f.status, f.note, coalesce(r.new, f.source_row) FROM city.facts f "
            "JOIN city.uploads u ON u.upload_id = f.upload_id "
            "JOIN street_copies c ON c.city_unit = f.reporting_unit "
            "LEFT JOIN renumbered r ON r.k = c.k AND r.city_unit = c.city_unit AND r.month = u.month "
            "AND r.version = u.version AND r.old = f.source_row "
            "SEMI JOIN street_items a ON a.unit = c.unit AND a.item = f.item", [stride])
        con.execute(
            "INSERT INTO uploads (upload_id, reporting_unit, month, version, file_name, sha256, size, received_at, "
            "submitted_by, row_count, state, supersedes, warnings_confirmed, note, plan_id) "
            "SELECT u.upload_id + c.k * ?, c.unit, u.month, u.version, u.file_name, s.sha256, s.size, u.received_at, "
            "u.submitted_by, coalesce(n.rows, 0), u.state, u.supersedes + c.k * ?, u.warnings_confirmed, u.note, "
            "c.plan_id FROM city.uploads u JOIN street_copies c ON c.city_unit = u.reporting_unit "
            "JOIN street_files s ON s.k = c.k AND s.city_unit = c.city_unit AND s.month = u.month "
            "AND s.version = u.version "
            "LEFT JOIN (SELECT upload_id, count(*) AS rows FROM facts GROUP BY upload_id) n "
            "ON n.upload_id = u.upload_id + c.k * ?", [stride, stride, stride])
        counts = finish_fast_load(con, city.db_path, {"streets": streets, "stride": stride})
    finally:
        con.close()
    seconds = time.perf_counter() - started
    info = {
        "key": key, "streets": streets, "units": sum(len(p.units) for p in plans), "months": len(plans[0].months),
        "first_month": plans[0].months[0], "last_month": plans[0].months[-1],
        "targets": sum(len(p.targets) for p in plans), "files": counts["uploads"], "facts": counts["facts"],
        "raw_bytes": sum(files["size"]), "build_seconds": round(seconds, 1), "schema_version": SCHEMA_VERSION,
        "stride": stride, "db_bytes": db_path.stat().st_size,
        "built_at": dt.datetime.now().isoformat(timespec="seconds"),
    }
    ready.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"[district] {counts['facts']:,} facts in {counts['uploads']:,} uploads, built in {seconds:.0f} s")
    return District(root, root / "plans", db_path, info)


def check_sample(district: District, city: Dataset, plans: dict, sample: int = 40) -> dict:
    """Read a seeded sample of the loaded uploads' files with read_report: rows equal to the facts?"""
    from worktrack.intake import read_report
    from worktrack.store import Store, raw_dir

    city_data = yaml.safe_load(city.plan_path.read_text(encoding="utf-8"))
    files = {(e["reporting_unit"], e["month"], int(e["version"])): e["file"] for e in city.manifest()}
    store = Store(district.db_path)
    uploads = _uploads(store)
    rng = random.Random(20231231)
    picked = rng.sample(range(len(uploads)), min(sample, len(uploads)))
    checked, rows_checked, mismatched = 0, 0, []
    for index in picked:
        row = uploads.iloc[index]
        plan = plans[row["plan_id"]]
        k = int(row["upload_id"]) // district.info["stride"]
        city_unit = next(c["name"] for c, s in street_units(city_data, k) if s["name"] == row["reporting_unit"])
        data = (raw_dir(district.db_path) / row["sha256"]).read_bytes()
        reported = {r.item for r in plan.template_rows(row["reporting_unit"])}
        expected, _ = copy_file((city.root / files[(city_unit, row["month"], int(row["version"]))]).read_bytes(),
                                city_unit, row["reporting_unit"], reported)
        report = read_report(data, row["file_name"], plan, unit=row["reporting_unit"], month=row["month"])
        theirs = sorted((r.item, r.category or "", None if r.value is None else float(r.value), r.status,
                         r.note or "", r.row) for r in report.rows)
        with store.snapshot() as reader:
            mine = sorted(reader._con.execute(
                "SELECT item, category, value, status, note, source_row FROM facts WHERE upload_id = ?",
                [int(row["upload_id"])]).fetchall())
        checked += 1
        rows_checked += len(mine)
        if report.errors or theirs != mine or data != expected or report.plan_id != row["plan_id"]:
            mismatched.append({"upload_id": int(row["upload_id"]), "unit": row["reporting_unit"],
                               "month": row["month"], "errors": [f.message for f in report.errors[:3]],
                               "rows": (len(theirs), len(mine)), "file_equal": data == expected})
    return {"checked": checked, "rows": rows_checked, "mismatched": mismatched}


def _uploads(store):
    """Every upload with its plan (Store.uploads leaves plan_id out), in id order."""
    with store.snapshot() as reader:
        return reader._con.execute("SELECT upload_id, reporting_unit, month, version, file_name, sha256, state, "
                                   "plan_id FROM uploads ORDER BY upload_id").df()


# ---------------------------------------------------------------------------
# Measuring


def street_floor(store, plan_id: str, as_of: str) -> None:
    """run.py's SQL floor scoped to one plan's uploads, through a store snapshot as the status reads."""
    from worktrack.store import _plan_scoped

    with store.for_plan(plan_id).snapshot() as reader:
        reader._con.sql(_plan_scoped(FLOOR_SQL, plan_id), params=[as_of]).to_arrow_table()  # as run.py's floor


def sampled_streets(count: int, streets: int) -> list[int]:
    return sorted({round(i * (streets - 1) / max(count - 1, 1)) for i in range(count)})


def upload_files(district: District, city: Dataset, plans: list, work: Path) -> list[tuple[Path, object, str]]:
    """One new version per unit of every street for the last month: the unit's latest file of that
    month with a note on every filled row (so its bytes differ), written to disk (path, plan, unit)."""
    from worktrack.store import Store, raw_dir

    out = []
    work.mkdir(parents=True, exist_ok=True)
    active = _uploads(Store(district.db_path))
    active = active[(active["state"] == "active") & (active["month"] == AS_OF)].set_index(
        ["plan_id", "reporting_unit"])
    for plan in plans:
        for unit in plan.units:
            if (plan.id, unit.name) not in active.index:
                continue
            sha = active.loc[(plan.id, unit.name), "sha256"]
            rows = list(csv.reader(io.StringIO((raw_dir(district.db_path) / sha).read_bytes().decode("utf-8-sig"))))
            note_col, value_col = rows[1].index("备注"), rows[1].index("本月数值")
            for row in rows[2:]:
                if row[value_col].strip():  # a note needs a figure or a status beside it
                    row[note_col] = "月末更正"
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\r\n").writerows(rows)
            path = work / f"{unit.name}_{AS_OF}_correction.csv"
            path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
            out.append((path, plan, unit.name))
    return out


def bench_backend(name: str, location, plans: list, runs: int, streets_sampled: list[int], files: list) -> dict:
    from worktrack import store_pg
    from worktrack.district import headline_targets, rollup
    from worktrack.intake import read_report
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    store = Store(location)
    out: dict = {"load_before": os.getloadavg()}
    if name == "postgresql":
        store_pg._replicas.clear()  # as in a freshly started server process
        started = time.perf_counter()
        status_from_store(plans[0], store, AS_OF)
        out["cold"] = time.perf_counter() - started
    log(f"[district/{name}] status of {len(streets_sampled)} streets and their SQL floors")
    per_street = []
    differ = 0
    for k in streets_sampled:
        plan = plans[k]
        timed = measure_interleaved({
            "status": lambda plan=plan: status_from_store(plan, store, AS_OF),
            "floor": lambda plan=plan: street_floor(store, plan.id, AS_OF),
            "status_tables": lambda plan=plan: status_with_tables(status_from_store, plan, store, AS_OF),
        }, max(runs, RATIO_RUNS), 1)
        per_street.append({"street": plan.id, **timed})
    log(f"[district/{name}] roll-up of {len(plans)} streets")
    out["rollup"] = measure(lambda: rollup(plans, store, AS_OF), runs, 1)
    rolled = rollup(plans, store, AS_OF).set_index(["plan_id", "target_id"])
    out["rollup_rows"] = len(rolled)
    compared = 0
    for k in streets_sampled:
        plan = plans[k]
        targets = status_from_store(plan, store, AS_OF).targets.set_index("target_id")
        for target_id in headline_targets(plan):
            mine, theirs = rolled.loc[(plan.id, target_id)], targets.loc[target_id]
            compared += 1
            if (mine["status"] != theirs["status"] or
                    any(abs(float(mine[c]) - float(theirs[c])) > 1e-9 for c in ("actual", "target", "expected"))):
                differ += 1
    out["rollup_check"] = {"compared": compared, "differ": differ}
    out["streets"] = per_street
    out["status"] = statistics.median(s["status"]["median"] for s in per_street)
    out["floor"] = statistics.median(s["floor"]["median"] for s in per_street)
    out["ratio"] = statistics.median(s["status"]["median"] / s["floor"]["median"] for s in per_street)
    out["ratio_tables"] = statistics.median(s["status_tables"]["median"] / s["floor"]["median"] for s in per_street)

    log(f"[district/{name}] {len(files)} single uploads of {AS_OF}")
    per_file = []
    for path, plan, unit in files:
        started = time.perf_counter()
        raw = path.read_bytes()
        report = read_report(raw, path.name, plan, uploader_unit=unit)
        # a file with warnings is stored once its sender confirms them (the upload page's second step)
        result = store.submit(report, raw, submitted_by="bench", confirm=bool(report.warnings))
        per_file.append(time.perf_counter() - started)
        if result.status != "accepted":
            raise RuntimeError(f"upload refused: {unit}: {result.message}")
    ordered = sorted(per_file)
    out["upload"] = {"median": statistics.median(per_file), "p95": ordered[int(0.95 * (len(ordered) - 1))],
                     "max": ordered[-1], "count": len(per_file)}
    started = time.perf_counter()
    status_from_store(plans[streets_sampled[0]], store, AS_OF)
    out["status_after_uploads"] = time.perf_counter() - started
    out["load_after"] = os.getloadavg()
    return out


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: a child started by a large parent
    inherits the parent's figure in it across fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory_probe(location: str, plans_dir: str) -> dict:
    """In a fresh process: peak memory after loading every plan and opening the store, and after the
    roll-up and one street's status."""
    from worktrack.district import rollup
    from worktrack.plan import load_plan
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    plans = [load_plan(p) for p in sorted(Path(plans_dir).glob("*.yaml"))]
    store = Store(location)
    before = _peak_mb()
    rollup(plans, store, AS_OF)
    status_from_store(plans[len(plans) // 2], store, AS_OF)
    return {"peak_mb_before": before, "peak_mb": _peak_mb()}


def probe_in_subprocess(location: str, plans_dir: Path, env: dict | None = None) -> dict:
    result = subprocess.run([sys.executable, "-m", "benchmarks.district", "--probe", str(location), str(plans_dir)],
                            capture_output=True, text=True, check=True, cwd=HERE.parent, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# The run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streets", type=int, default=STREETS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample-streets", type=int, default=7, help="streets whose full status is timed")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--pg-url", help="an existing PostgreSQL database (its tables are replaced)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--probe", nargs=2, metavar=("LOCATION", "PLANS_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(memory_probe(*args.probe)))
        return 0
    output = args.output or (RESULTS if args.streets == STREETS else OUT / f"RESULTS-district-{args.streets}.md")

    from benchmarks.backends import load_into_postgresql
    from worktrack.plan import load_plan

    started_all = time.perf_counter()
    city = dataset(CITY, log=log)
    district = build_district(city, args.streets, rebuild=args.rebuild)
    started = time.perf_counter()
    plans = [load_plan(p) for p in district.plan_paths()]
    plans_seconds = time.perf_counter() - started
    log(f"[district] {len(plans)} plans loaded in {plans_seconds:.1f} s; checking a sample against read_report")
    check = check_sample(district, city, {p.id: p for p in plans})
    log(f"[district] sample check: {check['checked']} uploads, {check['rows']} rows, "
        f"{len(check['mismatched'])} differ {check['mismatched'][:2]}")
    sampled = sampled_streets(args.sample_streets, len(plans))

    scratch_raw = None
    if not os.environ.get("WORKTRACK_RAW_DIR"):  # PostgreSQL's uploaded files: a scratch directory
        scratch_raw = tempfile.mkdtemp(prefix="worktrack-district-raw-")
        os.environ["WORKTRACK_RAW_DIR"] = scratch_raw
    cluster = None
    if args.pg_url is None:
        from tests.pg import fresh_database, start_cluster

        cluster = start_cluster(durable=True)
    results: dict = {}
    try:
        with tempfile.TemporaryDirectory(prefix="district-work-", dir=OUT) as scratch:
            work = Path(scratch)
            results["speed"] = speed_probe(work)
            url = fresh_database(cluster) if cluster is not None else args.pg_url
            log("[district] loading the dataset into PostgreSQL (backup + restore)")
            results["pg_load_seconds"] = load_into_postgresql(district.db_path, url, work)
            duck = work / "district.duckdb"
            shutil.copyfile(district.db_path, duck)
            (work / "raw").mkdir(mode=0o700)  # hard links, as datasets.working_copy: new uploads add files
            for path in (district.db_path.parent / "raw").iterdir():
                os.link(path, work / "raw" / path.name)
            files = upload_files(district, city, plans, work / "uploads")
            results["memory"] = {"duckdb": probe_in_subprocess(str(duck), district.plans_dir),
                                 "postgresql": probe_in_subprocess(url, district.plans_dir, dict(os.environ))}
            results["duckdb"] = bench_backend("duckdb", duck, plans, args.runs, sampled, files)
            results["postgresql"] = bench_backend("postgresql", url, plans, args.runs, sampled, files)
    finally:
        if cluster is not None:
            cluster.stop()
        if scratch_raw is not None:
            shutil.rmtree(scratch_raw, ignore_errors=True)
    output.write_text(render(district, check, plans_seconds, results, time.perf_counter() - started_all, args),
                      encoding="utf-8")
    log(f"wrote {output}")
    return 0


def _ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _met(value: float, goal: float) -> str:
    return "met" if value <= goal else "**not met**"


def render(district: District, check: dict, plans_seconds: float, results: dict, took: float,
           args: argparse.Namespace) -> str:
    import duckdb
    import psycopg

    info = district.info
    d, p = results["duckdb"], results["postgresql"]
    load = lambda r: " / ".join(f"{x:.2f}" for x in r)  # noqa: E731
    lines = [
        f"# District scale: {info['streets']} street plans in one database, both store backends", "",
        "Generated by `.venv/bin/python -m benchmarks.district`; how the dataset is made and what is measured: "
        "the module's docstring and benchmarks/README.md.", "",
        f"- Date: {dt.datetime.now():%Y-%m-%d %H:%M:%S} (took {took / 60:.1f} min); {args.runs} timed runs per "
        f"figure after 1 warm-up",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work; load average "
        f"(1 / 5 / 15 min) before DuckDB {load(d['load_before'])}, before PostgreSQL {load(p['load_before'])}, "
        f"at the end {load(p['load_after'])}",
        speed_line(results["speed"]),
        f"- Versions: duckdb {duckdb.__version__}, psycopg {psycopg.__version__}, PostgreSQL: "
        + ("a throwaway local cluster, default durability (fsync on)" if args.pg_url is None else args.pg_url),
        f"- Dataset: {info['streets']} street plans × 8 units ({info['units']:,} units) × {info['months']} months "
        f"({info['first_month']}..{info['last_month']}), {info['targets']:,} targets, {info['files']:,} uploads, "
        f"{info['facts']:,} facts, {info['raw_bytes'] / 1e6:,.0f} MB of report files; fast loader from the city "
        f"dataset in {info['build_seconds']:.0f} s (cached); DuckDB file {info['db_bytes'] / 1e6:,.0f} MB; "
        f"loading it into PostgreSQL (backup + restore) {results['pg_load_seconds']:.0f} s; loading the "
        f"{info['streets']} plan files {plans_seconds:.1f} s",
        f"- Check of the fast loader: {check['checked']} uploads drawn at random ({check['rows']:,} rows), each "
        f"file read with `read_report` against its street's plan: {len(check['mismatched'])} differ from the "
        "loaded facts (or from the city file it was made from)",
        f"- Roll-up check: {d['rollup_check']['compared']} headline targets of the timed streets compared with "
        f"their `status_from_store` rows (actual, target, expected, status): {d['rollup_check']['differ']} differ "
        f"on DuckDB, {p['rollup_check']['differ']} on PostgreSQL",
        "", "| measure | DuckDB | PostgreSQL | goal | DuckDB | PostgreSQL |", "|---|---|---|---|---|---|",
    ]

    def spread(r: dict, key: str) -> str:
        values = [s[key]["median"] for s in r["streets"]]
        return f"{_ms(statistics.median(values))} (streets {_ms(min(values))}–{_ms(max(values))})"

    lines += [
        f"| full status of one street as of {AS_OF}, warm (median over {len(d['streets'])} streets of each one's "
        f"median) | {spread(d, 'status')} | {spread(p, 'status')} | ≤ 100 ms | {_met(d['status'], 0.1)} | "
        f"{_met(p['status'], 0.1)} |",
        f"| that street's SQL floor (FLOOR_SQL scoped to the plan) | {spread(d, 'floor')} | {spread(p, 'floor')} "
        "| – | | |",
        f"| status ÷ floor (median of the streets' ratios) | {d['ratio']:.1f}× | {p['ratio']:.1f}× | ≤ 3× | "
        f"{_met(d['ratio'], 3)} | {_met(p['ratio'], 3)} |",
        f"| the status with its obligations, tasks, reporting and unit-metric tables built (built on first read), ÷ floor | "
        f"{spread(d, 'status_tables')}, {d['ratio_tables']:.1f}× | {spread(p, 'status_tables')}, "
        f"{p['ratio_tables']:.1f}× | | | |",
        f"| district roll-up: every street's headline targets ({d['rollup_rows']:,} rows, {info['streets']} plans) | "
        f"{_ms(d['rollup']['median'])} ({_ms(d['rollup']['min'])}–{_ms(d['rollup']['max'])}) | "
        f"{_ms(p['rollup']['median'])} ({_ms(p['rollup']['min'])}–{_ms(p['rollup']['max'])}) | ≤ 1 s | "
        f"{_met(d['rollup']['median'], 1)} | {_met(p['rollup']['median'], 1)} |",
        f"| single upload (read + parse + submit), a month of them: {d['upload']['count']:,} consecutive | "
        f"median {_ms(d['upload']['median'])}, **p95 {_ms(d['upload']['p95'])}**, max {_ms(d['upload']['max'])} | "
        f"median {_ms(p['upload']['median'])}, **p95 {_ms(p['upload']['p95'])}**, max {_ms(p['upload']['max'])} | "
        f"p95 ≤ 100 ms | {_met(d['upload']['p95'], 0.1)} | {_met(p['upload']['p95'], 0.1)} |",
        f"| single upload p95 before raw files moved out of the database (an earlier run, city scale, DuckDB) | "
        f"{UPLOAD_P95_BEFORE[0]} | – | | | |",
        f"| one street's status right after the month of uploads | {_ms(d['status_after_uploads'])} | "
        f"{_ms(p['status_after_uploads'])} | | | |",
        f"| first status of a new process (PostgreSQL: the replica's full load) | – | {_ms(p['cold'])} | | | |",
        f"| peak memory of a fresh process: plans loaded and store opened / after the roll-up and one street's "
        f"status | {results['memory']['duckdb']['peak_mb_before']:,.0f} MB / "
        f"{results['memory']['duckdb']['peak_mb']:,.0f} MB | "
        f"{results['memory']['postgresql']['peak_mb_before']:,.0f} MB / "
        f"{results['memory']['postgresql']['peak_mb']:,.0f} MB | | | |",
        "", f"The 'before' figure: {UPLOAD_P95_BEFORE[1]}. It was measured on the city database (1,000 units in one "
        "plan), not on this one, and on a differently loaded machine: a pointer, not a like-for-like comparison.",
        "", "Per street (DuckDB / PostgreSQL), warm medians:", "",
        "| street | status | floor | status ÷ floor |", "|---|---|---|---|",
    ]
    for sd, sp in zip(d["streets"], p["streets"], strict=True):
        lines.append(f"| {sd['street']} | {_ms(sd['status']['median'])} / {_ms(sp['status']['median'])} | "
                     f"{_ms(sd['floor']['median'])} / {_ms(sp['floor']['median'])} | "
                     f"{sd['status']['median'] / sd['floor']['median']:.1f}× / "
                     f"{sp['status']['median'] / sp['floor']['median']:.1f}× |")
    missing = info["units"] - d["upload"]["count"]
    lines += ["", "Notes:", ""]
    if missing > 0:
        lines.append(f"- {d['upload']['count']:,} uploads, not {info['units']:,}: {missing} street units have no "
                     f"{AS_OF} report in the city data (its seeded unit-months never reported), so there is no "
                     "version to supersede. Files with warnings are submitted as confirmed (the sender's second "
                     "step on the upload page).")
    lines += [
        "- The status after the month of uploads is the first read after them: on PostgreSQL it includes the "
        "replica's catch-up on every one of those writes (new rows copied; `task_latest` rebuilt whole when more "
        "than 50 unit-months moved, else refreshed unit-month by unit-month).",
        "- The first status of a new process on PostgreSQL includes the replica's full load; that process's peak "
        "memory is mostly the in-memory replica.",
        "- The status ÷ floor ratio: the floor is one aggregation of the figures; the status also reads the tasks "
        "and the receipts with their review states and builds every target, obligation, task and reporting cell.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

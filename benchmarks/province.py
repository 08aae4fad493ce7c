"""Province scale: 10,000 reporting units, built from the city dataset by a fast loader.

Ingesting 360,000 report files through `read_report` and the store would take hours on this kind
of machine, so the province database is built differently, and checked against the real path:

- The plan: the city plan with every unit copied `COPIES - 1` more times (copy k of 东风第3社区 is
  东风第3社区·k+1, same kind). Copies of communities are in 各社区 like every community; copies of
  a street office are added wherever the office is named (reported_by, target units). Items keep
  their named responsible units, so a copy of one of the six shipped communities does not take on
  the pilot tasks that name the original. Every quota is copied to the copies, and street-wide
  targets are multiplied by COPIES.
- The reports: copy k of a unit sends exactly the city unit's reports (same months, versions,
  figures, task words, notes and times received), under its own name, without the rows of items
  it does not report. That is what `read_report` would make of such a file.
- The database: a store created at the current schema; uploads and facts are copied from the city
  database in SQL (upload ids offset per copy, the hash of each file recomputed over the copy's
  name so no two uploads share one), then every derived table is rebuilt with the store's own
  rebuild statements (the ones restore uses), and one audit row records the fast load. No raw
  files are written (status never reads them): `raw_file` on this database reports them missing.
- The check (`check_sample`): for a seeded sample of province uploads, the file that copy would
  have sent is made from the city file (its name in the title line and unit column, the rows of
  items it does not report dropped), run through `read_report` with the province plan, and its
  rows must equal the loaded facts of that upload, field by field.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import yaml

from benchmarks.datasets import OUT, Dataset, Scale

COPIES = 10
PROVINCE = Scale("province", communities=9900, offices=100, start_month="2021-01")


def copy_name(name: str, k: int) -> str:
    return name if k == 0 else f"{name}·{k + 1}"


def copy_id(unit_id: str, k: int) -> str:
    return unit_id if k == 0 else f"{unit_id}_copy{k + 1}"


def province_plan_text(city_plan: Path, copies: int = COPIES) -> str:
    """The city plan with every unit copied (see the module docstring)."""
    data = yaml.load(city_plan.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    units = data["units"]
    named = {u["name"] for u in units}
    data["units"] = [dict(u, id=copy_id(u["id"], k), name=copy_name(u["name"], k), aliases=[])
                     if k else u for k in range(copies) for u in units]

    def widen(names: list[str]) -> list[str]:
        return [copy_name(n, k) for n in names for k in (range(copies) if n in named else [0])]

    for metric in data["metrics"]:
        metric["reported_by"] = widen(metric["reported_by"])
        for target in metric["targets"]:
            if target["scope"] == "street":
                target["value"] = target["value"] * copies
            elif target.get("units"):
                target["units"] = widen(target["units"])
    data["quotas"] = [dict(q, unit=copy_name(q["unit"], k)) for q in data.get("quotas", []) for k in range(copies)]
    data["plan"]["id"] = data["plan"]["id"].replace("-city", "-province")
    data["plan"]["title"] = data["plan"]["title"].replace("城市规模", "省级规模")
    header = (f"# 省级规模基准测试用的计划文件（由 benchmarks/province.py 从城市规模计划复制生成，不要手工修改）：\n"
              f"# {len(data['units'])} 个报送单位。\n")
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def _allowed_items(plan) -> list[tuple[str, str]]:
    """(unit, item) for every metric and task each unit reports, from the plan, in linear time."""
    pairs = [(unit, metric.id) for metric in plan.metrics.values() for unit in metric.reported_by]
    pairs += [(unit, item.id) for item in plan.tasks for unit in item.reporting_units]
    return pairs


def finish_fast_load(con, source: Path, detail: dict) -> dict[str, int]:
    """End a fast loader's transaction as the store would leave it: every derived table rebuilt by the
    store's own SQL, an audit row naming the source database, commit and checkpoint. Returns the
    number of uploads and facts."""
    from worktrack.store import DERIVED_TABLES, now_china

    for table, rebuild_sql in DERIVED_TABLES.items():
        con.execute(f"DELETE FROM {table}")
        con.execute(rebuild_sql)
    audit_id = con.execute("SELECT coalesce(max(audit_id), 0) + 1 FROM audit_log").fetchall()[0][0]
    con.execute("INSERT INTO audit_log VALUES (?, ?, 'system', 'benchmark.fast_load', 'database', NULL, ?, ?)",
                [audit_id, now_china(), str(source), json.dumps(detail)])
    con.execute("COMMIT")
    con.execute("CHECKPOINT")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("uploads", "facts")}


def build_province(city: Dataset, *, rebuild: bool = False, log: Callable[[str], None] = print) -> Dataset:
    """The province dataset in benchmarks/out/province-<city key>/, built from the city one unless there."""
    import pyarrow as pa

    from worktrack.plan import load_plan
    from worktrack.store import SCHEMA_VERSION, Store

    root = OUT / f"province-{city.info['key']}-{COPIES}"
    ready = root / "READY.json"
    if ready.exists() and not rebuild:
        info = json.loads(ready.read_text(encoding="utf-8"))
        if info.get("schema_version") == SCHEMA_VERSION:
            return Dataset(PROVINCE, root, root / "targets.yaml", root / "worktrack.duckdb", city.manifest_path, info)
    for stale in OUT.glob("province-*"):
        if stale.is_dir():
            shutil.rmtree(stale)
    root.mkdir(parents=True)
    started = time.perf_counter()
    plan_path = root / "targets.yaml"
    plan_path.write_text(province_plan_text(city.plan_path), encoding="utf-8")
    plan = load_plan(plan_path)
    city_plan = load_plan(city.plan_path)
    log(f"[province] plan: {len(plan.units):,} units, {len(plan.targets):,} targets")
    names = pa.table({
        "city_unit": [u.name for u in city_plan.units for _ in range(COPIES)],
        "copy": [k for _ in city_plan.units for k in range(COPIES)],
        "unit": [copy_name(u.name, k) for u in city_plan.units for k in range(COPIES)],
    })
    allowed = _allowed_items(plan)
    allowed_table = pa.table({"unit": [u for u, _ in allowed], "item": [i for _, i in allowed]})
    db_path = root / "worktrack.duckdb"
    Store(db_path)  # the current schema, through the store's migrations
    con = duckdb.connect(str(db_path))
    try:
        con.register("unit_copies", names)
        con.register("allowed_items", allowed_table)
        con.execute(f"ATTACH '{city.db_path}' AS city (READ_ONLY)")
        stride = con.execute("SELECT max(upload_id) + 1 FROM city.uploads").fetchall()[0][0]
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO facts SELECT f.upload_id + c.copy * ?, c.unit, f.month, f.item, f.category, f.value, "
            "f.status, f.note, f.source_row FROM city.facts f JOIN unit_copies c ON c.city_unit = f.reporting_unit "
            "SEMI JOIN allowed_items a ON a.unit = c.unit AND a.item = f.item", [stride])
        con.execute(
            "INSERT INTO uploads (upload_id, reporting_unit, month, version, file_name, sha256, size, received_at, "
            "submitted_by, row_count, state, supersedes, warnings_confirmed, note, plan_id) "
            "SELECT u.upload_id + c.copy * ?, c.unit, u.month, u.version, u.file_name, "
            "CASE WHEN c.copy = 0 THEN u.sha256 ELSE sha256(u.sha256 || c.unit) END, u.size, u.received_at, "
            "u.submitted_by, coalesce(n.rows, 0), u.state, u.supersedes + c.copy * ?, u.warnings_confirmed, u.note, ? "
            "FROM city.uploads u JOIN unit_copies c ON c.city_unit = u.reporting_unit "
            "LEFT JOIN (SELECT upload_id, count(*) AS rows FROM facts GROUP BY upload_id) n "
            "ON n.upload_id = u.upload_id + c.copy * ?", [stride, stride, plan.id, stride])
        counts = finish_fast_load(con, city.db_path, {"copies": COPIES, "stride": stride})
    finally:
        con.close()
    seconds = time.perf_counter() - started
    info = {
        "scale": "province", "key": f"{city.info['key']}-{COPIES}", "units": len(plan.units),
        "months": len(plan.months), "first_month": plan.months[0], "last_month": plan.months[-1],
        "targets": len(plan.targets), "files": counts["uploads"], "facts": counts["facts"], "bytes": 0,
        "ingest_seconds": round(seconds, 1), "schema_version": SCHEMA_VERSION, "stride": stride,
        "ingest_mode": f"fast loader (benchmarks/province.py): the city database's uploads and facts copied "
                       f"to {COPIES} units each in SQL, derived tables rebuilt; checked against read_report",
        "db_bytes": db_path.stat().st_size,
    }
    ready.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"[province] {counts['facts']:,} facts in {counts['uploads']:,} uploads, built in {seconds:.0f} s")
    return Dataset(PROVINCE, root, plan_path, db_path, city.manifest_path, info)


def check_sample(province: Dataset, city: Dataset, plan, sample: int = 40) -> dict:
    """Compare a seeded sample of loaded uploads with what read_report makes of the copy's file."""
    from worktrack.intake import read_report
    from worktrack.store import Store

    stride = province.info["stride"]
    files = {(e["reporting_unit"], e["month"], int(e["version"])): e["file"] for e in city.manifest()}
    store = Store(province.db_path)
    uploads = store.uploads()
    rng = random.Random(20231231)
    picked = rng.sample(range(len(uploads)), min(sample, len(uploads)))
    checked, mismatched, rows_checked = 0, [], 0
    for index in picked:
        row = uploads.iloc[index]
        copy = int(row["upload_id"]) // stride
        unit = row["reporting_unit"]
        city_unit = unit.rsplit("·", 1)[0] if copy else unit
        source = city.root / files[(city_unit, row["month"], int(row["version"]))]
        data = _copy_file(source.read_bytes(), city_unit, unit, plan)
        report = read_report(data, f"{unit}_{row['month']}.csv", plan, unit=unit, month=row["month"])
        theirs = sorted((r.item, r.category or "", None if r.value is None else float(r.value), r.status,
                         r.note or "") for r in report.rows)
        with store.snapshot() as reader:
            mine = sorted(reader._con.execute(
                "SELECT item, category, value, status, note FROM facts WHERE upload_id = ?",
                [int(row["upload_id"])]).fetchall())
        checked += 1
        rows_checked += len(mine)
        if report.errors or theirs != mine:
            mismatched.append({"upload_id": int(row["upload_id"]), "unit": unit, "month": row["month"],
                               "errors": [f.message for f in report.errors[:3]],
                               "rows": (len(theirs), len(mine))})
    return {"checked": checked, "rows": rows_checked, "mismatched": mismatched}


def _copy_file(data: bytes, city_unit: str, unit: str, plan) -> bytes:
    """The report a copy would send: the city unit's file under the copy's name, its own rows only."""
    reported = {item for u, item in _allowed_items_for(plan, unit)}
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    title, header, body = rows[0], rows[1], rows[2:]
    title = [title[0].replace(city_unit, unit, 1), *title[1:]]
    unit_col, item_col = header.index("上报单位"), header.index("编号")
    kept = []
    for r in body:
        if r[item_col] in reported:
            r = list(r)
            r[unit_col] = unit
            kept.append(r)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([title, header, *kept])
    return out.getvalue().encode("utf-8-sig")


def _allowed_items_for(plan, unit: str) -> list[tuple[str, str]]:
    return [(unit, row.item) for row in plan.template_rows(unit)]


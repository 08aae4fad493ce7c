"""Run the benchmarks and write benchmarks/RESULTS.md.

    .venv/bin/python -m benchmarks.run            # street and city scale, pages on demo and city data
    .venv/bin/python -m benchmarks.run --quick    # smoke run: street scale and demo pages, 3 runs each

Every figure is the median of --runs timed runs (default 5) after --warmup untimed runs (default 1),
all inside this one process, so caches (the compiled plan, the attached database, Streamlit's
caches) are warm as they are in a running dashboard. What each figure measures is written into
RESULTS.md next to it; datasets.py, baseline.py and pages.py say how the data is made.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import baseline as pandas_baseline
from benchmarks.datasets import CITY, OUT, STREET, Corrections, Dataset, dataset, working_copy
from benchmarks.pages import registered_pages, time_pages

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
QUICK_RESULTS = OUT / "RESULTS-quick.md"
DEMO_THROUGH = "2023-10"  # what `python -m worktrack demo` loads by default
TARGETS = {"status": 0.200, "ingest_one": 0.100, "page": 0.500, "bad_input": 2.0, "bad_input_mb": 200}
# Issue 14's goals: status within 3x the SQL floor; 10,000 units in 1 s and 1 GB; plan loading
# linear (city 0.3 s, 10,000 units 3 s); `status --json` at city in 1.5 s.
GOALS = {"floor_ratio": 3.0, "province_status": 1.0, "province_peak_mb": 1024, "plan_city": 0.3,
         "plan_province": 3.0, "cli_json": 1.5}
# Joined to the active versions' ids: in DuckDB a third faster than `upload_id IN (...)` (FLOOR_IN_SQL,
# the form of earlier runs, still measured at city scale); the floor is the fastest bare query.
FLOOR_SQL = ("SELECT reporting_unit, item, sum(value) FROM metric_totals "
             "JOIN (SELECT upload_id FROM uploads WHERE state = 'active') v USING (upload_id) WHERE month <= ? "
             "GROUP BY GROUPING SETS ((reporting_unit, item), (item))")
FLOOR_IN_SQL = ("SELECT reporting_unit, item, sum(value) FROM metric_totals "
                "WHERE upload_id IN (SELECT upload_id FROM uploads WHERE state = 'active') AND month <= ? "
                "GROUP BY GROUPING SETS ((reporting_unit, item), (item))")
# The same floor for the leaders' default reading: each unit-month's latest approved version.
FLOOR_APPROVED_SQL = FLOOR_SQL.replace("SELECT upload_id FROM uploads WHERE state = 'active'", "{approved}")


# ---------------------------------------------------------------------------
# Timing


def measure(fn: Callable[[], object], runs: int, warmup: int) -> dict:
    """Median, min and max seconds of `runs` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return summary(times)


def measure_interleaved(fns: dict[str, Callable[[], object]], runs: int, warmup: int) -> dict[str, dict]:
    """`measure` for several functions taken in turn, one call of each per round: a ratio of two of
    them is not skewed by the machine being quieter while one of them ran."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: summary(values) for name, values in times.items()}


RATIO_RUNS = 15  # status and floor: at least this many interleaved rounds (each call takes milliseconds)


def summary(times: list[float]) -> dict:
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": times}


def log(message: str) -> None:
    print(f"{dt.datetime.now():%H:%M:%S} {message}", flush=True)


# ---------------------------------------------------------------------------
# One scale


def floor(store, as_of: str, approved_only: bool = False, sql: str = FLOOR_SQL) -> None:
    """The bare SQL floor: one aggregation that yields every target's actual (each unit's and the
    street's sum of every metric through as_of), read through a store snapshot as the status is;
    with approved_only over each unit-month's latest approved version."""
    from worktrack.store import _APPROVED_IDS

    sql = FLOOR_APPROVED_SQL.format(approved=_APPROVED_IDS) if approved_only else sql
    with store.snapshot() as reader:  # through Arrow, as the status's large reads are (fetchnumpy is slower)
        reader._con.sql(sql, params=[as_of]).to_arrow_table()


def status_with_tables(status_from_store, plan, store, as_of: str, **options) -> None:
    """The status with every table built: its obligations, tasks, reporting and unit-metric tables are
    built on first read (what a screen or the full JSON does), the targets and counts at once."""
    from worktrack.progress import DEFERRED_TABLES

    report = status_from_store(plan, store, as_of, **options)
    for part in DEFERRED_TABLES:
        getattr(report, part)


def approve_first_versions(store) -> int:
    """Approve every first version, leaving the corrections (second versions) pending: the review rows
    `Store.review_many` would write, in one statement instead of 36,000 reviews, then task_latest
    rebuilt by the store's own rebuild (as a restore does). Returns the number approved."""
    from worktrack.store import _TASK_LATEST_REBUILD, _Audit, _Outcome

    def write(con) -> _Outcome:
        con.execute("INSERT INTO upload_reviews SELECT (SELECT coalesce(max(review_id), 0) FROM upload_reviews) "
                    "+ row_number() OVER (ORDER BY upload_id), upload_id, 'approved', '', received_at, 'bench' "
                    "FROM uploads WHERE version = 1 AND upload_id NOT IN (SELECT upload_id FROM upload_reviews)")
        approved = con.execute("SELECT count(*) FROM upload_reviews WHERE reviewed_by = 'bench'").fetchall()[0][0]
        con.execute("DELETE FROM task_latest")
        con.execute(_TASK_LATEST_REBUILD)
        return _Outcome(approved, [_Audit(target="benchmark", detail={"approved": approved})])

    return store._write("bench", "upload.review", write)


def status_probe(db: str, plan_path: str, as_of: str, runs: int, warmup: int) -> dict:
    """In a fresh process: status times and the process's peak memory (VmHWM) before and after.

    Not ru_maxrss: a process started by fork and exec reports its parent's high-water mark there
    (the benchmark's own process, over a gigabyte after the 10,000-unit plan), VmHWM is its own."""
    from worktrack.plan import load_plan
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    def peak() -> float:
        return int(Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]) / 1024

    plan = load_plan(plan_path)
    store = Store(db)
    before = peak()
    timing = measure(lambda: status_from_store(plan, store, as_of), runs, warmup)
    # then with every table built: the peak is that of the status a screen or the full JSON reads
    tables = measure(lambda: status_with_tables(status_from_store, plan, store, as_of), runs, 0)
    after = peak()
    return {"status": timing, "status_tables": tables, "peak_mb_before": before, "peak_mb": after}


def probe_in_subprocess(db: Path, plan_path: Path, as_of: str, runs: int, warmup: int) -> dict:
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--status-probe", str(db), str(plan_path),
                             as_of, str(runs), str(warmup)], capture_output=True, text=True, check=True,
                            cwd=HERE.parent)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli_status(db: Path, plan_path: Path, as_of: str, runs: int, work: Path, *extra: str) -> dict:
    """Wall time of `python -m worktrack status --json` in a new process, output to a file."""
    env = {**os.environ, "WORKTRACK_DB": str(db), "WORKTRACK_PLAN": str(plan_path)}
    out_file = work / "status.json"
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with open(out_file, "wb") as fh:
            subprocess.run([sys.executable, "-m", "worktrack", "status", "--json", "--as-of", as_of, *extra],
                           stdout=fh, env=env, check=True, cwd=HERE.parent)
        times.append(time.perf_counter() - started)
    out = summary(times)
    out["bytes"] = out_file.stat().st_size
    json.loads(out_file.read_text(encoding="utf-8"))  # valid JSON
    return out


def bench_scale(data: Dataset, runs: int, warmup: int, work: Path, *, cli: bool = False) -> dict:
    """Status, the SQL floor, plan loading, the baselines, one-file and whole-month ingest on a copy
    of the dataset's database."""
    from worktrack.intake import read_report
    from worktrack.plan import load_plan
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    name = data.scale.name
    log(f"[{name}] load_plan")
    out: dict = {"dataset": data.info, "load": " / ".join(f"{x:.2f}" for x in os.getloadavg())}
    out["plan_load"] = measure(lambda: load_plan(data.plan_path), runs, warmup)
    plan = load_plan(data.plan_path)
    db = working_copy(data, work)
    store = Store(db)
    as_of = plan.months[-1]
    out["as_of"] = as_of

    log(f"[{name}] status_from_store as of {as_of}, and the SQL floor")
    out.update(measure_interleaved({
        "status": lambda: status_from_store(plan, store, as_of),
        "floor": lambda: floor(store, as_of),
        "status_tables": lambda: status_with_tables(status_from_store, plan, store, as_of),
        "floor_in": lambda: floor(store, as_of, sql=FLOOR_IN_SQL),
    }, max(runs, RATIO_RUNS), warmup))
    report = status_from_store(plan, store, as_of)
    out["status_rows"] = {"targets": len(report.targets), "obligations": len(report.obligations),
                          "tasks": len(report.tasks), "reporting": len(report.reporting)}
    log(f"[{name}] approved-only status (the leaders' default): first versions approved, corrections pending")
    out["approved"] = approve_first_versions(store)
    out.update(measure_interleaved({
        "status_approved": lambda: status_from_store(plan, store, as_of, approved_only=True),
        "floor_approved": lambda: floor(store, as_of, approved_only=True),
    }, max(runs, RATIO_RUNS), warmup))
    log(f"[{name}] status in a fresh process: peak memory")
    out["probe"] = probe_in_subprocess(db, data.plan_path, as_of, runs, warmup)
    if cli:
        log(f"[{name}] python -m worktrack status --json (a new process each run)")
        out["cli_json"] = cli_status(db, data.plan_path, as_of, runs, work)
        out["cli_summary"] = cli_status(db, data.plan_path, as_of, runs, work, "--summary")

    log(f"[{name}] baselines over one Parquet file of the active facts")
    facts_parquet, uploads_parquet = pandas_baseline.write_parquet(store, as_of, work / f"{name}-parquet")

    def pandas_parquet():
        active, rows = pandas_baseline.read_parquet(facts_parquet, uploads_parquet)
        return pandas_baseline.compute(plan, active, rows, as_of)

    out["baseline_pandas_parquet"] = measure(pandas_parquet, runs, warmup)
    out["baseline_pandas_parquet_disagreements"] = pandas_baseline.disagreements(report, pandas_parquet())
    duck = lambda: pandas_baseline.duckdb_status(plan, facts_parquet, uploads_parquet, as_of)  # noqa: E731
    out["baseline_duckdb_parquet"] = measure(duck, runs, warmup)
    out["baseline_duckdb_parquet_disagreements"] = pandas_baseline.disagreements(report, duck())

    log(f"[{name}] pandas baseline from {data.info['files']} files")
    reads, computes, totals = [], [], []
    result = None
    for n in range(warmup + runs):
        started = time.perf_counter()
        active, rows = pandas_baseline.read_reports(data.root, as_of)
        read = time.perf_counter()
        result = pandas_baseline.compute(plan, active, rows, as_of)
        done = time.perf_counter()
        if n >= warmup:
            reads.append(read - started)
            computes.append(done - read)
            totals.append(done - started)
        del active, rows
    out["baseline"] = summary(totals)
    out["baseline_read"] = summary(reads)
    out["baseline_compute"] = summary(computes)
    out["baseline_disagreements"] = pandas_baseline.disagreements(report, result)
    out["baseline_files"] = int(report.reporting["received"].sum())

    corrections = Corrections(plan)
    reporters = [i for i, u in enumerate(plan.units) if plan.template_rows(u.name)]

    log(f"[{name}] ingest one unit-month file")
    one_dir = work / f"{name}-one"
    shutil.rmtree(one_dir, ignore_errors=True)
    one_dir.mkdir(parents=True)
    step = max(len(reporters) // (warmup + runs), 1)
    files = []
    for k in range(warmup + runs):
        unit_index = reporters[(k * step) % len(reporters)]
        file_name, raw = corrections.report(unit_index, as_of, k + 1)
        (one_dir / file_name).write_bytes(raw)
        files.append((one_dir / file_name, plan.units[unit_index].name))
    parses, submits, totals = [], [], []
    for n, (path, unit) in enumerate(files):
        started = time.perf_counter()
        raw = path.read_bytes()
        intake = read_report(raw, path.name, plan, uploader_unit=unit)
        parsed = time.perf_counter()
        result = store.submit(intake, raw, submitted_by="bench")
        done = time.perf_counter()
        if result.status != "accepted" or result.version is None or result.version < 2:
            raise RuntimeError(f"one-file ingest was not a new version: {result.message}")
        if n >= warmup:
            parses.append(parsed - started)
            submits.append(done - parsed)
            totals.append(done - started)
    out["ingest_one"] = summary(totals)
    out["ingest_one_parse"] = summary(parses)
    out["ingest_one_submit"] = summary(submits)

    log(f"[{name}] ingest a month for all {len(reporters)} units, one transaction per file")
    out["ingest_month"] = _ingest_month(plan, store, corrections, reporters, as_of, work / f"{name}-month",
                                        runs, warmup, first_k=100, batched=False)
    log(f"[{name}] ingest a month for all {len(reporters)} units, Store.submit_many")
    out["ingest_month_batch"] = _ingest_month(plan, store, corrections, reporters, as_of,
                                              work / f"{name}-month-batch", runs, warmup, first_k=200, batched=True)
    out["ingest_month_files"] = len(reporters)
    return out


def _ingest_month(plan, store, corrections: Corrections, reporters: list[int], month: str, directory: Path,
                  runs: int, warmup: int, *, first_k: int, batched: bool) -> dict:
    """Every unit's file for one month, read from disk, parsed, validated and stored; a new version each run."""
    from worktrack.intake import read_report
    from worktrack.store import Submission

    shutil.rmtree(directory, ignore_errors=True)
    times = []
    per_file = []  # every single submit in order, warm-up included: how the cost moves upload after upload
    for n in range(warmup + runs):
        run_dir = directory / f"run{n}"
        run_dir.mkdir(parents=True)
        batch = []
        for unit_index in reporters:
            file_name, raw = corrections.report(unit_index, month, first_k + n)
            (run_dir / file_name).write_bytes(raw)
            batch.append((run_dir / file_name, plan.units[unit_index].name))
        started = time.perf_counter()
        if batched:
            submissions = []
            for path, unit in batch:
                raw = path.read_bytes()
                submissions.append(Submission(read_report(raw, path.name, plan, uploader_unit=unit), raw, "bench"))
            results = store.submit_many(submissions)
        else:
            results = []
            for path, unit in batch:
                one = time.perf_counter()
                raw = path.read_bytes()
                results.append(store.submit(read_report(raw, path.name, plan, uploader_unit=unit), raw,
                                            submitted_by="bench"))
                per_file.append(time.perf_counter() - one)
        elapsed = time.perf_counter() - started
        refused = [r for r in results if r.status != "accepted"]
        if refused:
            raise RuntimeError(f"month ingest refused {len(refused)} files: {refused[0].message}")
        if n >= warmup:
            times.append(elapsed)
        shutil.rmtree(run_dir)
    out = summary(times)
    if per_file:
        ordered = sorted(per_file)
        out["per_file"] = {"median": statistics.median(per_file), "p95": ordered[int(0.95 * (len(ordered) - 1))],
                           "max": ordered[-1], "count": len(per_file),
                           "by_500": [statistics.median(per_file[k:k + 500]) for k in range(0, len(per_file), 500)]}
    return out


# ---------------------------------------------------------------------------
# Province scale


def bench_province(city: Dataset, runs: int, warmup: int, rebuild: bool) -> dict:
    """10,000 units: the fast-loaded database checked against read_report, plan loading, status
    (time and peak memory in a fresh process) and the SQL floor."""
    from benchmarks.province import build_province, check_sample
    from worktrack.plan import load_plan
    from worktrack.store import Store

    data = build_province(city, rebuild=rebuild, log=log)
    out: dict = {"dataset": data.info, "load": " / ".join(f"{x:.2f}" for x in os.getloadavg())}
    runs = min(runs, 3)
    log("[province] load_plan")
    out["plan_load"] = measure(lambda: load_plan(data.plan_path), runs, 0)
    plan = load_plan(data.plan_path)
    as_of = plan.months[-1]
    out["as_of"] = as_of
    log("[province] sample of the fast-loaded uploads against read_report")
    out["sample"] = check_sample(data, city, plan)
    log("[province] status in a fresh process: time and peak memory")
    out["probe"] = probe_in_subprocess(data.db_path, data.plan_path, as_of, runs, warmup)
    out["status"] = out["probe"]["status"]
    out["status_tables"] = out["probe"]["status_tables"]
    out["floor"] = measure(lambda: floor(Store(data.db_path), as_of), runs, warmup)
    return out


# ---------------------------------------------------------------------------
# Pages


def demo_database(work: Path) -> tuple[Path, Path]:
    """The demo story through DEMO_THROUGH, loaded as `python -m worktrack demo` loads it."""
    from worktrack.config import DEFAULT_PLAN
    from worktrack.demo import load_demo
    from worktrack.plan import load_plan
    from worktrack.store import Store

    root = work / "demo"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    load_demo(load_plan(DEFAULT_PLAN), Store(root / "demo.duckdb"), DEMO_THROUGH, root / "samples")
    return root / "demo.duckdb", DEFAULT_PLAN


def bench_pages(label: str, db: Path, plan: Path, runs: int, warmup: int) -> list[dict]:
    """The page timings in a process of their own, as a dashboard server is one: not in this process,
    whose heap by then holds the datasets, baselines and results of everything measured before
    (every collection of the garbage collector walks it, which a server never does)."""
    log(f"[pages] {label}: {', '.join(registered_pages())}")
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--pages-probe", str(db), str(plan), str(runs),
                             str(warmup)], capture_output=True, text=True, check=True, cwd=HERE.parent)
    return json.loads(result.stdout.strip().splitlines()[-1])


def pages_probe(db: str, plan: str, runs: int, warmup: int) -> list[dict]:
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    return [vars(t) for t in time_pages(Path(db), Path(plan), runs=runs, warmup=warmup)]


# ---------------------------------------------------------------------------
# The report


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu, "cores": cores, "ram": ram, "os": platform.platform(),
            "load": " / ".join(f"{x:.2f}" for x in os.getloadavg())}


def speed_probe(directory: Path) -> dict:
    """Two figures that make runs on different machines comparable: a pure-Python loop of 10**7
    additions (best of 3; CPU and interpreter speed) and a 4 KB write followed by fsync, 30 times in
    `directory` (what every commit and every raw file pays)."""
    loop = []
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        loop.append(time.perf_counter() - start)
    directory.mkdir(parents=True, exist_ok=True)
    probe, syncs = directory / "fsync-probe", []
    try:
        with open(probe, "wb") as fh:
            for _ in range(30):
                start = time.perf_counter()
                fh.write(b"x" * 4096)
                fh.flush()
                os.fsync(fh.fileno())
                syncs.append(time.perf_counter() - start)
    finally:
        probe.unlink(missing_ok=True)
    syncs.sort()
    return {"loop": min(loop), "fsync_median": statistics.median(syncs), "fsync_p95": syncs[int(0.95 * (len(syncs) - 1))]}


def speed_line(speed: dict) -> str:
    return (f"- Machine speed (to compare runs on other machines): a pure-Python loop of 10^7 additions "
            f"{ms(speed['loop'])} (best of 3); a 4 KB write + fsync in the benchmark folder: median "
            f"{ms(speed['fsync_median'])}, p95 {ms(speed['fsync_p95'])} (30 writes)")


def versions() -> dict:
    import duckdb
    import numpy
    import pandas
    import pyarrow
    import streamlit

    return {"python": platform.python_version(), "duckdb": duckdb.__version__, "pandas": pandas.__version__,
            "streamlit": streamlit.__version__, "numpy": numpy.__version__, "pyarrow": pyarrow.__version__}


# ---------------------------------------------------------------------------
# Hostile uploads

_PEAK_SCRIPT = """
import json, re, sys
from pathlib import Path
from worktrack.intake import read_report
from worktrack.plan import load_plan

def peak_mb():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024

plan = load_plan(sys.argv[2])
path = Path(sys.argv[1])
data = path.read_bytes()
before = peak_mb()
if sys.argv[3] == "read":
    report = read_report(data, path.name, plan)
print(json.dumps({"before_mb": before, "peak_mb": peak_mb()}))
"""


def _peak_memory(path: Path, plan_path: Path, read: bool) -> dict:
    """Peak resident memory (VmHWM) of a fresh interpreter that loads the plan and the file, and reads it or not."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path), str(plan_path), "read" if read else "no"],
                          cwd=HERE.parent, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def bench_bad_inputs(runs: int, warmup: int, work: Path) -> dict:
    """Each hostile file of tests/fixtures/make_intake_fixtures.bad_inputs: time to judge, peak memory, finding."""
    from tests.fixtures.make_intake_fixtures import bad_inputs
    from worktrack.config import DEFAULT_PLAN
    from worktrack.intake import read_report
    from worktrack.plan import load_plan

    plan = load_plan(DEFAULT_PLAN)
    folder = work / "bad-inputs"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (filename, data) in bad_inputs(plan).items():
        log(f"bad input {name}")
        path = folder / filename
        path.write_bytes(data)
        report = read_report(data, filename, plan)
        out[name] = {
            "file": filename, "bytes": len(data), "findings": [list(f) for f in report.flat()],
            "message": report.errors[0].message if report.errors else "",
            "judge": measure(lambda data=data, filename=filename: read_report(data, filename, plan), runs, warmup),
            "memory": _peak_memory(path, DEFAULT_PLAN, read=True),
            "memory_without_reading": _peak_memory(path, DEFAULT_PLAN, read=False),
        }
    return out


def render_bad_inputs(entries: dict) -> list[str]:
    lines = ["", "## Bad inputs (hostile uploads up to the size limit)", "",
             "Each file is judged by `read_report` (median of the timed runs, min–max); peak memory is the "
             "VmHWM of a fresh interpreter that loads the plan and the file and then judges it, next to the same "
             "process that does not judge it. Files from `tests/fixtures/make_intake_fixtures.bad_inputs`.", "",
             "| file | bytes | judged in | target < 2 s | peak memory (without judging) | target < 200 MB | finding |",
             "|---|---|---|---|---|---|---|"]
    for name, entry in entries.items():
        finding = ", ".join(f"{code} (row {row}, column {column})" for code, row, column in entry["findings"])
        peak = entry["memory"]["peak_mb"]
        lines.append(f"| {name} | {entry['bytes']:,} | {timing(entry['judge'])} | "
                     f"{verdict(entry['judge']['max'], TARGETS['bad_input'])} | {peak:,.0f} MB "
                     f"({entry['memory_without_reading']['peak_mb']:,.0f} MB) | {verdict(peak, TARGETS['bad_input_mb'])} | "
                     f"{finding} |")
    return lines


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0995 else f"{seconds * 1000:.1f} ms"


def timing(entry: dict | None) -> str:
    if not entry:
        return "–"
    return f"{ms(entry['median'])} ({ms(entry['min'])}–{ms(entry['max'])})"


def verdict(value: float | None, limit: float, higher_is_better: bool = False) -> str:
    if value is None:
        return "not measured"
    ok = value >= limit if higher_is_better else value <= limit
    return "met" if ok else "**not met**"


def render(results: dict) -> str:
    scales = results["scales"]
    street, city = scales.get("street"), scales.get("city")
    lines = [
        "# Benchmark results",
        "",
        "Generated by the benchmark run; do not edit by hand. How to run and what each figure means: "
        "`benchmarks/README.md`.",
        "",
        f"- Command: `{results['command']}`",
        f"- Date: {results['started']} (took {results['seconds'] / 60:.1f} min)",
        f"- Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"{results['machine']['ram']} RAM, {results['machine']['os']}; load average at start "
        f"{results['machine']['load']} (a shared machine)",
        *([speed_line(results["speed"])] if results.get("speed") else []),
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
        f"- Each figure: median of {results['runs']} timed runs after {results['warmup']} warm-up run(s) in one "
        "process, with (min–max).",
        "",
        "## Datasets",
        "",
        "| scale | units × months | report files | bytes | facts in DB | database | built in | built by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in scales.items():
        info = entry["dataset"]
        lines.append(f"| {name} | {info['units']} × {info['months']} ({info['first_month']}..{info['last_month']}) | "
                     f"{info['files']:,} | {info['bytes'] / 1e6:,.1f} MB | {info.get('facts', 0):,} | "
                     f"{info['db_bytes'] / 1e6:,.0f} MB | {info['ingest_seconds']:,.0f} s | {info['ingest_mode']} |")
    lines += issue_section(results)
    lines += ["", "## Results", "",
              "| measure | street | city | target at city scale | city verdict |", "|---|---|---|---|---|"]

    def row(label: str, key: str, target: str = "", check: str = "") -> None:
        lines.append(f"| {label} | {timing(street and street.get(key))} | {timing(city and city.get(key))} | "
                     f"{target} | {check} |")

    city_status = city["status"]["median"] if city else None
    city_one = city["ingest_one"]["median"] if city else None
    row("full status as of the last month (`status_from_store`, street-wide)", "status", "≤ 200 ms",
        verdict(city_status, TARGETS["status"]))
    row("full status, approved-only (the leaders' default; first versions approved, corrections pending)",
        "status_approved", "≤ 200 ms", verdict(city["status_approved"]["median"] if city else None, TARGETS["status"]))
    row("ingest one unit-month file (read + parse + validate + `Store.submit`, a new version)", "ingest_one",
        "≤ 100 ms", verdict(city_one, TARGETS["ingest_one"]))
    row("  of which read + parse + validate (`read_report`)", "ingest_one_parse")
    row("  of which `Store.submit` (one transaction, commit, checkpoint)", "ingest_one_submit")
    row("ingest a month for all units, one `Store.submit` per file (as `python -m worktrack ingest`)",
        "ingest_month")
    def per_file(entry: dict | None) -> str:
        if not entry or "per_file" not in entry.get("ingest_month", {}):
            return "–"
        f = entry["ingest_month"]["per_file"]
        return f"median {ms(f['median'])}, p95 {ms(f['p95'])}, max {ms(f['max'])}"

    lines.append(f"|   each file within that loop (read + parse + submit) | {per_file(street)} | {per_file(city)} | "
                 f"≤ 100 ms (one file) | {verdict(city['ingest_month']['per_file']['p95'], TARGETS['ingest_one']) + ' at p95' if city else ''} |")
    row("ingest a month for all units, parse all, one `Store.submit_many`", "ingest_month_batch")
    row("pandas baseline: read the active files + compute", "baseline")
    row("  of which `pandas.read_csv` of every file + concat", "baseline_read")
    row("  of which compute (targets, obligations, tasks, reporting)", "baseline_compute")

    def ratio(entry: dict | None, key: str) -> str:
        if not entry:
            return "–"
        return f"{entry[key]['median'] / entry['status']['median']:,.1f}×"

    city_ratio = city["baseline"]["median"] / city["status"]["median"] if city else None
    lines.append(f"| baseline ÷ worktrack (full status) | {ratio(street, 'baseline')} | {ratio(city, 'baseline')} | "
                 f"> 1× (faster than the baseline) | {verdict(city_ratio, 1.0, higher_is_better=True)} |")
    lines.append(f"| baseline compute only ÷ worktrack (files already in memory for the baseline) | "
                 f"{ratio(street, 'baseline_compute')} | {ratio(city, 'baseline_compute')} | | |")
    lines += [""]
    for name, entry in scales.items():
        d = entry["baseline_disagreements"]
        lines.append(f"- {name}: as of {entry['as_of']} the baseline and worktrack agree on "
                     f"{d['checked_targets'] - d['targets']:,} of {d['checked_targets']:,} targets (actual, expected, "
                     f"status), months missed of every-month targets ({d['months_missed']} differ), "
                     f"{d['checked_tasks'] - d['tasks']:,} of {d['checked_tasks']:,} task statuses and "
                     f"{d['checked_reporting'] - d['reporting']:,} of {d['checked_reporting']:,} reporting cells. "
                     f"Status rows: {entry['status_rows']}. Month ingest: {entry['ingest_month_files']:,} files.")

    from benchmarks.registers import render_registers

    lines += render_registers(results.get("registers"), ms, timing)
    if results.get("bad_inputs"):
        lines += render_bad_inputs(results["bad_inputs"])
    page_sets = results["pages"]
    labels = list(page_sets)
    lines += ["", "## Dashboard pages (AppTest reruns with warm caches)", ""]
    if not labels:
        lines.append("Not measured (--no-pages).")
    header = "| page | " + " | ".join(f"{label}: rerun | {label}: first run" for label in labels)
    if labels:
        lines += [header + " | target ≤ 500 ms at city scale |", "|---" * (1 + 2 * len(labels)) + "|---|"]
    all_pages = list(dict.fromkeys(p["page"] for timings in page_sets.values() for p in timings))
    for page in all_pages:
        cells = []
        city_median = None
        for label in labels:
            found = next((p for p in page_sets[label] if p["page"] == page), None)
            if found is None or found["error"]:
                cells += [f"error: {found['error'][:80]}" if found else "–", ""]
                continue
            cells += [timing(summary(found["reruns"])), ms(found["first"])]
            if label.startswith("city"):
                city_median = statistics.median(found["reruns"])
        signed_out = any(p["page"] == page and p["signed_out"] for t in page_sets.values() for p in t)
        name = f"`{page}`" + (" (signed out)" if signed_out else "")
        check = verdict(city_median, TARGETS["page"]) if any(lb.startswith("city") for lb in labels) else ""
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {check} |")
    lines += ["", "## Targets", ""]
    if city:
        misses = []
        if city_status > TARGETS["status"]:
            misses.append("full status")
        if city_one > TARGETS["ingest_one"]:
            misses.append("one-file ingest")
        loop = city["ingest_month"].get("per_file")
        if loop and loop["p95"] > TARGETS["ingest_one"]:
            misses.append(f"one-file ingest at the 95th percentile of a month of single uploads ({ms(loop['p95'])})")
        if city_ratio is not None and city_ratio <= 1:
            misses.append("faster than the pandas baseline")
        registers = results.get("registers")
        if registers and registers["status_with"]["median"] > TARGETS["status"]:
            misses.append("full status with registers")
        slow = [p["page"] for label in labels if label.startswith("city") for p in page_sets[label]
                if not p["error"] and statistics.median(p["reruns"]) > TARGETS["page"]]
        broken = [p["page"] for label in labels for p in page_sets[label] if p["error"]]
        misses += [f"page rerun {p}" for p in slow] + [f"page failed: {p}" for p in broken]
        lines.append("All targets met at city scale." if not misses else
                     "Not met at city scale: " + "; ".join(misses) + ".")
    else:
        lines.append("Quick run: street scale only; the city-scale targets were not measured.")
    lines += ["", *notes(results)]
    return "\n".join(lines) + "\n"


def issue_section(results: dict) -> list[str]:
    """Issue 14's table, every row against its goal, from this run."""
    scales = results["scales"]
    city, province = scales.get("city"), results.get("province")
    out = ["", "## Issue 14: every row against its goal", ""]
    if not city:
        return out + ["Quick run: street scale only; the issue's rows need the city and province scales.", ""]
    out += ["Measured in this one run (load average at the start of each part in brackets). \"Before\" is "
            "the issue's own figure from the previous build.", "",
            "| measure | before (issue) | now | goal | verdict |", "|---|---|---|---|---|"]
    ratio = city["status"]["median"] / city["floor"]["median"]
    tables = ""
    if "status_tables" in city:
        tables = (f"; with its obligations, tasks, reporting and unit-metric tables built (built on first read): "
                  f"{timing(city['status_tables'])}, "
                  f"{city['status_tables']['median'] / city['floor']['median']:.1f}×")
    out.append(f"| full status, city (load {city['load']}) | 130–148 ms (floor 32.6 ms: 4.6×) | "
               f"{timing(city['status'])}; floor {timing(city['floor'])}: **{ratio:.1f}×**{tables} | "
               f"≤ 3× the floor | {verdict(ratio, GOALS['floor_ratio'])} |")
    if "status_approved" in city:
        approved_ratio = city["status_approved"]["median"] / city["floor_approved"]["median"]
        out.append(f"| full status, city, approved-only (the leaders' default; not in the issue) | – | "
                   f"{timing(city['status_approved'])}; floor {timing(city['floor_approved'])}: "
                   f"**{approved_ratio:.1f}×** | ≤ 3× the floor | {verdict(approved_ratio, GOALS['floor_ratio'])} |")
    if province:
        peak = province["probe"]["peak_mb"]
        judged = province.get("status_tables", province["status"])  # with every table built, as before
        ok = (judged["median"] <= GOALS["province_status"] and peak <= GOALS["province_peak_mb"])
        built = (f" (every table built: {timing(province['status_tables'])})" if "status_tables" in province else "")
        out.append(f"| full status, 10,000 units ({province['dataset']['facts']:,} facts; load {province['load']}) | "
                   f"1.2–1.6 s, 1.5 GB peak | {timing(province['status'])}{built}, {peak:,.0f} MB peak "
                   f"(after loading the plan and opening the store: "
                   f"{province['probe']['peak_mb_before']:,.0f} MB) | ≤ 1 s, ≤ 1 GB | "
                   f"{'met' if ok else '**not met**'} |")
        plan_ok = (city["plan_load"]["median"] <= GOALS["plan_city"]
                   and province["plan_load"]["median"] <= GOALS["plan_province"])
        out.append(f"| plan load, city plan / 10,000-unit plan | 1.5–2.4 s / 73–81 s (quadratic) | "
                   f"{timing(city['plan_load'])} / {timing(province['plan_load'])} | ≤ 0.3 s / ≤ 3 s (linear) | "
                   f"{'met' if plan_ok else '**not met**'} |")
    else:
        out.append(f"| plan load, city plan | 1.5–2.4 s | {timing(city['plan_load'])} | ≤ 0.3 s | "
                   f"{verdict(city['plan_load']['median'], GOALS['plan_city'])} |")
    if "cli_json" in city:
        cli = city["cli_json"]
        out.append(f"| `status --json` CLI, city, wall | 4.3 s (34.5 MB) | {timing(cli)} ({cli['bytes'] / 1e6:,.1f} MB); "
                   f"`--summary` {timing(city['cli_summary'])} ({city['cli_summary']['bytes'] / 1e6:,.2f} MB) | "
                   f"≤ 1.5 s | {verdict(cli['median'], GOALS['cli_json'])} |")
    city_pages = next((v for k, v in results["pages"].items() if k.startswith("city")), None)
    if city_pages:
        ok_pages = [p for p in city_pages if not p["error"]]
        plan_page = next((p for p in ok_pages if p["page"] == "pages/plan.py"), None)
        slowest = max(ok_pages, key=lambda p: statistics.median(p["reruns"]))
        worst = statistics.median(slowest["reruns"])
        broken = [p["page"] for p in city_pages if p["error"]]
        out.append(f"| 目标 page rerun, city | 767 ms | "
                   f"{timing(summary(plan_page['reruns'])) if plan_page else '–'}; slowest page "
                   f"`{slowest['page']}` {ms(worst)} | ≤ 500 ms (every page) | "
                   f"{verdict(worst, TARGETS['page']) if not broken else '**not met** (a page failed)'} |")
    loop = city["ingest_month"].get("per_file")
    if loop:
        out.append(f"| one-file ingest p95 over a month of single uploads | 201 ms | p95 {ms(loop['p95'])} "
                   f"(median {ms(loop['median'])}, {loop['count']:,} uploads) | ≤ 100 ms | "
                   f"{verdict(loop['p95'], TARGETS['ingest_one'])} |")
    out += ["", "### Status against the bare SQL floor", "",
            "The floor is one aggregation yielding every target's actual (each unit's and the street's sum of "
            "every metric, `GROUPING SETS`, over the active versions joined by upload id), read through a store "
            "snapshot as the status is, its result fetched through Arrow as the status's large reads are. The status computes every target, obligation, task "
            "and reporting cell; its obligations, tasks, reporting and unit-metric tables (labelled rows) are built when first "
            "read, so the next column adds building them. Status, floor and the status with every table "
            f"built are measured in turn, one call of each per round, over at least {RATIO_RUNS} rounds (medians); "
            "the province's status is timed in a fresh process (for its peak memory), its floor after.", "",
            "| scale | full status | SQL floor | status ÷ floor | status with every table built, ÷ floor | "
            "process peak memory (fresh process): after the status runs / before them (plan loaded, store opened) |",
            "|---|---|---|---|---|---|"]
    for label, entry in [*scales.items(), *([("province (10,000 units)", province)] if province else [])]:
        probe = entry.get("probe", {})
        built = (f"{timing(entry['status_tables'])}, {entry['status_tables']['median'] / entry['floor']['median']:.1f}×"
                 if "status_tables" in entry else "–")
        out.append(f"| {label} | {timing(entry['status'])} | {timing(entry['floor'])} | "
                   f"{entry['status']['median'] / entry['floor']['median']:.1f}× | {built} | "
                   f"{probe.get('peak_mb', 0):,.0f} MB / {probe.get('peak_mb_before', 0):,.0f} MB |")
    if "floor_in" in city:
        out += ["", f"The same floor written with `upload_id IN (…)` (the form of earlier runs), measured in the "
                f"same rounds at city scale: {timing(city['floor_in'])}; the status ÷ that floor: "
                f"{city['status']['median'] / city['floor_in']['median']:.1f}×."]
    out += ["", "### Baselines, side by side", "",
            "The fair ones read one Parquet file of the active facts (typed) and compute the same status with "
            "pandas or with DuckDB SQL; the analyst's one reads every active CSV file with `pandas.read_csv`. "
            "Plan parsing is outside every timing.", "",
            "| baseline | street | city | city ÷ worktrack's full status | agreement at city (targets, months "
            "missed, tasks, reporting cells that differ) |", "|---|---|---|---|---|"]
    street = scales.get("street")
    for label, key in (("pandas over one Parquet (fair)", "baseline_pandas_parquet"),
                       ("DuckDB SQL over one Parquet (fair)", "baseline_duckdb_parquet"),
                       ("pandas from the CSV files (analyst)", "baseline")):
        d = city.get(f"{key}_disagreements") or city.get("baseline_disagreements")
        out.append(f"| {label} | {timing(street and street.get(key))} | {timing(city.get(key))} | "
                   f"{city[key]['median'] / city['status']['median']:,.1f}× | "
                   f"{d['targets']}, {d['months_missed']}, {d['tasks']}, {d['reporting']} |")
    fair = min(city["baseline_pandas_parquet"]["median"], city["baseline_duckdb_parquet"]["median"])
    out += ["", f"Headline (the fair comparison): worktrack's full status at city scale takes "
            f"{ms(city['status']['median'])}; the faster fair baseline takes {ms(fair)} "
            f"({fair / city['status']['median']:.1f}× worktrack's time)."]
    if province:
        sample = province["sample"]
        out += ["", f"10,000-unit dataset: {province['dataset']['ingest_mode']}; built in "
                f"{province['dataset']['ingest_seconds']:,.0f} s. Sample check: {sample['checked']} uploads "
                f"({sample['rows']:,} fact rows) compared with `read_report` of the file each copy would send: "
                f"{len(sample['mismatched'])} differ."]
    return out


def notes(results: dict) -> list[str]:
    """What the figures show beyond pass/fail, from the numbers of this run."""
    out = ["## Notes", ""]
    city = results["scales"].get("city")
    if city and "per_file" in city["ingest_month"]:
        steps = ", ".join(ms(x) for x in city["ingest_month"]["per_file"]["by_500"])
        out += [
            "- Single uploads one after another: the per-file cost of the "
            f"{city['ingest_month']['per_file']['count']:,} consecutive `Store.submit` calls of the month loop, "
            f"median per 500 files in order: {steps}. Uploaded files now live in raw/<sha256> beside the "
            "database (written and fsynced before the commit); before, the `uploads` table's `raw` BLOB column "
            "made every checkpoint rewrite its tail, and the per-file cost climbed from ~40 ms to ~100 ms every "
            "2,000 uploads (previous RESULTS.md).",
        ]
    out += [
        "- The month-end batch path (`Store.submit_many`) is what the city dataset is built with, and what "
        "`python -m worktrack ingest FILE...` uses for several files (500 per transaction).",
        "- The pandas baseline reads every active CSV file on every run; most of its time is `pandas.read_csv`. "
        "The compute-only ratio compares its aggregation over frames already in memory with worktrack's whole "
        "status including the database reads.",
    ]
    return out


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: street scale and demo pages, 3 runs")
    parser.add_argument("--runs", type=int, help="timed runs per figure (default 5, --quick 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones (default 1)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the datasets even if cached")
    parser.add_argument("--no-pages", action="store_true", help="skip the AppTest page timings")
    parser.add_argument("--no-province", action="store_true", help="skip the 10,000-unit scale")
    parser.add_argument("--no-district", action="store_true",
                        help="skip the district scale (150 street plans on DuckDB and PostgreSQL, benchmarks/district.py)")
    parser.add_argument("--status-probe", nargs=5, metavar=("DB", "PLAN", "AS_OF", "RUNS", "WARMUP"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--pages-probe", nargs=4, metavar=("DB", "PLAN", "RUNS", "WARMUP"), help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=f"where to write the report (default {RESULTS.relative_to(HERE.parent)}; "
                                                    f"--quick: {QUICK_RESULTS.relative_to(HERE.parent)})")
    args = parser.parse_args(argv)
    if args.status_probe:
        db, plan_path, as_of, probe_runs, probe_warmup = args.status_probe
        print(json.dumps(status_probe(db, plan_path, as_of, int(probe_runs), int(probe_warmup))))
        return 0
    if args.pages_probe:
        db, plan_path, probe_runs, probe_warmup = args.pages_probe
        print(json.dumps(pages_probe(db, plan_path, int(probe_runs), int(probe_warmup)), default=str))
        return 0
    runs = args.runs or (3 if args.quick else 5)
    output = args.output or (QUICK_RESULTS if args.quick else RESULTS)
    command = " ".join([".venv/bin/python -m benchmarks.run", *map(shlex.quote, sys.argv[1:] if argv is None else argv)])
    started = time.perf_counter()
    results: dict = {"command": command, "started": dt.datetime.now().isoformat(sep=" ", timespec="seconds"),
                     "machine": machine(), "versions": versions(), "runs": runs, "warmup": args.warmup,
                     "scales": {}, "pages": {}, "province": None}
    work = OUT / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results["speed"] = speed_probe(work)
    built: dict[str, Dataset] = {}
    for scale in ([STREET] if args.quick else [STREET, CITY]):
        data = dataset(scale, rebuild=args.rebuild, log=log)
        data.info["facts"] = _facts(data)
        built[scale.name] = data
        results["scales"][scale.name] = bench_scale(data, runs, args.warmup, work, cli=scale is CITY)
    if "city" in built:
        from benchmarks.registers import bench_registers

        results["registers"] = bench_registers(built["city"], runs, args.warmup, work, log)
    results["bad_inputs"] = bench_bad_inputs(runs, args.warmup, work)
    if "city" in built and not args.no_province:
        results["province"] = bench_province(built["city"], runs, args.warmup, args.rebuild)
    if not args.no_pages:
        demo_db, demo_plan = demo_database(work)
        results["pages"][f"demo (through {DEMO_THROUGH})"] = bench_pages("demo", demo_db, demo_plan, runs,
                                                                          args.warmup)
        if "city" in built:
            city_db = working_copy(built["city"], work / "pages")
            results["pages"]["city"] = bench_pages("city", city_db, built["city"].plan_path, runs, args.warmup)
    district = None
    if not args.quick and not args.no_district:
        # its own process (it starts a PostgreSQL cluster and writes benchmarks/RESULTS-district.md)
        log("[district] 150 street plans on DuckDB and PostgreSQL (benchmarks.district)")
        results["district_load"] = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        subprocess.run([sys.executable, "-m", "benchmarks.district", "--runs", str(runs)], check=True,
                       cwd=HERE.parent)
        from benchmarks.district import RESULTS as DISTRICT_RESULTS

        district = DISTRICT_RESULTS.read_text(encoding="utf-8")
    results["seconds"] = time.perf_counter() - started
    output.parent.mkdir(parents=True, exist_ok=True)
    text = render(results)
    if district is not None:
        text += district_section(district, results["district_load"])
    output.write_text(text, encoding="utf-8")
    (OUT / ("results-quick.json" if args.quick else "results.json")).write_text(
        json.dumps(results, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    log(f"wrote {output}")
    return 0


def district_section(district: str, load: str) -> str:
    """benchmarks/RESULTS-district.md, written by this run, as a section of RESULTS.md (issue 17)."""
    lines = district.splitlines()
    title = lines[0].lstrip("# ").strip() if lines else "District scale"
    body = "\n".join(("#" + line) if line.startswith("#") else line for line in lines[1:])
    return (f"\n## Issue 17: {title}\n\nRun by this benchmark (`benchmarks/district.py`, load average at its start "
            f"{load}); the same text is in `benchmarks/RESULTS-district.md`.\n{body}\n")


def _facts(data: Dataset) -> int:
    from worktrack.store import Store

    return Store(data.db_path).counts()["facts"]


if __name__ == "__main__":
    sys.exit(main())

"""The two store backends side by side: DuckDB file and PostgreSQL, on the same facts.

    .venv/bin/python -m benchmarks.backends                  # street and city scale; writes benchmarks/RESULTS-backends.md
    .venv/bin/python -m benchmarks.backends --scale street   # street scale only, about a minute
    .venv/bin/python -m benchmarks.backends --pg-url postgresql://...   # an existing server instead of a throwaway one

The datasets are benchmarks/datasets.py's (built through the real intake path, cached). The
PostgreSQL database gets the identical facts by the documented faster loader: a backup of the
DuckDB dataset restored into PostgreSQL (`Store.restore`, the same rows, ids and audit log). Without
--pg-url a throwaway cluster is started (initdb + pg_ctl in a temp dir, as the tests do; the Debian
package `postgresql` must be installed) and stopped at the end.

Measured on each backend, in this one process:
- full status as of the last month (`status_from_store`), warm: median of --runs after one warm-up;
- on PostgreSQL also the cold start: the first snapshot of a process (the replica's full load);
- a run of --uploads consecutive single uploads (read + parse + `Store.submit`, each a new version),
  per file: median, p95, max; then the status right after one more upload (the replica's
  incremental refresh plus the status).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.datasets import CITY, STREET, Corrections, dataset, working_copy
from benchmarks.run import log, measure

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS-backends.md"


def _ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _fmt(s: dict) -> str:
    return f"{_ms(s['median'])} ({_ms(s['min'])}–{_ms(s['max'])})"


def bench_backend(name: str, location, plan, data, runs: int, uploads: int, work: Path) -> dict:
    from worktrack import store_pg
    from worktrack.intake import read_report
    from worktrack.progress import status_from_store
    from worktrack.store import Store

    out: dict = {}
    store = Store(location)
    as_of = plan.months[-1]
    if name == "postgresql":
        store_pg._replicas.clear()  # as in a freshly started server process
        started = time.perf_counter()
        status_from_store(plan, store, as_of)
        out["cold"] = time.perf_counter() - started
    log(f"[{data.scale.name}/{name}] status, warm")
    out["status"] = measure(lambda: status_from_store(plan, store, as_of), runs, 1)

    log(f"[{data.scale.name}/{name}] {uploads} consecutive single uploads")
    corrections = Corrections(plan)
    reporters = [i for i, u in enumerate(plan.units) if plan.template_rows(u.name)]
    directory = work / f"{data.scale.name}-{name}-uploads"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    per_file = []
    for k in range(uploads + 1):
        unit_index = reporters[k % len(reporters)]
        file_name, raw = corrections.report(unit_index, as_of, 500 + k)
        path = directory / file_name
        path.write_bytes(raw)
        started = time.perf_counter()
        data_raw = path.read_bytes()
        result = store.submit(read_report(data_raw, path.name, plan, uploader_unit=plan.units[unit_index].name),
                              data_raw, submitted_by="bench")
        elapsed = time.perf_counter() - started
        if result.status != "accepted":
            raise RuntimeError(f"upload refused: {result.message}")
        if k < uploads:
            per_file.append(elapsed)
        else:  # the last one: then the status as a dashboard reads it right after an upload
            started = time.perf_counter()
            status_from_store(plan, store, as_of)
            out["status_after_upload"] = time.perf_counter() - started
    ordered = sorted(per_file)
    out["upload"] = {"median": statistics.median(per_file), "p95": ordered[int(0.95 * (len(ordered) - 1))],
                     "max": ordered[-1], "count": len(per_file)}
    shutil.rmtree(directory, ignore_errors=True)
    return out


def load_into_postgresql(db_file: Path, url: str, work: Path) -> float:
    """The dataset's facts into PostgreSQL: backup of the DuckDB file, restore into the database."""
    from worktrack.store import Store

    backup = work / f"backup-{db_file.stem}"
    shutil.rmtree(backup, ignore_errors=True)
    started = time.perf_counter()
    Store(db_file).backup(backup)
    Store.restore(backup, url, force=True, actor="bench")
    elapsed = time.perf_counter() - started
    shutil.rmtree(backup, ignore_errors=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["street", "city", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--uploads", type=int, default=200, help="consecutive single uploads per backend")
    parser.add_argument("--pg-url", help="an existing PostgreSQL database (its tables are replaced)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from worktrack.plan import load_plan

    scratch_raw = None
    if not os.environ.get("WORKTRACK_RAW_DIR"):  # PostgreSQL's uploaded files: a scratch directory
        scratch_raw = tempfile.mkdtemp(prefix="worktrack-backends-raw-")
        os.environ["WORKTRACK_RAW_DIR"] = scratch_raw
    cluster = None
    if args.pg_url is None:
        from tests.pg import start_cluster

        cluster = start_cluster(durable=True)
    started_all = time.perf_counter()
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="worktrack-backends-") as scratch:
            work = Path(scratch)
            for scale in {"street": [STREET], "city": [CITY], "both": [STREET, CITY]}[args.scale]:
                data = dataset(scale, log=log)
                plan = load_plan(data.plan_path)
                if cluster is not None:
                    from tests.pg import fresh_database

                    url = fresh_database(cluster)
                else:
                    url = args.pg_url
                log(f"[{scale.name}] loading the dataset into PostgreSQL (backup + restore)")
                loaded = load_into_postgresql(data.db_path, url, work)
                duck = working_copy(data, work)
                results[scale.name] = {
                    "info": data.info, "load_seconds": loaded,
                    "duckdb": bench_backend("duckdb", duck, plan, data, args.runs, args.uploads, work),
                    "postgresql": bench_backend("postgresql", url, plan, data, args.runs, args.uploads, work),
                }
    finally:
        if cluster is not None:
            cluster.stop()
        if scratch_raw is not None:
            shutil.rmtree(scratch_raw, ignore_errors=True)
    args.output.write_text(render(results, time.perf_counter() - started_all, args), encoding="utf-8")
    log(f"wrote {args.output}")
    return 0


def render(results: dict, took: float, args: argparse.Namespace) -> str:
    import os

    import duckdb
    import psycopg

    lines = ["# Store backends: DuckDB file and PostgreSQL", "",
             "Generated by `.venv/bin/python -m benchmarks.backends`; what is measured: the module's docstring.", "",
             f"- Date: {dt.datetime.now():%Y-%m-%d %H:%M:%S} (took {took / 60:.1f} min); options: scale {args.scale}, "
             f"{args.runs} runs, {args.uploads} consecutive uploads",
             f"- Machine: {platform.machine()}, {os.cpu_count()} cores, load average at the end "
             f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine)",
             f"- Versions: duckdb {duckdb.__version__}, psycopg {psycopg.__version__}, "
             "PostgreSQL 15: a throwaway local cluster, default durability (fsync on)" if args.pg_url is None else
             f"- Versions: duckdb {duckdb.__version__}, psycopg {psycopg.__version__}, PostgreSQL: {args.pg_url}",
             "", "| measure | scale | DuckDB | PostgreSQL |", "|---|---|---|---|"]
    for scale, r in results.items():
        d, p = r["duckdb"], r["postgresql"]
        info = r["info"]
        label = f"{scale} ({info['units']} units × {info['months']} months, {info['files']:,} files)"
        lines += [
            f"| full status as of the last month, warm | {label} | {_fmt(d['status'])} | {_fmt(p['status'])} |",
            f"| first status of a new process (PostgreSQL: the replica's full load) | {scale} | — | {_ms(p['cold'])} |",
            f"| single upload (read + parse + submit), over {d['upload']['count']} consecutive | {scale} | "
            f"median {_ms(d['upload']['median'])}, p95 {_ms(d['upload']['p95'])}, max {_ms(d['upload']['max'])} | "
            f"median {_ms(p['upload']['median'])}, p95 {_ms(p['upload']['p95'])}, max {_ms(p['upload']['max'])} |",
            f"| status right after an upload (PostgreSQL: incremental refresh + status) | {scale} | "
            f"{_ms(d['status_after_upload'])} | {_ms(p['status_after_upload'])} |",
            f"| loading the dataset into PostgreSQL (backup + restore) | {scale} | — | {_ms(r['load_seconds'])} |",
        ]
    lines += ["", "Both backends hold the same facts; PostgreSQL's status is computed by the same DuckDB SQL over the "
              "in-process replica, so its warm figure is DuckDB's plus the data-version check (one round trip).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())



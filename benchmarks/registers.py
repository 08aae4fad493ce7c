"""Register timings: a first cut (`main`: one full register, counting and duplicates over synthetic
rows) and, in `benchmarks.run`, register intake and de-duplication at city scale (`bench_registers`):
1,000 units each file a 300-row help register (~300,000 rows, people drawn from a pool of 250,000,
so many are registered by more than one unit) through the real path (`read_register`,
`Store.submit_register`) into a copy of the city database; then the counts, the duplicates and the
full status with registers against the same status without them.

    .venv/bin/python -m benchmarks.registers            # the first cut
    .venv/bin/python -m benchmarks.registers --city     # the city-scale register figures alone
"""

from __future__ import annotations

import pathlib
import random
import statistics
import tempfile
import time

import duckdb

from worktrack.config import DEFAULT_PLAN
from worktrack.plan import load_plan
from worktrack.registers import detect_kind, read_register
from worktrack.registers.counts import counted_monthly_values, duplicates, register_figures
from worktrack.registers.identity import _CHECK_CHARACTERS, _WEIGHTS
from worktrack.store import Store

ROWS, UNITS, PEOPLE = 300_000, 1_000, 250_000


def _valid(body: str) -> str:
    return body + _CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    plan = load_plan(DEFAULT_PLAN)
    rnd = random.Random(1)
    ids = list(dict.fromkeys(_valid(f"430103{1930 + rnd.randrange(60)}{1 + rnd.randrange(12):02d}"
                                    f"{1 + rnd.randrange(28):02d}{rnd.randrange(1000):03d}") for _ in range(21_000)))
    lines = ["上报单位,月份,姓名,身份证号,帮扶类别,帮扶金额（元）,服务内容,帮扶日期,基金项目,备注"]
    lines += [f"天剑社区,2023-06,张三{i % 10},{n},助困,100,,2023-06-{1 + i % 28:02d},微心愿," for i, n in enumerate(ids[:19_990])]
    data = ("\n".join(lines) + "\n").encode()
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        kind = detect_kind(data, "h.csv", plan)
        detected = time.perf_counter() - start
        report = read_register(data, "h.csv", plan, kind, key=b"k" * 32)
        read = time.perf_counter() - start - detected
        store = Store(pathlib.Path(directory) / "one.duckdb")
        start = time.perf_counter()
        result = store.submit_register(report, data, submitted_by="bench")
        stored = time.perf_counter() - start
        print(f"19,990-row register ({len(data) / 1e6:.1f} MB): detect_kind {detected:.2f} s, read_register {read:.2f} s, "
              f"submit_register {stored:.2f} s ({result.status}, {result.counted} counted)")

        path = pathlib.Path(directory) / "city.duckdb"
        Store(path)
        with duckdb.connect(str(path)) as con:  # synthetic rows in the store's shape, written directly
            con.execute(f"""INSERT INTO register_uploads SELECT i, 'help_register', 'unit' || i, '2023-06', 1, 'f.csv',
                            'x', 1, now(), 'bench', {ROWS // UNITS}, 'active', NULL, false, '' FROM range({UNITS}) t(i)""")
            con.execute(f"""INSERT INTO register_rows SELECT i // {ROWS // UNITS}, 'help_register',
                            'unit' || (i // {ROWS // UNITS}), '2023-06', i % {ROWS // UNITS} + 2,
                            md5((hash(i) % {PEOPLE})::VARCHAR), '4301**********1234', '张三', '张*', '助困',
                            DATE '2023-01-01' + (hash(i * 7) % 180)::INTEGER, 100.0, NULL, '{{}}' FROM range({ROWS}) t(i)""")
        city = Store(path)
        with city.snapshot() as reader:
            figures_ms = _median_ms(lambda: register_figures(plan, reader))
            monthly_ms = _median_ms(lambda: counted_monthly_values(plan, reader, "2023-12"))
        rows = city.register_rows()
        start = time.perf_counter()
        listed = duplicates(plan, rows)
        print(f"{ROWS:,} rows from {UNITS:,} units: register_figures {figures_ms:.0f} ms, counted_monthly_values "
              f"{monthly_ms:.0f} ms (medians of 5), duplicates {time.perf_counter() - start:.2f} s ({len(listed):,} listed)")


REGISTER_ROWS_PER_UNIT = 300


def register_files(plan, units: list[str], month: str, directory: pathlib.Path, *, rows_per_unit: int = REGISTER_ROWS_PER_UNIT,
                   people: int = PEOPLE, seed: int = 7) -> list[tuple[pathlib.Path, str]]:
    """One help register per unit for `month` (CSV as the template writes it), people from a shared pool."""
    rnd = random.Random(seed)
    metric = plan.metric_for_register("help_register")
    categories = plan.categories(metric.id) if metric is not None else ("助困",)
    pool = list(dict.fromkeys(_valid(f"43{rnd.randrange(10_000):04d}{1930 + rnd.randrange(80)}{1 + rnd.randrange(12):02d}"
                                     f"{1 + rnd.randrange(28):02d}{rnd.randrange(1000):03d}")
                              for _ in range(int(people * 1.02))))[:people]
    header = "上报单位,月份,姓名,身份证号,帮扶类别,帮扶金额（元）,服务内容,帮扶日期,基金项目,备注"
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for index, unit in enumerate(units):
        lines = [header]
        for n, number in enumerate(rnd.sample(pool, rows_per_unit)):
            lines.append(f"{unit},{month},居民{n % 97},{number},{categories[n % len(categories)]},{100 + n % 9 * 50},,"
                         f"{month}-{1 + n % 28:02d},微心愿,")
        path = directory / f"help_{index:04d}.csv"
        path.write_bytes(("\n".join(lines) + "\n").encode())
        files.append((path, unit))
    return files


def bench_registers(data, runs: int, warmup: int, work: pathlib.Path, log=print) -> dict:
    """Register intake and de-duplication on a copy of a dataset's database (see the module docstring)."""
    from benchmarks.datasets import working_copy
    from worktrack.progress import status_from_store

    plan = load_plan(data.plan_path)
    store = Store(working_copy(data, work / "registers"))
    as_of = plan.months[-1]
    units = [u.name for u in plan.units]
    key = b"k" * 32

    def measured(fn) -> dict:
        times = []
        for n in range(warmup + runs):
            start = time.perf_counter()
            fn()
            if n >= warmup:
                times.append(time.perf_counter() - start)
        return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": len(times)}

    out: dict = {"units": len(units), "rows_per_unit": REGISTER_ROWS_PER_UNIT, "people": PEOPLE, "as_of": as_of}
    log(f"[registers] status without registers ({len(units)} units)")
    out["status_without"] = measured(lambda: status_from_store(plan, store, as_of))
    files = register_files(plan, units, as_of, work / "register-files")
    log(f"[registers] intake of {len(files)} register files, one transaction each")
    parses, submits, counted, already, elsewhere = [], [], 0, 0, 0
    started = time.perf_counter()
    for path, unit in files:
        raw = path.read_bytes()
        t0 = time.perf_counter()
        report = read_register(raw, path.name, plan, "help_register", key=key, uploader_unit=unit)
        t1 = time.perf_counter()
        result = store.submit_register(report, raw, submitted_by="bench")
        t2 = time.perf_counter()
        if result.status != "accepted":
            raise RuntimeError(f"register {path.name} not accepted: {result.message} {report.errors[:2]}")
        parses.append(t1 - t0)
        submits.append(t2 - t1)
        counted += result.counted
        already += result.already_counted
        elsewhere += len(result.counted_elsewhere)
    out["intake_seconds"] = time.perf_counter() - started
    out["rows"] = sum(len(path.read_bytes().splitlines()) - 1 for path, _ in files)
    out["parse"] = _spread(parses)
    out["submit"] = _spread(submits)
    out["receipts"] = {"counted": counted, "already_counted": already, "counted_elsewhere": elsewhere}
    log("[registers] counts, duplicates and status with registers")
    with store.snapshot() as reader:
        out["figures"] = measured(lambda: register_figures(plan, reader, as_of))
        out["counted_monthly_values"] = measured(lambda: counted_monthly_values(plan, reader, as_of))
    rows = store.register_rows()
    out["register_rows_read"] = measured(lambda: store.register_rows())
    out["duplicates"] = measured(lambda: duplicates(plan, rows))
    out["duplicates_listed"] = len(duplicates(plan, rows))
    out["status_with"] = measured(lambda: status_from_store(plan, store, as_of))
    return out


def _spread(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))], "max": ordered[-1],
            "total": sum(ordered), "count": len(ordered)}


def render_registers(entry: dict | None, ms, timing) -> list[str]:
    """The RESULTS.md section of `bench_registers`."""
    lines = ["", "## Registers at city scale", ""]
    if not entry:
        return lines + ["Not measured (quick run)."]
    spread = lambda s: f"median {ms(s['median'])}, p95 {ms(s['p95'])}, max {ms(s['max'])}"  # noqa: E731
    receipts = entry["receipts"]
    lines += [
        f"{entry['units']:,} units each file a {entry['rows_per_unit']}-row help register for {entry['as_of']} "
        f"({entry['rows']:,} rows; people drawn from a pool of {entry['people']:,}) through `read_register` and "
        "`Store.submit_register`, one transaction per file, into a copy of the city database.", "",
        "| measure | time |", "|---|---|",
        f"| intake of all files (read + check + store, one transaction each) | {entry['intake_seconds']:,.1f} s |",
        f"|   per file: `read_register` (300 rows, ID checks, keyed hashes) | {spread(entry['parse'])} |",
        f"|   per file: `Store.submit_register` (receipt against every earlier row, commit) | {spread(entry['submit'])} |",
        f"| counts once per person (`register_figures`) | {timing(entry['figures'])} |",
        f"| monthly values with registers (`counted_monthly_values`) | {timing(entry['counted_monthly_values'])} |",
        f"| read every register row (`Store.register_rows`) | {timing(entry['register_rows_read'])} |",
        f"| cross-unit duplicates (`counts.duplicates`, {entry['duplicates_listed']:,} listed) | "
        f"{timing(entry['duplicates'])} |",
        f"| full status without registers | {timing(entry['status_without'])} |",
        f"| full status with registers (target ≤ 200 ms, as without) | {timing(entry['status_with'])} |",
        "",
        f"Receipts: {receipts['counted']:,} people counted new, {receipts['counted_elsewhere']:,} already registered "
        f"by another unit (listed as duplicates), {receipts['already_counted']:,} already counted by the same unit.",
    ]
    return lines


def city_main() -> None:
    """The city-scale register figures alone (builds the city dataset the first time, ~10 minutes)."""
    import json

    from benchmarks.datasets import CITY, OUT, dataset
    from benchmarks.run import ms, timing

    work = OUT / "work-registers"
    work.mkdir(parents=True, exist_ok=True)
    entry = bench_registers(dataset(CITY), 5, 1, work)
    (OUT / "registers.json").write_text(json.dumps(entry, indent=2), encoding="utf-8")
    print("\n".join(render_registers(entry, ms, timing)))


if __name__ == "__main__":
    import sys

    city_main() if "--city" in sys.argv[1:] else main()

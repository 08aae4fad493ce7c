"""Register timings (a first cut, not yet part of benchmarks.run): reading and storing one full register,
counting and listing duplicates over ~300,000 register rows from 1,000 units.

    .venv/bin/python -m benchmarks.registers
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


if __name__ == "__main__":
    main()

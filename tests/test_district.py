"""The district roll-up: every plan's headline targets from one pass equal each plan's own status."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from worktrack.district import ROLLUP_COLUMNS, headline_targets, rollup
from worktrack.intake import read_report
from worktrack.plan import load_plan
from worktrack.progress import status_from_store
from worktrack.store import Store

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "targets.yaml"
EXAMPLE = ROOT / "examples" / "qingshuiwan-2024" / "targets.yaml"


def report_bytes(plan, unit: str, month: str, rng: random.Random) -> bytes:
    """A monthly report as a unit uploads it: every template row, figures drawn from rng, some blank."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["上报单位", "月份", "编号", "事项", "计量单位", "本月数值", "分类", "备注"])
    denominators = {m.denominator for m in plan.metrics.values() if m.is_rate}  # a rate's parts: below 100 %
    for row in plan.template_rows(unit):
        if row.kind == "task":
            value = rng.choice(["进行中", "已完成", "未启动"])
        elif row.item in denominators:
            value = str(rng.randint(50, 90))
        else:
            value = "" if rng.random() < 0.1 else str(rng.randint(0, 40))
        writer.writerow([unit, month, row.item, row.name, row.measure, value, row.category, ""])
    return buf.getvalue().encode("utf-8")


def submit(store: Store, plan, unit: str, month: str, rng: random.Random) -> int:
    data = report_bytes(plan, unit, month, rng)
    report = read_report(data, f"{unit}-{month}.csv", plan, uploader_unit=unit)
    assert report.ok, [f.message for f in report.errors]
    result = store.submit(report, data, submitted_by="t", confirm=True)
    assert result.accepted, result.message
    return result.upload_id


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    """Three plans in one database through the real intake path: the shipped plan, the example plan,
    and the shipped plan again under another id (the same unit names: only plan_id keeps them apart).
    Most first versions approved, a few returned, corrections pending; the last month partly filed."""
    root = tmp_path_factory.mktemp("district")
    copy_path = root / "copy.yaml"
    copy_path.write_text(SHIPPED.read_text(encoding="utf-8").replace("id: jinpenling-2023", "id: jinpenling-copy", 1)
                         .replace("title: 金盆岭", "title: 复制的金盆岭", 1), encoding="utf-8")
    plans = [load_plan(SHIPPED), load_plan(EXAMPLE), load_plan(copy_path)]
    assert len({p.id for p in plans}) == 3
    store = Store(root / "district.duckdb")
    rng = random.Random(17)
    for plan in plans:
        last = plan.months[5]
        for month in plan.months[:6]:
            for unit in plan.units:
                if not plan.template_rows(unit.name) or (month == last and rng.random() < 0.3):
                    continue
                first = submit(store, plan, unit.name, month, rng)
                draw = rng.random()
                if draw < 0.75:
                    store.review(first, "approved", actor="reviewer")
                elif draw < 0.85:
                    store.review(first, "returned", actor="reviewer", reason="数字不对")
                if rng.random() < 0.15:  # a correction waiting for review
                    submit(store, plan, unit.name, month, rng)
    return plans, store


def street_rows(plan, store, as_of, approved_only):
    targets = status_from_store(plan, store, as_of, approved_only=approved_only).targets
    wanted = headline_targets(plan)
    chosen = targets[targets["target_id"].isin(wanted)]
    return chosen.set_index("target_id").loc[wanted]


@pytest.mark.parametrize("approved_only", [False, True])
def test_rollup_rows_equal_each_plans_status_street_targets(district, approved_only):
    plans, store = district
    for step in (2, 5):
        frames = {}
        for plan in plans:
            frames[plan.id] = (plan.months[step], rollup([plan], store, plan.months[step], approved_only))
        for plan in plans:
            as_of, rows = frames[plan.id]
            rows = rows.set_index("target_id")
            expected = street_rows(plan, store, as_of, approved_only)
            assert list(rows.index) == list(expected.index) and len(rows) >= 2
            assert (rows["plan_id"] == plan.id).all() and (rows["plan_title"] == plan.title).all()
            for column in ("actual", "target", "expected", "percent"):
                np.testing.assert_allclose(rows[column].to_numpy(float), expected[column].to_numpy(float),
                                           rtol=1e-12, equal_nan=True, err_msg=f"{plan.id} {column} {as_of}")
            assert rows["status"].tolist() == expected["status"].tolist()
            assert rows["pending"].tolist() == expected["pending"].tolist()
            assert rows["metric"].tolist() == expected["metric"].tolist()


def test_rollup_of_every_plan_in_one_call_equals_one_plan_at_a_time(district):
    plans, store = district
    # the shipped plan and its copy share months: one call for both, with an as-of month of theirs
    pair = [plans[0], plans[2]]
    as_of = plans[0].months[5]
    together = rollup(pair, store, as_of)
    alone = pd.concat([rollup([p], store, as_of) for p in pair], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone)
    assert list(together.columns) == ROLLUP_COLUMNS
    assert together["plan_id"].unique().tolist() == [plans[0].id, plans[2].id]
    # the two plans hold the same unit names but their own reports: their figures differ
    first, copy = (together[together["plan_id"] == p.id].set_index("target_id")["actual"] for p in pair)
    assert (first > 0).any() and not np.allclose(first.to_numpy(), copy.to_numpy())


def test_rollup_approved_only_differs_where_reports_wait_for_review(district):
    plans, store = district
    plan = plans[0]
    as_of = plan.months[5]
    active = rollup([plan], store, as_of)
    approved = rollup([plan], store, as_of, approved_only=True)
    assert not np.allclose(active["actual"].to_numpy(), approved["actual"].to_numpy())


def test_rollup_of_a_plan_with_no_reports_is_its_targets_not_started(tmp_path):
    plan = load_plan(SHIPPED)
    store = Store(tmp_path / "empty.duckdb")
    rows = rollup([plan], store, plan.months[0]).set_index("target_id")
    expected = street_rows(plan, store, plan.months[0], False)
    assert (rows["actual"] == 0).all()
    assert rows["status"].tolist() == expected["status"].tolist()


@pytest.mark.parametrize("approved_only", [False, True])
def test_rollup_counts_a_units_register_in_place_of_its_typed_totals(db_path, plan, approved_only):
    from tests.test_registers_counts import file_register, file_typed_total

    store = Store(db_path)
    metric = plan.metric_for_register("retrofit_register").id
    assert metric in plan.display.featured
    file_typed_total(store, plan, "天剑社区", "2023-06", metric, 5)
    file_typed_total(store, plan, "涂新社区", "2023-06", metric, 3)
    file_register(store, plan, "retrofit_2023-06.csv")
    file_register(store, plan, "retrofit_2023-07.csv")
    if approved_only:
        for upload_id in store.uploads()["upload_id"]:
            store.review(int(upload_id), "approved", actor="reviewer")
    rows = rollup([plan], store, "2023-07", approved_only).set_index("target_id")
    expected = street_rows(plan, store, "2023-07", approved_only)
    street = expected[expected["metric"] == metric]
    # 天剑's register replaces its typed 5 (typed alone: 5 + 3); approved-only counts the register only
    # in the months whose monthly report is approved (2023-06 here)
    assert len(street) == 1 and street["actual"].iloc[0] == (5 if approved_only else 7)
    assert rows.loc[street.index, "actual"].tolist() == [5.0 if approved_only else 7.0]
    assert rows["status"].tolist() == expected["status"].tolist()
    np.testing.assert_allclose(rows["actual"].to_numpy(float), expected["actual"].to_numpy(float))

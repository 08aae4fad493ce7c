"""A second plan: a fictional street's 2024 plan with every kind of target (examples/qingshuiwan-2024).

The plan model, the progress rules of each kind, the generated demo data, every page and the meeting
pack are exercised on it, so nothing in the product depends on the shipped plan's ids.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest

from tests.apptest import dashboard
from tests.conftest import ROOT
from worktrack.auth import User
from worktrack.plan import check_plan, load_plan
from worktrack.progress import compute_status, metric_months, status_from_store
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]

EXAMPLE = ROOT / "examples" / "qingshuiwan-2024" / "targets.yaml"
LEADER = User("lead", "王领导", "leader")


@pytest.fixture(scope="module")
def example():
    return load_plan(EXAMPLE)


@pytest.fixture(scope="module")
def example_db(tmp_path_factory, example):
    from worktrack.demo import load_demo

    root = tmp_path_factory.mktemp("example")
    path = root / "example_demo.duckdb"
    load_demo(example, Store(path), "2024-09", root / "samples")
    return path


def monthly(*rows):
    return pd.DataFrame(rows, columns=["reporting_unit", "item", "month", "value"])


def row_of(report, target_id):
    return report.targets.set_index("target_id").loc[target_id]


def test_the_example_plan_is_valid_and_has_every_kind(example):
    plan, issues = check_plan(EXAMPLE)
    assert plan is not None and not [i for i in issues if i.severity == "error"]
    assert {t.kind for t in example.targets} == {"cumulative", "every_period", "level", "ceiling", "stock"}
    assert {t.cadence for t in example.targets if t.kind == "every_period"} == {"month", "quarter", "half_year"}
    assert len(example.communities) == 8


def test_plan_check_explains_every_kind(capsys):
    from worktrack.cli import main

    assert main(["--plan", str(EXAMPLE), "plan", "check"]) == 0
    out = capsys.readouterr().out
    for words in ("累计目标", "每期任务", "每季度", "每半年", "水平（比率）目标", "控制类目标", "存量目标"):
        assert words in out


BROKEN = [
    ("ceiling with pace", "kind: ceiling, value: 60,", "kind: ceiling, value: 60, pace: linear,", "pace",
     "不按进度摊派"),
    ("rate above 100%", "kind: level, opening: 80, value: 95,", "kind: level, opening: 80, value: 120,", "value",
     "超过 100%"),
    ("quarter with a monthly deadline", "cadence: quarter, value: 1, deadline: 2024年全年",
     "cadence: quarter, value: 1, deadline: 2024年5月", "deadline", "季度末"),
    ("stock without opening", "kind: stock, opening: 16000, value: 20000,", "kind: stock, value: 20000,",
     "opening", "必须写 opening"),
    ("cadence on a cumulative target", "kind: cumulative, value: 40,", "kind: cumulative, cadence: month, value: 40,",
     "cadence", "只有每期任务"),
    ("period contradicting kind", "kind: stock, opening: 16000,", "kind: stock, period: month, opening: 16000,",
     "period", "矛盾"),
    ("rate's denominator not a metric", "denominator: total_households", "denominator: all_households",
     "denominator", "分母指标“all_households”在 metrics 里找不到"),
    ("rate's numerator itself", "numerator: sorted_households", "numerator: sorting_coverage", "numerator",
     "分子指标“sorting_coverage”在 metrics 里找不到"),
    ("rate not in percent", 'measure: "%"', 'measure: "户"', "measure", "计量单位必须是 %"),
    ("rate with a cumulative target", "kind: level, opening: 80, value: 95,", "kind: cumulative, value: 95,", "kind",
     "只能是水平目标"),
]


@pytest.mark.parametrize(("case", "old", "new", "field", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_contradictory_kinds_are_refused_with_file_and_line(tmp_path, case, old, new, field, message):
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text, case
    broken = tmp_path / "targets.yaml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    plan, issues = check_plan(broken)
    errors = [i for i in issues if i.severity == "error"]
    assert plan is None and errors, case
    line = next(n for n, content in enumerate(broken.read_text(encoding="utf-8").splitlines(), start=1)
                if new.split(",")[0] in content and new in content)
    assert any(message in e.message and e.line == line and field in e.field for e in errors), \
        [e.render() for e in errors]


# ---------------------------------------------------------------------------
# The rules of each kind, on hand-made figures


def test_stock_counts_from_its_opening_balance(example):
    data = monthly(*[(u.name, "registered_volunteers", "2024-03", 50) for u in example.communities])
    row = row_of(compute_status(example, data, None, None, "2024-03"), "registered_volunteers:street")
    assert row["actual"] == 16_000 + 400
    assert row["expected"] == pytest.approx(16_000 + 4_000 * 3 / 12)
    # judged on what was added (400 of the 1,000 due by March), not on 16,400 against 17,000
    assert row["status"] == "behind" and row["kind"] == "stock"
    more = monthly(*[(u.name, "registered_volunteers", "2024-03", 110) for u in example.communities])
    assert row_of(compute_status(example, more, None, None, "2024-03"), "registered_volunteers:street")["status"] \
        == "at_risk"


def test_a_level_is_the_latest_figure_not_a_sum(example):
    sorted_, total = "sorted_households", "total_households"
    data = monthly(*[(u.name, sorted_, "2024-01", 85) for u in example.communities],
                   *[(u.name, total, "2024-01", 100) for u in example.communities],
                   *[(u.name, sorted_, "2024-02", 90) for u in example.communities],
                   *[(u.name, total, "2024-02", 100) for u in example.communities])
    row = row_of(compute_status(example, data, None, None, "2024-03"), "sorting_coverage:street")
    assert row["actual"] == pytest.approx(90)  # the latest month's figures, not the months added up
    assert row["expected"] == pytest.approx(80 + 15 * 3 / 12)
    assert row["status"] == "on_track" and pd.isna(row["forecast"])


def test_a_rate_is_computed_from_its_two_figures_and_the_street_from_the_totals(example, tmp_path):
    from worktrack.demo import load_demo

    first, second = (u.name for u in example.communities[:2])
    data = monthly((first, "sorted_households", "2024-01", 80), (first, "total_households", "2024-01", 100),
                   (first, "sorted_households", "2024-02", 90), (first, "total_households", "2024-02", 100),
                   (second, "sorted_households", "2024-02", 100), (second, "total_households", "2024-02", 400),
                   (second, "sorting_coverage", "2024-02", 99))  # a typed rate is not the rate: computed instead
    report = compute_status(example, data, None, None, "2024-03")
    row = row_of(report, "sorting_coverage:street")
    # (90 + 100) / (100 + 400): the households added up, not the mean of 90% and 25% (57.5%)
    assert row["actual"] == pytest.approx(38.0)
    assert (row["rate_numerator"], row["rate_denominator"]) == (190, 500)
    # the card, and so the overview and the meeting deck, say which two figures the rate comes from
    from worktrack import export
    from worktrack.views import headline_cards

    for lang, words in (("zh", "已分类户数 190户／总户数 500户"), ("en", "Households sorting 190 households / "
                                                                   "Households 500 households")):
        card = next(c for c in headline_cards(report, lang) if c.metric == "sorting_coverage")
        assert card.detail == words, card.detail
        texts = [str(v) for slide in export.slide_deck(example, report, lang=lang) for v in vars(slide).values()]
        assert any(words in text for text in texts), lang
    # each unit's rate month by month, as the charts read it
    assert metric_months(example, data, "sorting_coverage", "2024-02", unit=first).tolist() == [80.0, 90.0]
    assert metric_months(example, data, "sorting_coverage", "2024-02", unit=second).tolist() == [0.0, 25.0]
    # the same through the store's code path: the demo's two figures give the computed rate
    store = Store(tmp_path / "rate.duckdb")
    load_demo(example, store, "2024-03", tmp_path / "samples")
    assert "sorting_coverage" not in set(store.monthly_values()["item"])  # the template asks for the two figures
    for approved_only in (False, True):  # (approved-only: the months under review are not read)
        facts = store.monthly_values("2024-03", approved_only)
        parts = facts[facts["item"].isin(["sorted_households", "total_households"])]
        latest = parts[parts["month"] == parts.groupby("reporting_unit")["month"].transform("max")]
        latest = latest.pivot_table(index="reporting_unit", columns="item", values="value")
        expected = 100 * latest["sorted_households"].sum() / latest["total_households"].sum()
        row = row_of(status_from_store(example, store, "2024-03", approved_only=approved_only),
                     "sorting_coverage:street")
        assert row["actual"] == pytest.approx(expected) and 80 < row["actual"] <= 100


def rate_file(unit: str, sorted_households, total_households, extra: str = "") -> bytes:
    return (f"上报单位,月份,编号,本月数值,分类,备注\n{unit},2024-05,sorted_households,{sorted_households},,\n"
            f"{unit},2024-05,total_households,{total_households},,\n{extra}").encode()


@pytest.mark.parametrize(("case", "sorted_households", "total_households", "expected"), [
    ("numerator above denominator", 1200, 1000, [("constraint-error", 2, "本月数值")]),
    ("denominator 0", 5, 0, [("constraint-error", 3, "本月数值")]),
    ("both 0", 0, 0, []),
    ("numerator equal to denominator", 1000, 1000, []),
])
def test_a_rates_two_figures_are_checked_against_each_other(example, case, sorted_households, total_households,
                                                             expected):
    from worktrack.intake import read_report

    unit = example.communities[0].name
    report = read_report(rate_file(unit, sorted_households, total_households), "r.csv", example)
    assert report.flat() == expected, case
    for finding in report.errors:
        assert "总户数" in finding.message and "请" in finding.message  # names both figures and says what to do


def test_a_computed_rate_is_not_a_template_row_and_cannot_be_typed(example):
    from worktrack.intake import read_report

    unit = example.communities[0].name
    items = [row.item for row in example.template_rows(unit)]
    assert "sorted_households" in items and "total_households" in items and "sorting_coverage" not in items
    typed = read_report(rate_file(unit, 900, 1000, f"{unit},2024-05,sorting_coverage,90,,\n"), "r.csv", example)
    assert typed.flat() == [("item-not-reported", 4, "编号")]


def test_a_ceiling_turns_bad_when_passed(example):
    office = "街道社会事务办"
    within = monthly((office, "petitions", "2024-01", 3), (office, "petitions", "2024-02", 4))
    row = row_of(compute_status(example, within, None, None, "2024-02"), "petitions:street")
    assert (row["actual"], row["expected"], row["status"]) == (7, 10, "on_track")
    assert row["gap"] == -3  # positive gap = short of the goal: here 3 below the pro-rata ceiling
    above = monthly((office, "petitions", "2024-01", 9), (office, "petitions", "2024-02", 4))
    assert row_of(compute_status(example, above, None, None, "2024-02"), "petitions:street")["status"] == "at_risk"
    over = monthly((office, "petitions", "2024-01", 61))
    assert row_of(compute_status(example, over, None, None, "2024-02"), "petitions:street")["status"] == "exceeded"
    zero = monthly((office, "safety_incidents", "2024-05", 1))
    report = compute_status(example, zero, None, None, "2024-06")
    assert row_of(report, "safety_incidents:street")["status"] == "exceeded"
    assert "exceeded" in set(report.status_counts())
    clean = compute_status(example, None, None, None, "2025-01")
    assert row_of(clean, "safety_incidents:street")["status"] == "done"  # the year passed without one


def test_a_quarterly_duty_is_judged_per_quarter(example):
    data = monthly(("东山社区", "residents_councils", "2024-02", 1), ("东山社区", "residents_councils", "2024-04", 0))
    report = compute_status(example, data, None, None, "2024-05")
    row = row_of(report, "residents_councils:dongshan")
    assert (row["months_due"], row["months_met"], row["month_state"]) == (1, 1, "open")  # Q2 still running
    ob = report.obligations[report.obligations["target_id"] == "residents_councils:dongshan"]
    assert ob[["month", "met"]].values.tolist() == [["2024-03", True]]
    later = compute_status(example, data, None, None, "2024-06")
    row = row_of(later, "residents_councils:dongshan")
    assert (row["months_due"], row["months_met"], row["month_state"]) == (2, 1, "missed")  # April's 0 is a report
    silent = compute_status(example, data.iloc[:1], None, None, "2024-06")
    assert row_of(silent, "residents_councils:dongshan")["month_state"] == "not_reported"


# ---------------------------------------------------------------------------
# The product on the example plan


def test_demo_data_for_any_plan_goes_through_the_real_intake(example, example_db):
    report = status_from_store(example, Store(example_db), "2024-09")
    assert report.reporting["received"].all()
    statuses = set(report.yearly["status"])
    assert statuses & {"on_track", "done"} and len(report.monthly)
    assert row_of(report, "registered_volunteers:street")["actual"] > 16_000


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/plan.py", "pages/community.py", "pages/meeting.py"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_runs_on_the_example_plan(example_db, accounts, monkeypatch, page, lang):
    monkeypatch.setenv("WORKTRACK_DB", str(example_db))
    monkeypatch.setenv("WORKTRACK_PLAN", str(EXAMPLE))
    at = dashboard(LEADER, page, lang, as_of="2024-09")
    assert not at.exception
    if page == "pages/overview.py":
        names = [m.label for m in at.metric]
        assert names == (["适老化改造", "注册志愿者", "垃圾分类覆盖率", "信访总量", "居民议事会"] if lang == "zh"
                         else ["Home retrofits", "Volunteers", "Waste sorting", "Petitions", "Residents' councils"])


def test_the_meeting_pack_builds_for_the_example_plan(example, example_db):
    from openpyxl import load_workbook

    from worktrack import export

    report = status_from_store(example, Store(example_db), "2024-09")
    for lang in ("zh", "en"):
        deck = export.slide_deck(example, report, lang=lang)
        assert deck[0].title == example.title and any(s.kind == "matrix" for s in deck)
        assert export.pptx_bytes(example, report, lang=lang, slides=deck)[:2] == b"PK"
        book = load_workbook(io.BytesIO(export.xlsx_bytes(example, report, Store(example_db).facts(), lang=lang)))
        assert len(book.sheetnames) == 9


def test_the_example_plan_is_under_examples_only(example):
    assert Path(EXAMPLE).is_file() and example.id != load_plan(ROOT / "targets.yaml").id
    assert dt.date(2024, 1, 1) <= example.issue_date < dt.date(2025, 1, 1)


# ---------------------------------------------------------------------------
# Amendments, carried-over items, and what changed between two plan files


def test_an_amendment_counts_from_its_month(example):
    target = next(t for t in example.targets if t.id == "home_retrofits:nanhu")
    assert target.value == 5 and target.history[0][:2] == ("2024-07", 3)
    data = monthly(("南湖社区", "home_retrofits", "2024-03", 2))
    before = row_of(compute_status(example, data, None, None, "2024-06"), "home_retrofits:nanhu")
    after = row_of(compute_status(example, data, None, None, "2024-07"), "home_retrofits:nanhu")
    assert (before["target"], before["expected"]) == (5, pytest.approx(5 * 6 / 12))
    assert (after["target"], after["expected"], after["original_target"]) == (3, pytest.approx(3 * 7 / 12), 5)
    from worktrack.progress import trajectory

    path = trajectory(example, data, "home_retrofits:nanhu", "2024-09").set_index("month")
    assert path.loc["2024-06", "expected_cumulative"] == pytest.approx(2.5)
    assert path.loc["2024-07", "expected_cumulative"] == pytest.approx(3 * 7 / 12)


def test_the_plan_page_shows_the_amendment_and_the_carried_over_item(example_db, accounts, monkeypatch):
    monkeypatch.setenv("WORKTRACK_DB", str(example_db))
    monkeypatch.setenv("WORKTRACK_PLAN", str(EXAMPLE))
    at = dashboard(LEADER, "pages/plan.py", "zh", as_of="2024-09")
    table = next(df.value for df in at.dataframe if "年中调整" in df.value.columns)
    amended = table[table["年中调整"] != ""]
    assert len(amended) == 1 and "2024年7月起 5户 → 3户" in amended["年中调整"].iloc[0]
    assert any("由上年转入：二(二)1 楼栋议事制度试点" in i.value for i in at.info)


def test_plan_diff_lists_what_changed(tmp_path, capsys):
    from worktrack.cli import main

    text = EXAMPLE.read_text(encoding="utf-8")
    changed = (text.replace("全年信访总量控制在60件以内。", "全年信访总量控制在50件以内。")
               .replace("kind: ceiling, value: 60,", "kind: ceiling, value: 50,"))
    new = tmp_path / "new.yaml"
    new.write_text(changed, encoding="utf-8")
    assert main(["plan", "diff", str(EXAMPLE), str(new), "--json"]) == 0
    import json

    changes = json.loads(capsys.readouterr().out)["changes"]
    kinds = {(c["what"], c["change"], c["id"]) for c in changes}
    assert ("target", "changed", "petitions:street") in kinds
    assert ("item", "changed", "C-2") in kinds  # its text changed
    petitions = next(c for c in changes if c["id"] == "petitions:street")
    assert petitions["fields"]["value"] == [60, 50]
    assert main(["plan", "diff", str(EXAMPLE), str(new)]) == 0
    out = capsys.readouterr().out
    assert "修改目标：信访总量 · 全街道（value: 60 → 50）" in out
    assert main(["plan", "diff", str(EXAMPLE), str(EXAMPLE)]) == 0
    assert "没有不同" in capsys.readouterr().out


def test_a_milestone_is_overdue_after_its_date_unless_done(example):
    steps = [i for i in example.items.values() if i.parent == "A-1"]
    assert [s.deadline.isoformat() for s in steps] == ["2024-03-31", "2024-11-30"]
    tasks = pd.DataFrame([("东山社区", steps[0].id, "2024-03", "已完成", ""), ("西山社区", steps[0].id, "2024-03", "进行中", "")],
                         columns=["reporting_unit", "item", "month", "status", "note"])
    report = compute_status(example, None, tasks, None, "2024-04")
    rows = report.tasks[report.tasks["item_id"] == steps[0].id].set_index("reporting_unit")
    assert not rows.loc["东山社区", "overdue"] and rows.loc["西山社区", "overdue"]
    assert not report.tasks[report.tasks["item_id"] == steps[1].id]["overdue"].any()


# ---------------------------------------------------------------------------
# Several plans in one database: the 2023 plan's demo story and the example 2024 plan's demo


@pytest.fixture(scope="module")
def both_plans_db(tmp_path_factory, example):
    from worktrack.demo import load_demo

    root = tmp_path_factory.mktemp("two-plans")
    path = root / "both.duckdb"
    load_demo(load_plan(ROOT / "targets.yaml"), Store(path), "2023-10", root / "samples-2023")
    load_demo(example, Store(path), "2024-09", root / "samples-2024")
    return path


def frames(report):
    return {name: getattr(report, name).reset_index(drop=True)
            for name in ("targets", "reporting", "tasks", "obligations", "monthly")}


@pytest.mark.parametrize("approved_only", [True, False])
def test_each_plan_in_a_shared_database_has_the_status_of_a_database_of_its_own(
        both_plans_db, example_db, demo_db, example, plan, approved_only):
    # as_of None: the latest month with reports, which must be the plan's own latest month
    cases = [(example, example_db, "2024-09"), (plan, demo_db, "2023-10"), (plan, demo_db, "2023-06"),
             (plan, demo_db, None), (example, example_db, None)]
    for one, alone, as_of in cases:
        shared = frames(status_from_store(one, Store(both_plans_db), as_of, approved_only=approved_only))
        own = frames(status_from_store(one, Store(alone), as_of, approved_only=approved_only))
        for name, frame in own.items():
            pd.testing.assert_frame_equal(shared[name], frame, obj=f"{one.id} {as_of} {name}")
    # the database does hold both, and an unscoped read sees both
    assert set(Store(both_plans_db).uploads()["reporting_unit"]) == {*plan.unit_names, *example.unit_names}


SECOND_STREET = "another-street-2023"  # another street's plan with the same community names and months


@pytest.fixture(scope="module")
def shared_months_db(tmp_path_factory, demo_db, plan):
    """The demo database with a second plan's reports for the same units and months: other figures and
    task words, every one approved, one of them corrected (a second version)."""
    import dataclasses
    import shutil

    from worktrack.intake import read_report

    root = tmp_path_factory.mktemp("shared-months")
    path = root / "shared.duckdb"
    shutil.copy(demo_db, path)
    shutil.copytree(demo_db.parent / "raw", root / "raw")
    other = Store(path).for_plan(SECOND_STREET)
    task = next(r.item for r in plan.template_rows("天剑社区") if r.kind == "task")
    ids = []
    for unit in ("天剑社区", "夏家冲社区"):
        for month, value in (("2023-09", 40), ("2023-10", 50), ("2023-10", 60)):
            raw = f"上报单位,月份,编号,本月数值,分类,备注\n{unit},{month},retrofit_households,{value},,\n" \
                  f"{unit},{month},{task},受阻,,另一街道\n".encode()
            report = read_report(raw, f"{unit}-{month}.csv", plan)
            assert report.ok, report.flat()
            result = other.submit(dataclasses.replace(report, plan_id=None), raw, submitted_by="other", confirm=True)
            assert result.accepted, result.message
            ids.append(result.upload_id)
    other.review_many([i for i in ids if other.uploads().set_index("upload_id").loc[i, "state"] == "active"],
                      "approved", actor="other-reviewer")
    return path


@pytest.mark.parametrize("approved_only", [True, False])
def test_a_plan_sharing_units_and_months_with_another_plan_has_the_status_of_its_own_database(
        shared_months_db, demo_db, plan, approved_only):
    for as_of in ("2023-10", "2023-09", "2023-06", None):
        shared = frames(status_from_store(plan, Store(shared_months_db), as_of, approved_only=approved_only))
        own = frames(status_from_store(plan, Store(demo_db), as_of, approved_only=approved_only))
        for name, frame in own.items():
            pd.testing.assert_frame_equal(shared[name], frame, obj=f"{as_of} {name} approved_only={approved_only}")
    # the other plan's latest task words are its own, in both bases, and its versions start at 1
    other = Store(shared_months_db).for_plan(SECOND_STREET)
    for basis in (True, False):
        latest = other.task_statuses(latest=True, approved_only=basis)
        assert set(latest["status"]) == {"受阻"} and set(latest["month"]) == {"2023-10"}
    assert sorted(other.uploads()["version"]) == [1, 1, 1, 1, 2, 2]


def test_each_plan_in_a_shared_database_keeps_its_facts_reviews_and_month(both_plans_db, example_db, demo_db,
                                                                          example, plan):
    columns = ["reporting_unit", "month", "item", "category", "value", "status", "note"]
    for one, alone in ((example, example_db), (plan, demo_db)):
        shared = Store(both_plans_db).for_plan(one.id)
        pd.testing.assert_frame_equal(
            shared.facts()[columns].sort_values(columns[:4]).reset_index(drop=True),
            Store(alone).facts()[columns].sort_values(columns[:4]).reset_index(drop=True))
        reviews = ["reporting_unit", "month", "version", "state", "review_state", "review_reason"]
        assert shared.reviewed_uploads()[reviews].values.tolist() == \
            Store(alone).reviewed_uploads()[reviews].values.tolist()
        assert shared.latest_month() == Store(alone).latest_month()


def test_a_report_for_another_plan_is_refused_with_a_chinese_reason(example, plan, tmp_path):
    from worktrack.demo import report_bytes
    from worktrack.intake import read_report

    name, data = report_bytes(plan, "天剑社区", "2023-05")
    report = read_report(data, name, example)
    codes = {code for code, _row, _column in report.flat()}
    assert not report.ok and "month-error" in codes
    assert any("不在本计划的报告期" in f.message for f in report.errors), [f.message for f in report.errors]
    unit = example.communities[0].name
    name, data = report_bytes(example, unit, "2024-05")
    # the 2024 template's rows, declared as a 2023 month of the 2023 plan: refused as well
    assert not read_report(data, name, plan).ok
    assert read_report(data, name, example).ok and read_report(data, name, example).plan_id == example.id


def test_a_file_of_another_configured_plan_is_refused_naming_that_plan(example, plan):
    from worktrack.demo import report_bytes
    from worktrack.intake import read_report

    name, data = report_bytes(plan, "天剑社区", "2023-05")
    report = read_report(data, name, example, other_plans=[example, plan])  # the plan itself is skipped
    assert not report.ok and report.errors[0].code == "wrong-plan" and report.errors[0].value == plan.id
    assert f"《{plan.title}》" in report.errors[0].message and f"《{example.title}》" in report.errors[0].message
    assert "month-error" in report.codes()  # the plain findings are still there, after the named plan
    unit = example.communities[0].name
    name, data = report_bytes(example, unit, "2024-05")
    assert read_report(data, name, plan, other_plans=[example]).errors[0].value == example.id
    # a file no configured plan reads cleanly gets no plan named
    broken = data.replace(b"2024-05", b"2024-13")
    assert "wrong-plan" not in read_report(broken, name, plan, other_plans=[example]).codes()
    assert "wrong-plan" not in read_report(data, name, plan).codes()  # no other plan configured


def test_the_cli_names_the_plan_a_refused_file_belongs_to(example, plan, tmp_path, monkeypatch, capsys):
    import json

    from worktrack.cli import main
    from worktrack.demo import report_bytes

    monkeypatch.setenv("WORKTRACK_PLANS", str(EXAMPLE))
    name, data = report_bytes(plan, "天剑社区", "2023-05")
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["--db", str(tmp_path / "x.duckdb"), "--plan", str(EXAMPLE), "ingest", str(path), "--json"]) == 1
    entry = json.loads(capsys.readouterr().out)["files"][0]
    assert entry["errors"][0]["code"] == "wrong-plan" and plan.title in entry["errors"][0]["message"]


def workbook_values(path) -> dict[str, list[tuple]]:
    """Every sheet's cell values, without the upload-number column (numbered across the whole database)."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheets = {}
    for sheet in book.worksheets:
        rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
        drop = {i for i, cell in enumerate(rows[0] if rows else ()) if cell == "上传编号"}
        sheets[sheet.title] = [tuple(c for i, c in enumerate(row) if i not in drop) for row in rows]
    return sheets


@pytest.mark.parametrize("include_pending", [False, True])
def test_each_plans_workbook_from_a_shared_database_equals_its_own(both_plans_db, example_db, demo_db, example,
                                                                   plan, tmp_path, include_pending):
    from worktrack.cli import main

    pending = ["--include-pending"] if include_pending else []
    for one, alone, as_of in ((example, example_db, "2024-09"), (plan, demo_db, "2023-10")):
        plan_file = EXAMPLE if one is example else ROOT / "targets.yaml"
        books = []
        for db in (both_plans_db, alone):
            out = tmp_path / f"{one.id}-{db.stem}.xlsx"
            assert main(["--db", str(db), "--plan", str(plan_file), "export", "--as-of", as_of, "--format", "xlsx",
                         "-o", str(out), *pending]) == 0
            books.append(workbook_values(out))
        assert books[0] == books[1], one.id
        units = {cell for rows in books[0].values() for row in rows for cell in row if isinstance(cell, str)}
        others = (plan if one is example else example).communities
        assert not any(u.name in units for u in others if u.name not in {c.name for c in one.communities})


def test_each_plans_own_files_read_cleanly_and_the_others_are_named(example, plan):
    from worktrack.demo import report_bytes
    from worktrack.intake import read_report

    for one, other, month in ((plan, example, "2023-06"), (example, plan, "2024-06")):
        for unit in one.communities:
            name, data = report_bytes(one, unit.name, month)
            assert read_report(data, name, one, other_plans=[other]).ok, (one.id, unit.name)
            wrong = read_report(data, name, other, other_plans=[one])
            assert wrong.errors[0].code == "wrong-plan" and wrong.errors[0].value == one.id, (one.id, unit.name)


def test_the_cli_keeps_plans_apart(both_plans_db, example_db, capsys):
    import json

    from worktrack.cli import main

    outputs = []
    for db in (both_plans_db, example_db):
        assert main(["--db", str(db), "--plan", str(EXAMPLE), "status", "--as-of", "2024-09", "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0]["targets"] == outputs[1]["targets"] and outputs[0]["reporting"] == outputs[1]["reporting"]
    assert main(["--db", str(both_plans_db), "--plan", str(EXAMPLE), "uploads", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["uploads"]
    assert listed and all(row["month"].startswith("2024") for row in listed)


def test_the_sidebar_chooses_the_plan_latest_year_first_and_keeps_the_choice(both_plans_db, accounts, monkeypatch,
                                                                              plan):
    monkeypatch.setenv("WORKTRACK_DB", str(both_plans_db))
    monkeypatch.setenv("WORKTRACK_PLANS", str(EXAMPLE))  # with WORKTRACK_PLAN's targets.yaml: two plans
    at = dashboard(LEADER, "pages/overview.py", "zh")
    chooser = at.sidebar.selectbox(key="plan_widget")
    assert chooser.value == str(EXAMPLE) and chooser.options[0] == load_plan(EXAMPLE).title  # latest year first
    assert [m.label for m in at.metric] == ["适老化改造", "注册志愿者", "垃圾分类覆盖率", "信访总量", "居民议事会"]
    assert at.session_state["as_of"].startswith("2024")
    first_plan = str(ROOT / "targets.yaml")
    chooser.set_value(first_plan).run()
    # the approved-only default: October is still under review in the demo, so the plan opens on September
    assert not at.exception and at.session_state["as_of"] == "2023-09"
    featured = [plan.metrics[m].short_name or plan.metrics[m].name for m in plan.display.featured]
    assert [m.label for m in at.metric] == featured
    at.switch_page("pages/plan.py").run()
    assert not at.exception and at.sidebar.selectbox(key="plan_widget").value == first_plan
    at.switch_page("pages/overview.py").run()
    assert [m.label for m in at.metric] == featured  # the choice survives page changes


# ---------------------------------------------------------------------------
# Quarterly and half-yearly duties are worded by their period, not by the month


def test_quarterly_and_half_yearly_duties_do_not_say_this_month(example):
    from worktrack import export
    from worktrack.views import metric_name
    from worktrack.views.words import attention_rows, headline_cards

    half_year = next(t.metric for t in example.targets if t.cadence == "half_year")
    data = monthly(("东山社区", "residents_councils", "2024-02", 1),
                   ("东山社区", half_year, "2024-02", 1))  # every other unit misses Q1 and the first half year
    report = compute_status(example, data, None, None, "2024-06")  # the end of Q2 and of the first half
    for lang, this_month, quarter, half in (("zh", "本月", "本季度", "本半年"),
                                             ("en", "this month", "this quarter", "this half year")):
        card = next(c for c in headline_cards(report, lang) if c.metric == "residents_councils")
        assert quarter in card.detail and this_month not in f"{card.detail}{card.status_label}{card.target}"
        rows = attention_rows(report, lang)
        councils = rows[rows["subject"].str.startswith("residents_councils:")]
        drills = rows[rows["subject"].str.startswith(f"{half_year}:")]
        assert len(councils) and len(drills)
        assert all(quarter in text and this_month not in text for text in councils["text"])
        assert all(half in text and this_month not in text for text in drills["text"])
        periodic = rows["subject"].str.startswith(("residents_councils:", f"{half_year}:"))
        missed = rows[(rows["status"] == "obligation_missed") & periodic]
        assert len(missed) and all(s.endswith((quarter + ("未达标" if lang == "zh" else ""),
                                                half + ("未达标" if lang == "zh" else "")))
                                   for s in missed["severity"]), list(missed["severity"])
        name = metric_name(example, "residents_councils", lang)
        deck = export.slide_deck(example, report, lang=lang)
        lines = [b for s in deck for b in s.bullets if name in b]
        lines += [f"{c.value} {c.status_label}" for s in deck for c in s.cards if c.name == name]
        assert lines and all(this_month not in b for b in lines) and any(quarter in b for b in lines), lines

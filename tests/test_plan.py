"""targets.yaml encodes the document faithfully; broken plans get clear, located messages."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import PLAN_PATH, SOURCE_TEXT
from worktrack.cli import main as cli_main
from worktrack.plan import PlanError, check_plan, load_plan, parse_deadline, plan_as_dict, reconcile

COMMUNITIES = ["黄土岭社区", "夏家冲社区", "天剑社区", "涂新社区", "赤岭路社区", "狮子山社区"]


# ---------------------------------------------------------------------------
# The shipped plan against the document


def test_plan_metadata(plan):
    assert plan.title == "金盆岭街道2023年民政和基层社会治理工作要点"
    assert plan.issuers == ("中共长沙市天心区金盆岭街道工作委员会", "长沙市天心区金盆岭街道办事处")
    assert plan.issue_date == dt.date(2023, 4, 21)
    assert plan.year == 2023
    assert plan.start_month == "2023-04"


def test_reporting_units(plan):
    assert [u.name for u in plan.communities] == COMMUNITIES
    assert [(u.name, u.kind) for u in plan.units if not u.is_community] == [("街道民政办", "street_office")]


def test_sections_and_items_match_document(plan):
    text = SOURCE_TEXT.read_text(encoding="utf-8")
    # top-level sections 一、二、三 and the six (一)…(六) groups of section 二
    top = re.findall(r"^([一二三四五六七八九十])、", text, flags=re.M)
    assert [s.number for s in plan.sections] == top == ["一", "二", "三"]
    assert [g.number for g in plan.sections[1].groups] == ["二(一)", "二(二)", "二(三)", "二(四)", "二(五)", "二(六)"]
    # numbered items: (一)(二)(三) under 一 and 三, and the 1. 2. … lines under 二's groups
    numbered_lines = re.findall(r"^(?:\([一二三四五六]\)|\d\.)", text.split("二、基层社会治理走深走实")[1].split("三、基本社会服务")[0], flags=re.M)
    group_heads = [n for n in numbered_lines if n.startswith("(")]
    digit_items = [n for n in numbered_lines if not n.startswith("(")]
    assert len(group_heads) == 6
    assert len(digit_items) == 25
    assert len(plan.items) == 3 + 25 + 5 + 3  # the five pilot estates of 二(六)3 are items of their own


def test_every_item_text_is_verbatim(plan):
    text = SOURCE_TEXT.read_text(encoding="utf-8")
    for item in plan.items.values():
        assert item.text in text, f"{item.id} text is not verbatim"
    for group in plan.sections[1].groups:
        if group.text:
            assert group.text in text


def test_every_source_quote_is_verbatim(plan):
    text = SOURCE_TEXT.read_text(encoding="utf-8")
    for target in plan.targets:
        assert target.source_quote in text, f"{target.id}: {target.source_quote}"


def test_item_numbering_units_and_deadlines(plan):
    item = plan.items["T2-2-1"]
    assert item.number == "二(二)1"
    assert item.communities == ("黄土岭社区", "夏家冲社区")
    assert item.deadline == dt.date(2023, 12, 31)
    assert plan.items["T2-6-1"].deadline == dt.date(2023, 5, 31)
    assert plan.items["T1-1"].number == "一(一)"
    # "各社区" expands to the six communities
    assert set(COMMUNITIES) <= set(plan.items["T1-1"].responsible)
    assert "各社区" not in plan.items["T1-1"].responsible
    # group-level lead/responsible/deadline are inherited
    assert plan.items["T2-3-1"].lead == "街道民政办"
    assert set(COMMUNITIES) <= set(plan.items["T2-3-1"].reporting_units)


@pytest.mark.parametrize(
    ("metric", "scope", "unit", "value", "period", "deadline", "measure"),
    [
        ("retrofit_households", "street", None, 35, "year", "2023-12-31", "户"),
        ("retrofit_households", "unit", "天剑社区", 6, "year", "2023-12-31", "户"),
        ("fund_raised_yuan", "street", None, 10_000_000, "year", "2023-12-31", "元"),
        ("fund_raised_yuan", "unit", "狮子山社区", 500_000, "year", "2023-12-31", "元"),
        ("people_helped", "street", None, 10_000, "year", "2023-12-31", "人"),
        ("governance_reports", "unit", "涂新社区", 2, "month", "2023-12-31", "篇"),
        ("roundtable_meetings", "street", None, 1, "month", "2023-12-31", "次"),
        ("zuoliang_pilots", "unit", "黄土岭社区", 1, "year", "2023-05-31", "个"),
        ("research_topic_reports", "street", None, 1, "year", "2023-12-31", "次"),
        ("sanzhang_reviews", "unit", "夏家冲社区", 1, "month", "2023-12-31", "次"),
    ],
)
def test_numeric_targets(plan, metric, scope, unit, value, period, deadline, measure):
    data = plan_as_dict(plan)
    match = [t for t in data["targets"] if t["metric"] == metric and t["scope"] == scope
             and t["reporting_unit"] == unit]
    assert len(match) == 1
    target = match[0]
    assert (target["value"], target["period"], target["deadline"], target["measure"]) == (value, period, deadline, measure)
    assert target["source_quote"]


def test_each_community_has_retrofit_and_fund_quota(plan):
    for name in COMMUNITIES:
        assert plan.unit_target("retrofit_households", name).value == 6
        assert plan.unit_target("fund_raised_yuan", name).value == 500_000
        assert plan.unit_target("governance_reports", name).period == "month"


def test_dimensions(plan):
    assert plan.dimensions["aid_category"].values == ("助困", "助老", "助残", "助医", "助学", "助安", "助推五社联动")
    channels = plan.dimensions["fund_channel"].values
    for channel in ("政府部门资金", "企业赞助", "基金会", "消费捐", "定向捐", "爱心一元捐", "99公益日", "商品销售返点", "公益创投", "其他"):
        assert channel in channels
    assert plan.metrics["fund_raised_yuan"].dimension == "fund_channel"
    assert plan.metrics["people_helped"].dimension == "aid_category"


def test_notes_record_ambiguous_readings(plan):
    about = {n.about for n in plan.notes}
    assert {"retrofit_households", "fund_raised_yuan"} <= about
    assert any("50万元" in n.text for n in plan.notes)


def test_reconciliation_reports_document_mismatches(plan):
    recs = {r.metric: r for r in reconcile(plan)}
    retro = recs["retrofit_households"]
    assert (retro.quota_sum, retro.street_total, retro.difference) == (36, 35, 1)
    assert "36" in retro.message and "35" in retro.message
    fund = recs["fund_raised_yuan"]
    assert (fund.quota_sum, fund.street_total) == (3_000_000, 10_000_000)
    assert "3,000,000" in fund.message and "10,000,000" in fund.message
    # the document's numbers are kept, never "fixed"
    assert plan.street_target("retrofit_households").value == 35


def test_template_rows_cover_metrics_categories_and_tasks(plan):
    rows = plan.template_rows("天剑社区")
    items = [r.item for r in rows]
    assert items.count("fund_raised_yuan") == len(plan.dimensions["fund_channel"].values)
    assert items.count("people_helped") == 7
    assert "roundtable_meetings" not in items  # reported by the street office only
    assert "T2-2-2" in items and "T2-2-1" not in items  # 二(二)2 names 天剑 and 涂新; 二(二)1 does not
    office = [r.item for r in plan.template_rows("街道民政办")]
    assert "roundtable_meetings" in office and "retrofit_households" not in office


def test_find_unit_aliases(plan):
    assert plan.find_unit("天劍社區").name == "天剑社区"
    assert plan.find_unit(" 天剑社区 ").name == "天剑社区"
    assert plan.find_unit("tianjian").name == "天剑社区"
    assert plan.find_unit("天建社区") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2023年全年", dt.date(2023, 12, 31)), ("2023年5月", dt.date(2023, 5, 31)), ("2023年2月", dt.date(2023, 2, 28)),
     ("2023-06-30", dt.date(2023, 6, 30)), ("2023年6月15日", dt.date(2023, 6, 15))],
)
def test_parse_deadline(text, expected):
    assert parse_deadline(text) == expected


# ---------------------------------------------------------------------------
# Broken plans: file, line, field and a plain-Chinese message


def _broken(tmp_path, old: str, new: str, count: int = 1):
    text = PLAN_PATH.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "targets.yaml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    plan, issues = check_plan(path)
    errors = [i for i in issues if i.severity == "error"]
    return path, plan, errors


def _line_of(path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return n
    raise AssertionError(needle)


BROKEN_CASES = [
    # (case id, old, new, expected field fragment, expected message fragment, line anchor)
    ("missing-field", "  title: 金盆岭街道2023年民政和基层社会治理工作要点\n", "", "plan.title", "缺少必填字段", "plan:"),
    ("wrong-type", "  year: 2023\n", "  year: 二零二三\n", "plan.year", "应为整数", "year: 二零二三"),
    ("unknown-unit", "        units: [各社区]\n        value: 6\n", "        units: [天建社区]\n        value: 6\n",
     "units", "天建社区", "units: [天建社区]"),
    ("bad-date", "            deadline: 2023年5月\n", "            deadline: 2023年13月\n", "deadline", "13", "2023年13月"),
    ("duplicate-id", "          - id: T2-1-2\n", "          - id: T2-1-1\n", "id", "重复", None),
    ("unknown-measure", "    measure: 户\n", "    measure: 套\n", "measure", "套", "measure: 套"),
    ("unknown-dimension", "    dimension: fund_channel\n", "    dimension: fund_channels\n", "dimension", "fund_channels",
     "dimension: fund_channels"),
    ("misspelt-field", "    reported_by: [各社区]\n    targets:\n      - scope: street\n        value: 35\n",
     "    reported_by: [各社区]\n    targets:\n      - scope: street\n        valeu: 35\n", "valeu", "不认识的字段", "valeu: 35"),
    ("negative-target", "        value: 35\n", "        value: -35\n", "value", "不能是负数", "value: -35"),
    ("unknown-item", "    item: T3-1\n", "    item: T9-9\n", "item", "T9-9", "item: T9-9"),
    ("fractional-count", "        value: 35\n", "        value: 35.5\n", "value", "整数", "value: 35.5"),
    ("bad-scope", "      - scope: street\n        value: 35\n", "      - scope: city\n        value: 35\n", "scope",
     "street", "scope: city"),
    ("yaml-syntax", "  year: 2023\n", "  year: 2023\n   oops: [\n", "", "YAML 格式错误", None),
    ("unknown-reporter", "    reported_by: [街道民政办]\n", "    reported_by: [街道民政部]\n", "reported_by", "街道民政部",
     "reported_by: [街道民政部]"),
]


@pytest.mark.parametrize(("case", "old", "new", "field", "message", "anchor"), BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES])
def test_broken_plan_is_reported_clearly(tmp_path, case, old, new, field, message, anchor):
    path, plan, errors = _broken(tmp_path, old, new)
    assert plan is None
    assert errors, "expected at least one error"
    rendered = "\n".join(e.render() for e in errors)
    assert str(path) in rendered
    assert message in rendered, rendered
    assert any(field in e.field for e in errors), rendered
    assert all(e.line for e in errors), rendered
    if anchor:
        assert any(e.line == _line_of(path, anchor) for e in errors), rendered
    with pytest.raises(PlanError):
        load_plan(path)


def test_quota_for_unknown_metric(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(PLAN_PATH.read_text(encoding="utf-8")
                    + "\nquotas:\n  - metric: retrofits\n    unit: 天剑社区\n    value: 7\n", encoding="utf-8")
    _, issues = check_plan(path)
    errors = [i for i in issues if i.severity == "error"]
    assert len(errors) == 1
    assert "retrofits" in errors[0].message and errors[0].field == "quotas[0].metric"
    assert errors[0].line == _line_of(path, "metric: retrofits")


def test_quota_override_changes_one_unit(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text(PLAN_PATH.read_text(encoding="utf-8")
                    + "\nquotas:\n  - metric: retrofit_households\n    unit: 天剑社区\n    value: 5\n", encoding="utf-8")
    plan = load_plan(path)
    assert plan.unit_target("retrofit_households", "天剑社区").value == 5
    assert plan.unit_target("retrofit_households", "涂新社区").value == 6
    assert {r.metric: r for r in reconcile(plan)}["retrofit_households"].difference == 0


def test_quotas_keep_list_order_and_inherit_from_the_first_remaining_unit_target(tmp_path):
    # Quotas used to rebuild the target list one by one; the linear version must give the same list:
    # each quota's target goes to the end (a second quota for a unit replaces its first), and the
    # source quote falls back to the metric's first unit target still in the list.
    path = tmp_path / "targets.yaml"
    path.write_text(PLAN_PATH.read_text(encoding="utf-8") + (
        "\nquotas:\n"
        "  - {metric: retrofit_households, unit: 黄土岭社区, value: 5, source_quote: 甲}\n"
        "  - {metric: retrofit_households, unit: 天剑社区, value: 7}\n"
        "  - {metric: retrofit_households, unit: 黄土岭社区, value: 4}\n"), encoding="utf-8")
    plan = load_plan(path)
    shipped = load_plan(PLAN_PATH)
    mine = [t for t in plan.targets if t.metric == "retrofit_households" and t.scope == "unit"]
    assert [(t.reporting_unit, t.value) for t in mine[-2:]] == [("天剑社区", 7), ("黄土岭社区", 4)]
    assert len(plan.targets) == len(shipped.targets)
    first_other = next(t for t in shipped.targets if t.metric == "retrofit_households" and t.scope == "unit"
                       and t.reporting_unit == "夏家冲社区")
    assert plan.unit_target("retrofit_households", "黄土岭社区").source_quote == first_other.source_quote
    assert plan.unit_target("retrofit_households", "天剑社区").source_quote == first_other.source_quote


def test_plan_file_is_parsed_once(tmp_path, monkeypatch):
    # One parse gives both the data and the line numbers of errors (the line map used to come
    # from a second, pure-Python parse of the same text).
    import yaml

    from worktrack import plan as plan_module

    calls = []
    real = plan_module._YAML_LOADER

    class Counting(real):  # type: ignore[misc, valid-type]
        def __init__(self, stream):
            calls.append(1)
            super().__init__(stream)

    monkeypatch.setattr(plan_module, "_YAML_LOADER", Counting)
    monkeypatch.setattr(yaml, "compose", lambda *a, **k: pytest.fail("second parse"))
    monkeypatch.setattr(yaml, "safe_load", lambda *a, **k: pytest.fail("second parse"))
    path, _, errors = _broken(tmp_path, "    measure: 户\n", "    measure: 套\n")
    assert calls == [1]
    assert errors[0].line == _line_of(path, "measure: 套")
    assert issubclass(plan_module._YAML_LOADER, getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def test_all_errors_reported_in_one_pass(tmp_path):
    text = PLAN_PATH.read_text(encoding="utf-8").replace("    measure: 户\n", "    measure: 套\n").replace(
        "    item: T3-1\n", "    item: T9-9\n")
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    _, issues = check_plan(path)
    assert len([i for i in issues if i.severity == "error"]) >= 2


def test_missing_plan_file(tmp_path):
    _, issues = check_plan(tmp_path / "nope.yaml")
    assert "找不到计划文件" in issues[0].message


# ---------------------------------------------------------------------------
# CLI contract


def test_cli_plan_check_warns_and_exits_zero(capsys):
    assert cli_main(["--plan", str(PLAN_PATH), "plan", "check"]) == 0
    out = capsys.readouterr().out
    assert "36" in out and "35" in out and "提示" in out


def test_cli_plan_check_invalid_exits_one(tmp_path, capsys):
    path, _, _ = _broken(tmp_path, "    measure: 户\n", "    measure: 套\n")
    assert cli_main(["--plan", str(path), "plan", "check"]) == 1
    assert "错误" in capsys.readouterr().out


def test_cli_plan_show_json_contract():
    result = subprocess.run([sys.executable, "-m", "worktrack", "--plan", str(PLAN_PATH), "plan", "show", "--json"],
                            capture_output=True, text=True, check=True)
    data = json.loads(result.stdout)
    assert set(data) >= {"plan", "units", "items", "targets"}
    assert set(data["units"][0]) >= {"id", "name", "kind"}
    assert set(data["items"][0]) >= {"id", "number", "title", "text", "lead", "responsible", "units", "deadline"}
    assert set(data["targets"][0]) >= {"id", "metric", "name", "measure", "value", "scope", "reporting_unit", "period",
                                       "deadline", "source_quote"}
    metrics = {t["metric"] for t in data["targets"]}
    assert {"retrofit_households", "fund_raised_yuan", "people_helped", "governance_reports",
            "roundtable_meetings"} <= metrics
    street = {t["metric"]: t["value"] for t in data["targets"] if t["scope"] == "street"}
    assert street["retrofit_households"] == 35 and street["fund_raised_yuan"] == 10_000_000
    assert street["people_helped"] == 10_000 and street["roundtable_meetings"] == 1


def test_cli_env_plan_path(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKTRACK_PLAN", str(tmp_path / "missing.yaml"))
    assert cli_main(["plan", "check"]) == 1


@pytest.mark.parametrize("argv", [["plan", "frobnicate"], ["no-such-command"], ["plan", "check", "--bogus"]])
def test_cli_usage_errors_exit_two(argv):
    result = subprocess.run([sys.executable, "-m", "worktrack", *argv], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_named_pilot_estates_are_items_with_their_own_unit(plan):
    sites = [i for i in plan.items.values() if i.parent == "T2-6-3"]
    assert [s.title.split("：")[1][:4] for s in sites] == ["星电花园", "华宫（自", "涂新小区", "天悦鑫苑", "木材厂宿"]
    tuxin = next(s for s in sites if "涂新小区" in s.title)
    assert tuxin.reporting_units == ("涂新社区",) and tuxin.number == "二(六)3-3"
    assert any(r.item == tuxin.id for r in plan.template_rows("涂新社区"))
    assert not any(r.item == tuxin.id for r in plan.template_rows("天剑社区"))


def test_each_register_feeds_the_metric_the_plan_names(plan):
    fed = {kind: plan.metric_for_register(kind) for kind in ("retrofit_register", "donation_register", "help_register")}
    assert all(metric is not None for metric in fed.values())
    assert [fed[k].measure for k in fed] == ["户", "元", "人"]


@pytest.mark.parametrize("replace, message", [
    ("register: retrofit_register\n", "register: tax_register\n"),
    ("register: donation_register\n", "register: retrofit_register\n"),
])
def test_a_register_that_is_unknown_or_does_not_fit_the_measure_is_an_error(tmp_path, replace, message):
    text = PLAN_PATH.read_text(encoding="utf-8")
    assert replace in text
    path = tmp_path / "targets.yaml"
    path.write_text(text.replace(replace, message, 1), encoding="utf-8")
    _, issues = check_plan(path)
    assert any(i.severity == "error" and "台账" in i.message for i in issues)


def test_yaml_line_map_is_read_from_the_nodes_on_first_use():
    from worktrack.plan import _parse_yaml

    text = "a: 1\nb:\n  x: 1\n  items:\n  - p\n  - {q: 2}\nbase: &b\n  k: 1\nother:\n  <<: *b\n  z: 3\na:\n  y: 2\n"
    data, lines = _parse_yaml(text)
    assert data["b"] == {"x": 1, "items": ["p", {"q": 2}]}
    assert data["other"] == {"k": 1, "z": 3}
    assert lines[()] == 1
    assert lines[("b", "x")] == 3
    assert lines[("b", "items", 1)] == 6
    assert lines[("b", "items", 1, "q")] == 6
    assert lines[("other", "z")] == 11
    # a duplicated key: the key's line is the last occurrence's, the lines below it the first's
    assert lines[("a",)] == 12
    assert lines[("a", "y")] == 13
    assert ("nowhere",) not in lines

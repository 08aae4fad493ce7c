"""Register files: recognised from their header, validated like the monthly report, personal data reduced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worktrack.intake.findings import REGISTER_ERROR_CODES
from worktrack.registers import KINDS, detect_kind, read_register

FIXTURES = Path(__file__).parent / "fixtures" / "registers"
ID_NUMBERS = (FIXTURES / "ID_NUMBERS.txt").read_text().split()
KEY = b"k" * 32
HEADERS = {
    "retrofit_register": "上报单位,月份,住址,老人姓名,身份证号,对象类别,改造项目,改造费用（元）,施工单位,完工日期,验收日期,备注",
    "donation_register": "上报单位,月份,捐赠方,捐赠方类型,募集渠道,现金金额（元）,物资名称,物资折价（元）,捐赠日期,收据编号,备注",
    "help_register": "上报单位,月份,姓名,身份证号,帮扶类别,帮扶金额（元）,服务内容,帮扶日期,基金项目,备注",
}


def read(plan, kind: str, body: str, **kwargs):
    data = (HEADERS[kind] + "\n" + body).encode("utf-8")
    return read_register(data, "register.csv", plan, kind, key=KEY, **kwargs)


@pytest.mark.parametrize("name, kind", [
    ("retrofit_2023-06.csv", "retrofit_register"),
    ("donation_2023-06.csv", "donation_register"),
    ("help_2023-06.csv", "help_register"),
])
def test_each_register_is_recognised_from_its_header_and_read_clean(plan, name, kind):
    data = (FIXTURES / name).read_bytes()
    assert detect_kind(data, name, plan) == kind
    report = read_register(data, name, plan, kind, key=KEY)
    assert report.flat() == [] and report.rows and report.kind == kind
    assert (report.reporting_unit, report.month) == ("天剑社区", "2023-06")


def test_a_monthly_report_and_an_unreadable_file_are_monthly_reports(plan):
    monthly = "上报单位,月份,编号,本月数值\n天剑社区,2023-06,retrofit_households,2\n".encode()
    assert detect_kind(monthly, "m.csv", plan) == "monthly_report"
    assert detect_kind(b"%PDF-1.4 ...", "m.pdf", plan) == "monthly_report"


def test_english_headers_are_aliases(plan):
    data = ("reporting_unit,month,address,elder_name,id_number,category,items,cost,contractor,completed_on,accepted_on\n"
            f"天剑社区,2023-06,天剑路1栋101,张三明,{ID_NUMBERS[0]},高龄,扶手,3000,湘居装饰,2023-06-01,2023-06-10\n").encode()
    assert detect_kind(data, "r.csv", plan) == "retrofit_register"
    report = read_register(data, "r.csv", plan, "retrofit_register", key=KEY)
    assert report.flat() == [] and report.codes("normalised") >= {"normalised-header-alias"}


def test_no_full_id_number_leaves_the_reader(plan):
    for name in ("retrofit_2023-06.csv", "help_2023-06.csv"):
        data = (FIXTURES / name).read_bytes()
        kind = detect_kind(data, name, plan)
        text = json.dumps(read_register(data, name, plan, kind, key=KEY).as_dict(), ensure_ascii=False)
        assert not any(number in text for number in ID_NUMBERS)
        assert "4301**********" in text


FINDING_EXAMPLES = [
    # an ID number with a wrong check character: the finding shows the masked form only
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,430103194805061235,高龄,扶手,,,,2023-06-10,",
     [("id-number-error", 2, "身份证号")]),
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},高龄,,,,,2023-06-10,",
     [("missing-value", 2, "改造项目")]),
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},富裕,扶手,,,,2023-06-10,",
     [("unknown-choice", 2, "对象类别")]),
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},高龄,扶手,,,,六月十日,",
     [("date-error", 2, "验收日期")]),
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},高龄,扶手,,,,2023-07-02,",
     [("date-error", 2, "验收日期")]),
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},高龄,扶手,-5,,,2023-06-10,",
     [("constraint-error", 2, "改造费用（元）")]),
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},高龄,扶手,,,,2023-06-10,\n"
                          "天剑社区,2023-06,路1号,张三明,{0},高龄,防滑,,,,2023-06-11,",
     [("duplicate-row", 3, "身份证号")]),
    ("retrofit_register", "某某社区,2023-06,路1号,张三明,{0},高龄,扶手,,,,2023-06-10,",
     [("unknown-unit", 2, "上报单位")]),
    # an ID number in a free-text column would be stored in clear
    ("retrofit_register", "天剑社区,2023-06,路1号,张三明,{0},高龄,扶手,,,,2023-06-10,老伴 {0}",
     [("id-number-error", 2, "备注")]),
    ("donation_register", "天剑社区,2023-06,王小红,个人,路边募捐,500,,,2023-06-03,R1,",
     [("unknown-choice", 2, "募集渠道")]),
    ("donation_register", "天剑社区,2023-06,王小红,个人,消费捐,,,,2023-06-03,R1,",
     [("missing-value", 2, "现金金额（元）")]),
    ("donation_register", "天剑社区,2023-06,王小红,个人,消费捐,abc,,,2023-06-03,R1,",
     [("type-error", 2, "现金金额（元）")]),
    ("donation_register", "天剑社区,2023-06,王小红,个人,消费捐,5,,,2023-06-03,R1,\n"
                          "天剑社区,2023-06,李小白,个人,消费捐,6,,,2023-06-04,R1,",
     [("duplicate-row", 3, "收据编号")]),
    ("help_register", "天剑社区,2023-06,李四,{0},助困,,,2023-06-08,,",
     [("missing-value", 2, "帮扶金额（元）")]),
    ("help_register", "天剑社区,2023-06,李四,{0},助跑,100,,2023-06-08,,",
     [("unknown-choice", 2, "帮扶类别")]),
]


@pytest.mark.parametrize("kind, body, expected", FINDING_EXAMPLES)
def test_findings_have_stable_codes_rows_and_columns(plan, kind, body, expected):
    report = read(plan, kind, body.format(ID_NUMBERS[0]) + "\n")
    assert report.flat() == expected
    assert report.rows == []  # nothing accepted from a file with errors
    assert all(f.message for f in report.errors)


def test_a_wrong_id_number_is_shown_masked_in_its_finding(plan):
    report = read(plan, "retrofit_register", "天剑社区,2023-06,路1号,张三明,430103194805061235,高龄,扶手,,,,2023-06-10,\n")
    (finding,) = report.errors
    assert "430103194805061235" not in finding.message + (finding.value or "")
    assert finding.value == "4301**********1235" and "校验位" in finding.message


def test_unit_and_month_may_be_left_blank_when_chosen_at_upload(plan):
    report = read(plan, "retrofit_register", f",,路1号,张三明,{ID_NUMBERS[0]},高龄,扶手,,,,2023-06-10,\n",
                  unit="天剑社区", month="2023-06")
    assert report.flat() == [] and report.rows[0].reporting_unit == "天剑社区" and report.rows[0].month == "2023-06"


def test_a_blank_unit_without_a_choice_at_upload_is_missing(plan):
    report = read(plan, "retrofit_register", f",2023-06,路1号,张三明,{ID_NUMBERS[0]},高龄,扶手,,,,2023-06-10,\n")
    assert report.flat() == [("missing-value", 2, "上报单位")]


def test_template_lines_with_only_unit_and_month_are_not_rows(plan):
    body = f"天剑社区,2023-06,路1号,张三明,{ID_NUMBERS[0]},高龄,扶手,,,,2023-06-10,\n天剑社区,2023-06,,,,,,,,,,\n"
    report = read(plan, "retrofit_register", body)
    assert report.flat() == [] and len(report.rows) == 1


def test_only_a_header_is_no_data(plan):
    assert read(plan, "help_register", "").flat() == [("no-data", None, None)]


def test_a_choice_from_the_plan_follows_the_plan(plan):
    metric = plan.metric_for_register("help_register")
    assert read(plan, "help_register", f"天剑社区,2023-06,李四,{ID_NUMBERS[0]},{plan.categories(metric.id)[-1]},"
                                       "100,,2023-06-08,,\n").flat() == []


def test_every_register_names_its_columns_in_chinese_with_english_aliases():
    for kind in KINDS.values():
        for column in kind.columns:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in column.label), column.key
            assert any(alias.isascii() for alias in column.aliases), column.key


def test_every_register_code_has_an_example():
    assert {code for _, _, found in FINDING_EXAMPLES for code, _, _ in found} >= set(REGISTER_ERROR_CODES)

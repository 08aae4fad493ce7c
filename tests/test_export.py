"""The meeting pack: one slide sequence, and PPTX / XLSX / PDF files opened with their own libraries.

Numbers are checked against the status contract (`status_from_store(...).as_dict()`, the same data
`python -m worktrack status --json` prints); files are built once per module from the demo database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import PLAN_PATH, ROOT
from worktrack import export
from worktrack.charts import format_amount
from worktrack.cli import main
from worktrack.progress import status_from_store
from worktrack.store import Store

AS_OF = "2023-09"
GENERATED = dt.date(2023, 10, 12)
INSTALL_HINT = "apt-get install chromium fonts-noto-cjk"
INJECTIONS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+1+2", "-3+4", "=1+1"]


@pytest.fixture(scope="module")
def report(plan, demo_db):
    return status_from_store(plan, Store(demo_db), AS_OF)


@pytest.fixture(scope="module")
def contract(report):
    """The JSON contract of `status --json` for the same month."""
    return report.as_dict()


@pytest.fixture(scope="module")
def deck(plan, report):
    return export.slide_deck(plan, report, generated=GENERATED)


@pytest.fixture(scope="module")
def pptx_file(plan, report, deck):
    from pptx import Presentation

    return Presentation(io.BytesIO(export.pptx_bytes(plan, report, generated=GENERATED)))


@pytest.fixture(scope="module")
def xlsx_file(plan, report, demo_db):
    from openpyxl import load_workbook

    data = export.xlsx_bytes(plan, report, Store(demo_db).facts(through=AS_OF), generated=GENERATED)
    return load_workbook(io.BytesIO(data))


@pytest.fixture(scope="module")
def pdf_file(plan, report, deck):
    if export.pdf_problem():
        pytest.skip(export.pdf_problem())
    from pypdf import PdfReader

    return PdfReader(io.BytesIO(export.pdf_bytes(plan, report, generated=GENERATED, slides=deck)))


def street(contract, metric):
    return next(t for t in contract["targets"] if t["metric"] == metric and t["reporting_unit"] is None)


def unit_targets(contract, metric):
    return {t["reporting_unit"]: t for t in contract["targets"] if t["metric"] == metric and t["reporting_unit"]}


# ---------------------------------------------------------------------------
# The slide sequence


def test_slide_sequence_follows_the_meeting_order(plan, deck):
    kinds = [s.kind for s in deck]
    order = [k for k in export.SLIDE_KINDS if k in kinds]
    assert order == list(export.SLIDE_KINDS)
    assert kinds == sorted(kinds, key=export.SLIDE_KINDS.index), "slides of one kind must stay together"
    assert kinds[:3] == ["title", "summary", "headline"]
    assert deck[0].title == plan.title
    assert [s.title for s in deck if s.kind == "scorecard"] == [f"{u.name} 目标完成情况" for u in plan.communities]
    assert len({s.key for s in deck}) == len(deck)
    assert all(s.notes for s in deck), "every slide has a presenter script"


def test_every_plan_item_is_on_exactly_one_section_slide(plan, deck):
    shown = [row[0] for s in deck if s.kind == "section" for row in s.table.rows]
    assert sorted(shown) == sorted(item.number for item in plan.items.values())
    for section in plan.sections:
        slides = [s for s in deck if s.kind == "section" and s.key.startswith(f"section:{section.id}:")]
        assert slides and all(s.title.startswith(f"{section.number}、{section.title}") for s in slides)
        assert all(len(s.table.rows) >= 1 for s in slides)


def test_headline_slide_numbers_equal_the_status_contract(deck, contract):
    cards = {c.metric: c for c in next(s for s in deck if s.kind == "headline").cards}
    assert cards["retrofit_households"].value == format_amount(street(contract, "retrofit_households")["actual"], "户",
                                                               compact=True)
    assert cards["fund_raised_yuan"].value == format_amount(street(contract, "fund_raised_yuan")["actual"], "元",
                                                            compact=True)
    assert cards["people_helped"].value == format_amount(street(contract, "people_helped")["actual"], "人", compact=True)
    assert cards["retrofit_households"].status_label.endswith("预警")


def test_action_items_group_the_attention_list_by_unit(plan, report):
    actions = export.action_items(plan, report)
    order = {name: i for i, name in enumerate(plan.unit_names)}
    ranks = [order[u] for u in actions["unit"] if u in order]
    assert ranks == sorted(ranks)  # grouped by responsible unit, in the plan's order (street-wide rows first)
    assert actions["unit"].iloc[0].startswith("街道民政办（牵头）")
    first = actions[actions["unit"] == "夏家冲社区"].iloc[0]
    assert "适老化改造" in first["subject"] and "还差 3户" in first["subject"]
    assert first["due"].startswith("2023年11月5日")  # the October report's due date: report back by then
    assert "2023年12月31日" in first["due"]  # and the plan's own deadline
    missing = actions[actions["status"] == "missing"].iloc[0]
    assert (missing["unit"], missing["subject"], missing["due"]) == ("狮子山社区", "狮子山社区2023年7月月报未报送", "立即")
    blocked = actions[actions["status"] == "blocked"].iloc[0]
    assert blocked["unit"] == "涂新社区" and "居民意见未统一" in blocked["note"]


def test_a_unit_deck_shows_only_that_unit(plan, demo_db):
    report = status_from_store(plan, Store(demo_db), AS_OF, unit="夏家冲社区")
    deck = export.slide_deck(plan, report)
    assert [s.title for s in deck if s.kind == "scorecard"] == ["夏家冲社区 目标完成情况"]
    assert not [s for s in deck if s.kind == "comparison"]
    grid = next(s for s in deck if s.kind == "grid")
    assert [row[0] for row in grid.table.rows] == ["夏家冲社区"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_deck_builds_on_an_empty_database(plan, db_path, lang):
    report = status_from_store(plan, Store(db_path), plan.start_month)
    deck = export.slide_deck(plan, report, lang=lang)
    assert deck[0].kind == "title" and deck[-1].kind == "method"
    assert export.pptx_bytes(plan, report, lang=lang, slides=deck)[:2] == b"PK"


@pytest.mark.parametrize("month", ["2023-04", "2023-06", "2023-12"])
def test_every_month_builds_a_deck_that_fits_its_pages(plan, demo_db, month):
    report = status_from_store(plan, Store(demo_db), month)
    deck = export.slide_deck(plan, report)
    from worktrack.meeting.slides import BODY_BOTTOM_IN, BODY_TOP_IN, TABLE_PT_MIN, table_height_in

    for slide in deck:
        if slide.table is not None:  # every table fits its slide at a type a room can read
            table = slide.table
            assert table.size >= TABLE_PT_MIN
            assert table_height_in(table.columns, table.rows, table.widths_in(), table.size) <= \
                BODY_BOTTOM_IN - BODY_TOP_IN, slide.key
    pages = [s for s in deck if s.kind == "actions"]
    assert sum(len(s.table.rows) if s.table else 0 for s in pages) == len(export.attention(report))
    if len(pages) > 1:
        assert pages[0].title == f"督办事项（1/{len(pages)}）"
        assert min(len(s.table.rows) for s in pages) >= 2  # rows are shared out, no page of one
    assert export.pptx_bytes(plan, report, slides=deck)[:2] == b"PK"


def test_the_report_fingerprint_changes_with_the_data(plan, demo_db, report):
    again = status_from_store(plan, Store(demo_db), AS_OF)
    assert export.report_fingerprint(again) == export.report_fingerprint(report)
    assert export.report_fingerprint(status_from_store(plan, Store(demo_db), "2023-08")) != \
        export.report_fingerprint(report)


# ---------------------------------------------------------------------------
# PPTX


def test_pptx_is_16_9_with_the_same_slides(pptx_file, deck):
    from pptx.util import Inches

    assert abs(pptx_file.slide_width - Inches(13.333)) < Inches(0.01)
    assert abs(pptx_file.slide_height - Inches(7.5)) < Inches(0.01)
    assert len(pptx_file.slides) == len(deck)
    assert [s.shapes.title.text for s in pptx_file.slides] == [s.title for s in deck]


def test_pptx_comparison_charts_are_native_with_the_target_as_marks(pptx_file, deck, contract, plan):
    from pptx.enum.chart import XL_CHART_TYPE

    comparison = pptx_file.slides[next(i for i, s in enumerate(deck) if s.kind == "comparison")]
    charts = {shape.chart.chart_title.text_frame.text: shape.chart for shape in comparison.shapes if shape.has_chart}
    assert set(charts) == {"适老化改造（户）", "基金募集（万元）"}
    communities = [u.name for u in plan.communities]
    for title, metric, scale in (("适老化改造（户）", "retrofit_households", 1), ("基金募集（万元）", "fund_raised_yuan", 1e4)):
        chart = charts[title]
        bars, marks = chart.plots[0], chart.plots[1]
        assert chart.chart_type == XL_CHART_TYPE.COLUMN_CLUSTERED
        assert [c.split("\n")[0] for c in bars.categories] == communities
        quotas = unit_targets(contract, metric)
        # each community's figure is under its name, where no mark can cross it
        assert all(c.split("\n")[1] == format_amount(quotas[u]["actual"], plan.metrics[metric].measure)
                   for c, u in zip(bars.categories, communities, strict=True))
        assert [s.name for s in bars.series] == ["累计完成"]
        assert list(bars.series[0].values) == pytest.approx([quotas[c]["actual"] / scale for c in communities], abs=0.01)
        # expected and target are marks on a line plot over the same axes, not bars
        assert [s.name for s in marks.series] == ["按进度应完成", "目标"]
        assert list(marks.series[1].values) == pytest.approx([quotas[c]["target"] / scale for c in communities])
        xml = chart._chartSpace.xml
        assert "<c:lineChart>" in xml and xml.count("<c:ser>") == 3
        assert not bars.has_data_labels  # no value label sits under a mark


def test_pptx_trend_slide_has_line_charts_for_the_plans_trends(pptx_file, deck, plan):
    from pptx.enum.chart import XL_CHART_TYPE

    slide = pptx_file.slides[next(i for i, s in enumerate(deck) if s.kind == "trends")]
    charts = [shape.chart for shape in slide.shapes if shape.has_chart]
    assert len(charts) == len(plan.display.trends)
    for chart in charts:
        assert chart.chart_type == XL_CHART_TYPE.LINE_MARKERS
        assert [s.name for s in chart.plots[0].series] == ["累计完成", "按进度应完成", "目标"]
        assert list(chart.plots[0].categories)[0] == "4月"


def test_pptx_headline_slide_says_last_month_this_month_and_the_change(pptx_file, deck, contract):
    index = next(i for i, s in enumerate(deck) if s.kind == "headline")
    text = " ".join(shape.text_frame.text for shape in pptx_file.slides[index].shapes if shape.has_text_frame)
    assert format_amount(street(contract, "fund_raised_yuan")["actual"], "元") in text
    assert format_amount(street(contract, "people_helped")["actual"], "人") in text
    assert "▲ 预警" in text  # a status is a label, not only a colour
    table = next(shape.table for shape in pptx_file.slides[index].shapes if shape.has_table)
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in table.rows}
    assert rows["指标"][2:5] == ["上月", "本月", "变化"]
    assert rows["治理信息"][4].startswith("↓ -")  # a fall points down
    assert rows["适老化改造"][4].startswith("↑ +")


def test_pptx_summary_slide_says_what_a_leader_needs(pptx_file, deck):
    index = next(i for i, s in enumerate(deck) if s.kind == "summary")
    assert index == 1
    sentences = deck[index].bullets
    assert 3 <= len(sentences) <= 5
    text = " ".join(shape.text_frame.text for shape in pptx_file.slides[index].shapes if shape.has_text_frame)
    assert "年度目标：已完成 8" in text and "每月任务：本月达标 13/13" in text  # honest counts, apart
    assert "责任单位：夏家冲社区" in text  # what is behind, and who owns it
    assert "受阻" in text and "需要会议协调或决定" in text  # what needs a decision


def test_pptx_matrix_shows_every_community_and_its_assignments(pptx_file, deck, plan):
    index = next(i for i, s in enumerate(deck) if s.kind == "matrix")
    table = next(shape.table for shape in pptx_file.slides[index].shapes if shape.has_table)
    rows = {row.cells[0].text: [c.text for c in row.cells] for row in table.rows}
    assert [u.name for u in plan.communities] == [r for r in rows if r != "报送单位"]
    assert "美丽社区" in rows["黄土岭社区"][1] and "二(二)1" in rows["黄土岭社区"][1]  # theme and 二(二) task
    assert "二(二)3" in rows["狮子山社区"][1] and "完整社区" in rows["狮子山社区"][1]
    retrofit = rows["报送单位"].index("适老化改造")
    assert "滞后" in rows["夏家冲社区"][retrofit]
    fill = table.cell(list(rows).index("夏家冲社区"), retrofit).fill.fore_color.rgb
    assert str(fill) == export.tint_color("behind").lstrip("#")


def test_pptx_actions_name_the_plans_responsible_units_and_the_units_note(pptx_file, deck):
    rows = []
    for index, slide in enumerate(deck):
        if slide.kind == "actions":
            table = next(shape.table for shape in pptx_file.slides[index].shapes if shape.has_table)
            rows += [[c.text for c in row.cells] for row in list(table.rows)[1:]]
    street = next(r for r in rows if r[2].startswith("全街道适老化改造"))
    assert "湖南发展集团养老服务产业有限公司" in street[1] and "街道民政办（牵头）" in street[1]
    blocked = next(r for r in rows if "受阻" in r[2])
    assert blocked[1] == "涂新社区" and "居民意见未统一" in blocked[5]
    assert len({r[0] for r in rows}) == len(rows)  # one row per action


def test_pptx_method_slide_states_the_documents_inconsistencies(pptx_file, deck):
    text = " ".join(shape.text_frame.text for i, slide in enumerate(pptx_file.slides) if deck[i].kind == "method"
                    for shape in slide.shapes if shape.has_text_frame)
    assert "36户" in text and "35户" in text and "30%" in text
    assert "街道民政办" in text and "基金募集来源" in text  # the fund raised by source
    assert "按进度应完成 = 目标" in text and "5日" in text  # the rules


def test_pptx_notes_say_what_to_say(pptx_file, deck):
    for slide, data in zip(pptx_file.slides, deck, strict=True):
        notes = slide.notes_slide.notes_text_frame.text
        assert notes == data.notes and len(notes) > 20


def test_pptx_scorecards_and_grid_are_tables(pptx_file, deck, contract):
    index = next(i for i, s in enumerate(deck) if s.title == "夏家冲社区 目标完成情况")
    tables = [shape.table for shape in pptx_file.slides[index].shapes if shape.has_table]
    assert len(tables) == 1
    rows = [[cell.text for cell in row.cells] for row in tables[0].rows]
    assert rows[0] == ["指标", "考核方式", "完成", "按进度应完成", "目标", "状态"]
    retrofit = next(r for r in rows if r[0] == "适老化改造")
    mine = unit_targets(contract, "retrofit_households")["夏家冲社区"]
    assert retrofit[2] == format_amount(mine["actual"], "户") and retrofit[5] == "▼ 滞后"
    monthly = next(r for r in rows if r[0] == "治理信息")
    assert "已完成" not in monthly[5] and "本月" in monthly[5]

    grid = pptx_file.slides[next(i for i, s in enumerate(deck) if s.kind == "grid")]
    table = next(shape.table for shape in grid.shapes if shape.has_table)
    cells = {row.cells[0].text: [c.text for c in row.cells] for row in table.rows}
    july = [c.text for c in table.rows[0].cells].index("7月")
    assert cells["狮子山社区"][july].startswith("✖ 未报")


def test_pptx_every_slide_has_footer_and_notes(pptx_file, plan):
    for number, slide in enumerate(pptx_file.slides, start=1):
        text = " ".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)
        assert plan.title in text and "截至2023年9月" in text and "生成于 2023年10月12日" in text, number
        assert f"{number} / {len(pptx_file.slides)}" in text
        assert slide.has_notes_slide and len(slide.notes_slide.notes_text_frame.text) > 20


def test_pptx_runs_carry_an_east_asian_typeface(plan, report):
    data = export.pptx_bytes(plan, report, generated=GENERATED)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        slide_xml = [archive.read(n).decode() for n in archive.namelist() if re.match(r"ppt/slides/slide\d+\.xml", n)]
        chart_xml = [archive.read(n).decode() for n in archive.namelist() if n.startswith("ppt/charts/chart")]
        theme = archive.read("ppt/theme/theme1.xml").decode()
    for xml in slide_xml:
        runs = re.findall(r"<a:r>.*?</a:r>", xml, flags=re.S)
        assert runs and all('<a:ea typeface="Microsoft YaHei"/>' in r for r in runs)
    assert chart_xml and all('<a:ea typeface="Microsoft YaHei"/>' in xml for xml in chart_xml)
    assert '<a:ea typeface="Microsoft YaHei"/>' in theme


# ---------------------------------------------------------------------------
# XLSX


def test_xlsx_sheets_headers_and_layout(xlsx_file):
    assert xlsx_file.sheetnames == ["状态", "分解汇总", "按月考核", "工作事项", "报送情况", "明细", "督办事项", "计划",
                                    "解读说明"]
    for ws in xlsx_file.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
        assert all(cell.font.bold for cell in ws[1]), ws.title
        assert ws.column_dimensions["A"].width >= 6
        # printed as it should be: landscape, one page wide, the header row on every page
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
    assert [c.value for c in xlsx_file["状态"][1]][:7] == ["指标", "报送单位", "考核方式", "计量单位", "目标",
                                                            "实际完成", "按进度应完成"]


def test_xlsx_numbers_and_formats_match_the_status_contract(xlsx_file, contract):
    ws = xlsx_file["状态"]
    header = [c.value for c in ws[1]]
    rows = {(r[0].value, r[1].value): r for r in ws.iter_rows(min_row=2)}
    actual, percent = header.index("实际完成"), header.index("完成率")
    fund = rows[("基金募集", "全街道")]
    assert fund[actual].value == pytest.approx(street(contract, "fund_raised_yuan")["actual"])
    assert fund[actual].number_format == "#,##0.00"
    retrofit = rows[("适老化改造", "夏家冲社区")]
    assert retrofit[actual].value == unit_targets(contract, "retrofit_households")["夏家冲社区"]["actual"]
    assert retrofit[actual].number_format == "#,##0"
    assert retrofit[percent].number_format == "0.0%"
    assert retrofit[percent].value == pytest.approx(1 / 6)
    assert len(rows) == len(contract["targets"])


def test_xlsx_other_sheets_hold_the_same_rows(xlsx_file, contract, demo_db, plan, report):
    assert xlsx_file["按月考核"].max_row - 1 == len(contract["obligations"])
    assert xlsx_file["工作事项"].max_row - 1 == len(contract["tasks"])
    assert xlsx_file["明细"].max_row - 1 == len(Store(demo_db).facts(through=AS_OF))
    # the reporting grid as filterable words, one row per unit and month
    grid = list(xlsx_file["报送情况"].iter_rows(values_only=True))
    assert grid[0][:3] == ("报送单位", "月份", "报送情况")
    assert len(grid) - 1 == len(contract["reporting"])
    states = {(r[0], r[1]): r[2] for r in grid[1:]}
    assert states[("狮子山社区", "2023-07")] == "未报" and states[("涂新社区", "2023-06")] == "迟报"
    assert set(states.values()) <= {"已报", "迟报", "未报", "未到截止日"}
    actions = list(xlsx_file["督办事项"].iter_rows(min_row=2, values_only=True))
    assert [a[1] for a in actions] == list(export.action_items(plan, report).unit)
    assert any(a[5] and "居民意见未统一" in a[5] for a in actions)  # the unit's own note


def test_xlsx_tasks_carry_their_responsible_units(xlsx_file, plan):
    header = [c.value for c in xlsx_file["工作事项"][1]]
    assert "责任单位" in header
    column = header.index("责任单位")
    rows = list(xlsx_file["工作事项"].iter_rows(min_row=2, values_only=True))
    first = plan.items[next(iter(plan.items))]
    assert rows[0][column] == "、".join(first.responsible)


def test_xlsx_plan_sheet_holds_every_item_and_the_reading_notes(xlsx_file, plan):
    rows = list(xlsx_file["计划"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [i.number for i in plan.items.values()]
    by_number = {r[0]: r for r in rows}
    retrofit = plan.items[plan.metrics["retrofit_households"].item]
    row = by_number[retrofit.number]
    assert row[2] == retrofit.text and row[3] == retrofit.lead and "湖南发展集团养老服务产业有限公司" in row[4]
    assert "美丽社区" in by_number["二(六)1"][5]
    notes = list(xlsx_file["解读说明"].iter_rows(min_row=2, values_only=True))
    assert len(notes) == len(plan.notes) and any("36户" in n[1] for n in notes)


def test_xlsx_quota_totals_are_formulas(xlsx_file, contract):
    ws = xlsx_file["分解汇总"]
    rows = list(ws.iter_rows(min_row=2))
    totals = [r for r in rows if r[1].value == "合计（公式）"]
    assert totals and all(str(r[2].value).startswith("=SUM(C") and str(r[3].value).startswith("=SUM(D")
                          for r in totals)
    retrofit = [r for r in rows if r[0].value == "适老化改造" and r[1].value != "合计（公式）"]
    assert sum(r[2].value for r in retrofit) == 36  # the formula adds the six quotas: 36, against 35
    assert "35" in next(r for r in totals if r[0].value == "适老化改造")[4].value


@pytest.mark.parametrize("text, expected", [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("@SUM(1)", "'@SUM(1)"), ("+1", "'+1"), ("-1", "'-1"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("正常备注", "正常备注"), ("a=1", "a=1"), ("", ""),
])
def test_safe_cell_text(text, expected):
    assert export.safe_cell_text(text) == expected


@pytest.fixture
def injected_db(plan, db_path):
    """A database with one report whose notes are spreadsheet formulas, through the real intake path."""
    from worktrack.intake import read_report

    unit = "天剑社区"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["上报单位", "月份", "编号", "事项", "计量单位", "本月数值", "分类", "备注"])
    notes = iter(INJECTIONS)
    for row in plan.template_rows(unit):
        value = "进行中" if row.kind == "task" else "1"
        writer.writerow([unit, AS_OF, row.item, row.name, row.measure, value, row.category, next(notes, "")])
    raw = buffer.getvalue().encode("utf-8")
    store = Store(db_path)
    result = store.submit(read_report(raw, "tianjian.csv", plan), raw, submitted_by="test", confirm=True)
    assert result.accepted, result.message
    return store


def test_formulas_in_notes_reach_the_xlsx_as_inert_text(plan, injected_db):
    from openpyxl import load_workbook

    report = status_from_store(plan, injected_db, AS_OF)
    data = export.xlsx_bytes(plan, report, injected_db.facts(through=AS_OF))
    workbook = load_workbook(io.BytesIO(data))
    notes = [c for c in workbook["明细"]["J"][1:] if c.value]
    assert [c.value for c in notes] == ["'" + text for text in INJECTIONS]
    assert all(c.data_type == "s" for c in notes)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        strings = archive.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in archive.namelist() else ""
    formulas = [f for xml in sheets for f in re.findall(r"<f>(.*?)</f>", xml)]
    # the only formulas are the pack's own totals; nothing a unit typed becomes one
    assert all(re.fullmatch(r"SUM\([CD]\d+:[CD]\d+\)", f) for f in formulas), formulas
    assert "'=HYPERLINK" in strings or any("'=HYPERLINK" in xml for xml in sheets)


# ---------------------------------------------------------------------------
# PDF and its HTML


def test_html_escapes_every_data_value(plan, report):
    evil = export.Slide("x", "attention", "<script>alert(1)</script>", "a & b", bullets=("<img src=x onerror=y>",),
                        table=export.Table(("<b>",), (("</td><td>",),), ((None,),), (1.0,)))
    document = export.deck_html(plan, report, slides=[evil])
    assert "<script>alert" not in document and "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "<img src=x" not in document and "&lt;/td&gt;&lt;td&gt;" in document and "a &amp; b" in document


def test_pdf_has_the_pptx_slides_on_16_9_pages_with_chinese_text(pdf_file, deck, plan, contract, pptx_file):
    assert len(pdf_file.pages) == len(deck) == len(pptx_file.slides)
    box = pdf_file.pages[0].mediabox
    assert float(box.width) == pytest.approx(960, abs=2) and float(box.height) == pytest.approx(540, abs=2)
    first = pdf_file.pages[0].extract_text()
    assert plan.title in first and "2023年9月 工作例会" in first
    index = next(i for i, s in enumerate(deck) if s.kind == "headline")
    headline = pdf_file.pages[index].extract_text()
    assert "核心指标" in headline
    assert format_amount(street(contract, "people_helped")["actual"], "人") in headline
    for page, slide in zip(pdf_file.pages, deck, strict=True):
        assert slide.title.replace(" ", "")[:6] in page.extract_text().replace(" ", ""), slide.key
    assert "夏家冲社区 目标完成情况" in pdf_file.pages[[s.title for s in deck].index("夏家冲社区 目标完成情况")].extract_text()


def test_pdf_embeds_a_cjk_font(pdf_file):
    embedded = set()
    for font in pdf_file.pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        for descendant in font.get("/DescendantFonts", []):
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                embedded.add(str(font["/BaseFont"]))
    assert any("WenQuanYi" in name or "Noto" in name for name in embedded), embedded


def test_pdf_problem_names_what_to_install(monkeypatch):
    monkeypatch.setenv("WORKTRACK_CHROMIUM", "/nonexistent/chromium")
    assert INSTALL_HINT in export.pdf_problem() and "Chromium" in export.pdf_problem()
    monkeypatch.delenv("WORKTRACK_CHROMIUM")
    from worktrack.meeting import pdf

    monkeypatch.setattr(pdf, "chromium_path", lambda: sys.executable)
    monkeypatch.setattr(pdf, "cjk_fonts", lambda: [])
    assert "中文字体" in export.pdf_problem() and INSTALL_HINT in export.pdf_problem()
    with pytest.raises(export.ExportUnavailable, match="fonts-noto-cjk"):
        export.pdf_bytes(None, None)


# ---------------------------------------------------------------------------
# The command line


@pytest.fixture
def cli(demo_env, capsys):
    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--db", str(demo_env), "--plan", str(PLAN_PATH), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.mark.parametrize("fmt, magic", [("pptx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")])
def test_cli_export_writes_each_format(cli, tmp_path, fmt, magic):
    if fmt == "pdf" and export.pdf_problem():
        pytest.skip(export.pdf_problem())
    target = tmp_path / f"pack.{fmt}"
    code, out, err = cli("export", "--as-of", AS_OF, "--format", fmt, "-o", str(target))
    assert code == 0, err
    assert target.read_bytes()[:len(magic)] == magic
    assert str(target) in out and "已生成" in out
    assert not list(tmp_path.glob(".*partial"))


def test_cli_export_for_one_unit_as_json(cli, tmp_path):
    target = tmp_path / "xiajiachong.pptx"
    code, out, _ = cli("export", "--as-of", AS_OF, "--format", "pptx", "-o", str(target), "--unit", "夏家冲社区", "--json")
    assert code == 0
    import json

    data = json.loads(out)
    assert data["unit"] == "夏家冲社区" and data["slides"] >= 6 and data["bytes"] == target.stat().st_size


@pytest.mark.parametrize("argv", [
    ["--format", "docx"],
    ["--format", "pptx", "--as-of", "2023-13"],
    ["--format", "pptx", "--as-of", "2022-12"],
    ["--format", "pptx", "--unit", "不存在社区"],
])
def test_cli_export_usage_errors_exit_2(cli, tmp_path, argv):
    try:
        code, _, err = cli("export", "-o", str(tmp_path / "x.out"), *argv)
    except SystemExit as exc:  # argparse rejects an unknown --format before the handler runs
        code = exc.code
    assert code == 2
    assert not (tmp_path / "x.out").exists()


def test_cli_export_pdf_without_chromium_exits_1_with_the_install_hint(demo_env, tmp_path):
    target = tmp_path / "pack.pdf"
    env = {**os.environ, "WORKTRACK_CHROMIUM": str(tmp_path / "no-chromium")}
    result = subprocess.run([sys.executable, "-m", "worktrack", "--db", str(demo_env), "export", "--as-of", AS_OF,
                             "--format", "pdf", "-o", str(target)], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 1
    assert INSTALL_HINT in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()

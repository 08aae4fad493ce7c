"""上报 page journeys under AppTest, from dashboard.py, against a temporary database."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from streamlit.testing.v1 import AppTest

import app_support
from tests.apptest import dashboard, signed_in, table_text, texts
from tests.conftest import ROOT
from worktrack.intake import read_report
from worktrack.store import Store
from worktrack.template import build_template

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

UPLOAD = "pages/upload.py"
FIXTURES = ROOT / "tests" / "fixtures" / "intake"


def filled(plan, unit: str, month: str, values: dict[tuple[str, str], str], *,
           notes: dict[tuple[str, str], str] | None = None) -> bytes:
    """The app's own CSV template for `unit` and `month` with some values (and notes) typed in, as staff do."""
    rows = list(csv.reader(io.StringIO(build_template(plan, unit, month, "csv").decode("utf-8-sig"))))
    for row in rows[2:]:
        if (row[2], row[6]) in values:
            row[5] = values[(row[2], row[6])]
        if notes and (row[2], row[6]) in notes:
            row[7] = notes[(row[2], row[6])]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def excel_row(plan, item: str, category: str = "") -> int:
    """The row Excel shows for an item in the template of 天剑社区 (title line = row 1)."""
    rows = list(csv.reader(io.StringIO(build_template(plan, "天剑社区", "2023-06", "csv").decode("utf-8-sig"))))
    return next(n for n, row in enumerate(rows, start=1) if row[2:3] == [item] and row[6] == category)


GOOD = {("retrofit_households", ""): "1", ("governance_reports", ""): "2", ("fund_raised_yuan", "爱心企业"): "12000"}


def frame_with(at: AppTest, column: str):
    """The one table on screen with this column."""
    frames = [f.value for f in at.dataframe if column in f.value.columns]
    assert len(frames) == 1, f"{len(frames)} tables with {column}"
    return frames[0]


def open_upload(user, month: str = "2023-06", **state) -> AppTest:
    at = dashboard(user, UPLOAD, **state)
    at.selectbox(key="upload_month").select(month).run()
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    mime = "text/csv" if name.endswith(".csv") else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    at.file_uploader[0].set_value((name, data, mime)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit(at: AppTest) -> AppTest:
    at.button(key="upload_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_community_uploads_a_good_file_and_gets_a_receipt(db_path, accounts, plan):
    at = dashboard(accounts["tianjian"])  # overview first: its figures are cached now
    assert {m.label: m.value for m in at.metric}["适老化改造"] == "0户"
    at.switch_page(UPLOAD).run()
    at.selectbox(key="upload_month").select("2023-06").run()
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    upload(at, "天剑社区-2023-06-月报.csv", data)
    assert "检查通过：天剑社区 2023年6月" in texts(at)
    submit(at)

    shown = texts(at)
    assert "已接收：天剑社区 2023年6月第 1 版" in shown
    receipt = table_text(at)
    assert hashlib.sha256(data).hexdigest() in receipt
    assert "首次上报" in receipt and "天剑社区（tianjian）" in receipt
    assert {b.label for b in at.get("download_button")} >= {"下载回执（文本）", "下载回执（CSV）"}
    assert not at.file_uploader[0].value  # a fresh file picker for the next file

    uploads = Store(db_path).uploads()
    assert list(uploads["submitted_by"]) == ["tianjian"] and list(uploads["state"]) == ["active"]
    assert "有效" in table_text(at)  # the history lists the new version
    log = Store(db_path).audit_log(action="upload.accept")
    assert list(log["actor"]) == ["tianjian"]

    # the caches were cleared: the overview shows the new figure at once, marked as not yet reviewed
    # once 含待审核 is switched on (leaders' figures count approved reports by default)
    at.switch_page("pages/overview.py").run()
    at.sidebar.selectbox(key="as_of").select("2023-06").run()
    assert {m.label: m.value for m in at.metric}["适老化改造"] == "0户"
    at.sidebar.toggle(key="include_pending").set_value(True).run()
    assert {m.label: m.value for m in at.metric}["适老化改造"] == "1户（含待审核）"


def test_a_second_version_shows_what_changed(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    submit(upload(at, "v1.csv", filled(plan, "天剑社区", "2023-06", GOOD)))
    changed = {**GOOD, ("retrofit_households", ""): "2"}
    submit(upload(at, "v2.csv", filled(plan, "天剑社区", "2023-06", changed)))
    assert "已接收：天剑社区 2023年6月第 2 版" in texts(at)
    assert "替换第 1 版" in table_text(at)
    changes = frame_with(at, "上一版")
    row = changes[changes["编号"] == "retrofit_households"].iloc[0]
    assert (row["上一版"], row["本版"]) == ("1 户", "2 户")
    assert list(Store(db_path).uploads()["state"]) == ["superseded", "active"]


def test_the_same_file_twice_changes_nothing(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    data = filled(plan, "天剑社区", "2023-06", GOOD)
    submit(upload(at, "a.csv", data))
    before = Store(db_path).counts()
    submit(upload(at, "a.csv", data))
    assert "完全相同" in texts(at)
    assert Store(db_path).counts() == before


@pytest.mark.parametrize("fixture", ["tianjian-2023-06-utf8-bom.csv", "tianjian-2023-06-gb18030-excel.csv",
                                     "tianjian-2023-06-title-merged.xlsx"])
def test_files_as_offices_save_them_are_accepted(db_path, accounts, fixture):
    at = open_upload(accounts["tianjian"])
    submit(upload(at, fixture, (FIXTURES / fixture).read_bytes()))
    assert "已接收：天剑社区 2023年6月第 1 版" in texts(at)


def test_a_file_with_errors_shows_the_report_and_writes_nothing(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    before = Store(db_path).counts()
    bad = {**GOOD, ("retrofit_households", ""): "五十", ("governance_reports", ""): "-2"}
    upload(at, "bad.csv", filled(plan, "天剑社区", "2023-06", bad))
    assert "文件有 2 处问题，未保存任何数据" in texts(at)
    report = at.dataframe[0].value
    assert list(report.columns[:4]) == ["行", "列", "内容", "问题类型"]
    # Excel's row numbers: the template's title line is row 1, its header row 2
    assert set(zip(report["行"], report["列"], report["内容"], strict=True)) == {
        (str(excel_row(plan, "retrofit_households")), "本月数值", "五十"),
        (str(excel_row(plan, "governance_reports")), "本月数值", "-2")}
    assert all(report["说明与修改方法"].str.len() > 5)
    assert not [b for b in at.button if b.key == "upload_submit"]
    assert Store(db_path).counts() == before


def test_a_rejected_file_keeps_its_normalisations_collapsed(db_path, accounts):
    at = open_upload(accounts["tianjian"])
    upload(at, "messy.csv", (FIXTURES / "tianjian-2023-06-messy-values.csv").read_bytes())
    expander = [e for e in at.expander if e.label.startswith("系统已自动处理")]
    assert expander and "全角" in table_text(at)


def test_a_file_for_another_community_is_refused_and_nothing_written(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    before = Store(db_path).counts()
    upload(at, "xiajiachong.csv", filled(plan, "夏家冲社区", "2023-06", GOOD))
    assert "未保存任何数据" in texts(at)
    codes = set(at.dataframe[0].value["问题类型"])
    assert "上报单位与声明的单位或登录单位不一致" in codes
    assert "不能替其他单位上报" in table_text(at)
    assert not [b for b in at.button if b.key == "upload_submit"]
    assert Store(db_path).counts() == before


def test_a_community_cannot_choose_another_unit(db_path, accounts):
    at = open_upload(accounts["tianjian"])
    assert not [s for s in at.selectbox if s.key == "upload_unit"]
    own = at.text_input(key="upload_own_unit")
    assert own.value == "天剑社区" and own.disabled


def test_warnings_are_confirmed_in_a_dialog_before_anything_is_written(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    data = filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "100"})
    upload(at, "big.csv", data)
    assert "有 1 条提示需要确认" in texts(at)
    submit(at)
    assert "文件有 1 条提示。请核对下表" in texts(at)  # the dialog
    assert at.button(key="upload_confirm_yes").label == "确认无误，提交"
    assert Store(db_path).is_empty()
    at.button(key="upload_confirm_no").click().run()
    assert Store(db_path).is_empty()
    assert not [b for b in at.button if b.key == "upload_confirm_yes"]

    submit(at)
    at.button(key="upload_confirm_yes").click().run()
    assert not at.exception
    assert "已接收：天剑社区 2023年6月第 1 版" in texts(at)
    uploads = Store(db_path).uploads()
    assert list(uploads["warnings_confirmed"]) == [True]


def test_a_locked_month_is_refused(db_path, accounts, plan):
    Store(db_path).lock_month("2023-06", actor="admin1")
    at = open_upload(accounts["tianjian"])
    assert "2023年6月已锁定" in texts(at)
    assert not at.file_uploader
    assert Store(db_path).counts()["uploads"] == 0


def test_a_month_locked_while_the_file_waits_is_refused(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"], month="2023-07")
    upload(at, "july.csv", filled(plan, "天剑社区", "2023-07", GOOD))
    Store(db_path).lock_month("2023-07", actor="admin1")
    submit(at)
    assert "2023年7月已锁定" in texts(at)
    assert Store(db_path).counts()["uploads"] == 0


def test_a_leader_cannot_upload(db_path, accounts):
    assert not app_support.may_open(accounts["leader"], "upload")  # not in the leader's menu
    at = dashboard(accounts["leader"], UPLOAD)  # and its address refuses
    assert "只有社区账号" in texts(at)
    assert not at.file_uploader and not [b for b in at.get("download_button")]


def test_the_upload_page_refuses_a_leader_who_reaches_it(db_path, accounts):
    # The page file run on its own (a deep link before dashboard.py has run) still checks the role.
    at = AppTest.from_file(str(ROOT / UPLOAD), default_timeout=60)
    signed_in(at, accounts["leader"])
    at.run()
    assert not at.exception
    assert "只有社区账号" in texts(at)
    assert not at.file_uploader


def test_the_upload_page_refuses_anyone_not_signed_in(db_path, accounts):
    at = AppTest.from_file(str(ROOT / UPLOAD), default_timeout=60).run()
    assert not at.exception and not at.file_uploader


def test_an_admin_uploads_for_the_unit_they_choose(db_path, accounts, plan):
    at = open_upload(accounts["admin"])
    at.selectbox(key="upload_unit").select("夏家冲社区").run()
    submit(upload(at, "x.csv", filled(plan, "夏家冲社区", "2023-06", GOOD)))
    assert "已接收：夏家冲社区 2023年6月第 1 版" in texts(at)
    uploads = Store(db_path).uploads()
    assert list(zip(uploads["reporting_unit"], uploads["submitted_by"], strict=True)) == [("夏家冲社区", "admin1")]


def test_an_admin_file_for_another_unit_than_chosen_is_refused(db_path, accounts, plan):
    at = open_upload(accounts["admin"])
    at.selectbox(key="upload_unit").select("天剑社区").run()
    upload(at, "x.csv", filled(plan, "夏家冲社区", "2023-06", GOOD))
    assert "未保存任何数据" in texts(at)
    assert Store(db_path).is_empty()


def test_the_default_month_follows_the_units_latest_upload(db_path, accounts, plan):
    data = filled(plan, "天剑社区", "2023-08", GOOD)
    Store(db_path).submit(read_report(data, "aug.csv", plan), data, submitted_by="tianjian")
    at = dashboard(accounts["tianjian"], UPLOAD)
    assert at.selectbox(key="upload_month").value == "2023-09"
    assert "2023年9月" in texts(at)  # the template caption names the month


def test_the_history_lists_every_version_with_its_original(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    submit(upload(at, "v1.csv", filled(plan, "天剑社区", "2023-06", GOOD)))
    submit(upload(at, "v2.csv", filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "3"})))
    history = at.dataframe[-1].value
    assert list(history["版本"]) == [2, 1] and list(history["状态"]) == ["有效", "已被替换"]
    assert at.selectbox(key="original_pick").options == [
        "#2 天剑社区 2023年6月 第 2 版（有效）· v2.csv", "#1 天剑社区 2023年6月 第 1 版（已被替换）· v1.csv"]
    assert [b for b in at.get("download_button") if b.label == "下载所选版本的原始文件"]


def test_real_reports_are_refused_on_a_database_holding_demo_data(db_path, accounts, plan):
    data = filled(plan, "黄土岭社区", "2023-05", GOOD)
    Store(db_path).mark_demo(actor="demo")  # the demo command marks the database, then loads
    Store(db_path).submit(read_report(data, "demo_huangtuling_2023-05.csv", plan), data,
                          submitted_by="huangtuling_demo")
    at = open_upload(accounts["tianjian"])
    before = Store(db_path).counts()
    submit(upload(at, "real.csv", filled(plan, "天剑社区", "2023-06", GOOD)))
    assert "演示数据" in texts(at) and "已接收" not in texts(at)
    assert Store(db_path).counts() == before


def test_the_upload_page_runs_in_english(db_path, accounts):
    at = dashboard(accounts["tianjian"], UPLOAD, lang="en")
    assert at.title[0].value == "Upload a monthly report"


def test_a_file_over_the_size_limit_is_refused_before_reading(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    big = filled(plan, "天剑社区", "2023-06", GOOD) + b"\r\n" * (5 * 1024 * 1024)
    upload(at, "huge.csv", big)
    assert "文件过大" in table_text(at)
    assert Store(db_path).is_empty()


def test_the_month_picker_shows_each_months_state(db_path, accounts, plan):
    store = Store(db_path)
    data = filled(plan, "天剑社区", "2023-05", GOOD)
    store.submit(read_report(data, "may.csv", plan), data, submitted_by="tianjian")
    store.lock_month("2023-04", actor="admin1")
    at = open_upload(accounts["tianjian"])
    picker = at.selectbox(key="upload_month")
    assert picker.label == "上报月份"
    assert picker.options[:4] == ["2023年4月 · 已锁定 · 未报", "2023年5月 · 已报 第 1 版", "2023年6月 · 未报",
                                  "2023年7月 · 未报"]
    submit(upload(at, "june.csv", filled(plan, "天剑社区", "2023-06", GOOD)))
    assert at.selectbox(key="upload_month").options[2] == "2023年6月 · 已报 第 1 版"


def test_reupload_this_month_from_the_history(db_path, accounts, plan):
    store = Store(db_path)
    data = filled(plan, "天剑社区", "2023-05", GOOD)
    store.submit(read_report(data, "may.csv", plan), data, submitted_by="tianjian")
    at = dashboard(accounts["tianjian"], UPLOAD)
    assert at.selectbox(key="upload_month").value == "2023-06"  # the next month to report
    again = at.button(key="reupload_month")
    assert again.label == "重新上报此月" and not again.disabled
    again.click().run()
    assert not at.exception
    assert at.selectbox(key="upload_month").value == "2023-05"
    assert "已选择 2023年5月（已报 第 1 版）" in texts(at)
    submit(upload(at, "may-v2.csv", filled(plan, "天剑社区", "2023-05", {**GOOD, ("retrofit_households", ""): "4"})))
    assert "已接收：天剑社区 2023年5月第 2 版" in texts(at)


def test_reupload_is_offered_only_for_an_open_month(db_path, accounts, plan):
    store = Store(db_path)
    data = filled(plan, "天剑社区", "2023-05", GOOD)
    store.submit(read_report(data, "may.csv", plan), data, submitted_by="tianjian")
    store.lock_month("2023-05", actor="admin1")
    at = dashboard(accounts["tianjian"], UPLOAD)
    assert at.button(key="reupload_month").disabled


def test_a_file_for_another_month_says_which_control_to_change(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    upload(at, "july.csv", filled(plan, "天剑社区", "2023-07", GOOD))
    assert "未保存任何数据" in texts(at)
    assert "请把“上报月份”改选为 2023年7月" in table_text(at)
    switch = at.button(key="switch_month")
    assert switch.label == "把“上报月份”改为 2023年7月"
    switch.click().run()
    assert at.selectbox(key="upload_month").value == "2023-07"
    assert "检查通过：天剑社区 2023年7月" in texts(at)  # the same file, checked again against July
    submit(at)
    assert "已接收：天剑社区 2023年7月第 1 版" in texts(at)


def test_the_receipt_lists_the_figures_received(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    submit(upload(at, "v1.csv", filled(plan, "天剑社区", "2023-06", {**GOOD, ("T1-1", ""): "进行中"})))
    figures = frame_with(at, "本月数值")
    shown = {(r["编号"], r["分类"]): r["本月数值"] for _, r in figures.iterrows()}
    assert shown[("retrofit_households", "")] == "1 户" and shown[("fund_raised_yuan", "爱心企业")] == "12,000 元"
    assert shown[("T1-1", "")] == "进行中" and shown[("T1-2", "")] == "本月未更新"
    assert "每项本月数值" in texts(at)
    assert "与上一版相比的改动" not in table_text(at) + texts(at)  # a first version: no "改动 0"

    submit(upload(at, "v2.csv", filled(plan, "天剑社区", "2023-06", GOOD)))
    changes = frame_with(at, "上一版")
    row = changes[changes["编号"] == "T1-1"].iloc[0]
    assert (row["上一版"], row["本版"]) == ("进行中", "本月未更新")
    assert "—" not in set(changes["本版"])


def test_problems_are_also_cards_for_a_phone(db_path, accounts, plan):
    at = open_upload(accounts["tianjian"])
    upload(at, "bad.csv", filled(plan, "天剑社区", "2023-06", {**GOOD, ("retrofit_households", ""): "五十"}))
    row = excel_row(plan, "retrofit_households")
    assert f"第 {row} 行 · 本月数值" in texts(at)
    assert any("五十" in t.value and "数字" in t.value for t in at.text)  # the explanation, in full
    assert "内容：五十" in [t.value for t in at.text]


def test_upload_tables_keep_their_first_column_in_view(db_path, accounts, plan):
    import json

    at = open_upload(accounts["tianjian"])
    submit(upload(at, "v1.csv", filled(plan, "天剑社区", "2023-06", GOOD)))
    for frame in at.dataframe:
        if len(frame.value.columns) > 2:  # the receipt's two-column table needs no pinning
            first = str(frame.value.columns[0])
            assert json.loads(frame.proto.columns).get(first, {}).get("pinned") is True, first

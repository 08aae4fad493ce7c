"""The public notice (公示): figures from the registers, masked donors, no one helped named, PDF and PNG."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess

import pytest
from PIL import Image

from tests.apptest import dashboard
from tests.test_registers import FIXTURES, ID_NUMBERS, KEY
from worktrack.meeting.pdf import pdf_problem
from worktrack.registers import read_register
from worktrack.registers.notice import build_notice, notice_html, notice_periods, parse_period
from worktrack.store import Store

pytest_plugins = ["tests.apptest"]  # fixtures: accounts, entry_script, users_file

needs_chromium = pytest.mark.skipif(pdf_problem() is not None, reason="no Chromium with CJK fonts here")
START = dt.date(2023, 7, 3)


@pytest.fixture
def filed(db_path, plan, tmp_path, monkeypatch) -> Store:
    monkeypatch.setenv("WORKTRACK_REGISTER_KEY", str(tmp_path / "register.key"))
    store = Store(db_path)
    for name, kind in (("donation_2023-06.csv", "donation_register"), ("help_2023-06.csv", "help_register")):
        data = (FIXTURES / name).read_bytes()
        assert store.submit_register(read_register(data, name, plan, kind, key=KEY), data,
                                     submitted_by="tianjian").accepted
    return store


@pytest.mark.parametrize("text, label, first, last", [
    ("2023Q3", "2023年第三季度", dt.date(2023, 7, 1), dt.date(2023, 9, 30)),
    ("2023q4", "2023年第四季度", dt.date(2023, 10, 1), dt.date(2023, 12, 31)),
    ("2023-09", "2023年9月", dt.date(2023, 9, 1), dt.date(2023, 9, 30)),
    ("2023年2月", "2023年2月", dt.date(2023, 2, 1), dt.date(2023, 2, 28)),
])
def test_periods(text, label, first, last):
    period = parse_period(text)
    assert (period.label, period.first, period.last) == (label, first, last)


@pytest.mark.parametrize("text", ["2023Q5", "Q3", "", "next month"])
def test_a_period_that_is_neither_a_quarter_nor_a_month(text):
    assert parse_period(text) is None


def test_the_periods_offered_are_quarters_and_their_months_newest_first():
    months = [f"2023-{m:02d}" for m in range(1, 13)]
    assert notice_periods(months, "2023-04") == ["2023Q2", "2023-04", "2023Q1", "2023-03", "2023-02", "2023-01"]


def test_the_notice_figures_come_from_the_registers(filed):
    notice = build_notice(filed.register_rows(), "天剑社区", parse_period("2023Q2"), start=START, contact="街道民政办 88886666",
                          issuer="天剑社区")
    assert (notice.cash_received, notice.goods_received, notice.cash_spent, notice.persons_helped) == (800, 2000, 500, 2)
    assert (notice.opening_balance, notice.closing_balance) == (0, 300)
    assert [d["donor"] for d in notice.donations] == ["王*红", "长沙某超市", "匿名"]  # individuals masked
    assert notice.spent_by_category == [("助困", 500.0, 1), ("助医", 0.0, 1), ("助老", 0.0, 1)]
    assert notice.spent_by_project == [("未注明项目", 0.0, 2), ("微心愿", 500.0, 1)] or \
        notice.spent_by_project == [("微心愿", 500.0, 1), ("未注明项目", 0.0, 2)]
    assert (notice.notice_from, notice.notice_to) == (START, dt.date(2023, 7, 9))
    page = notice_html(notice)
    assert "公示期：2023年7月3日至2023年7月9日" in page and "请向街道民政办 88886666反映" in page
    for hidden in ("王小红", "李四", "李*", "赵六", "赵*", *ID_NUMBERS):
        assert hidden not in page  # donors masked, people helped never named


def test_the_next_period_opens_with_the_balance(filed):
    notice = build_notice(filed.register_rows(), "天剑社区", parse_period("2023-07"), start=START, contact="x",
                          issuer="天剑社区")
    assert (notice.opening_balance, notice.cash_received, notice.closing_balance, notice.persons_helped) == (300, 0, 300, 0)
    assert "本期无捐赠" in notice_html(notice)


def test_another_unit_has_an_empty_notice(filed):
    notice = build_notice(filed.register_rows(), "夏家冲社区", parse_period("2023Q2"), start=START, contact="x",
                          issuer="夏家冲社区")
    assert (notice.cash_received, notice.persons_helped, notice.donations) == (0, 0, [])


@needs_chromium
def test_the_command_prints_an_a4_pdf_with_embedded_cjk_fonts_and_the_totals(filed, db_path, tmp_path, capsys):
    from worktrack.cli import main

    out = tmp_path / "公示.pdf"
    assert main(["--db", str(db_path), "notice", "--unit", "天剑社区", "--period", "2023Q2", "--start", "2023-07-03",
                 "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["cash_received"], summary["cash_spent"], summary["closing_balance"]) == (800, 500, 300)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
        rows = fonts.splitlines()[2:]
        assert rows and all(" yes " in row for row in rows)  # every font embedded
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
        assert "pts (A4)" in info and "Pages:           1" in info
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "天剑社区基金公示" in text and "800.00 元" in text and "300.00 元" in text and "王*红" in text
        assert not any(n in text for n in ("王小红", "李四", "赵六", *ID_NUMBERS))


@needs_chromium
def test_the_png_is_wechat_wide_and_not_cut_off(filed, db_path, tmp_path):
    from worktrack.cli import main

    out = tmp_path / "公示.png"
    assert main(["--db", str(db_path), "notice", "--unit", "天剑社区", "--period", "2023-06", "-o", str(out)]) == 0
    with Image.open(io.BytesIO(out.read_bytes())) as image:
        assert image.format == "PNG" and image.width == 1080 and 1000 < image.height < 3000
        last_rows = image.convert("L").crop((0, image.height - 20, image.width, image.height))
        assert last_rows.getextrema()[0] > 240  # a white margin at the bottom: nothing cut off


def test_a_wrong_period_is_a_usage_error(filed, db_path, tmp_path):
    from worktrack.cli import main

    assert main(["--db", str(db_path), "notice", "--unit", "天剑社区", "--period", "2023Q9", "-o",
                 str(tmp_path / "x.pdf")]) == 2


@needs_chromium
def test_the_community_page_makes_the_notice(filed, accounts):
    at = dashboard(accounts["tianjian"], "pages/community.py")
    at.selectbox(key="notice_period").select("2023Q2").run()
    at.button(key="notice_make_pdf").click().run()
    assert not at.exception
    (download,) = [b for b in at.get("download_button") if b.proto.label == "下载公示 PDF"]

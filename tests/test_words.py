"""The presentation layer's words: cards, the summary, the attention list, the document's own figures."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from worktrack.progress import compute_status, status_from_store
from worktrack.store import Store
from worktrack.views import (
    attention_rows,
    change_tone,
    headline_cards,
    note_lines,
    reconciliation_lines,
    source_lines,
    summary_line,
)

AS_OF = "2023-09"


@pytest.fixture(scope="module")
def report(plan, demo_db):
    return status_from_store(plan, Store(demo_db), AS_OF)


def _monthly(*rows):
    return pd.DataFrame(rows, columns=["reporting_unit", "item", "month", "value"])


def test_a_fall_points_down_and_reads_as_bad(plan):
    # regression: "↑ 较上月 -13篇" — the arrow followed nothing, the colour was always green
    data = _monthly(*[(u.name, "governance_reports", "2023-05", 4) for u in plan.communities],
                    *[(u.name, "governance_reports", "2023-06", 2) for u in plan.communities])
    card = next(c for c in headline_cards(compute_status(plan, data, None, None, "2023-06"))
                if c.metric == "governance_reports")
    assert card.change == "-12篇" and card.arrow == "down" and card.tone == "bad"
    assert card.delta.startswith("-")  # st.metric draws its arrow from the sign at the start
    assert card.delta_color == "normal"  # Streamlit's normal rule: a fall in red


def test_zero_change_is_neutral(plan):
    data = _monthly(("街道民政办", "roundtable_meetings", "2023-05", 1), ("街道民政办", "roundtable_meetings", "2023-06", 1))
    card = next(c for c in headline_cards(compute_status(plan, data, None, None, "2023-06"))
                if c.metric == "roundtable_meetings")
    assert (card.arrow, card.tone, card.delta_color) == ("off", "neutral", "off")


def test_lower_is_better_turns_the_colour_not_the_arrow(plan):
    lower = dataclasses.replace(plan, metrics={**plan.metrics, "governance_reports": dataclasses.replace(
        plan.metrics["governance_reports"], direction="lower")})
    data = _monthly(("黄土岭社区", "governance_reports", "2023-05", 4), ("黄土岭社区", "governance_reports", "2023-06", 2))
    card = next(c for c in headline_cards(compute_status(lower, data, None, None, "2023-06"))
                if c.metric == "governance_reports")
    assert card.arrow == "down" and card.tone == "good" and card.delta_color == "inverse"
    assert change_tone(3, "lower") == "bad" and change_tone(3, "higher") == "good" and change_tone(0, "x") == "neutral"


def test_every_month_cards_are_never_done(report):
    cards = {c.metric: c for c in headline_cards(report)}
    monthly = [c for c in cards.values() if c.period == "month"]
    assert monthly and all("已完成" not in c.status_label for c in monthly)
    assert cards["governance_reports"].detail == "6/6 个单位本月达标"
    assert cards["roundtable_meetings"].detail == "已达标 6/6 个月"
    assert cards["fund_raised_yuan"].value == "791.13万元" and cards["fund_raised_yuan"].target == "1000万元"


def test_summary_counts_yearly_targets_and_monthly_obligations_apart(report):
    counts = report.status_counts()
    assert summary_line(report) == (f"年度目标：已完成 {counts['done']} · 正常 {counts['on_track']} · "
                                    f"预警 {counts['at_risk']} · 滞后 {counts['behind']}；"
                                    "每月任务：本月达标 13/13，今年累计缺 4 次")
    assert counts["done"] == 8  # the thirteen every-month obligations no longer inflate it
    assert summary_line(report, "en").startswith("Yearly targets: Done 8")


def test_attention_holds_everything_a_leader_must_see(report):
    rows = attention_rows(report)
    statuses = rows["status"].tolist()
    # every yearly target 滞后/预警/逾期 is listed
    flagged = report.yearly[report.yearly["status"].isin(["behind", "at_risk", "overdue"])]
    assert sum(s in ("behind", "at_risk", "overdue") for s in statuses) == len(flagged) > 1
    blocked = rows[rows["status"] == "blocked"]
    assert blocked["unit"].tolist() == ["涂新社区"]
    assert "居民意见未统一，暂缓推进" in blocked["text"].item()  # the unit's own note
    missing = rows[rows["status"] == "missing"]
    assert missing["text"].tolist() == ["狮子山社区2023年7月月报未报送"]
    earlier = rows[rows["status"] == "obligation_earlier"]
    assert any("赤岭路社区" in t and "6月" in t for t in earlier["text"])  # June's missed reports stay visible
    assert rows[rows["status"] == "late"]["due"].tolist() == ["截止 2023年7月5日"]
    from worktrack.progress import ATTENTION_SEVERITY

    ranks = [ATTENTION_SEVERITY.index(s) for s in statuses]
    assert ranks == sorted(ranks)
    assert rows["due"].str.len().min() > 0 and rows["unit"].str.len().min() > 0


def test_the_documents_own_inconsistencies_are_said_plainly(plan, report):
    lines = [text for text, _ in reconciliation_lines(plan)]
    assert any("36户" in t and "35户" in t and "多 1户" in t for t in lines)
    assert any("300万元" in t and "1000万元" in t and "30%" in t for t in lines)
    sources = source_lines(report)
    assert len(sources) == 1 and "街道民政办" in sources[0] and "791.13万元" in sources[0]
    english = " ".join(text for text, _ in reconciliation_lines(plan, "en"))
    assert "36 households" in english and "¥3M" in english


def test_reading_notes_are_headed_by_names_not_ids(plan):
    for lang in ("zh", "en"):
        for about, text in note_lines(plan, lang):
            for internal in [*plan.metrics, "pace", "start_month", "at_deadline", *plan.items]:
                assert not re.search(rf"(?<![A-Za-z0-9_-]){re.escape(internal)}(?![A-Za-z0-9_-])", about + text), \
                    (lang, internal, about)
    headings = [about for about, _ in note_lines(plan)]
    assert "特殊困难老年人家庭居家适老化改造" in headings and "整个计划" in headings

"""例会 page under AppTest: slide navigation, the numbers shown, presenter notes and the pack exports.

Each run signs in through the session as a real account from a temporary users file: a street
leader (may export) or a community (may follow the slides, may not export).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import dashboard
from worktrack import export
from worktrack.charts import format_amount
from worktrack.progress import status_from_store
from worktrack.store import Store

PAGE = "pages/meeting.py"
AS_OF = "2023-09"


@pytest.fixture(scope="session")
def users_file(tmp_path_factory, plan):
    from worktrack.auth import UserStore

    path = tmp_path_factory.mktemp("users") / "users.yaml"
    store = UserStore(path)
    store.add("leader", "meeting-Leader-2023", "leader", display_name="街道领导")
    store.add("tianjian", "meeting-Tianjian-2023", "community", "天剑社区", plan=plan)
    return path


@pytest.fixture(autouse=True)
def accounts(users_file, monkeypatch):
    monkeypatch.setenv("WORKTRACK_USERS", str(users_file))
    monkeypatch.delenv("WORKTRACK_DEMO", raising=False)


def open_meeting(lang: str | None = None, username: str = "leader", **state) -> AppTest:
    from worktrack.auth import UserStore

    return dashboard(UserStore().get(username), PAGE, lang, **state)


def slide_title(at: AppTest) -> str:
    return at.title[0].value


@pytest.fixture
def deck(plan, demo_env):
    return export.slide_deck(plan, status_from_store(plan, Store(demo_env), AS_OF))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_meeting_page_runs_on_an_empty_database(db_path, plan, lang):
    at = open_meeting(lang)
    assert slide_title(at) == plan.title
    at.button(key="meeting_next").click().run()
    assert not at.exception
    assert slide_title(at) == ("核心指标" if lang == "zh" else "Headline metrics")


def test_meeting_page_shows_the_same_slides_as_the_deck(demo_env, deck):
    at = open_meeting(as_of=AS_OF)
    picker = at.selectbox(key="meeting_slide")
    assert len(picker.options) == len(deck)
    assert picker.options[1] == "2. 核心指标"
    assert slide_title(at) == deck[0].title
    assert at.button(key="meeting_prev").disabled


def test_next_and_previous_change_the_slide(demo_env, deck):
    at = open_meeting(as_of=AS_OF)
    seen = [slide_title(at)]
    for _ in range(3):
        at.button(key="meeting_next").click().run()
        assert not at.exception
        seen.append(slide_title(at))
    assert seen == [s.title for s in deck[:4]]
    at.button(key="meeting_prev").click().run()
    assert slide_title(at) == deck[2].title
    assert at.session_state["meeting_slide"] == 2


def test_the_picker_jumps_and_next_stops_at_the_last_slide(demo_env, deck):
    at = open_meeting(as_of=AS_OF)
    last = len(deck) - 1
    at.selectbox(key="meeting_slide").select(last).run()
    assert slide_title(at) == deck[last].title and deck[last].title.startswith("督办事项")
    assert at.button(key="meeting_next").disabled
    index = next(i for i, s in enumerate(deck) if s.title == "夏家冲社区 目标完成情况")
    at.selectbox(key="meeting_slide").select(index).run()
    table = at.dataframe[0].value
    assert table[table["指标"] == "适老化改造"]["状态"].iloc[0] == "▼ 滞后"


def test_headline_slide_numbers_equal_the_status_contract(demo_env, plan):
    at = open_meeting(as_of=AS_OF, meeting_slide=1)
    contract = status_from_store(plan, Store(demo_env), AS_OF).as_dict()
    street = {t["metric"]: t for t in contract["targets"] if t["reporting_unit"] is None}
    shown = {m.label: m.value for m in at.metric}
    assert shown["适老化改造"] == format_amount(street["retrofit_households"]["actual"], "户", compact=True)
    assert shown["基金募集"] == format_amount(street["fund_raised_yuan"]["actual"], "元", compact=True)
    assert shown["帮扶人数"] == format_amount(street["people_helped"]["actual"], "人", compact=True)
    assert len(at.get("plotly_chart")) == 1


def test_presenter_notes_follow_the_slide(demo_env, deck):
    at = open_meeting(as_of=AS_OF, meeting_slide=1)
    assert at.expander[0].label == "讲稿（演讲者备注）"
    assert deck[1].notes in [t.value for t in at.expander[0].text]
    assert "截至2023年9月" in deck[1].notes


def test_building_the_pptx_offers_its_download(demo_env):
    at = open_meeting(as_of=AS_OF)
    assert not at.get("download_button")
    at.button(key="meeting_build_pptx").click().run()
    assert not at.exception
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["下载 PPTX"]
    at.button(key="meeting_build_xlsx").click().run()
    assert [d.proto.label for d in at.get("download_button")] == ["下载 PPTX", "下载 XLSX"]


def test_without_chromium_the_page_says_what_to_install(demo_env, monkeypatch):
    monkeypatch.setenv("WORKTRACK_CHROMIUM", "/nonexistent/chromium")
    at = open_meeting(as_of=AS_OF)
    assert any("apt-get install chromium fonts-noto-cjk" in w.value for w in at.warning)
    assert at.button(key="meeting_build_pdf").disabled


def test_a_community_follows_the_slides_but_cannot_export(demo_env):
    at = open_meeting(as_of=AS_OF, username="tianjian")
    assert at.title[0].value
    at.button(key="meeting_next").click().run()
    assert at.title[0].value == "核心指标"
    assert any("只有街道领导和管理员" in i.value for i in at.info)
    assert not [b for b in at.button if b.key and b.key.startswith("meeting_build_")]

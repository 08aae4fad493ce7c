"""例会 page under AppTest: slide navigation, the numbers shown, presenter notes and the pack exports.

Each run signs in through the session as a real account from a temporary users file: a street
leader (may export) or a community (may follow the slides, may not export).
"""

from __future__ import annotations

import html
import re

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


def stage(at: AppTest) -> str:
    """The presenter stage's document (the slides, escaped, with the keyboard script)."""
    frames = at.get("iframe")
    assert len(frames) == 1
    return frames[0].proto.srcdoc


@pytest.fixture
def deck(plan, demo_env):
    return export.slide_deck(plan, status_from_store(plan, Store(demo_env), AS_OF))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_meeting_page_runs_on_an_empty_database(db_path, plan, lang):
    at = open_meeting(lang)
    document = stage(at)
    assert html.escape(plan.title) in document
    assert ("核心指标" if lang == "zh" else "Headline metrics") in document


def test_the_stage_holds_the_same_slides_as_the_deck(demo_env, deck):
    at = open_meeting(as_of=AS_OF)
    document = stage(at)
    assert re.findall(r'data-key="([^"]+)"', document) == [html.escape(s.key) for s in deck]
    assert document.count('<section class="slide') == len(deck)
    for slide in deck:
        assert html.escape(slide.title) in document
    assert f"共 {len(deck)} 页" in " ".join(c.value for c in at.caption)
    # the keys a clicker sends are handled by the stage itself, on the page as well as in the frame
    for key in ("PageDown", "PageUp", "ArrowRight", "ArrowLeft", "Home", "End", '" "', "Escape"):
        assert key in document
    assert "localStorage" in document  # a reload keeps the slide


def test_the_stage_shows_the_headline_numbers_of_the_status_contract(demo_env, plan):
    at = open_meeting(as_of=AS_OF)
    document = stage(at)
    contract = status_from_store(plan, Store(demo_env), AS_OF).as_dict()
    street = {t["metric"]: t for t in contract["targets"] if t["reporting_unit"] is None}
    for metric, measure in (("retrofit_households", "户"), ("fund_raised_yuan", "元"), ("people_helped", "人")):
        assert format_amount(street[metric]["actual"], measure) in document


def test_presenter_notes_of_every_slide_are_on_the_page(demo_env, deck):
    at = open_meeting(as_of=AS_OF)
    assert at.expander[0].label == "讲稿（演讲者备注）"
    assert not at.expander[0].get("html")  # closed: the notes are not sent
    at.session_state["meeting_notes"] = True  # the user opens it
    at.run()
    notes = at.expander[0].get("html")[0].proto.body
    assert all(html.escape(slide.notes) in notes for slide in deck)
    assert all(f"<b>{n}. {html.escape(slide.title)}</b>" in notes for n, slide in enumerate(deck, start=1))
    assert "截至2023年9月" in deck[2].notes
    assert html.escape(deck[1].notes) in stage(at)  # and in the stage, for the presenter's own view


def test_the_presenter_tab_shows_only_the_presenter_view(demo_env, deck):
    from tests.apptest import ENTRY, signed_in
    from worktrack.auth import UserStore

    at = signed_in(AppTest.from_file(ENTRY, default_timeout=60), UserStore().get("leader"))
    at.session_state["as_of"] = AS_OF
    at.query_params["view"] = "presenter"
    at.run()
    at.switch_page(PAGE)
    at.query_params["view"] = "presenter"
    at.run()
    assert not at.exception
    document = stage(at)
    assert '"view": "presenter"' in document
    assert not [b for b in at.button if b.key and b.key.startswith("meeting_build_")]


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
    assert "核心指标" in stage(at)
    assert any("只有街道领导和管理员" in i.value for i in at.info)
    assert not [b for b in at.button if b.key and b.key.startswith("meeting_build_")]

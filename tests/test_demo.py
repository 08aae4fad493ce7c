"""The demo engine and the shipped plan's story (demo/jinpenling-2023.yaml): one report returned and refiled,
October still under review, and every file byte for byte what it was before the story left the code."""

from __future__ import annotations

import datetime as dt

from worktrack import cycle
from worktrack.demo_story import load_story
from worktrack.progress import status_from_store
from worktrack.store import Store


def test_demo_has_a_returned_and_refiled_report_and_october_under_review(demo_db, plan):
    store = Store(demo_db)
    returned = load_story(plan).spec.returned
    unit, month = returned.unit, returned.month
    versions = store.reviewed_uploads(unit=unit, month=month).sort_values("version")
    assert versions["review_state"].tolist() == ["returned", "approved"]
    assert versions["state"].tolist() == ["superseded", "active"]
    assert versions["review_reason"].iloc[0] == returned.reason
    active = store.reviewed_uploads(active_only=True)
    assert set(active.loc[active["month"] == "2023-10", "review_state"]) == {"pending"}
    assert set(active.loc[active["month"] < "2023-10", "review_state"]) == {"approved"}
    assert cycle.awaiting_review(active) == "2023-10"


def test_demo_september_figures_are_the_same_approved_only_or_not(demo_db, plan):
    store = Store(demo_db)
    approved = status_from_store(plan, store, "2023-09", today=dt.date(2023, 11, 20), approved_only=True)
    everything = status_from_store(plan, store, "2023-09", today=dt.date(2023, 11, 20))
    columns = ["target_id", "actual", "status"]
    assert approved.targets[columns].equals(everything.targets[columns])
    assert not everything.includes_pending
    october = status_from_store(plan, store, "2023-10", today=dt.date(2023, 11, 20))
    assert october.includes_pending  # October's figures wait for review


def test_demo_files_and_reviews_are_byte_for_byte_the_recorded_ones():
    """The demo data is pinned: every file's bytes and every review, as recorded before the story left the code."""
    import json

    from tests.demo_fingerprint import FINGERPRINT, all_fingerprints

    recorded = json.loads(FINGERPRINT.read_text(encoding="utf-8"))
    made = json.loads(json.dumps(all_fingerprints(), ensure_ascii=False))
    for old, new in zip(recorded, made, strict=True):
        assert new == old, old["plan"]

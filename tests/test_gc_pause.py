"""The collector pause around plan loading: it nests, is shared by threads and restores the state it found."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest

from worktrack.gc_pause import paused_gc
from worktrack.plan import PlanError, load_plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _collector_enabled():
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_pause_disables_then_restores():
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_enable_only_at_the_outermost_end():
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_beforehand_stays_disabled():
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_an_exception_inside_still_restores():
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_two_threads():
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def other():
        with paused_gc():
            inside.set()
            release.wait(5)
        seen.append(gc.isenabled())

    with paused_gc():
        thread = threading.Thread(target=other)
        thread.start()
        assert inside.wait(5)
    # This thread's pause ended while the other one's still runs: the collector stays off.
    assert not gc.isenabled()
    release.set()
    thread.join(5)
    assert seen == [True]
    assert gc.isenabled()


def test_loading_a_plan_leaves_the_collector_as_it_was():
    plan = load_plan(ROOT / "targets.yaml")
    assert plan.targets
    assert gc.isenabled()
    gc.disable()
    load_plan(ROOT / "targets.yaml")
    assert not gc.isenabled()


def test_a_broken_plan_still_restores_the_collector(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [\n", encoding="utf-8")
    with pytest.raises(PlanError):
        load_plan(bad)
    assert gc.isenabled()


def test_batch_thresholds_replace_only_the_defaults():
    from worktrack.gc_pause import BATCH_THRESHOLDS, for_batch_work

    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        for_batch_work()
        assert gc.get_threshold() == BATCH_THRESHOLDS
        gc.set_threshold(1234, 5, 6)  # someone's own tuning stays
        for_batch_work()
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)


def test_the_command_line_tunes_the_collector_and_freezes_before_exit():
    import subprocess
    import sys

    # `plan check` returns normally: the freeze before exit is reached
    probe = ("import gc, runpy, sys; sys.argv = ['worktrack', '--plan', 'targets.yaml', 'plan', 'check']\n"
             "try:\n    runpy.run_module('worktrack', run_name='__main__')\n"
             "except SystemExit as exc:\n    code = exc.code\n"
             "print(code, gc.get_threshold(), gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "0 (100000, 50, 100) True", out.stdout + out.stderr

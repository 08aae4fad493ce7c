"""The demo story file: checked against its plan by `plan check`, and read by the demo engine under any ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PLAN_PATH
from tests.test_renamed_plan import renamed_text
from worktrack.demo import demo_rows
from worktrack.demo_story import check_story, load_story
from worktrack.plan import check_plan, load_plan

STORY = Path(load_plan(PLAN_PATH).demo_story)


def test_the_shipped_plan_names_a_valid_story():
    plan, issues = check_plan(PLAN_PATH)
    assert plan is not None and STORY.is_file() and not [i for i in issues if i.severity == "error"]
    story = load_story(plan)
    assert story.spec.story.plan == plan.id and story.spec.returned is not None


def copy_with(tmp_path: Path, old: str, new: str) -> Path:
    """The shipped plan and its story in tmp_path, the story with `old` replaced by `new`."""
    text = STORY.read_text(encoding="utf-8")
    assert old in text, old
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / STORY.name).write_text(text.replace(old, new, 1), encoding="utf-8")
    plan_copy = tmp_path / "targets.yaml"
    plan_copy.write_text(PLAN_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    return plan_copy


BROKEN = [
    ("unknown unit", "  - {unit: 狮子山社区, month: 2023-07}", "  - {unit: 狮子岭社区, month: 2023-07}", "missed.0.unit",
     "不是计划的报送单位"),
    ("month outside the plan", "{unit: 涂新社区, month: 2023-06, day: 9}", "{unit: 涂新社区, month: 2024-06, day: 9}",
     "late.0.month", "不在计划的报送月份"),
    ("unknown metric", "  roundtable_meetings:\n", "  roundtable_meeting:\n", "metrics.roundtable_meeting",
     "不在计划的 metrics 里"),
    ("category of another metric", "{助困: 0.3,", "{爱心企业: 0.3,", "metrics.people_helped.shares.by_category.爱心企业",
     "不是这个指标的分类"),
    ("two rules", "    choice: [1, 1, 2]\n", "    choice: [1, 1, 2]\n    constant: 1\n", "metrics.roundtable_meetings",
     "只写一种规则"),
    ("unknown task", "      item: T2-6-3\n", "      item: T9-9-9\n", "tasks.blocked.0.item", "不在计划里"),
    ("another plan's story", "  plan: jinpenling-2023\n", "  plan: jinpenling-2024\n", "story.plan", "而计划编号是"),
    ("short series", "      天剑社区: [1, 1, 1, 1, 1, 1, 0, 0, 0]", "      天剑社区: [1, 1, 1]",
     "metrics.retrofit_households.series.天剑社区", "只有 3 个"),
]


@pytest.mark.parametrize(("case", "old", "new", "field", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_plan_check_refuses_a_broken_story_with_file_line_and_field(tmp_path, case, old, new, field, message):
    plan_copy = copy_with(tmp_path, old, new)
    _, issues = check_plan(plan_copy)
    errors = [i for i in issues if i.severity == "error"]
    story_file = tmp_path / "demo" / STORY.name
    anchor = "  roundtable_meetings:" if case == "two rules" else new.splitlines()[0]  # the line to point at
    line = next(n for n, text in enumerate(story_file.read_text(encoding="utf-8").splitlines(), start=1)
                if anchor in text)
    assert any(message in e.message and (e.file, e.line, e.field) == (str(story_file), line, field) for e in errors), \
        [e.render() for e in errors]
    with pytest.raises(ValueError, match="演示故事文件有错误"):
        load_story(load_plan(plan_copy))


def test_a_missing_story_file_is_an_error_of_the_plan(tmp_path):
    plan_copy = tmp_path / "targets.yaml"
    plan_copy.write_text(PLAN_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    _, issues = check_plan(plan_copy)
    assert [(i.field, i.file) for i in issues if i.severity == "error"] == [("demo", str(plan_copy))]


def test_a_plan_without_a_story_has_none(tmp_path):
    text = PLAN_PATH.read_text(encoding="utf-8")
    without = tmp_path / "targets.yaml"
    without.write_text("\n".join(line for line in text.splitlines() if not line.startswith("demo:")), encoding="utf-8")
    plan, issues = check_plan(without)
    assert plan.demo_story == "" and load_story(plan) is None and not [i for i in issues if i.severity == "error"]


def test_the_story_follows_its_ids_when_the_plan_renames_them(tmp_path):
    """The engine reads ids from the story: renamed in both files, every figure the story sets is the same."""
    original = load_plan(PLAN_PATH)
    renamed_path = tmp_path / "targets.yaml"
    renamed_path.write_text(renamed_text(PLAN_PATH.read_text(encoding="utf-8"), original), encoding="utf-8")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / STORY.name).write_text(renamed_text(STORY.read_text(encoding="utf-8"), original),
                                                 encoding="utf-8")
    renamed = load_plan(renamed_path)
    story = load_story(original)
    told_tasks = {(b.unit, b.item) for b in story.spec.tasks.blocked} | {f.item for f in story.spec.tasks.finished}
    for unit in original.unit_names:
        for month in original.months:
            before = demo_rows(original, unit, month, corrected=False)
            after = demo_rows(renamed, unit, month, corrected=False)
            assert len(before) == len(after)
            for old, new in zip(before, after, strict=True):
                if old[2] in original.metrics or (unit, old[2]) in told_tasks or old[2] in told_tasks:
                    assert (old[5], old[7]) == (new[5], new[7]), (unit, month, old)
    assert check_story(renamed)[1] == []

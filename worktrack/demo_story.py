"""A plan's demo story (demo/<plan>.yaml): who is ahead, who misses a month, what is returned, which task is blocked.

The story is data next to the plan, not code: the demo engine (worktrack.demo) reads it, and `plan check`
checks that every unit, metric, category, item and month it names exists in the plan it belongs to.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from worktrack.plan import Plan, PlanIssue, _line_for, _parse_yaml, _pydantic_issue, parse_month

logger = logging.getLogger(__name__)

UNIT_KINDS = ("community", "street_office")


def _month_text(value: Any) -> Any:
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    return value


Month = Annotated[str, BeforeValidator(_month_text)]  # 2023-07 (a YAML date is taken as its month)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StoryMetaIn(_Strict):
    plan: str
    seed: int
    reviewer: str = Field(min_length=1)


class UnitMonthIn(_Strict):
    unit: str
    month: Month


class LateIn(UnitMonthIn):
    day: int = Field(ge=1, le=28)


class ReturnedIn(UnitMonthIn):
    metric: str
    first_value: float
    reason: str = Field(min_length=1)


class OverrideIn(UnitMonthIn):
    value: float


class AmountsByKindIn(_Strict):
    spread: tuple[float, float]
    by_category: dict[str, float] = {}


class SpikeIn(_Strict):
    month: Month
    category: str
    community: float | tuple[float, float] | None = None
    street_office: float | tuple[float, float] | None = None


class BoostIn(_Strict):
    month: Month
    factor: float = Field(gt=0)


class SharesIn(_Strict):
    total: dict[Literal["community", "street_office"], tuple[int, int]]
    boost: BoostIn | None = None
    by_category: dict[str, float]


class OnceIn(_Strict):
    month: Month
    units: dict[str, Month] = {}


class RuleIn(_Strict):
    """How one metric's demo figures are made: exactly one of the rules."""

    series: dict[str, list[float]] | None = None
    amounts: dict[Literal["community", "street_office"], AmountsByKindIn] | None = None
    round_to: int = 1
    spike: SpikeIn | None = None
    shares: SharesIn | None = None
    choice: list[float] | None = Field(None, min_length=1)
    constant: float | None = None
    once: OnceIn | None = None
    overrides: list[OverrideIn] = []

    @model_validator(mode="after")
    def _one_rule(self) -> RuleIn:
        rules = [k for k in ("series", "amounts", "shares", "choice", "constant", "once") if getattr(self, k) is not None]
        if len(rules) != 1:
            raise ValueError("每个指标只写一种规则：series、amounts、shares、choice、constant、once 之一")
        if self.overrides and rules[0] not in ("choice", "constant"):
            raise ValueError("overrides 只用于 choice 或 constant")
        if (self.spike or self.round_to != 1) and rules[0] != "amounts":
            raise ValueError("spike 和 round_to 只用于 amounts")
        if self.round_to < 1 or 10 ** round(math.log10(self.round_to)) != self.round_to:
            raise ValueError("round_to 应为 1、10、100 这样的 10 的整数次方")
        return self


class BlockedIn(_Strict):
    unit: str
    item: str
    from_month: Month = Field(alias="from")
    note: str = ""


class FinishedIn(OnceIn):
    item: str


class TasksIn(_Strict):
    blocked: list[BlockedIn] = []
    finished: list[FinishedIn] = []


class StoryFileIn(_Strict):
    story: StoryMetaIn
    formats: dict[str, Literal["csv", "gbk", "xlsx"]] = {}
    missed: list[UnitMonthIn] = []
    late: list[LateIn] = []
    returned: ReturnedIn | None = None
    metrics: dict[str, RuleIn] = {}
    other_metrics: RuleIn | None = None
    tasks: TasksIn = TasksIn()


@dataclass(frozen=True)
class Story:
    """A validated demo story and the file it came from."""

    path: str
    spec: StoryFileIn

    @property
    def seed(self) -> int:
        return self.spec.story.seed

    def rule(self, metric_id: str) -> RuleIn | None:
        """The rule that makes a metric's figures (other_metrics for a metric the story does not name)."""
        return self.spec.metrics.get(metric_id, self.spec.other_metrics)

    def missed(self, unit: str, month: str) -> bool:
        return any((m.unit, m.month) == (unit, month) for m in self.spec.missed)

    def late_day(self, unit: str, month: str) -> int | None:
        return next((m.day for m in self.spec.late if (m.unit, m.month) == (unit, month)), None)

    def is_returned(self, unit: str, month: str) -> bool:
        returned = self.spec.returned
        return returned is not None and (returned.unit, returned.month) == (unit, month)

    def file_format(self, unit: str) -> str:
        return self.spec.formats.get(unit, "csv")


def story_path(plan: Plan) -> Path | None:
    """The story file a plan names (`demo:`), or None."""
    return Path(plan.demo_story) if plan.demo_story else None


def load_story(plan: Plan) -> Story | None:
    """The plan's demo story, checked against the plan; None when the plan names none. Raises ValueError on errors."""
    story, issues = check_story(plan)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise ValueError("演示故事文件有错误：\n" + "\n".join(e.render() for e in errors))
    return story


def check_story(plan: Plan) -> tuple[Story | None, list[PlanIssue]]:
    """Read the plan's story file and check every name in it against the plan."""
    path = story_path(plan)
    if path is None:
        return None, []
    file = str(path)
    try:
        data, lines = _parse_yaml(path.read_text(encoding="utf-8"))  # the data and each path's line
    except FileNotFoundError:
        return None, [PlanIssue("error", "找不到计划文件 demo 字段指向的演示故事文件", plan.path, None, "demo")]
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        logger.info("demo story %s unreadable: %s", file, exc)
        mark = getattr(exc, "problem_mark", None)
        return None, [PlanIssue("error", f"演示故事文件无法读取：{getattr(exc, 'problem', None) or exc}", file,
                                mark.line + 1 if mark else None)]
    try:
        spec = StoryFileIn.model_validate(data)
    except ValidationError as exc:
        return None, [_story_issue(e, file, lines) for e in exc.errors()]
    issues = _check_names(plan, spec, file, lines)
    return (None if issues else Story(file, spec)), issues


def _story_issue(err: dict, file: str, lines: Mapping[tuple, int]) -> PlanIssue:
    if err["type"] == "value_error":  # a rule's own check: its message is already Chinese
        loc = tuple(err["loc"])
        return PlanIssue("error", str(err["ctx"]["error"]), file, _line_for(lines, loc), ".".join(map(str, loc)))
    return _pydantic_issue(err, file, lines)


def _check_names(plan: Plan, spec: StoryFileIn, file: str, lines: Mapping[tuple, int]) -> list[PlanIssue]:
    issues: list[PlanIssue] = []

    def error(path: tuple, message: str) -> None:
        issues.append(PlanIssue("error", message, file, _line_for(lines, path), ".".join(map(str, path))))

    def unit(name: str, path: tuple) -> None:
        if name not in plan.unit_names:
            error(path, f"演示故事里的单位“{name}”不是计划的报送单位")

    def month(value: str, path: tuple) -> None:
        try:
            ok = parse_month(value) in plan.months
        except ValueError:
            ok = False
        if not ok:
            error(path, f"演示故事里的月份“{value}”不在计划的报送月份（{plan.months[0]} 至 {plan.months[-1]}）之内")

    if spec.story.plan != plan.id:
        error(("story", "plan"), f"演示故事写给计划“{spec.story.plan}”，而计划编号是“{plan.id}”")
    for name in spec.formats:
        unit(name, ("formats", name))
    for key in ("missed", "late"):
        for i, m in enumerate(getattr(spec, key)):
            unit(m.unit, (key, i, "unit"))
            month(m.month, (key, i, "month"))
    if spec.returned is not None:
        unit(spec.returned.unit, ("returned", "unit"))
        month(spec.returned.month, ("returned", "month"))
        if spec.returned.metric not in plan.metrics:
            error(("returned", "metric"), f"演示故事里的指标“{spec.returned.metric}”不在计划的 metrics 里")
    uncovered = [m for m in plan.metrics if m not in spec.metrics]
    if uncovered and spec.other_metrics is None:
        error(("metrics",), f"指标 {'、'.join(uncovered)} 没有演示规则：逐个写上，或写 other_metrics")
    rules = [(("metrics", m), m, r) for m, r in spec.metrics.items()]
    if spec.other_metrics is not None:
        rules.append((("other_metrics",), None, spec.other_metrics))
    for path, metric_id, rule in rules:
        if metric_id is not None and metric_id not in plan.metrics:
            error(path, f"演示故事里的指标“{metric_id}”不在计划的 metrics 里")
            continue
        categories = set(plan.categories(metric_id)) if metric_id else set()
        for name, values in (rule.series or {}).items():
            unit(name, (*path, "series", name))
            if len(values) < len(plan.months):
                error((*path, "series", name), f"“{name}”的逐月数值只有 {len(values)} 个，计划有 {len(plan.months)} 个月")
        by_categories = [(("amounts", k), a.by_category) for k, a in (rule.amounts or {}).items()]
        if rule.shares is not None:
            by_categories.append((("shares",), rule.shares.by_category))
        for sub, by_category in by_categories:
            for category in by_category:
                if category not in categories:
                    error((*path, *sub, "by_category", category), f"“{category}”不是这个指标的分类")
        if rule.spike is not None:
            month(rule.spike.month, (*path, "spike", "month"))
            if rule.spike.category not in categories:
                error((*path, "spike", "category"), f"“{rule.spike.category}”不是这个指标的分类")
        if rule.shares is not None and rule.shares.boost is not None:
            month(rule.shares.boost.month, (*path, "shares", "boost", "month"))
        for i, o in enumerate(rule.overrides):
            unit(o.unit, (*path, "overrides", i, "unit"))
            month(o.month, (*path, "overrides", i, "month"))
        if rule.once is not None:
            _check_once(rule.once, (*path, "once"), unit, month)
    for i, b in enumerate(spec.tasks.blocked):
        unit(b.unit, ("tasks", "blocked", i, "unit"))
        month(b.from_month, ("tasks", "blocked", i, "from"))
        if b.item not in plan.items:
            error(("tasks", "blocked", i, "item"), f"演示故事里的事项“{b.item}”不在计划里")
    for i, f in enumerate(spec.tasks.finished):
        if f.item not in plan.items:
            error(("tasks", "finished", i, "item"), f"演示故事里的事项“{f.item}”不在计划里")
        _check_once(f, ("tasks", "finished", i), unit, month)
    return issues


def _check_once(once: OnceIn, path: tuple, unit, month) -> None:
    month(once.month, (*path, "month"))
    for name, when in once.units.items():
        unit(name, (*path, "units", name))
        month(when, (*path, "units", name))

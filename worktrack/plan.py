"""targets.yaml -> validated plan objects, plus the plan check (reconciliation of quotas)."""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from worktrack.gc_pause import paused_gc

COMMUNITY_KIND = "community"
STREET_OFFICE_KIND = "street_office"
ALL_COMMUNITIES = "各社区"
COUNT_MEASURES = frozenset({"户", "人", "篇", "次", "个", "件", "起", "场", "项"})
MEASURES = COUNT_MEASURES | {"元", "%"}
# Register kinds a metric may be counted from (`register:` on a metric) and the measure each counts in:
# retrofit households, donated yuan (cash and goods), people helped.
REGISTER_MEASURES = {"retrofit_register": "户", "donation_register": "元", "help_register": "人"}
# Target kinds: how a target is judged (see progress.py and the head of targets.yaml).
TARGET_KINDS = ("cumulative", "every_period", "level", "ceiling", "stock")
CADENCES = {"month": 1, "quarter": 3, "half_year": 6}
STATUS_WORDS = ("未开始", "进行中", "已完成", "受阻")


# ---------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class PlanIssue:
    """One problem found in a plan file: where it is and what is wrong, in Chinese."""

    severity: Literal["error", "warning"]
    message: str
    file: str = ""
    line: int | None = None
    field: str = ""

    def render(self) -> str:
        where = self.file or "计划文件"
        if self.line:
            where += f" 第 {self.line} 行"
        label = "错误" if self.severity == "error" else "提示"
        fld = f"（字段 {self.field}）" if self.field else ""
        return f"[{label}] {where}{fld}：{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "line": self.line,
                "field": self.field, "message": self.message}


class PlanError(Exception):
    """Raised by load_plan when the plan file is unusable; carries every error found."""

    def __init__(self, issues: list[PlanIssue]):
        self.issues = issues
        super().__init__("\n".join(i.render() for i in issues))


# ---------------------------------------------------------------------------
# Raw YAML schema (what the street office edits)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlanMetaIn(_Strict):
    id: str
    title: str
    issuers: list[str] = Field(min_length=1)
    issue_date: dt.date
    year: int = Field(ge=2000, le=2100)
    start_month: str | None = None
    report_due_day: int = Field(default=5, ge=1, le=28)
    source: str = ""

    @field_validator("start_month", mode="before")
    @classmethod
    def _month_text(cls, v: Any) -> Any:
        if isinstance(v, dt.date):
            return f"{v.year:04d}-{v.month:02d}"
        return v


class UnitIn(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    kind: Literal["community", "street_office"]
    aliases: list[str] = []


class DimensionIn(_Strict):
    id: str
    name: str
    values: list[str] = Field(min_length=1)
    values_en: list[str] = []  # English names of the values, in the same order (optional)


class SiteIn(_Strict):
    """A named sub-task or site of an item (a pilot estate, say), with its own responsible unit and status."""

    id: str = Field(pattern=r"^[A-Za-z0-9]+$")
    name: str = Field(min_length=1)
    unit: str  # the unit that reports its status
    text: str | None = None
    deadline: str | dt.date | None = None


class MilestoneIn(_Strict):
    """A dated step of an item (方案制定 by 03-31, 完成验收 by 10-31), reported by the item's units."""

    id: str = Field(pattern=r"^[A-Za-z0-9]+$")
    name: str = Field(min_length=1)
    deadline: str | dt.date


class CarryOverIn(_Strict):
    """The item of an earlier plan this item continues (its work was not finished there)."""

    plan: str  # the earlier plan's id
    item: str  # the item's id in that plan
    title: str = Field(min_length=1)  # its number and title as the earlier plan wrote them
    note: str = ""  # why it is carried over


class ItemIn(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    number: str
    title: str
    text: str
    lead: str | None = None
    responsible: list[str] | None = None
    communities: list[str] = []
    deadline: str | dt.date | None = None
    status_tracked: bool = True
    # what the text assigns to each named unit, e.g. {狮子山社区: 完整社区} for the 做靓社区 themes
    assignments: dict[str, str] = {}
    carry_over: CarryOverIn | None = None  # an unfinished item of last year's plan carried into this one
    sites: list[SiteIn] = []  # named sub-tasks and sites, each reported by its own unit
    milestones: list[MilestoneIn] = []  # dated steps, each reported by the item's units


class GroupIn(_Strict):
    id: str
    number: str
    title: str
    text: str | None = None
    lead: str | None = None
    responsible: list[str] | None = None
    deadline: str | dt.date | None = None
    items: list[ItemIn] = Field(min_length=1)


class SectionIn(_Strict):
    id: str
    number: str
    title: str
    items: list[ItemIn] = []
    groups: list[GroupIn] = []


class TargetIn(_Strict):
    scope: Literal["street", "unit"]
    units: list[str] = []
    value: float = Field(ge=0)
    # kind: cumulative (at least N by the deadline, the default), every_period (at least N every month,
    # quarter or half year), level (the latest reported value counts, e.g. a rate), ceiling (at most N,
    # lower is better), stock (an opening balance plus what is added)
    kind: Literal["cumulative", "every_period", "level", "ceiling", "stock"] | None = None
    period: Literal["year", "month"] | None = None  # the first plan's spelling: year = cumulative, month = every month
    cadence: Literal["month", "quarter", "half_year"] | None = None
    opening: float | None = None  # stock: the balance before the plan; level: the starting level
    deadline: str | dt.date
    source_quote: str = Field(min_length=1)
    pace: Literal["linear", "at_deadline"] | None = None


class MetricIn(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    short_name: str | None = None
    name_en: str | None = None
    short_name_en: str | None = None
    measure_en: str | None = None  # the measure in English, plural ("households"); optional
    direction: Literal["higher", "lower"] = "higher"  # lower: less is better (a ceiling)
    measure: str
    item: str
    dimension: str | None = None
    reported_by: list[str] = Field(min_length=1)
    monthly_warn_above: float | None = None
    # a register kind (REGISTER_MEASURES) whose rows give this metric's figures; `register` in the file
    # (a different field name here: pydantic models already have a `register` attribute)
    register_kind: str | None = Field(None, alias="register")
    # a rate computed from two reported figures (已分类户数 / 总户数 x 100): the ids of two other metrics,
    # reported every month as they stand; the rate itself is not in the template
    numerator: str | None = None
    denominator: str | None = None
    targets: list[TargetIn] = []  # none only for a metric that is a rate's numerator or denominator


class QuotaIn(_Strict):
    """A per-unit override of a metric's unit quota (uneven splits)."""

    metric: str
    unit: str
    value: float = Field(gt=0)
    source_quote: str = ""


class NoteIn(_Strict):
    about: str
    text: str
    text_en: str | None = None


class DisplayIn(_Strict):
    """What the screens and the meeting deck feature, in which order."""

    featured: list[str] = []  # headline cards (overview, meeting summary), in this order
    comparison: list[str] = []  # per-community comparison charts
    trends: list[str] = []  # month-by-month trend lines in the meeting deck


class AmendmentIn(_Strict):
    """A target changed during the year: from `effective` on, the new value counts; before it, the old."""

    metric: str
    unit: str = "street"  # a unit's name, or "street" for the street-wide target
    value: float = Field(ge=0)
    effective: str  # the first month the new value counts, 2023-07
    reason: str = Field(min_length=1)

    @field_validator("effective", mode="before")
    @classmethod
    def _month_text(cls, v: Any) -> Any:
        if isinstance(v, dt.date):
            return f"{v.year:04d}-{v.month:02d}"
        return v


class PlanFileIn(_Strict):
    plan: PlanMetaIn
    units: list[UnitIn] = Field(min_length=1)
    dimensions: list[DimensionIn] = []
    sections: list[SectionIn] = Field(min_length=1)
    metrics: list[MetricIn] = []
    quotas: list[QuotaIn] = []
    amendments: list[AmendmentIn] = []
    notes: list[NoteIn] = []
    display: DisplayIn | None = None
    demo: str | None = None  # the plan's demo story (a YAML file), relative to the plan file


# ---------------------------------------------------------------------------
# Resolved plan objects (what the rest of worktrack uses)


@dataclass(frozen=True)
class Unit:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()

    @property
    def is_community(self) -> bool:
        return self.kind == COMMUNITY_KIND


@dataclass(frozen=True)
class Dimension:
    id: str
    name: str
    values: tuple[str, ...]
    values_en: tuple[str, ...] = ()

    def english(self, value: str) -> str | None:
        """The English name of one value, if the plan gives one."""
        if value in self.values and len(self.values_en) == len(self.values):
            return self.values_en[self.values.index(value)]
        return None


@dataclass(frozen=True)
class Item:
    id: str
    number: str
    title: str
    text: str
    lead: str
    responsible: tuple[str, ...]
    communities: tuple[str, ...]
    deadline: dt.date
    deadline_text: str
    section_id: str
    group_id: str | None
    status_tracked: bool
    reporting_units: tuple[str, ...]  # unit names that report this item's status
    assignments: tuple[tuple[str, str], ...] = ()  # (unit name, what the text assigns it)
    carry_over: tuple[str, str, str, str] | None = None  # (earlier plan id, item id, its title, why)
    parent: str | None = None  # a site or milestone: the item it belongs to


@dataclass(frozen=True)
class Group:
    id: str
    number: str
    title: str
    text: str | None
    item_ids: tuple[str, ...]
    lead: str = ""


@dataclass(frozen=True)
class Section:
    id: str
    number: str
    title: str
    item_ids: tuple[str, ...]
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Target:
    id: str
    metric: str
    value: float
    scope: str  # "street" | "unit"
    reporting_unit: str | None
    period: str  # "year" (judged on the total by the deadline) | "month" (every period: month, quarter, half year)
    deadline: dt.date
    source_quote: str
    pace: str = "linear"  # "linear": expected grows month by month; "at_deadline": a one-off due at the deadline
    kind: str = "cumulative"  # one of TARGET_KINDS
    cadence: str = "month"  # every_period: month | quarter | half_year
    opening: float | None = None  # stock: the balance before the plan; level: the starting level
    # amendments in force from a month on: (effective month, value, reason), oldest first
    history: tuple[tuple[str, float, str], ...] = ()

    def value_as_of(self, month: str) -> float:
        """The target value in force in a month: the latest amendment effective by then, else the plan's."""
        value = self.value
        for effective, amended, _ in self.history:
            if effective <= month:
                value = amended
        return value


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    short_name: str
    measure: str
    item: str
    dimension: str | None
    reported_by: tuple[str, ...]
    monthly_warn_above: float | None
    name_en: str | None = None
    short_name_en: str | None = None
    measure_en: str | None = None
    direction: str = "higher"  # "lower": less is better
    register: str | None = None  # the register kind this metric is counted from, when a unit files one
    numerator: str | None = None  # a rate: numerator / denominator x 100, computed, not reported
    denominator: str | None = None

    @property
    def is_rate(self) -> bool:
        """Computed from two reported metrics, not reported itself."""
        return self.numerator is not None

    @property
    def is_count(self) -> bool:
        return self.measure in COUNT_MEASURES


@dataclass(frozen=True)
class Note:
    about: str
    text: str
    text_en: str | None = None


@dataclass(frozen=True)
class Display:
    """Which metrics the overview and the meeting feature, in order (from the plan's display block)."""

    featured: tuple[str, ...] = ()
    comparison: tuple[str, ...] = ()
    trends: tuple[str, ...] = ()


@dataclass(frozen=True)
class TemplateRow:
    """One row a reporting unit fills in its monthly report."""

    item: str
    name: str
    measure: str
    category: str
    kind: str  # "metric" | "task"


@dataclass
class Plan:
    """The whole work plan, validated and with every reference resolved."""

    id: str
    title: str
    issuers: tuple[str, ...]
    issue_date: dt.date
    year: int
    start_month: str
    report_due_day: int
    source: str
    units: tuple[Unit, ...]
    dimensions: dict[str, Dimension]
    sections: tuple[Section, ...]
    items: dict[str, Item]
    metrics: dict[str, Metric]
    targets: tuple[Target, ...]
    notes: tuple[Note, ...]
    path: str = ""
    display: Display = field(default_factory=Display)
    demo_story: str = ""  # path of the demo story file the plan names ("" = none)
    _unit_lookup: dict[str, Unit] = field(default_factory=dict, repr=False)
    # Derived once: intake asks for these on every row, and a city plan has thousands of targets.
    _months: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _target_index: dict[tuple[str, str | None], Target] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for unit in self.units:
            for name in (unit.name, unit.id, *unit.aliases):
                self._unit_lookup.setdefault(_fold(name), unit)
        deadlines = [t.deadline for t in self.targets] + [i.deadline for i in self.items.values()]
        end = max(deadlines) if deadlines else None
        self._months = tuple(month_range(self.start_month, f"{end.year:04d}-{end.month:02d}")) if end else ()
        self._target_index = {}
        for t in self.targets:  # the first target of a metric and unit wins, as a scan would find it
            self._target_index.setdefault((t.metric, t.reporting_unit), t)

    # -- units
    @property
    def communities(self) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.is_community)

    @property
    def unit_names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.units)

    def find_unit(self, text: str) -> Unit | None:
        """Resolve a unit name, id or alias (Traditional forms included) to its unit."""
        return self._unit_lookup.get(_fold(text))

    def unit(self, name: str) -> Unit:
        found = self.find_unit(name)
        if found is None:
            raise KeyError(name)
        return found

    # -- targets
    def targets_for(self, metric: str) -> list[Target]:
        return [t for t in self.targets if t.metric == metric]

    def street_target(self, metric: str) -> Target | None:
        return self._target_index.get((metric, None))

    def unit_target(self, metric: str, unit_name: str) -> Target | None:
        return self._target_index.get((metric, unit_name))

    # -- what a unit reports
    def metrics_for_unit(self, unit_name: str) -> list[Metric]:
        return [m for m in self.metrics.values() if unit_name in m.reported_by]

    def tasks_for_unit(self, unit_name: str) -> list[Item]:
        return [i for i in self.items.values() if i.status_tracked and unit_name in i.reporting_units]

    @property
    def tasks(self) -> list[Item]:
        return [i for i in self.items.values() if i.status_tracked]

    def metric_for_register(self, kind: str) -> Metric | None:
        """The metric a register kind is counted into (the plan's `register:` field), if any."""
        return next((m for m in self.metrics.values() if m.register == kind), None)

    def categories(self, metric: str) -> tuple[str, ...]:
        dim = self.metrics[metric].dimension
        return self.dimensions[dim].values if dim else ()

    def template_rows(self, unit_name: str) -> list[TemplateRow]:
        """Every row the unit fills in: each metric (per category; a rate's two figures, not the rate)
        then each task."""
        rows: list[TemplateRow] = []
        for m in self.metrics_for_unit(unit_name):
            if m.is_rate:
                continue
            for cat in self.categories(m.id) or ("",):
                rows.append(TemplateRow(m.id, m.name, m.measure, cat, "metric"))
        for item in self.tasks_for_unit(unit_name):
            rows.append(TemplateRow(item.id, item.title, "状态", "", "task"))
        return rows

    @property
    def months(self) -> list[str]:
        """Reporting months from the start month to the last deadline month."""
        return list(self._months)

    def item_or_group_title(self, node_id: str) -> str:
        if node_id in self.items:
            return self.items[node_id].title
        for s in self.sections:
            if s.id == node_id:
                return s.title
            for g in s.groups:
                if g.id == node_id:
                    return g.title
        return node_id

    def node_number(self, node_id: str) -> str:
        """The document's numbering of an item, group or section ("二(六)4"), or "" if unknown."""
        if node_id in self.items:
            return self.items[node_id].number
        for s in self.sections:
            if s.id == node_id:
                return s.number
            for g in s.groups:
                if g.id == node_id:
                    return g.number
        return ""

    def group_lead(self, node_id: str) -> str | None:
        """The lead unit written on a group (二(五)...), if node_id is a group."""
        for s in self.sections:
            for g in s.groups:
                if g.id == node_id:
                    return g.lead or None
        return None


# ---------------------------------------------------------------------------
# Helpers


def _fold(text: str) -> str:
    import unicodedata

    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).lower()


_DEADLINE_YEAR = re.compile(r"^(\d{4})\s*年\s*(全年|年底|年末|底)?$")
_DEADLINE_MONTH = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月(底|末)?$")
_DEADLINE_DAY = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")


def parse_deadline(value: str | dt.date) -> dt.date:
    """'2023年全年' -> 2023-12-31, '2023年5月' -> 2023-05-31, ISO dates as they are."""
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if m := _DEADLINE_YEAR.match(text):
        return dt.date(int(m.group(1)), 12, 31)
    if m := _DEADLINE_MONTH.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"月份 {month} 不存在")
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    if m := _DEADLINE_DAY.match(text):
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"无法识别的时限“{text}”，请写成“2023年全年”“2023年5月”或“2023-12-31”"
        ) from None


_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*月?$"),  # 2023-05, 2023/5, 2023.5, 2023年5月
    re.compile(r"^(\d{4})(\d{2})$"),  # 202305
)


def parse_month(value: Any) -> str:
    """'2023-9', '2023/09', '2023年9月', '202309', a date -> '2023-09'; ValueError otherwise."""
    if hasattr(value, "year") and hasattr(value, "month") and not isinstance(value, str):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    for pattern in _MONTH_PATTERNS:
        m = pattern.match(text)
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    raise ValueError(f"月份“{value}”看不懂，请写成 2023-09（也可以写 2023/9、202309、2023年9月）")


def month_range(start: str, end: str) -> list[str]:
    """Inclusive list of 'YYYY-MM' months."""
    y, m = map(int, start.split("-"))
    ey, em = map(int, end.split("-"))
    out = []
    while (y, m) <= (ey, em):
        out.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def month_end(month: str) -> dt.date:
    y, m = map(int, month.split("-"))
    return dt.date(y, m, calendar.monthrange(y, m)[1])


class _PlanLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML was built with it (about ten times faster), else the pure-Python
    one; the implicit tag of a plain scalar is worked out once per distinct text (a province plan
    repeats the same unit names, numbers and words tens of thousands of times)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._resolved: dict[tuple, str] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag


_YAML_LOADER = _PlanLoader


def _parse_yaml(text: str) -> tuple[Any, Mapping[tuple, int]]:
    """Parse YAML once: the data, and a map of every path (keys and list indexes) to its 1-based line.

    The node tree is composed once (by libyaml when present); one walk over it builds the data.
    Plain strings, lists and mappings are built directly; every other node (numbers, dates,
    booleans, merge keys, explicit tags) goes through PyYAML's safe constructor, so the data equals
    yaml.safe_load's. The line map is read from the same nodes' marks when it is first consulted
    (a plan without errors or warnings never needs it). Raises yaml.YAMLError as yaml.safe_load would.
    """
    loader = _YAML_LOADER(text)
    try:
        root = loader.get_single_node()
        data = _build(loader, root) if root is not None else None
    finally:
        loader.dispose()
    return data, _Lines(root)


_STR_TAG, _SEQ_TAG, _MAP_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _build(loader: Any, node: yaml.Node) -> Any:
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    if node.tag == _SEQ_TAG and isinstance(node, yaml.SequenceNode):
        return [_build(loader, value) for value in node.value]
    if node.tag == _MAP_TAG and isinstance(node, yaml.MappingNode) and all(
            isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG for key, _ in node.value):
        return {_build(loader, key): _build(loader, value) for key, value in node.value}
    return loader.construct_object(node, deep=True)


class _Lines(Mapping):
    """Each path's 1-based line in a composed YAML document, worked out on first use.

    A path's line is its key's line (not its value's); a list entry's is where the entry starts.
    Where a path occurs twice (a duplicated key), the key's line is the last occurrence's and the
    lines below it are the first's, as a walk in document order finds them. An explicit stack: no
    recursion limit."""

    def __init__(self, root: yaml.Node | None):
        self._root = root
        self._map: dict[tuple, int] | None = None

    def _lines(self) -> dict[tuple, int]:
        if self._map is None:
            lines: dict[tuple, int] = {}
            # entries: (node, path) to visit, or (None, path, line) to set a key's line
            stack: list[tuple] = [(self._root, ())] if self._root is not None else []
            while stack:
                entry = stack.pop()
                node, where = entry[0], entry[1]
                if node is None:
                    lines[where] = entry[2]
                    continue
                lines.setdefault(where, node.start_mark.line + 1)
                if isinstance(node, yaml.MappingNode):
                    for key, value in reversed(node.value):
                        if isinstance(key, yaml.ScalarNode):
                            sub = (*where, key.value)
                            stack.append((value, sub))
                            stack.append((None, sub, key.start_mark.line + 1))
                elif isinstance(node, yaml.SequenceNode):
                    stack.extend((value, (*where, idx)) for idx, value in reversed(list(enumerate(node.value))))
            self._map = lines
            self._root = None
        return self._map

    def __getitem__(self, path: tuple) -> int:
        return self._lines()[path]

    def __iter__(self) -> Iterator[tuple]:
        return iter(self._lines())

    def __len__(self) -> int:
        return len(self._lines())


def _line_for(lines: Mapping[tuple, int], path: tuple) -> int | None:
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _field_name(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_PYDANTIC_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段（拼写错误？）",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "date_from_datetime_parsing": "应为日期，如 2023-04-21",
    "date_parsing": "应为日期，如 2023-04-21",
    "date_type": "应为日期，如 2023-04-21",
    "string_type": "应为文字",
    "list_type": "应为列表（每项一行，以“- ”开头，或写成 [甲, 乙]）",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "literal_error": "取值不在允许范围内",
    "greater_than": "必须大于 0",
    "greater_than_equal": "不能是负数（目标值应大于 0；只有控制类目标可以是 0）",
    "less_than_equal": "数值太大",
    "too_short": "不能为空",
    "string_pattern_mismatch": "编号只能用英文字母、数字、下划线或连字符",
    "model_type": "应为“字段: 值”形式的一组设置",
    "dict_type": "应为“字段: 值”形式的一组设置",
}


def _pydantic_issue(err: dict, file: str, lines: Mapping[tuple, int]) -> PlanIssue:
    loc = tuple(err["loc"])
    # pydantic reports union members as extra loc parts ("str", "date"); drop them
    loc = tuple(p for p in loc if not (isinstance(p, str) and p in {"str", "date", "float", "int"}))
    message = _PYDANTIC_MESSAGES.get(err["type"], err["msg"])
    if err["type"] == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        message = f"取值不在允许范围内，只能是 {expected}"
    if "input" in err and err["type"] not in {"missing", "model_type", "dict_type"}:
        shown = err["input"]
        if not isinstance(shown, dict | list):
            message += f"（现在是“{shown}”）"
    return PlanIssue("error", message, file, _line_for(lines, loc), _field_name(loc))


# ---------------------------------------------------------------------------
# Loading


def load_plan(path: str | Path) -> Plan:
    """Load and validate a plan file; raise PlanError listing every error found."""
    plan, issues = _load(Path(path))
    errors = [i for i in issues if i.severity == "error"]
    if errors or plan is None:
        raise PlanError(errors)
    return plan


def check_plan(path: str | Path) -> tuple[Plan | None, list[PlanIssue]]:
    """Load a plan and return it with every error and warning (reconciliation included)."""
    plan, issues = _load(Path(path))
    if plan is not None and not any(i.severity == "error" for i in issues):
        from worktrack.demo_story import check_story

        issues = issues + [
            PlanIssue("warning", r.message, str(path), None, f"metrics.{r.metric}") for r in reconcile(plan)
            if not r.balanced
        ] + check_story(plan)[1]
    return plan, issues


def _load(path: Path) -> tuple[Plan | None, list[PlanIssue]]:
    with paused_gc():  # nothing built here is garbage; a province plan loads ~40 % faster
        return _load_file(path)


def _load_file(path: Path) -> tuple[Plan | None, list[PlanIssue]]:
    file = str(path)
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [PlanIssue("error", "找不到计划文件，请检查路径（--plan 或环境变量 WORKTRACK_PLAN）", file)]
    except UnicodeDecodeError as exc:
        return None, [PlanIssue("error", f"文件不是 UTF-8 编码（第 {exc.start} 字节），请用 UTF-8 保存", file)]
    try:
        data, lines = _parse_yaml(raw_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [PlanIssue("error", f"YAML 格式错误：{problem}（常见原因：缩进不一致、冒号后缺空格、引号未闭合）",
                                file, line)]
    if not isinstance(data, dict):
        return None, [PlanIssue("error", "计划文件应由 plan、units、sections、metrics 等部分组成", file, 1)]
    try:
        parsed = PlanFileIn.model_validate(data)
    except ValidationError as exc:
        return None, [_pydantic_issue(e, file, lines) for e in exc.errors()]
    return _resolve(parsed, file, lines)


def _resolve(raw: PlanFileIn, file: str, lines: Mapping[tuple, int]) -> tuple[Plan | None, list[PlanIssue]]:
    issues: list[PlanIssue] = []

    def error(path: tuple, message: str) -> None:
        issues.append(PlanIssue("error", message, file, _line_for(lines, path), _field_name(path)))

    def warning(path: tuple, message: str) -> None:
        issues.append(PlanIssue("warning", message, file, _line_for(lines, path), _field_name(path)))

    # units
    units: list[Unit] = []
    seen: dict[str, str] = {}
    for i, u in enumerate(raw.units):
        for key, what in ((u.id, "编号"), (u.name, "名称")):
            if key in seen:
                error(("units", i, "id" if what == "编号" else "name"), f"单位{what}“{key}”重复")
            seen[key] = u.name
        units.append(Unit(u.id, u.name, u.kind, tuple(u.aliases)))
    community_names = [u.name for u in units if u.kind == COMMUNITY_KIND]
    lookup: dict[str, str] = {}
    for u in units:
        for name in (u.name, *u.aliases):
            lookup[_fold(name)] = u.name

    unit_ids = {u.name: u.id for u in reversed(units)}  # the first unit of a name wins, as a scan would find
    community_set = set(community_names)

    def expand(names: list[str]) -> list[str]:
        """Unit names with 各社区 expanded, in order, each once (a dict keeps the order: linear)."""
        out: dict[str, None] = {}
        for n in names:
            for t in community_names if n == ALL_COMMUNITIES else [lookup.get(_fold(n), n)]:
                out.setdefault(t)
        return list(out)

    # dimensions
    dimensions: dict[str, Dimension] = {}
    for i, d in enumerate(raw.dimensions):
        if d.id in dimensions:
            error(("dimensions", i, "id"), f"分类维度编号“{d.id}”重复")
        if len(set(d.values)) != len(d.values):
            error(("dimensions", i, "values"), f"分类维度“{d.name}”里有重复的分类")
        if d.values_en and len(d.values_en) != len(d.values):
            error(("dimensions", i, "values_en"),
                  f"分类维度“{d.name}”的英文名称（values_en）有 {len(d.values_en)} 个，应与分类（values）一样多，"
                  f"共 {len(d.values)} 个，并按相同顺序")
        dimensions[d.id] = Dimension(d.id, d.name, tuple(d.values), tuple(d.values_en))

    # sections, groups, items
    plan_start = raw.plan.start_month or f"{raw.plan.issue_date.year:04d}-{raw.plan.issue_date.month:02d}"
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", plan_start):
        error(("plan", "start_month"), f"起始月份“{plan_start}”应写成 2023-04 这样的形式")
        plan_start = f"{raw.plan.issue_date.year:04d}-{raw.plan.issue_date.month:02d}"
    items: dict[str, Item] = {}
    sections: list[Section] = []
    node_ids: set[str] = set()

    def claim(node_id: str, path: tuple) -> None:
        if node_id in node_ids:
            error(path, f"编号“{node_id}”重复，每个章节和事项的编号必须唯一")
        node_ids.add(node_id)

    def deadline_of(value: str | dt.date | None, path: tuple) -> tuple[dt.date, str]:
        if value is None:
            error(path, "缺少完成时限（deadline），本事项和所在章节都没有写")
            return dt.date(raw.plan.year, 12, 31), ""
        try:
            return parse_deadline(value), str(value)
        except ValueError as exc:
            error(path, str(exc))
            return dt.date(raw.plan.year, 12, 31), str(value)

    def add_item(it: ItemIn, path: tuple, section: SectionIn, group: GroupIn | None) -> str:
        claim(it.id, (*path, "id"))
        lead = it.lead or (group.lead if group else None)
        responsible = it.responsible if it.responsible is not None else (group.responsible if group else None)
        if lead is None:
            error((*path, "lead"), "缺少牵头单位（lead）")
            lead = ""
        if responsible is None:
            error((*path, "responsible"), "缺少责任单位（responsible）")
            responsible = []
        deadline_raw = it.deadline if it.deadline is not None else (group.deadline if group else None)
        deadline, deadline_text = deadline_of(deadline_raw, (*path, "deadline"))
        for j, c in enumerate(it.communities):
            if lookup.get(_fold(c)) not in community_set:
                error((*path, "communities", j), f"“{c}”不是报送单位里的社区（units 中 kind: community）")
        expanded = expand(responsible)
        reporting_set = {*expanded, lookup.get(_fold(lead))}
        reporting = [u.name for u in units if u.name in reporting_set]
        number = section.number + (group.number if group else "") + it.number.rstrip(".")
        assignments = []
        for name, task in it.assignments.items():
            unit_name = lookup.get(_fold(name))
            if unit_name is None:
                error((*path, "assignments", name), f"分工里的单位“{name}”不在 units 里")
                continue
            assignments.append((unit_name, task))
        items[it.id] = Item(
            id=it.id, number=number, title=it.title, text=it.text, lead=lead, responsible=tuple(expanded),
            communities=tuple(expand(it.communities)), deadline=deadline, deadline_text=deadline_text,
            section_id=section.id, group_id=group.id if group else None, status_tracked=it.status_tracked,
            reporting_units=tuple(reporting), assignments=tuple(assignments),
            carry_over=(it.carry_over.plan, it.carry_over.item, it.carry_over.title, it.carry_over.note)
            if it.carry_over else None,
        )
        ids = [it.id]
        # named sites and dated milestones become items of their own, tracked by status under this one
        for k, site in enumerate(it.sites, start=1):
            spath = (*path, "sites", k - 1)
            unit_name = lookup.get(_fold(site.unit))
            if unit_name is None:
                error((*spath, "unit"), f"“{site.name}”的责任单位“{site.unit}”不在 units 里")
                continue
            site_deadline = deadline_of(site.deadline, (*spath, "deadline"))[0] if site.deadline else deadline
            child = f"{it.id}-{site.id}"
            claim(child, (*spath, "id"))
            items[child] = Item(
                id=child, number=f"{number}-{k}", title=f"{it.title}：{site.name}", text=site.text or it.text,
                lead=lead, responsible=(unit_name,),
                communities=(unit_name,) if unit_name in community_names else (), deadline=site_deadline,
                deadline_text=str(site.deadline) if site.deadline else deadline_text, section_id=section.id,
                group_id=group.id if group else None, status_tracked=True, reporting_units=(unit_name,),
                parent=it.id)
            ids.append(child)
        for k, step in enumerate(it.milestones, start=1):
            mpath = (*path, "milestones", k - 1)
            step_deadline, step_text = deadline_of(step.deadline, (*mpath, "deadline"))
            if step_deadline > deadline:
                error((*mpath, "deadline"), f"节点“{step.name}”的时限 {step_deadline} 晚于事项时限 {deadline}")
            child = f"{it.id}-{step.id}"
            claim(child, (*mpath, "id"))
            items[child] = Item(
                id=child, number=f"{number}·{k}", title=f"{it.title}：{step.name}", text=it.text, lead=lead,
                responsible=tuple(expanded), communities=tuple(expand(it.communities)), deadline=step_deadline,
                deadline_text=step_text, section_id=section.id, group_id=group.id if group else None,
                status_tracked=True, reporting_units=tuple(reporting), parent=it.id)
            ids.append(child)
        return ids

    for si, s in enumerate(raw.sections):
        claim(s.id, ("sections", si, "id"))
        if not s.items and not s.groups:
            error(("sections", si), f"章节“{s.number}、{s.title}”下没有任何事项")
        direct = tuple(i for ii, it in enumerate(s.items) for i in add_item(it, ("sections", si, "items", ii), s, None))
        groups = []
        for gi, g in enumerate(s.groups):
            claim(g.id, ("sections", si, "groups", gi, "id"))
            ids = tuple(i for ii, it in enumerate(g.items)
                        for i in add_item(it, ("sections", si, "groups", gi, "items", ii), s, g))
            groups.append(Group(g.id, s.number + g.number, g.title, g.text, ids, g.lead or ""))
        sections.append(Section(s.id, s.number, s.title, direct, tuple(groups)))

    # metrics and targets
    metrics: dict[str, Metric] = {}
    targets: list[Target] = []
    for mi, m in enumerate(raw.metrics):
        path = ("metrics", mi)
        if m.id in metrics:
            error((*path, "id"), f"指标编号“{m.id}”重复")
        if m.measure not in MEASURES:
            error((*path, "measure"), f"计量单位“{m.measure}”不支持，只能是 {'、'.join(sorted(MEASURES))}")
        if m.item not in node_ids:
            error((*path, "item"), f"出处事项“{m.item}”在 sections 里找不到")
        if m.dimension is not None and m.dimension not in dimensions:
            error((*path, "dimension"), f"分类维度“{m.dimension}”在 dimensions 里找不到")
        reporting_units: dict[str, None] = {}  # in order, each once
        for j, n in enumerate(m.reported_by):
            resolved = community_names if n == ALL_COMMUNITIES else [lookup.get(_fold(n))]
            if resolved == [None]:
                error((*path, "reported_by", j), f"报送单位“{n}”不在 units 里")
                continue
            reporting_units.update(dict.fromkeys(resolved))
        reported_by = list(reporting_units)
        if m.name_en is None:
            warning((*path, "id"), f"指标“{m.name}”没有英文名称（name_en），英文界面将显示中文名称")
        metrics[m.id] = Metric(m.id, m.name, m.short_name or m.name, m.measure, m.item, m.dimension,
                               tuple(reported_by), m.monthly_warn_above, m.name_en,
                               m.short_name_en or m.name_en, m.measure_en, m.direction, m.register_kind,
                               m.numerator, m.denominator)
        _check_rate_parts(m, path, raw.metrics, error)
        if m.register_kind is not None:
            kind = m.register_kind
            if kind not in REGISTER_MEASURES:
                error((*path, "register"), f"台账类型“{kind}”不认识，只能是 {'、'.join(REGISTER_MEASURES)}")
            elif REGISTER_MEASURES[kind] != m.measure:
                error((*path, "register"), f"台账“{kind}”按“{REGISTER_MEASURES[kind]}”计数，"
                      f"与指标的计量单位“{m.measure}”不符")
            elif any(other.register == kind for other in metrics.values() if other.id != m.id):
                error((*path, "register"), f"台账“{kind}”已被另一个指标使用，一种台账只能对应一个指标")
        for ti, t in enumerate(m.targets):
            tpath = (*path, "targets", ti)
            deadline, _ = deadline_of(t.deadline, (*tpath, "deadline"))
            kind, cadence = _target_kind(t, m, deadline, tpath, error)
            if m.measure in COUNT_MEASURES and t.value != int(t.value):
                error((*tpath, "value"), f"计量单位是“{m.measure}”，目标值必须是整数")
            period = "month" if kind == "every_period" else "year"
            pace = t.pace or "linear"
            if t.scope == "street":
                if t.units:
                    error((*tpath, "units"), "全街道目标（scope: street）不要写 units")
                if any(x.scope == "street" and (x.kind or x.period) == (t.kind or t.period) for x in m.targets[:ti]):
                    error((*tpath, "scope"), "同一指标重复设置了全街道目标")
                targets.append(Target(f"{m.id}:street", m.id, t.value, "street", None, period, deadline,
                                      t.source_quote, pace, kind, cadence, t.opening))
                continue
            if not t.units:
                error((*tpath, "units"), "分解到单位的目标（scope: unit）必须写 units，如 [各社区]")
            for j, n in enumerate(t.units):
                names = community_names if n == ALL_COMMUNITIES else [lookup.get(_fold(n))]
                if names == [None]:
                    error((*tpath, "units", j), f"单位“{n}”不在 units 里")
                    continue
                for name in names:
                    if name not in reporting_units:
                        error((*tpath, "units", j), f"“{name}”有分解目标，但不在该指标的报送单位 reported_by 里")
                    unit_id = unit_ids[name]
                    targets.append(Target(f"{m.id}:{unit_id}", m.id, t.value, "unit", name, period, deadline,
                                          t.source_quote, pace, kind, cadence, t.opening))

    # per-unit quota overrides. A quota removes the metric's targets for that unit and appends its
    # own; it inherits period, deadline and pace from the metric's first unit target still in the
    # list (else its first target). The same result as rebuilding the list per quota, in linear time.
    unit_targets: dict[str, list[Target]] = {}  # metric -> its unit targets from metrics:, in order
    first_target: dict[str, Target] = {}
    for t in targets:
        first_target.setdefault(t.metric, t)
        if t.scope == "unit":
            unit_targets.setdefault(t.metric, []).append(t)
    head: dict[str, int] = {}  # metric -> index of its first unit target not yet replaced
    replaced: set[tuple[str, str | None]] = set()
    overrides: dict[str, dict[str, Target]] = {}  # metric -> unit -> its quota target, in list order
    order: list[tuple[str, str]] = []  # (metric, unit) of every accepted quota, in file order

    def base_target(metric: str) -> Target | None:
        originals = unit_targets.get(metric, [])
        i = head.get(metric, 0)
        while i < len(originals) and (metric, originals[i].reporting_unit) in replaced:
            i += 1
        head[metric] = i
        if i < len(originals):
            return originals[i]
        appended = overrides.get(metric)
        return next(iter(appended.values())) if appended else first_target.get(metric)

    # each metric's reporting units as a set: a tuple scan per quota is quadratic
    reporters = {m.id: frozenset(m.reported_by) for m in metrics.values()}
    for qi, q in enumerate(raw.quotas):
        path = ("quotas", qi)
        if q.metric not in metrics:
            error((*path, "metric"), f"分解目标引用了不存在的指标“{q.metric}”")
            continue
        name = lookup.get(_fold(q.unit))
        if name is None:
            error((*path, "unit"), f"单位“{q.unit}”不在 units 里")
            continue
        base = base_target(q.metric)
        if base is None:
            error((*path, "metric"), f"指标“{q.metric}”没有目标，无法单独分解")
            continue
        if name not in reporters[q.metric]:
            error((*path, "unit"), f"“{name}”不报送指标“{q.metric}”")
            continue
        unit_id = unit_ids[name]
        replaced.add((q.metric, name))
        mine = overrides.setdefault(q.metric, {})
        mine.pop(name, None)  # a second quota for the same unit replaces the first and goes to the end
        mine[name] = Target(f"{q.metric}:{unit_id}", q.metric, q.value, "unit", name, base.period, base.deadline,
                            q.source_quote or base.source_quote, base.pace, base.kind,
                            base.cadence, base.opening)
        order.append((q.metric, name))
    if replaced:
        # appended in the order of each unit's last quota
        last = {key: i for i, key in enumerate(order)}
        appended = [overrides[m][n] for (m, n), _ in sorted(last.items(), key=lambda kv: kv[1])]
        targets = [t for t in targets if (t.metric, t.reporting_unit) not in replaced] + appended

    # mid-year amendments: the target keeps its history
    target_index: dict[tuple[str, str | None], int] = {}  # (metric, unit) -> its first target, as a scan finds
    for k, t in enumerate(targets):
        target_index.setdefault((t.metric, t.reporting_unit), k)
    for ai, am in enumerate(raw.amendments):
        path = ("amendments", ai)
        if am.metric not in metrics:
            error((*path, "metric"), f"调整引用了不存在的指标“{am.metric}”")
            continue
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", am.effective):
            error((*path, "effective"), f"生效月份“{am.effective}”应写成 2023-07 这样的形式")
            continue
        name = None if am.unit == "street" else lookup.get(_fold(am.unit))
        if am.unit != "street" and name is None:
            error((*path, "unit"), f"单位“{am.unit}”不在 units 里")
            continue
        index = target_index.get((am.metric, name))
        if index is None:
            error((*path, "unit"), f"指标“{am.metric}”没有“{am.unit}”的目标，无法调整")
            continue
        old = targets[index]
        if not old.history and am.effective <= plan_start:
            error((*path, "effective"), f"生效月份 {am.effective} 不晚于计划起始月 {plan_start}：请直接修改目标值")
        history = tuple(sorted((*old.history, (am.effective, am.value, am.reason))))
        targets[index] = dataclasses.replace(old, history=history)

    # notes
    known = node_ids | set(metrics) | {"plan"} | {u.id for u in units}
    for ni, n in enumerate(raw.notes):
        if n.about not in known:
            warning(("notes", ni, "about"), f"说明指向的“{n.about}”不是已知的指标或事项编号")

    display = _resolve_display(raw, metrics, targets, error)

    if any(i.severity == "error" for i in issues):
        return None, issues

    plan = Plan(
        id=raw.plan.id, title=raw.plan.title, issuers=tuple(raw.plan.issuers), issue_date=raw.plan.issue_date,
        year=raw.plan.year, start_month=plan_start, report_due_day=raw.plan.report_due_day,
        source=raw.plan.source, units=tuple(units), dimensions=dimensions, sections=tuple(sections),
        items=items, metrics=metrics, targets=tuple(targets),
        notes=tuple(Note(n.about, n.text, n.text_en) for n in raw.notes), path=file, display=display,
        demo_story=str(Path(file).parent / raw.demo) if raw.demo else "",
    )
    return plan, issues


def _check_rate_parts(m: MetricIn, path: tuple, all_metrics: list[MetricIn], error: Any) -> None:
    """A rate names two other metrics (numerator and denominator), is measured in %, and has level
    targets; a metric without targets must be some rate's part."""
    by_id = {other.id: other for other in all_metrics}
    if (m.numerator is None) != (m.denominator is None):
        error((*path, "numerator" if m.numerator is None else "denominator"),
              "比率指标要同时写 numerator（分子指标）和 denominator（分母指标）")
        return
    if m.numerator is not None:
        for field_name, part in (("numerator", m.numerator), ("denominator", m.denominator)):
            if part not in by_id or part == m.id:
                error((*path, field_name), f"{'分子' if field_name == 'numerator' else '分母'}指标“{part}”"
                      "在 metrics 里找不到（要写另一个指标的编号）")
            elif by_id[part].numerator is not None:
                error((*path, field_name), f"“{part}”本身是比率指标，不能再作为{'分子' if field_name == 'numerator' else '分母'}")
        if m.measure != "%":
            error((*path, "measure"), f"由分子、分母计算的比率，计量单位必须是 %（现在是“{m.measure}”）")
        for ti, t in enumerate(m.targets):
            if t.kind != "level":
                error((*path, "targets", ti, "kind"), "由分子、分母计算的比率只能是水平目标（kind: level）")
        if not m.targets:
            error((*path, "targets"), "比率指标至少要有一个目标（targets）")
    elif not m.targets and not any(m.id in (o.numerator, o.denominator) for o in all_metrics):
        error((*path, "targets"), f"指标“{m.name}”没有目标（targets）；只有作为比率的分子或分母的指标可以不设目标")


def _target_kind(t: TargetIn, m: MetricIn, deadline: dt.date, path: tuple, error) -> tuple[str, str]:
    """The target's kind and cadence, with a Chinese error for every field that is missing or contradicts it."""
    kind = t.kind or ("every_period" if t.period == "month" else "cumulative")
    if t.kind is not None and t.period is not None and (t.period == "month") != (t.kind == "every_period"):
        error((*path, "period"), f"period: {t.period} 与 kind: {t.kind} 矛盾：每期任务写 kind: every_period，"
                                 "其余不写 period")
    if t.kind is None and t.period is None:
        error((*path, "kind"), "缺少目标类型：写 kind（cumulative/every_period/level/ceiling/stock）")
    cadence = t.cadence or "month"
    if t.cadence is not None and kind != "every_period":
        error((*path, "cadence"), f"只有每期任务（kind: every_period）才有 cadence，{_KIND_NAMES[kind]}不要写")
    if kind == "every_period" and deadline.month % CADENCES[cadence]:
        error((*path, "deadline"), f"按{_CADENCE_NAMES[cadence]}考核的任务，完成时限应在{_CADENCE_NAMES[cadence]}末"
                                   f"（现为 {deadline.isoformat()}）")
    if t.pace is not None and kind in ("ceiling", "level", "every_period"):
        error((*path, "pace"), f"{_KIND_NAMES[kind]}不按进度摊派，不要写 pace")
    if t.value == 0 and kind != "ceiling":
        error((*path, "value"), "目标值应大于 0（只有控制类目标 kind: ceiling 可以是 0，如“零发生”）")
    if m.measure == "%" and t.value > 100:
        error((*path, "value"), f"比率目标 {t.value:g}% 超过 100%")
    if kind == "stock":
        if t.opening is None:
            error((*path, "opening"), "存量目标（kind: stock）必须写 opening：计划开始前已有的数量")
        elif t.opening >= t.value:
            error((*path, "opening"), f"存量目标的起点 opening（{t.opening:g}）应小于目标值（{t.value:g}）")
    elif t.opening is not None and kind != "level":
        error((*path, "opening"), f"只有存量目标（stock）和水平目标（level）有 opening，{_KIND_NAMES[kind]}不要写")
    if m.direction == "lower" and kind not in ("ceiling",):
        error((*path, "kind"), "指标写了 direction: lower（越少越好），目标应为控制类 kind: ceiling")
    return kind, cadence


_KIND_NAMES = {"cumulative": "累计目标", "every_period": "每期任务", "level": "水平（比率）目标",
               "ceiling": "控制类目标", "stock": "存量目标"}
_CADENCE_NAMES = {"month": "月", "quarter": "季度", "half_year": "半年"}


def _resolve_display(raw: PlanFileIn, metrics: dict[str, Metric], targets: list[Target], error) -> Display:
    """The display block, checked against the metrics; without one, every metric is featured in plan order."""
    if raw.display is None:
        yearly_quota = [m for m in metrics if any(t.metric == m and t.scope == "unit" and t.period == "year"
                                                  for t in targets)]
        yearly = [m for m in metrics if all(t.period == "year" for t in targets if t.metric == m)]
        return Display(tuple(metrics), tuple(yearly_quota[:2]), tuple(yearly[:2]))
    for key in ("featured", "comparison", "trends"):
        ids = getattr(raw.display, key)
        for j, metric_id in enumerate(ids):
            if metric_id not in metrics:
                error(("display", key, j), f"显示设置（display.{key}）里的指标“{metric_id}”在 metrics 里找不到")
            elif metric_id in ids[:j]:
                error(("display", key, j), f"显示设置（display.{key}）里的指标“{metric_id}”重复")
    for j, metric_id in enumerate(raw.display.comparison):
        if metric_id in metrics and not any(t.metric == metric_id and t.scope == "unit" for t in targets):
            error(("display", "comparison", j),
                  f"指标“{metrics[metric_id].name}”没有分解到单位的目标，不能做各社区对比（display.comparison）")
    return Display(tuple(raw.display.featured), tuple(raw.display.comparison), tuple(raw.display.trends))


# ---------------------------------------------------------------------------
# Reconciliation


@dataclass(frozen=True)
class Reconciliation:
    """Unit quotas of one metric compared with the street total they split."""

    metric: str
    measure: str
    street_total: float
    quota_sum: float
    quota_count: int
    difference: float  # quota_sum - street_total
    message: str

    @property
    def balanced(self) -> bool:
        return self.difference == 0


def _fmt(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,.2f}"


def reconcile(plan: Plan) -> list[Reconciliation]:
    """For each metric with a street total and unit quotas of the same period, compare them."""
    out = []
    for metric in plan.metrics.values():
        street = plan.street_target(metric.id)
        quotas = [t for t in plan.targets_for(metric.id) if t.scope == "unit"]
        if street is None or not quotas or any(q.period != street.period for q in quotas):
            continue
        total = sum(q.value for q in quotas)
        diff = total - street.value
        u = metric.measure
        head = f"{metric.name}（{metric.id}）：分解到 {len(quotas)} 个单位的目标合计 {_fmt(total)} {u}"
        if diff > 0:
            msg = f"{head}，比街道目标 {_fmt(street.value)} {u}多 {_fmt(diff)} {u}。已按原文保留，请核实。"
        elif diff < 0:
            share = total / street.value * 100
            msg = (f"{head}，街道目标 {_fmt(street.value)} {u}，已分解 {share:.0f}%，"
                   f"未分解的 {_fmt(-diff)} {u}由街道本级或其他渠道完成。")
        else:
            msg = f"{head}，与街道目标一致。"
        out.append(Reconciliation(metric.id, u, street.value, total, len(quotas), diff, msg))
    return out


# ---------------------------------------------------------------------------
# Serialisation (plan show --json)


def _num(value: float) -> int | float:
    return int(value) if value == int(value) else value


def plan_as_dict(plan: Plan) -> dict[str, Any]:
    """The normalised plan as plain JSON-ready data (the `plan show --json` contract)."""
    sections = []
    for s in plan.sections:
        sections.append({
            "id": s.id, "number": s.number, "title": s.title, "items": list(s.item_ids),
            "groups": [{"id": g.id, "number": g.number, "title": g.title, "text": g.text, "items": list(g.item_ids)}
                       for g in s.groups],
        })
    return {
        "plan": {
            "id": plan.id, "title": plan.title, "issuers": list(plan.issuers),
            "issue_date": plan.issue_date.isoformat(), "year": plan.year, "start_month": plan.start_month,
            "report_due_day": plan.report_due_day, "source": plan.source, "sections": sections,
        },
        "units": [{"id": u.id, "name": u.name, "kind": u.kind, "aliases": list(u.aliases)} for u in plan.units],
        "items": [
            {"id": i.id, "number": i.number, "title": i.title, "text": i.text, "lead": i.lead,
             "responsible": list(i.responsible), "units": list(i.communities), "deadline": i.deadline.isoformat(),
             "section": i.section_id, "group": i.group_id, "status_tracked": i.status_tracked,
             "reporting_units": list(i.reporting_units), "assignments": dict(i.assignments)}
            for i in plan.items.values()
        ],
        "metrics": [
            {"id": m.id, "name": m.name, "short_name": m.short_name, "measure": m.measure, "item": m.item,
             "dimension": m.dimension, "categories": list(plan.categories(m.id)), "reported_by": list(m.reported_by),
             "name_en": m.name_en, "short_name_en": m.short_name_en, "measure_en": m.measure_en,
             "direction": m.direction, "numerator": m.numerator, "denominator": m.denominator}
            for m in plan.metrics.values()
        ],
        "display": {"featured": list(plan.display.featured), "comparison": list(plan.display.comparison),
                    "trends": list(plan.display.trends)},
        "targets": [
            {"id": t.id, "metric": t.metric, "name": plan.metrics[t.metric].name,
             "measure": plan.metrics[t.metric].measure, "value": _num(t.value), "scope": t.scope,
             "reporting_unit": t.reporting_unit, "period": t.period, "deadline": t.deadline.isoformat(),
             "source_quote": t.source_quote, "pace": t.pace}
            for t in plan.targets
        ],
        "dimensions": [{"id": d.id, "name": d.name, "values": list(d.values)} for d in plan.dimensions.values()],
        "notes": [{"about": n.about, "text": n.text} for n in plan.notes],
        "reconciliation": [
            {"metric": r.metric, "street_total": _num(r.street_total), "quota_sum": _num(r.quota_sum),
             "difference": _num(r.difference), "message": r.message}
            for r in reconcile(plan)
        ],
    }


# ---------------------------------------------------------------------------
# What changed between two plan files (plan diff)


def diff_plans(old: Plan, new: Plan) -> list[dict[str, Any]]:
    """Items, metrics and targets added, removed or changed between two plans, in the new plan's order.

    Each change: {"what": item|metric|target, "change": added|removed|changed, "id", "label", "fields":
    {field: [old, new]}}. Items are matched by id, then by number and title when the ids differ.
    """
    out: list[dict[str, Any]] = []

    def item_fields(i: Item) -> dict[str, Any]:
        return {"number": i.number, "title": i.title, "text": i.text, "lead": i.lead,
                "responsible": list(i.responsible), "deadline": i.deadline.isoformat()}

    by_title = {(i.number, i.title): i for i in old.items.values()}
    matched: set[str] = set()
    for item in new.items.values():
        before = old.items.get(item.id) or by_title.get((item.number, item.title))
        if before is None:
            out.append({"what": "item", "change": "added", "id": item.id, "label": f"{item.number} {item.title}",
                        "fields": {}})
            continue
        matched.add(before.id)
        a, b = item_fields(before), item_fields(item)
        fields = {k: [a[k], b[k]] for k in b if a[k] != b[k]}
        if fields:
            out.append({"what": "item", "change": "changed", "id": item.id, "label": f"{item.number} {item.title}",
                        "fields": fields})
    out += [{"what": "item", "change": "removed", "id": i.id, "label": f"{i.number} {i.title}", "fields": {}}
            for i in old.items.values() if i.id not in matched]

    for metric in new.metrics.values():
        if metric.id not in old.metrics:
            out.append({"what": "metric", "change": "added", "id": metric.id, "label": metric.name, "fields": {}})
    out += [{"what": "metric", "change": "removed", "id": m.id, "label": m.name, "fields": {}}
            for m in old.metrics.values() if m.id not in new.metrics]

    def target_fields(t: Target) -> dict[str, Any]:
        return {"value": _num(t.value), "deadline": t.deadline.isoformat(), "kind": t.kind, "cadence": t.cadence,
                "opening": t.opening, "history": [list(h) for h in t.history]}

    olds = {t.id: t for t in old.targets}
    for target in new.targets:
        label = f"{new.metrics[target.metric].name} · {target.reporting_unit or '全街道'}"
        before = olds.get(target.id)
        if before is None:
            if target.metric in old.metrics:
                out.append({"what": "target", "change": "added", "id": target.id, "label": label, "fields": {}})
            continue
        a, b = target_fields(before), target_fields(target)
        fields = {k: [a[k], b[k]] for k in b if a[k] != b[k]}
        if fields:
            out.append({"what": "target", "change": "changed", "id": target.id, "label": label, "fields": fields})
    news = {t.id for t in new.targets}
    out += [{"what": "target", "change": "removed", "id": t.id,
             "label": f"{old.metrics[t.metric].name} · {t.reporting_unit or '全街道'}", "fields": {}}
            for t in old.targets if t.id not in news and t.metric in new.metrics]
    return out

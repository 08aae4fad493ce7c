"""One grammar for numbers, months, measures, names and status words, in Chinese or English.

Every screen, the meeting deck and every export format figures through these functions, so a
figure reads the same everywhere:

- yuan of 10,000 or more in 万元 with trailing zeros dropped (1000万元, 50万元, 36.4万元); in
  English ¥10M, ¥500k, ¥364k;
- households, people, reports and other counts as whole numbers (10,000人, 35 households);
- an "expected by now" of a countable measure to at most one decimal (23.3户).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from worktrack.i18n import translate
from worktrack.plan import Metric, Plan

# The plan's measures -> locale keys (measure.<code>) for their words in each language.
MEASURE_CODES = {"户": "households", "元": "yuan", "人": "people", "篇": "reports", "次": "times", "个": "items",
                 "件": "cases", "起": "incidents", "场": "events", "项": "tasks", "%": "percent"}
STATUS_ICONS = {"done": "✔", "on_track": "●", "at_risk": "▲", "behind": "▼", "overdue": "✖", "exceeded": "✖",
                "not_started": "○"}
MONTH_STATE_ICONS = {"met": "✔", "missed": "✖", "not_reported": "✖", "pending": "…", "review_pending": "…", "open": "…", "not_due": "○"}
WAN = 10_000


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        return False


def _trim(number: float, decimals: int) -> str:
    """Fixed decimals, then trailing zeros (and a bare point) dropped: 36.40 -> 36.4, 50.00 -> 50."""
    text = f"{number:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _grouped(number: float, decimals: int) -> str:
    """Thousands separators plus up to `decimals` decimals, trailing zeros dropped."""
    text = f"{number:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def measure_word(measure: str, lang: str = "zh", value: float | None = None, metric: Metric | None = None) -> str:
    """The measure as a word: 户 / households (household for exactly one)."""
    if lang == "zh":
        return measure
    word = (metric.measure_en if metric is not None and metric.measure_en else None) or translate(
        f"measure.{MEASURE_CODES.get(measure, 'items')}", lang)
    if value is not None and not is_missing(value) and abs(float(value)) == 1 and word.endswith("s") \
            and not word.endswith("ss"):
        word = word[:-1]
    return word


def format_amount(value: Any, measure: str, lang: str = "zh", *, compact: bool = False, expected: bool = False,
                  metric: Metric | None = None, signed: bool = False) -> str:
    """A figure with its measure, by the house rules above; '-' when missing.

    expected=True: an expectation of a countable measure, at most one decimal. signed=True: a
    change, with + or − in front (0 stays 0). `compact` is accepted for older callers; the rules
    are the same everywhere.
    """
    del compact
    if is_missing(value):
        return "-"
    value = float(value)
    sign = ""
    if signed:
        sign = "+" if value > 0 else "-" if value < 0 else ""
        value = abs(value)
    if measure == "元":
        if lang == "zh":
            if abs(value) >= WAN:
                wan = value / WAN
                body = _trim(wan, 2) if abs(wan) < WAN else _grouped(wan, 0)
                return f"{sign}{body}万元"
            return f"{sign}{_grouped(value, 2)}元"
        if abs(value) >= 1_000_000:
            return f"{sign}¥{_trim(value / 1_000_000, 2)}M"
        if abs(value) >= WAN:
            return f"{sign}¥{_trim(value / 1_000, 1)}k"
        return f"{sign}¥{_grouped(value, 2)}"
    decimals = 1 if expected or measure == "%" else (0 if float(value).is_integer() else 2)
    body = _grouped(value, decimals) if abs(value) >= 1000 else _trim(value, decimals)
    if measure == "%":
        return f"{sign}{body}%"
    word = measure_word(measure, lang, value, metric)
    return f"{sign}{body}{word}" if lang == "zh" else f"{sign}{body} {word}"


def format_number(value: Any) -> str:
    """A bare number for tables and the terminal: 1234567 -> '1,234,567', 2.5 -> '2.5', missing -> '-'."""
    if is_missing(value):
        return "-"
    return _grouped(float(value), 2)


def format_percent(value: Any) -> str:
    return "-" if is_missing(value) else f"{float(value):.0f}%"


def money_scale(values, measure: str, lang: str = "zh") -> tuple[float, str]:
    """(divisor, axis measure label) for a chart: yuan of 10,000 or more are drawn in 万元 (¥10k in English)."""
    peak = max((abs(v) for v in values if not is_missing(v)), default=0)
    if measure == "元" and peak >= WAN:
        return float(WAN), translate("measure.wan_yuan", lang)
    if measure == "元":
        return 1.0, translate("measure.yuan", lang)
    return 1.0, measure_word(measure, lang)


def month_label(month: str, lang: str = "zh") -> str:
    """'2023-09' -> '2023年9月' (zh) or '2023-09' (en, never an English month name)."""
    year, mon = month.split("-")
    return f"{year}年{int(mon)}月" if lang == "zh" else f"{year}-{mon}"


def short_month_label(month: str, lang: str = "zh") -> str:
    """'2023-09' -> '9月' (zh) or '09' (en), for crowded axes."""
    return f"{int(month.split('-')[1])}月" if lang == "zh" else month.split("-")[1]


def date_label(value: Any, lang: str = "zh") -> str:
    """A date as 2023年12月31日 (zh) or 2023-12-31 (en)."""
    if is_missing(value):
        return "-"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    text = text[:10]
    if lang != "zh":
        return text
    y, m, d = text.split("-")
    return f"{y}年{int(m)}月{int(d)}日"


def status_word(status: str, lang: str = "zh") -> str:
    return translate(f"status.{status}", lang)


def status_label(status: str, lang: str = "zh") -> str:
    """Icon plus the status word, so status is never conveyed by colour alone."""
    return f"{STATUS_ICONS.get(status, '')} {translate(f'status.{status}', lang)}".strip()


LONG_CADENCES = ("quarter", "half_year")  # every-period obligations whose period is not a month


def cadence_text(key: str, cadence: Any, lang: str, monthly_key: str, **values: Any) -> str:
    """The words of an every-period obligation: 本季度 / 本半年 (plans.<cadence>.<key>) for quarterly and
    half-yearly ones, the monthly wording (`monthly_key`) otherwise."""
    if cadence in LONG_CADENCES:
        return translate(f"plans.{cadence}.{key}", lang, **values)
    return translate(monthly_key, lang, **values)


def month_state_label(state: str | None, lang: str = "zh", cadence: Any = None) -> str:
    """本月达标 / 本月未达标 / 本月未报 / 本月未到期 for an every-month obligation (本季度… / 本半年… for
    quarterly and half-yearly ones)."""
    if not isinstance(state, str):
        return ""
    if cadence in LONG_CADENCES and state in ("met", "missed", "not_reported", "pending"):
        word = cadence_text(state, cadence, lang, f"month_state.{state}")
    else:
        word = translate(f"month_state.{state}", lang)
    return f"{MONTH_STATE_ICONS.get(state, '')} {word}".strip()


def task_word(status: Any, lang: str = "zh") -> str:
    """A task's reported status word in the UI language (未报送 / Not reported when there is none)."""
    from worktrack.progress import TASK_WORDS

    code = TASK_WORDS.get(status) if isinstance(status, str) else None
    if isinstance(status, str) and code is None:
        return status  # a word the template does not offer: shown as typed
    return translate(f"task_state.{code or 'not_reported'}", lang)


def metric_name(plan: Plan, metric_id: str, lang: str = "zh", short: bool = True) -> str:
    """A metric's name from the plan (English names from its name_en / short_name_en)."""
    metric = plan.metrics[metric_id]
    if lang == "zh":
        return metric.short_name if short else metric.name
    english = metric.short_name_en if short else metric.name_en
    return english or metric.name_en or (metric.short_name if short else metric.name)


def category_label(plan: Plan, metric_id: str, category: Any, lang: str = "zh") -> str:
    """A fund channel or aid category in the UI language (its English name from the plan)."""
    if is_missing(category) or category == "":
        return ""
    if lang == "zh":
        return str(category)
    metric = plan.metrics.get(metric_id)
    dimension = plan.dimensions.get(metric.dimension) if metric is not None and metric.dimension else None
    if dimension is None:
        for d in plan.dimensions.values():
            if category in d.values:
                dimension = d
                break
    return (dimension.english(str(category)) if dimension is not None else None) or str(category)


def unit_label(unit: Any, lang: str = "zh") -> str:
    """A reporting unit's name (the plan's own text), or the whole street for a street-wide row."""
    return str(unit) if isinstance(unit, str) and unit else translate("words.whole_street", lang)


def node_label(plan: Plan, node_id: str, lang: str = "zh") -> str:
    """What a note or a row is about, as a reader knows it: a metric's name, an item's number and title."""
    if node_id == "plan":
        return translate("words.the_plan", lang)
    if node_id in plan.metrics:
        return metric_name(plan, node_id, lang, short=False)
    number = plan.node_number(node_id)
    title = plan.item_or_group_title(node_id)
    if title == node_id:
        unit = next((u for u in plan.units if u.id == node_id), None)
        return unit.name if unit is not None else translate("words.the_plan", lang)
    return f"{number} {title}".strip()


def join_list(items, lang: str = "zh") -> str:
    """Items joined as a reader of the language expects: 甲、乙 / A, B."""
    return ("、" if lang == "zh" else ", ").join(str(i) for i in items)


def bracket(text: str, lang: str = "zh") -> str:
    """（注） in Chinese, (note) in English."""
    return f"（{text}）" if lang == "zh" else f" ({text})"


def section_heading(section, lang: str = "zh") -> str:
    """一、基本民生保障兜牢兜准 (the document's own numbering; a plain space in English)."""
    return f"{section.number}、{section.title}" if lang == "zh" else f"{section.number} {section.title}"

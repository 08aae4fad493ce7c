"""Value parsers: header labels, months, statuses, numbers as text, and the cleaning they share."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from worktrack.plan import STATUS_WORDS, Plan

NOTE_MAX_CHARS = 500
MAX_VALUE = 1e12
HEADER_SEARCH_ROWS = 30

# ---------------------------------------------------------------------------
# Header labels

COLUMNS = ("reporting_unit", "month", "item", "name", "measure", "value", "category", "note")
COLUMN_LABELS = {"reporting_unit": "上报单位", "month": "月份", "item": "编号", "name": "事项",
                 "measure": "计量单位", "value": "本月数值", "category": "分类", "note": "备注"}
REQUIRED_COLUMNS = ("reporting_unit", "month", "item", "value")

# Keys are folded (NFKC, lower case, no spaces/underscores/hyphens, no trailing "(...)").
HEADER_ALIASES: dict[str, str] = {}
for _column, _aliases in {
    "reporting_unit": ("上报单位", "报送单位", "填报单位", "社区", "社区名称", "单位名称", "reporting_unit", "unit",
                       "community"),
    "month": ("月份", "上报月份", "报送月份", "报告月份", "统计月份", "month"),
    "item": ("编号", "事项编号", "指标编号", "item", "item_id", "id"),
    "name": ("事项", "事项名称", "指标名称", "名称", "工作事项", "name", "title"),
    "measure": ("计量单位", "measure", "unit_of_measure"),
    "value": ("本月数值", "本月数", "本月完成", "本月", "数值", "本月数值/状态", "value", "this_month"),
    "category": ("分类", "类别", "渠道", "category"),
    "note": ("备注", "说明", "情况说明", "note", "notes", "remark", "remarks"),
}.items():
    for _alias in _aliases:
        HEADER_ALIASES[re.sub(r"[\s_\-]+", "", _alias.lower())] = _column

# ---------------------------------------------------------------------------
# Values

STATUS_ALIASES: dict[str, str] = {}
for _status, _aliases in {
    "未开始": ("未开始", "未启动", "尚未开始", "没开始", "not started", "not_started", "todo"),
    "进行中": ("进行中", "推进中", "正在进行", "实施中", "in progress", "in_progress", "ongoing"),
    "已完成": ("已完成", "完成", "已办结", "done", "completed", "complete", "finished"),
    "受阻": ("受阻", "阻塞", "停滞", "blocked"),
}.items():
    for _alias in _aliases:
        STATUS_ALIASES[re.sub(r"[\s_]+", " ", _alias.lower())] = _status
assert set(STATUS_ALIASES.values()) == set(STATUS_WORDS)

BLANK_WORDS = frozenset({"", "无", "-", "--", "—", "——", "/", "na", "n/a", "null", "none", "nan", "空"})

# Suffixes a value may carry; synonyms map onto the plan's measures.
_SUFFIX_MEASURE = {"元": "元", "户": "户", "人": "人", "名": "人", "位": "人", "篇": "篇", "次": "次", "场": "次",
                   "个": "个", "件": "件", "项": "项", "家": "家", "期": "期", "份": "份"}
_CN_NUMERALS = set("〇零一二两三四五六七八九十百千亿壹贰叁肆伍陆柒捌玖拾佰仟")
_TOTAL_RE = re.compile(r"^(本月)?(合计|总计|小计|总和|共计)[:：]?$")
_NUMBER_RE = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")
_GROUPED_RE = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u3000\u2002\u2003\u2009\u202f"), " ")

_MONTH_NAMES = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")], start=1) for name in names}
_MONTH_YM = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月份?)?"
    r"(?:\s*[-/.]?\s*(\d{1,2})\s*日?)?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_MONTH_NAME_Y = re.compile(r"^([a-z]{3,9})\.?[-\s/,]*(\d{2}|\d{4})$")
_MONTH_Y_NAME = re.compile(r"^(\d{4})[-\s/]([a-z]{3,9})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def _fold_label(text: str) -> tuple[str, str]:
    """Header cell -> (alias key, text inside a trailing bracket such as 户 in 计量单位（户）)."""
    t = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).strip().lower()
    paren = ""
    m = re.search(r"[(\[【〔]([^()\[\]【】〔〕]*)[)\]】〕]\s*$", t)
    if m:
        paren = m.group(1).strip()
        t = t[:m.start()]
    t = t.strip(" *:：")
    return re.sub(r"[\s_\-]+", "", t), paren


def _clean(text: str) -> str:
    """NFKC, drop zero-width characters, turn NBSP-like spaces into spaces, collapse runs of space."""
    t = unicodedata.normalize("NFKC", text.translate(_INVISIBLE).translate(_SPACES))
    return " ".join(t.replace("\u2212", "-").split())


def _clean_kinds(original: str, cleaned: str) -> list[str]:
    """Which normalisations turned original into cleaned."""
    if original == cleaned:
        return []
    spaced = " ".join(original.translate(_INVISIBLE).translate(_SPACES).split())
    kinds = []
    if spaced != original:
        kinds.append("normalised-whitespace")
    if unicodedata.normalize("NFKC", spaced).replace("\u2212", "-") != spaced:
        kinds.append("normalised-fullwidth")
    return kinds


def _as_text(value: Any) -> str:
    """A cell as text, the way a person reads it (5 not 5.0)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = getattr(value, "text", None)  # openpyxl ArrayFormula
    return str(text) if isinstance(text, str) else str(value)


def _column_letter(index: int) -> str:
    """0-based column index -> Excel letter (0 -> A)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _fmt(value: float) -> str:
    if not math.isfinite(value) or abs(value) >= 1e15:
        return f"{value:.6g}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _month_from_int(n: int) -> str | None:
    if 190001 <= n <= 210012 and 1 <= n % 100 <= 12:
        return f"{n // 100:04d}-{n % 100:02d}"
    if 36526 <= n <= 73415:  # Excel date serials for 2000-01-01 .. 2100-12-31
        d = _EXCEL_EPOCH + dt.timedelta(days=n)
        return f"{d.year:04d}-{d.month:02d}"
    return None


def parse_month(value: Any) -> str | None:
    """Month in any accepted spelling -> 'YYYY-MM', or None when it cannot be read without guessing.

    Accepts 2023-06, 2023-6, 2023/6, 2023.6, 2023年6月, 202306, 2023-06-01 (with or without a time),
    Jun-23, June 2023, Excel date serials and date cells. Rejects 六月, 6月, 23年6月 (no full year).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, float) and value == value and not value.is_integer():
        # a 2023.6 typed into a number cell; 2023.1 may have been 2023.10 before Excel dropped the 0
        m = re.fullmatch(r"(\d{4})\.(\d{1,2})", repr(value))
        return None if m is None or m.group(2) == "1" else parse_month(f"{m.group(1)}-{m.group(2)}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value) or value != int(value):
            return None
        return _month_from_int(int(value))
    text = _clean(str(value)).lower()
    if re.fullmatch(r"\d{4}\.1", text):
        return None  # 2023.1 is January, or October after Excel turned 2023.10 into a number
    if re.fullmatch(r"\d{5,6}(\.0+)?", text):
        return _month_from_int(int(float(text)))
    year = month = None
    if m := _MONTH_YM.match(text):
        year, month = int(m.group(1)), int(m.group(2))
        if m.group(3) is not None and not _is_real_day(year, month, int(m.group(3))):
            return None  # 2023-06-99 is not a date in June: a typo, not a month to guess
    elif (m := _MONTH_NAME_Y.match(text)) and m.group(1) in _MONTH_NAMES:
        year = int(m.group(2)) + (2000 if len(m.group(2)) == 2 else 0)
        month = _MONTH_NAMES[m.group(1)]
    elif (m := _MONTH_Y_NAME.match(text)) and m.group(2) in _MONTH_NAMES:
        year, month = int(m.group(1)), _MONTH_NAMES[m.group(2)]
    if year is None or month is None or not 1 <= month <= 12 or not 1900 <= year <= 2100:
        return None
    return f"{year:04d}-{month:02d}"


def _is_real_day(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


_DATE_YMD = re.compile(r"^(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?|(\d{2})(\d{2}))"
                       r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")


def parse_date(value: Any) -> dt.date | None:
    """A day in any accepted spelling -> a date, or None when it cannot be read without guessing.

    Accepts date cells, Excel date serials, 2023-06-15, 2023/6/15, 2023.6.15, 2023年6月15日, 20230615
    (with or without a time). The same grammar as parse_month, one level finer.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
            return None
        n = int(value)
        if 36526 <= n <= 73415:  # Excel date serials for 2000-01-01 .. 2100-12-31
            return _EXCEL_EPOCH + dt.timedelta(days=n)
        value = str(n)
    text = _clean(str(value))
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return parse_date(int(float(text)))
    m = _DATE_YMD.match(text)
    if m is None:
        return None
    year = int(m.group(1))
    month, day = (int(m.group(2)), int(m.group(3))) if m.group(2) else (int(m.group(4)), int(m.group(5)))
    if not 1900 <= year <= 2100 or not _is_real_day(year, month, day):
        return None
    return dt.date(year, month, day)


def invalid_day(value: Any) -> str | None:
    """The day of a date-like month cell that does not exist ("99" in 2023-06-99), else None."""
    if not isinstance(value, str):
        return None
    m = _MONTH_YM.match(_clean(value).lower())
    if m is None or m.group(3) is None or not 1 <= int(m.group(2)) <= 12:
        return None
    return None if _is_real_day(int(m.group(1)), int(m.group(2)), int(m.group(3))) else m.group(3)


def parse_status(text: str) -> str | None:
    """A status word or alias -> one of STATUS_WORDS, else None."""
    key = re.sub(r"[\s_]+", " ", _clean(text).lower()).strip(" 。.!！")
    return STATUS_ALIASES.get(key)


def large_value_threshold(plan: Plan, metric_id: str, unit_name: str) -> tuple[float, str] | None:
    """Above what monthly value a metric is worth a second look, and why (Chinese)."""
    metric = plan.metrics[metric_id]
    if metric.monthly_warn_above:
        return metric.monthly_warn_above, f"单月预警线 {_fmt(metric.monthly_warn_above)} {metric.measure}"
    for target, whose in ((plan.unit_target(metric_id, unit_name), "本单位"), (plan.street_target(metric_id), "全街道")):
        if target is None:
            continue
        if target.period == "month":
            return 10 * target.value, f"{whose}每月要求 {_fmt(target.value)} {metric.measure} 的 10 倍"
        return target.value, f"{whose}全年任务 {_fmt(target.value)} {metric.measure}"
    return None



def find_header(rows: list[tuple[int, list[Any]]]) -> int | None:
    """Index in rows of the row naming the most known columns (at least two; the first on a tie).

    "Most" rather than "first": a form-like line above the table ("上报单位：", "天剑社区",
    "月份：", "2023-06") names two columns but is not the header.
    """
    best, best_hits = None, 1
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        hits = {HEADER_ALIASES.get(_fold_label(c)[0]) for c in cells if isinstance(c, str) and c.strip()}
        hits.discard(None)
        if len(hits) > best_hits:
            best, best_hits = index, len(hits)
    return best


@dataclass(frozen=True)
class _Formula:
    """An XLSX formula cell: kept as its text, never evaluated."""

    text: str
    result: Any = None  # the value Excel saved with the file, if any

    def __str__(self) -> str:
        return self.text

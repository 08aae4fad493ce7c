"""The slide model: plain data that the stage, the PPTX and the PDF all draw from."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from worktrack.charts import STATUS_COLORS

SLIDE_KINDS = ("title", "summary", "headline", "trends", "matrix", "section", "comparison", "scorecard", "grid",
               "actions", "method")
# The canvas: PowerPoint's 16:9 slide; in the browser 96 px to the inch (1280 x 720).
WIDTH_IN = 13.333
HEIGHT_IN = 7.5
MARGIN_IN = 0.5
BODY_TOP_IN = 1.55
BODY_BOTTOM_IN = 6.85
BODY_WIDTH_IN = WIDTH_IN - 2 * MARGIN_IN
PX_PER_IN = 96
# Table type in points: at 10 pt the text is 20 px on a 1920-pixel-wide projection, the least a room reads.
TABLE_PT_MAX = 16
TABLE_PT_MIN = 10
CELL_MARGIN_X_IN = 0.08
CELL_MARGIN_Y_IN = 0.04

PPTX_FONT = "Microsoft YaHei"
HTML_FONTS = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
PRIMARY = "#1f5fa8"
INK = "#1b1f24"
MUTED = "#5b6470"
ACTUAL_COLOR = "#0072B2"  # Okabe-Ito blue
EXPECTED_COLOR = "#E69F00"  # Okabe-Ito orange
TARGET_COLOR = "#1b1f24"


@dataclass(frozen=True)
class MetricCard:
    """One headline number with its target, share of target, change and status label."""

    metric: str
    name: str
    value: str
    target: str
    percent: str | None
    change: str
    change_label: str
    status: str
    status_label: str
    arrow: str = "off"  # "up" / "down" / "off": follows the sign of the change
    tone: str = "neutral"  # "good" / "bad" / "neutral": whether the change helps


@dataclass(frozen=True)
class ChartSeries:
    """One series; style "bar" (labelled), "marker" (a mark per category) or "line" (joined, dashed if dash)."""

    name: str
    values: tuple[float | None, ...]
    color: str
    style: str = "bar"
    labels: bool = False  # print the value beside each point (only one series per chart does, so none collide)
    dash: bool = False


@dataclass(frozen=True)
class Chart:
    """A column chart (bars, with markers or lines over them) or a line chart over categories."""

    key: str
    title: str
    categories: tuple[str, ...]
    series: tuple[ChartSeries, ...]
    unit_label: str
    number_format: str  # Excel/PowerPoint format of the data labels and the value axis
    decimals: int = 0
    suffix: str = ""
    kind: str = "bar"  # "bar": the first series are columns; "line": every series is a line

    def label(self, value: float | None) -> str:
        """A data label as the PowerPoint number format prints it."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{value:,.{self.decimals}f}{self.suffix}"


BarChart = Chart  # the name the first pack used


@dataclass(frozen=True)
class Table:
    """A table of display strings; `tints` holds a status code per cell (None = plain)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    tints: tuple[tuple[str | None, ...], ...]
    widths: tuple[float, ...]  # relative column widths
    size: float = TABLE_PT_MAX  # type size in points, chosen so that every row fits the slide

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=list(self.columns))

    def widths_in(self, total: float = BODY_WIDTH_IN) -> list[float]:
        weights = self.widths if len(self.widths) == len(self.columns) else (1.0,) * len(self.columns)
        return [w * total / sum(weights) for w in weights]


@dataclass(frozen=True)
class Slide:
    """One slide: title, subtitle, cards, charts, table and bullet lines, plus what the presenter says."""

    key: str
    kind: str
    title: str
    subtitle: str = ""
    cards: tuple[MetricCard, ...] = ()
    charts: tuple[Chart, ...] = ()
    table: Table | None = None
    bullets: tuple[str, ...] = ()
    notes: str = ""


def tint_color(status: str | None, strength: float = 0.22) -> str | None:
    """A light fill of the status colour (the cell text carries the label, so colour is never alone)."""
    if status not in STATUS_COLORS:
        return None
    base = STATUS_COLORS[status].lstrip("#")
    r, g, b = (int(base[i:i + 2], 16) for i in (0, 2, 4))
    mix = [round(255 - (255 - c) * strength) for c in (r, g, b)]
    return "#" + "".join(f"{c:02X}" for c in mix)


# ---------------------------------------------------------------------------
# How much fits: the same estimate lays out the PPTX and pages every table before anything is drawn


def text_width_in(text: str, size: float) -> float:
    """Approximate printed width: a CJK character is one em, Latin letters and digits about 0.56 em."""
    return sum(size / 72 * (1.0 if ord(ch) >= 0x2E80 or ch in "✔✖▲▼●○■…" else 0.56) for ch in text)


def text_lines(text: str, width_in: float, size: float) -> int:
    """Lines a text takes when wrapped within width_in (explicit line breaks kept)."""
    return sum(max(1, math.ceil(text_width_in(part, size) / max(width_in, 0.2))) for part in str(text).split("\n"))


def row_height_in(cells, widths_in: list[float], size: float) -> float:
    """Height of a table row whose cells wrap within their column widths (PowerPoint does not shrink)."""
    lines = 1
    for text, width in zip(cells, widths_in, strict=False):
        lines = max(lines, text_lines(str(text), width - 2 * CELL_MARGIN_X_IN - 0.06, size))
    return lines * size * 1.25 / 72 + 2 * CELL_MARGIN_Y_IN + 0.08


def table_height_in(columns, rows, widths_in: list[float], size: float) -> float:
    return row_height_in(columns, widths_in, size) + sum(row_height_in(r, widths_in, size) for r in rows)


def fit_table(columns: tuple[str, ...], rows: list[tuple[str, ...]], tints: list[tuple], widths: tuple[float, ...],
              available_in: float) -> list[Table]:
    """The rows as one or more tables (pages) that each fit `available_in` of height, at the largest type
    from TABLE_PT_MAX down to TABLE_PT_MIN; a table that would overflow continues on the next slide,
    with the rows shared out evenly (never a last page of one row)."""
    widths_in = Table(columns, (), (), widths).widths_in()

    def largest(part: list[int]) -> int | None:
        for size in range(TABLE_PT_MAX, TABLE_PT_MIN - 1, -1):
            if table_height_in(columns, [rows[i] for i in part], widths_in, size) <= available_in:
                return size
        return None

    def table(part: list[int], size: int) -> Table:
        return Table(columns, tuple(rows[i] for i in part), tuple(tints[i] for i in part), widths, size)

    everything = list(range(len(rows)))
    size = largest(everything)
    if size is not None or not rows:
        return [table(everything, size or TABLE_PT_MAX)]
    # how many pages the rows need at the smallest type, filled greedily
    heights = [row_height_in(r, widths_in, TABLE_PT_MIN) for r in rows]
    header = row_height_in(columns, widths_in, TABLE_PT_MIN)
    greedy: list[list[int]] = [[]]
    used = header
    for i, height in enumerate(heights):
        if greedy[-1] and used + height > available_in:
            greedy.append([])
            used = header
        greedy[-1].append(i)
        used += height
    # the same number of pages with the height shared out evenly, if every page still fits
    n = len(greedy)
    share = sum(heights) / n
    balanced: list[list[int]] = [[]]
    running = 0.0
    for i, height in enumerate(heights):
        if balanced[-1] and running + height / 2 > share * len(balanced) and len(balanced) < n:
            balanced.append([])
        balanced[-1].append(i)
        running += height
    pages = balanced if all(largest(p) is not None for p in balanced) else greedy
    return [table(p, largest(p) or TABLE_PT_MIN) for p in pages]


def bullets_height_in(bullets, size: float, width_in: float = BODY_WIDTH_IN) -> float:
    if not bullets:
        return 0.0
    return sum(text_lines(f"• {b}", width_in - 0.1, size) * size * 1.3 / 72 + 0.08 for b in bullets) + 0.1

"""The slides as HTML on the 1280 x 720 canvas: the PDF prints them, the 例会 page presents them.

Every data value is escaped. Type sizes are the PPTX's points at 96 px to the inch, so a table at
10 pt (the least the pack uses) is 13.3 px on the canvas and 20 px when the stage fills a 1920-pixel
projector; the stage scales the whole canvas, never reflows it.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from importlib import resources

from worktrack.charts import STATUS_COLORS
from worktrack.i18n import translate
from worktrack.meeting.deck import footer_text, slide_deck
from worktrack.meeting.pptx import CARD_HEIGHT_IN, bullet_points, card_lines
from worktrack.meeting.slides import (
    BODY_BOTTOM_IN,
    BODY_TOP_IN,
    BODY_WIDTH_IN,
    CELL_MARGIN_X_IN,
    CELL_MARGIN_Y_IN,
    HEIGHT_IN,
    HTML_FONTS,
    INK,
    MARGIN_IN,
    MUTED,
    PRIMARY,
    PX_PER_IN,
    WIDTH_IN,
    Chart,
    Slide,
    Table,
    bullets_height_in,
    tint_color,
)
from worktrack.plan import Plan
from worktrack.progress import StatusReport

W, H = round(WIDTH_IN * PX_PER_IN), round(HEIGHT_IN * PX_PER_IN)  # 1280 x 720
TONE_COLORS = {"good": "#009E73", "bad": "#D55E00", "neutral": MUTED}
CHART_FONT_PX = 15  # 22 px on a 1920-pixel projection


def px(inches: float) -> str:
    return f"{inches * PX_PER_IN:.1f}px"


def pt(points: float) -> str:
    return f"{points * 4 / 3:.2f}px"


SLIDE_CSS = f"""
.slide {{ width: {W}px; height: {H}px; position: relative; overflow: hidden; background: #fff; color: {INK};
         font-family: {HTML_FONTS}; box-sizing: border-box; }}
.slide * {{ box-sizing: border-box; }}
.slide .bar {{ position: absolute; top: 0; left: 0; right: 0; height: {px(0.14)}; background: {PRIMARY}; }}
.slide h1 {{ position: absolute; left: {px(MARGIN_IN)}; top: {px(0.3)}; width: {px(BODY_WIDTH_IN)};
            height: {px(0.8)}; margin: 0; font-size: {pt(30)}; line-height: 1.2; display: flex;
            align-items: flex-end; }}
.slide .subtitle {{ position: absolute; left: {px(MARGIN_IN)}; top: {px(1.08)}; width: {px(BODY_WIDTH_IN)};
                   margin: 0; font-size: {pt(15)}; color: {MUTED}; white-space: nowrap; overflow: hidden;
                   text-overflow: ellipsis; }}
.slide .body {{ position: absolute; left: {px(MARGIN_IN)}; top: {px(BODY_TOP_IN)}; width: {px(BODY_WIDTH_IN)};
               height: {px(BODY_BOTTOM_IN - BODY_TOP_IN)}; }}
.slide.cover h1 {{ left: {px(0.9)}; top: {px(1.7)}; width: {px(11.5)}; height: {px(1.6)}; font-size: {pt(40)};
                  color: {PRIMARY}; justify-content: center; align-items: center; text-align: center; }}
.slide.cover .subtitle {{ left: {px(0.9)}; top: {px(3.35)}; width: {px(11.5)}; font-size: {pt(28)}; color: {INK};
                         text-align: center; }}
.slide.cover ul {{ position: absolute; left: {px(0.9)}; top: {px(4.35)}; width: {px(11.5)}; list-style: none;
                  padding: 0; margin: 0; text-align: center; font-size: {pt(20)}; color: {MUTED}; line-height: 1.45; }}
.slide .cards {{ display: flex; gap: {px(0.18)}; height: {px(CARD_HEIGHT_IN)}; margin-bottom: {px(0.12)}; }}
.slide .card {{ flex: 1; min-width: 0; background: #F3F6FA; border-radius: 8px; padding: 6px; text-align: center;
               display: flex; flex-direction: column; justify-content: center; gap: 2px; }}
.slide .card .name {{ font-size: {pt(15)}; color: {MUTED}; }}
.slide .card .value {{ font-size: {pt(26)}; font-weight: bold; white-space: nowrap; }}
.slide .card .small {{ font-size: {pt(11)}; color: {MUTED}; }}
.slide .card .change {{ font-size: {pt(12)}; font-weight: bold; }}
.slide .card .status {{ font-size: {pt(13)}; font-weight: bold; }}
.slide .charts {{ display: flex; gap: {px(0.3)}; }}
.slide table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
.slide th {{ background: {PRIMARY}; color: #fff; text-align: left; font-weight: bold; }}
.slide th, .slide td {{ border: 1px solid #C9D1DB; padding: {px(CELL_MARGIN_Y_IN)} {px(CELL_MARGIN_X_IN)};
                       vertical-align: middle; overflow-wrap: anywhere; white-space: pre-line; line-height: 1.25; }}
.slide tr:nth-child(even) td {{ background: #F7F9FC; }}
.slide ul.bullets {{ margin: {px(0.05)} 0 0 0; padding-left: 1.2em; line-height: 1.3; }}
.slide ul.bullets li {{ margin-bottom: {px(0.08)}; }}
.slide footer {{ position: absolute; left: {px(MARGIN_IN)}; width: {px(BODY_WIDTH_IN)}; top: {px(6.98)};
                border-top: 1px solid #C9D1DB; padding-top: 3px; font-size: {pt(11)}; color: {MUTED};
                display: flex; justify-content: space-between; gap: 12px; white-space: nowrap; }}
.slide footer span:first-child {{ overflow: hidden; text-overflow: ellipsis; }}
.slide aside.notes {{ display: none; }}
"""


# ---------------------------------------------------------------------------
# Charts as inline SVG (the same data the PPTX's native charts hold)


def _nice_step(raw: float) -> float:
    """A round axis step (1, 2, 2.5 or 5 times a power of ten) at least `raw`."""
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude + 1e-12)


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def svg_chart(chart: Chart, width: int, height: int) -> str:
    """A chart as inline SVG in canvas pixels: columns, marks (expected, target) and lines; labels escaped."""
    esc = html.escape
    f = CHART_FONT_PX
    legend_h = f + 14
    category_lines = max((str(c).count("\n") + 1 for c in chart.categories), default=1)
    left, right, top, bottom = 8 + f * 4, 14, f + 30, (f + 3) * category_lines + f + 14 + legend_h
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in chart.series for v in s.values if _finite(v)]
    highest = max(values or [0]) or 1
    step = _nice_step(highest * 1.15 / 4)
    ticks = max(math.ceil(highest * 1.15 / step), 1)
    peak = step * ticks
    decimals = 0 if float(step).is_integer() else 1  # axis ticks: as few decimals as the step needs

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * max(value, 0) / peak

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(chart.title)}" '
           f'font-family=\'{esc(HTML_FONTS)}\'>',
           f'<text x="{width / 2:.1f}" y="{f + 6}" text-anchor="middle" font-size="{f + 3}" font-weight="bold" '
           f'fill="{INK}">{esc(chart.title)}</text>']
    for k in range(ticks + 1):
        y = y_of(step * k)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#E6E9EF"/>')
        out.append(f'<text x="{left - 6}" y="{y + f / 3:.1f}" text-anchor="end" font-size="{f}" fill="{MUTED}">'
                   f'{esc(f"{step * k:,.{decimals}f}{chart.suffix}")}</text>')
    n_cat = max(len(chart.categories), 1)
    band = plot_w / n_cat
    bars = [s for s in chart.series if chart.kind != "line" and s.style == "bar"]
    bar_w = band * 0.7 / max(len(bars), 1)
    for ci in range(n_cat):
        centre = left + ci * band + band / 2
        for bi, series in enumerate(bars):
            value = series.values[ci] if ci < len(series.values) and _finite(series.values[ci]) else 0
            x = centre - band * 0.35 + bi * bar_w
            y = y_of(value)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.94:.1f}" height="{top + plot_h - y:.1f}" '
                       f'fill="{series.color}"/>')
            if series.labels:
                out.append(f'<text x="{x + bar_w * 0.47:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-size="{f}" '
                           f'fill="{INK}">{esc(chart.label(value))}</text>')
    for series in chart.series:
        if chart.kind != "line" and series.style == "bar":
            continue
        points = [(left + ci * band + band / 2, y_of(v), v) for ci, v in enumerate(series.values) if _finite(v)]
        if series.style == "marker":
            for x, y, _ in points:
                out.append(f'<line x1="{x - band * 0.38:.1f}" x2="{x + band * 0.38:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                           f'stroke="{series.color}" stroke-width="4"/>')
        else:
            dash = ' stroke-dasharray="8 6"' if series.dash else ""
            path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _) in enumerate(points))
            if path:
                out.append(f'<path d="{path}" fill="none" stroke="{series.color}" stroke-width="3"{dash}/>')
            if not series.dash:
                out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{series.color}"/>' for x, y, _ in points]
        if series.labels:  # a white halo keeps a label readable where a line passes behind it
            out += [f'<text x="{x:.1f}" y="{y - 9:.1f}" text-anchor="middle" font-size="{f}" fill="{INK}" '
                    f'stroke="#fff" stroke-width="4" paint-order="stroke">'
                    f"{esc(chart.label(v))}</text>" for x, y, v in points]
    for ci, category in enumerate(chart.categories):
        x = left + ci * band + band / 2
        lines = str(category).split("\n")
        spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else f + 3}"'
                        + (' font-weight="bold"' if i else "") + f">{esc(line)}</tspan>"
                        for i, line in enumerate(lines))
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + f + 6}" text-anchor="middle" font-size="{f}" '
                   f'fill="{INK}">{spans}</text>')
    out.append(f'<text x="{left}" y="{top - 8}" font-size="{f - 1}" fill="{MUTED}">{esc(chart.unit_label)}</text>')
    lx, ly = left, height - 8
    for series in chart.series:
        if series.style == "bar" and chart.kind != "line":
            out.append(f'<rect x="{lx}" y="{ly - f + 1}" width="{f}" height="{f}" fill="{series.color}"/>')
        else:
            dash = ' stroke-dasharray="6 4"' if series.dash else ""
            out.append(f'<line x1="{lx}" x2="{lx + f}" y1="{ly - f / 2:.1f}" y2="{ly - f / 2:.1f}" '
                       f'stroke="{series.color}" stroke-width="4"{dash}/>')
        out.append(f'<text x="{lx + f + 6}" y="{ly}" font-size="{f}" fill="{INK}">{esc(series.name)}</text>')
        lx += f + 24 + round(sum(f if ord(ch) > 0x2E80 else f * 0.56 for ch in series.name))
    out.append("</svg>")
    return "".join(out)


def _html_table(table: Table) -> str:
    esc = html.escape
    widths = table.widths_in()
    cols = "".join(f'<col style="width:{w / BODY_WIDTH_IN * 100:.3f}%">' for w in widths)
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = []
    for row, tints in zip(table.rows, table.tints, strict=True):
        cells = []
        for c, value in enumerate(row):
            fill = tint_color(tints[c] if c < len(tints) else None)
            style = f' style="background:{fill}"' if fill else ""
            cells.append(f"<td{style}>{esc(str(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table style="font-size:{pt(table.size)}"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def slide_html(slide: Slide, number: int, total: int, footer: str, lang: str) -> str:
    """One slide on the canvas, with its presenter notes in a hidden aside."""
    esc = html.escape
    cover = slide.kind == "title"
    body = [f'<section class="slide{" cover" if cover else ""}" data-kind="{esc(slide.kind)}" '
            f'data-key="{esc(slide.key)}">', '<div class="bar"></div>', f"<h1>{esc(slide.title)}</h1>"]
    if slide.subtitle:
        body.append(f'<p class="subtitle">{esc(slide.subtitle)}</p>')
    if cover:
        body.append("<ul>" + "".join(f"<li>{esc(b)}</li>" for b in slide.bullets) + "</ul>")
    else:
        body.append('<div class="body">')
        size = bullet_points(slide)
        reserve = bullets_height_in(slide.bullets, size) if slide.bullets else 0.0
        used = 0.0
        if slide.cards:
            body.append('<div class="cards">')
            for card in slide.cards:
                target, change = card_lines(card, lang)
                body.append(
                    f'<div class="card"><div class="name">{esc(card.name)}</div>'
                    f'<div class="value">{esc(card.value)}</div><div class="small">{esc(target)}</div>'
                    f'<div class="change" style="color:{TONE_COLORS.get(card.tone, MUTED)}">{esc(change)}</div>'
                    f'<div class="status" style="color:{STATUS_COLORS.get(card.status, INK)}">'
                    f"{esc(card.status_label)}</div></div>")
            body.append("</div>")
            used += CARD_HEIGHT_IN + 0.12
        if slide.charts:
            height = round((BODY_BOTTOM_IN - BODY_TOP_IN - used - reserve) * PX_PER_IN) - 4
            gap = 0.3 * PX_PER_IN
            width = round((BODY_WIDTH_IN * PX_PER_IN - gap * (len(slide.charts) - 1)) / len(slide.charts))
            body.append('<div class="charts">' + "".join(svg_chart(c, width, height) for c in slide.charts)
                        + "</div>")
        if slide.table is not None:
            body.append(_html_table(slide.table))
        if slide.bullets:
            body.append(f'<ul class="bullets" style="font-size:{pt(size)}">'
                        + "".join(f"<li>{esc(b)}</li>" for b in slide.bullets) + "</ul>")
        body.append("</div>")
    body.append(f"<footer><span>{esc(footer)}</span><span>{number} / {total}</span></footer>")
    body.append(f'<aside class="notes">{esc(slide.notes)}</aside></section>')
    return "".join(body)


PRINT_CSS = f"""
@page {{ size: {WIDTH_IN}in {HEIGHT_IN}in; margin: 0; }}
html, body {{ margin: 0; padding: 0; }}
body {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
.slide {{ page-break-after: always; break-after: page; }}
.slide:last-child {{ page-break-after: auto; break-after: auto; }}
"""


def deck_html(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None,
              slides: list[Slide] | None = None) -> str:
    """The deck as one printable HTML document, one 16:9 page per slide (the PPTX's page size)."""
    esc = html.escape
    generated = generated or dt.date.today()
    slides = slides if slides is not None else slide_deck(plan, report, lang=lang, generated=generated)
    footer = footer_text(plan, report, lang=lang, generated=generated)
    pages = "".join(slide_html(s, n, len(slides), footer, lang) for n, s in enumerate(slides, start=1))
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{esc(plan.title)}</title><style>{SLIDE_CSS}{PRINT_CSS}</style></head><body>{pages}</body></html>")


# ---------------------------------------------------------------------------
# The stage: the 例会 page's presentation, driven by keyboard and clicker


def _script_text(text: str) -> str:
    """Text safe inside a <script> element (which decodes no entities): no "</" can close it early."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("worktrack.meeting").joinpath("assets", name).read_text(encoding="utf-8")


def stage_html(plan: Plan, report: StatusReport, slides: list[Slide], *, lang: str = "zh", deck_id: str,
               generated: dt.date | None = None, view: str = "stage") -> str:
    """Every slide on one scaled 16:9 stage with a thin progress line; keys → ← PageDown PageUp Space Home
    End move, F or the button presents full screen, Esc leaves. view="presenter" shows the current slide,
    the next one and the notes, following the stage in another tab of the same browser."""
    esc = html.escape
    footer = footer_text(plan, report, lang=lang, generated=generated)
    pages = "".join(slide_html(s, n, len(slides), footer, lang) for n, s in enumerate(slides, start=1))
    words = {key: translate(f"meeting.stage_{key}", lang) for key in (
        "present", "leave", "presenter", "prev", "next", "notes", "next_slide", "end", "elapsed", "keys")}
    config = json.dumps({"deck": deck_id, "view": view, "total": len(slides), "words": words,
                         "titles": [s.title for s in slides]}, ensure_ascii=False)
    return (f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<style>{SLIDE_CSS}{_asset('stage.css')}</style></head>"
            f'<body class="view-{esc(view)}"><div id="wt-deck" hidden>{pages}</div>'
            f'<script type="application/json" id="wt-config">{_script_text(config)}</script>'
            f"<script>{_asset('stage.js')}</script></body></html>")

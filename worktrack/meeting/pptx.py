"""The meeting deck as a 16:9 PowerPoint file: native charts and tables, CJK typefaces, presenter notes."""

from __future__ import annotations

import datetime as dt
import io

from worktrack.charts import STATUS_COLORS
from worktrack.meeting.deck import footer_text, slide_deck
from worktrack.meeting.slides import (
    BODY_BOTTOM_IN,
    BODY_TOP_IN,
    BODY_WIDTH_IN,
    CELL_MARGIN_X_IN,
    CELL_MARGIN_Y_IN,
    HEIGHT_IN,
    INK,
    MARGIN_IN,
    MUTED,
    PPTX_FONT,
    PRIMARY,
    WIDTH_IN,
    Chart,
    MetricCard,
    Slide,
    Table,
    bullets_height_in,
    row_height_in,
    text_width_in,
    tint_color,
)
from worktrack.plan import Plan
from worktrack.progress import StatusReport

TONE_COLORS = {"good": "#009E73", "bad": "#D55E00", "neutral": MUTED}
ARROWS = {"up": "↑", "down": "↓", "off": "→"}


def _pptx_font(font, size: float | None = None, bold: bool | None = None, color: str | None = None,
               lang: str = "zh") -> None:
    """Set size/weight/colour and both the Latin and the East Asian typeface on a run or default font."""
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if color is not None:
        font.color.rgb = RGBColor.from_string(color.lstrip("#"))
    font.name = PPTX_FONT
    rpr = font._rPr
    latin = rpr.find(qn("a:latin"))
    anchor = latin
    for tag in ("a:ea", "a:cs"):
        element = rpr.find(qn(tag))
        if element is None:
            element = rpr.makeelement(qn(tag), {})
            anchor.addnext(element)
        element.set("typeface", PPTX_FONT)
        anchor = element
    if lang == "zh":
        rpr.set("lang", "zh-CN")
        rpr.set("altLang", "en-US")


def _pptx_text(frame, lines: list[tuple[str, float, bool, str]], *, align=None, lang: str = "zh",
               space_after: float = 0) -> None:
    """Write lines (text, size, bold, colour) into a text frame, one paragraph each."""
    from pptx.util import Pt

    frame.word_wrap = True
    for i, (text, size, bold, color) in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        if align is not None:
            paragraph.alignment = align
        if space_after:
            paragraph.space_after = Pt(space_after)
        run = paragraph.add_run()
        run.text = text
        _pptx_font(run.font, size, bold, color, lang)


def _pptx_theme_fonts(prs) -> None:
    """Make the theme's East Asian heading and body fonts a CJK face, so any default text renders."""
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    part = prs.slide_master.part.part_related_by(RT.THEME)
    root = etree.fromstring(part.blob)
    ns = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
    for element in root.iterfind(".//a:majorFont/a:ea", ns):
        element.set("typeface", PPTX_FONT)
    for element in root.iterfind(".//a:minorFont/a:ea", ns):
        element.set("typeface", PPTX_FONT)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _pptx_cell_margins(cell) -> None:
    from pptx.util import Inches

    cell.margin_left = cell.margin_right = Inches(CELL_MARGIN_X_IN)
    cell.margin_top = cell.margin_bottom = Inches(CELL_MARGIN_Y_IN)


def _marker_series(chart, style_of: list[str]) -> None:
    """Turn the series drawn as marks (expected, target) into a line plot with markers and no line,
    over the same axes as the columns: the workbook behind the chart keeps every series, so it stays editable."""
    from copy import deepcopy

    from lxml import etree
    from pptx.oxml.ns import qn

    plot_area = chart._chartSpace.find(qn("c:chart")).find(qn("c:plotArea"))
    bar = plot_area.find(qn("c:barChart"))
    series = bar.findall(qn("c:ser"))
    moving = [s for s, style in zip(series, style_of, strict=True) if style != "bar"]
    if not moving:
        return
    line = etree.SubElement(plot_area, qn("c:lineChart"))
    plot_area.remove(line)
    bar.addnext(line)
    etree.SubElement(line, qn("c:grouping")).set("val", "standard")
    etree.SubElement(line, qn("c:varyColors")).set("val", "0")
    for ser in moving:
        bar.remove(ser)
        for tag in ("c:invertIfNegative", "c:dLbls"):
            for element in ser.findall(qn(tag)):
                ser.remove(element)
        line.append(ser)
    etree.SubElement(line, qn("c:marker")).set("val", "1")
    for ax_id in bar.findall(qn("c:axId")):
        line.append(deepcopy(ax_id))


class _PptxWriter:
    def __init__(self, title: str, footer: str, lang: str):
        from pptx import Presentation
        from pptx.util import Inches

        self.lang = lang
        self.footer = footer
        self.prs = Presentation()
        self.prs.slide_width = Inches(WIDTH_IN)
        self.prs.slide_height = Inches(HEIGHT_IN)
        self.prs.core_properties.title = title
        self.prs.core_properties.language = "zh-CN" if lang == "zh" else "en-US"
        _pptx_theme_fonts(self.prs)
        self.layout = self.prs.slide_layouts[5]  # "Title Only": the title stays a real title placeholder

    # -- building blocks
    def _box(self, slide, left: float, top: float, width: float, height: float):
        from pptx.util import Inches

        return slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height))

    def _text(self, slide, left, top, width, height, lines, align=None, anchor=None, space_after: float = 0):
        box = self._box(slide, left, top, width, height)
        if anchor is not None:
            box.text_frame.vertical_anchor = anchor
        _pptx_text(box.text_frame, lines, align=align, lang=self.lang, space_after=space_after)
        return box

    def _rect(self, slide, left, top, width, height, fill: str, rounded: bool = False):
        from pptx.dml.color import RGBColor
        from pptx.enum.shapes import MSO_SHAPE
        from pptx.util import Inches

        shape = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE if rounded else MSO_SHAPE.RECTANGLE,
                                       Inches(left), Inches(top), Inches(width), Inches(height))
        shape.fill.solid()
        shape.fill.fore_color.rgb = RGBColor.from_string(fill.lstrip("#"))
        shape.line.fill.background()
        shape.shadow.inherit = False
        if rounded:
            shape.adjustments[0] = 0.08
        return shape

    def add(self, slide_data: Slide, number: int, total: int) -> None:
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches

        slide = self.prs.slides.add_slide(self.layout)
        cover = slide_data.kind == "title"
        self._rect(slide, 0, 0, WIDTH_IN, 0.14, PRIMARY)
        title = slide.shapes.title
        if cover:
            title.left, title.top, title.width, title.height = (Inches(0.9), Inches(1.7), Inches(11.5), Inches(1.6))
        else:
            title.left, title.top, title.width, title.height = (Inches(MARGIN_IN), Inches(0.3), Inches(BODY_WIDTH_IN),
                                                                Inches(0.8))
        frame = title.text_frame
        frame.clear()
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE if cover else MSO_ANCHOR.BOTTOM
        _pptx_text(frame, [(slide_data.title, 40 if cover else 30, True, PRIMARY if cover else INK)],
                   align=PP_ALIGN.CENTER if cover else PP_ALIGN.LEFT, lang=self.lang)
        if slide_data.subtitle:
            if cover:
                self._text(slide, 0.9, 3.35, 11.5, 0.7, [(slide_data.subtitle, 28, False, INK)], align=PP_ALIGN.CENTER)
            else:
                self._text(slide, MARGIN_IN, 1.08, BODY_WIDTH_IN, 0.45, [(slide_data.subtitle, 15, False, MUTED)])

        top = BODY_TOP_IN
        if cover:
            self._text(slide, 0.9, 4.35, 11.5, 2.2, [(b, 20, False, MUTED) for b in slide_data.bullets],
                       align=PP_ALIGN.CENTER, space_after=6)
        else:
            bullet_size = bullet_points(slide_data)
            bullets = [f"• {b}" for b in slide_data.bullets]
            reserve = bullets_height_in(slide_data.bullets, bullet_size) if bullets else 0.0
            if slide_data.cards:
                top = self._cards(slide, slide_data.cards, top)
            if slide_data.charts:
                chart_bottom = BODY_BOTTOM_IN - reserve
                self._charts(slide, slide_data.charts, top, chart_bottom - top)
                top = chart_bottom
            if slide_data.table is not None:
                top = self._table(slide, slide_data.table, top, slide_data.kind)
            if bullets:
                self._text(slide, MARGIN_IN, top + 0.05, BODY_WIDTH_IN, max(BODY_BOTTOM_IN - top, 0.5),
                           [(b, bullet_size, False, INK) for b in bullets], space_after=6)

        self._rect(slide, MARGIN_IN, 6.98, BODY_WIDTH_IN, 0.01, "#C9D1DB")
        self._text(slide, MARGIN_IN, 7.0, 10.8, 0.38, [(self.footer, 11, False, MUTED)])
        self._text(slide, 11.3, 7.0, 1.53, 0.38, [(f"{number} / {total}", 11, False, MUTED)], align=PP_ALIGN.RIGHT)
        if slide_data.notes:
            _pptx_text(slide.notes_slide.notes_text_frame, [(slide_data.notes, 14, False, INK)], lang=self.lang)

    def _cards(self, slide, cards: tuple[MetricCard, ...], top: float) -> float:
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN

        gap = 0.18
        width = (BODY_WIDTH_IN - gap * (len(cards) - 1)) / len(cards)
        height = CARD_HEIGHT_IN
        for i, card in enumerate(cards):
            left = MARGIN_IN + i * (width + gap)
            shape = self._rect(slide, left, top, width, height, "#F3F6FA", rounded=True)
            frame = shape.text_frame
            frame.vertical_anchor = MSO_ANCHOR.MIDDLE
            target, change = card_lines(card, self.lang)
            room = (width - 0.3) * 0.85  # office suites substitute wider fonts: leave a margin
            _pptx_text(frame, [
                (card.name, _fitting(card.name, room, 15), False, MUTED),
                (card.value, _fitting(card.value, room, 26), True, INK),
                (target, _fitting(target, room, 11, 8), False, MUTED),
                (change, _fitting(change, room, 12, 8), True, TONE_COLORS.get(card.tone, MUTED)),
                (card.status_label, 13, True, STATUS_COLORS.get(card.status, INK)),
            ], align=PP_ALIGN.CENTER, lang=self.lang)
        return top + height + 0.12

    def _charts(self, slide, charts: tuple[Chart, ...], top: float, height: float) -> None:
        gap = 0.3
        width = (BODY_WIDTH_IN - gap * (len(charts) - 1)) / len(charts)
        for i, chart in enumerate(charts):
            self._chart(slide, chart, MARGIN_IN + i * (width + gap), top, width, height)

    def _chart(self, slide, chart: Chart, left: float, top: float, width: float, height: float) -> None:
        from pptx.chart.data import CategoryChartData
        from pptx.dml.color import RGBColor
        from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION, XL_MARKER_STYLE
        from pptx.enum.dml import MSO_LINE_DASH_STYLE
        from pptx.util import Inches, Pt

        data = CategoryChartData(number_format=chart.number_format)
        data.categories = list(chart.categories)
        for series in chart.series:
            data.add_series(series.name, list(series.values), number_format=chart.number_format)
        kind = XL_CHART_TYPE.LINE_MARKERS if chart.kind == "line" else XL_CHART_TYPE.COLUMN_CLUSTERED
        frame = slide.shapes.add_chart(kind, Inches(left), Inches(top), Inches(width), Inches(height), data)
        frame.name = f"chart {chart.key}"
        c = frame.chart
        if chart.kind != "line":
            _marker_series(c, [s.style for s in chart.series])
        _pptx_font(c.font, 14, None, INK, self.lang)
        c.has_title = True
        _pptx_text(c.chart_title.text_frame, [(chart.title, 16, True, INK)], lang=self.lang)
        c.has_legend = True
        c.legend.position = XL_LEGEND_POSITION.BOTTOM
        c.legend.include_in_layout = False
        _pptx_font(c.legend.font, 14, None, INK, self.lang)
        specs = {s.name: s for s in chart.series}
        for plot in c.plots:
            if chart.kind != "line" and plot is c.plots[0]:
                plot.gap_width = 60
            for series in plot.series:
                spec = specs[series.name]
                color = RGBColor.from_string(spec.color.lstrip("#"))
                if spec.style == "bar":
                    series.format.fill.solid()
                    series.format.fill.fore_color.rgb = color
                else:
                    series.marker.style = XL_MARKER_STYLE.DASH if spec.style == "marker" else XL_MARKER_STYLE.CIRCLE
                    series.marker.size = 16 if spec.style == "marker" else 6
                    series.marker.format.fill.solid()
                    series.marker.format.fill.fore_color.rgb = color
                    series.marker.format.line.color.rgb = color
                    if spec.style == "marker":
                        series.format.line.fill.background()  # marks only: no line between communities
                    else:
                        series.format.line.color.rgb = color
                        series.format.line.width = Pt(2.5)
                        if spec.dash:
                            series.format.line.dash_style = MSO_LINE_DASH_STYLE.DASH
                        series.smooth = False
                if spec.labels:
                    # only one series per chart is labelled, so labels never sit on top of each other
                    series.data_labels.show_value = True
                    series.data_labels.number_format = chart.number_format
                    series.data_labels.number_format_is_linked = False
                    series.data_labels.position = (XL_LABEL_POSITION.OUTSIDE_END if spec.style == "bar"
                                                   else XL_LABEL_POSITION.ABOVE)
                    _pptx_font(series.data_labels.font, 12, None, INK, self.lang)
        _pptx_font(c.category_axis.tick_labels.font, 13, None, INK, self.lang)
        value_axis = c.value_axis
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = RGBColor.from_string("E6E9EF")
        value_axis.tick_labels.number_format = chart.number_format
        value_axis.tick_labels.number_format_is_linked = False
        _pptx_font(value_axis.tick_labels.font, 12, None, MUTED, self.lang)
        value_axis.minimum_scale = 0
        value_axis.has_title = True
        _pptx_text(value_axis.axis_title.text_frame, [(chart.unit_label, 12, False, MUTED)], lang=self.lang)

    def _table(self, slide, table: Table, top: float, kind: str) -> float:
        from pptx.dml.color import RGBColor
        from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
        from pptx.util import Inches

        rows = table.rows
        n_rows, n_cols = len(rows) + 1, len(table.columns)
        widths = table.widths_in()
        size = table.size
        heights = [row_height_in(table.columns, widths, size)] + [row_height_in(r, widths, size) for r in rows]
        shape = slide.shapes.add_table(n_rows, n_cols, Inches(MARGIN_IN), Inches(top), Inches(BODY_WIDTH_IN),
                                       Inches(sum(heights)))
        shape.name = f"table {kind}"
        grid = shape.table
        grid.first_row = True
        grid.horz_banding = False
        for i, width in enumerate(widths):
            grid.columns[i].width = Inches(width)
        for r, height in enumerate(heights):
            grid.rows[r].height = Inches(height)
        white = RGBColor.from_string("FFFFFF")
        for c, name in enumerate(table.columns):
            cell = grid.cell(0, c)
            cell.fill.solid()
            cell.fill.fore_color.rgb = RGBColor.from_string(PRIMARY.lstrip("#"))
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            _pptx_cell_margins(cell)
            _pptx_text(cell.text_frame, [(name, size, True, "#FFFFFF")], lang=self.lang)
        for r, (row, tints) in enumerate(zip(rows, table.tints, strict=True), start=1):
            for c, value in enumerate(row):
                cell = grid.cell(r, c)
                cell.vertical_anchor = MSO_ANCHOR.MIDDLE
                _pptx_cell_margins(cell)
                fill = tint_color(tints[c] if c < len(tints) else None)
                cell.fill.solid()
                cell.fill.fore_color.rgb = RGBColor.from_string(fill.lstrip("#")) if fill else (
                    RGBColor.from_string("F7F9FC") if r % 2 == 0 else white)
                _pptx_text(cell.text_frame, [(line, size, False, INK) for line in str(value).split("\n")],
                           lang=self.lang, align=PP_ALIGN.LEFT)
        return top + sum(heights) + 0.1

    def bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.prs.save(buffer)
        return buffer.getvalue()


CARD_HEIGHT_IN = 1.75


def _fitting(text: str, width_in: float, size: float, smallest: float = 12) -> float:
    """The largest type, from `size` down to `smallest` points, at which `text` fits on one line."""
    while size > smallest and text_width_in(text, size) > width_in:
        size -= 1
    return size


def bullet_points(slide: Slide) -> float:
    """Bullet type in points: large when the bullets are the slide (the summary), smaller beside a table."""
    if slide.kind == "summary":
        return 20
    if slide.kind == "method":
        return 14
    return 20 if slide.table is None and not slide.charts else 16


def card_lines(card: MetricCard, lang: str) -> tuple[str, str]:
    """The two small lines of a headline card: the target and share, then the change with its arrow."""
    from worktrack.i18n import translate

    target = f"{translate('card.target', lang)} {card.target}" + (f" · {card.percent}" if card.percent else "")
    return target, f"{ARROWS.get(card.arrow, '→')} {card.change} {card.change_label}"


def pptx_bytes(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None,
               slides: list[Slide] | None = None) -> bytes:
    """The meeting deck as a 16:9 PowerPoint file with native charts, tables and presenter notes."""
    generated = generated or dt.date.today()
    slides = slides if slides is not None else slide_deck(plan, report, lang=lang, generated=generated)
    writer = _PptxWriter(plan.title, footer_text(plan, report, lang=lang, generated=generated), lang)
    for number, slide in enumerate(slides, start=1):
        writer.add(slide, number, len(slides))
    return writer.bytes()

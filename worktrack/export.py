"""The meeting pack's public face: the slide sequence and its PPTX / XLSX / PDF exports.

The work is done in `worktrack.meeting` (what the slides say, and one module per way of showing
them); this module keeps the names the CLI, the pages and scripts use.
"""

from __future__ import annotations

from worktrack.meeting.deck import (
    ATTENTION_TINT,
    STATUS_SEVERITY,
    action_items,
    follow_up_date,
    footer_text,
    report_fingerprint,
    slide_deck,
)
from worktrack.meeting.html import deck_html, slide_html, stage_html, svg_chart
from worktrack.meeting.pdf import (
    ExportUnavailable,
    chromium_path,
    cjk_fonts,
    pdf_bytes,
    pdf_problem,
    print_html,
)
from worktrack.meeting.pptx import pptx_bytes
from worktrack.meeting.slides import (
    SLIDE_KINDS,
    BarChart,
    Chart,
    ChartSeries,
    MetricCard,
    Slide,
    Table,
    tint_color,
)
from worktrack.meeting.xlsx import xlsx_bytes
from worktrack.plan import Plan
from worktrack.progress import StatusReport, attention
from worktrack.tables import safe_cell_text

EXPORT_FORMATS = {
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

__all__ = [
    "ATTENTION_TINT", "EXPORT_FORMATS", "SLIDE_KINDS", "STATUS_SEVERITY", "BarChart", "Chart", "ChartSeries",
    "ExportUnavailable", "MetricCard", "Slide", "Table", "action_items", "attention", "chromium_path", "cjk_fonts",
    "deck_html", "export_file_name", "follow_up_date", "footer_text", "pdf_bytes", "pdf_problem", "pptx_bytes",
    "print_html", "report_fingerprint", "safe_cell_text", "slide_deck", "slide_html", "stage_html", "svg_chart",
    "tint_color", "xlsx_bytes",
]


def export_file_name(plan: Plan, report: StatusReport, fmt: str) -> str:
    """meeting_2023-09.pptx, or meeting_2023-09_tianjian.pptx for one unit."""
    suffix = f"_{plan.unit(report.unit).id}" if report.unit else ""
    return f"meeting_{report.as_of}{suffix}.{fmt}"

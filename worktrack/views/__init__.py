"""The presentation layer: everything a person reads about the plan's progress, in either language.

`format` is the one grammar for figures, months, measures, names and status words; `words` turns
the progress report into cards and sentences; `tables` shapes it into the tables the screens and
the meeting pack show. Pages, the meeting deck and every export read from here.
"""

from worktrack.views.format import (
    bracket,
    category_label,
    date_label,
    format_amount,
    format_number,
    format_percent,
    join_list,
    measure_word,
    metric_name,
    money_scale,
    month_label,
    month_state_label,
    node_label,
    section_heading,
    short_month_label,
    status_label,
    status_word,
    task_word,
    unit_label,
)
from worktrack.views.tables import (
    STATUS_SEVERITY,
    community_history,
    community_ranks,
    deadline_window,
    group_targets_by_node,
    item_statuses,
    item_unit_statuses,
    metric_series,
    months_between,
    reporting_grid,
    scorecard,
    task_table,
    unit_comparison_rows,
)
from worktrack.views.words import (
    Card,
    as_of_caption,
    attention_counts,
    attention_rows,
    attention_table,
    change_tone,
    headline_cards,
    method_lines,
    month_state_text,
    note_lines,
    partial_banner,
    reconciliation_lines,
    reporting_badge,
    source_lines,
    summary_line,
    target_history,
)

__all__ = [
    "bracket", "join_list",
    "STATUS_SEVERITY", "Card", "as_of_caption", "attention_counts", "attention_rows", "attention_table",
    "category_label", "change_tone", "community_history", "community_ranks", "date_label", "deadline_window",
    "format_amount", "format_number", "format_percent", "group_targets_by_node", "headline_cards",
    "item_statuses", "item_unit_statuses", "measure_word", "method_lines", "metric_name", "metric_series",
    "money_scale", "month_label", "month_state_label", "months_between", "node_label", "note_lines",
    "month_state_text", "partial_banner", "reconciliation_lines", "reporting_badge", "reporting_grid", "scorecard", "section_heading", "short_month_label",
    "source_lines", "status_label", "status_word", "summary_line", "target_history", "task_table", "task_word",
    "unit_comparison_rows", "unit_label",
]

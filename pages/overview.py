"""总览: headline cards, the summary, the attention list, the document's own figures, comparison, reporting grid."""

import streamlit as st

from app_support import (
    as_of,
    attention_view,
    comparison_figure,
    get_plan,
    lang,
    monthly_values,
    status,
    t,
    unit_filter,
    wrapped_table,
)
from worktrack.charts import sparkline, status_donut
from worktrack.tables import csv_bytes
from worktrack.views import (
    as_of_caption,
    headline_cards,
    method_lines,
    metric_series,
    partial_banner,
    reconciliation_lines,
    reporting_grid,
    source_lines,
    summary_line,
)

ATTENTION_SHOWN = 200  # rows on screen; the download has them all

plan = get_plan()
month = as_of()
unit = unit_filter()
language = lang()

st.title(t("overview.title"))

with st.spinner():
    report = status(month, unit)
    monthly = monthly_values(month)

st.caption(as_of_caption(report, language))
banner = partial_banner(report, language)
if banner:
    st.warning(banner, icon=":material/hourglass_top:")
if not len(report.reporting) or not report.reporting["received"].any():
    st.info(t("overview.no_data"), icon=":material/info:")

# -- headline cards
cards = headline_cards(report, language)
columns = st.columns(len(cards)) if cards else []
for column, card in zip(columns, cards, strict=True):
    with column.container(border=True):
        st.metric(card.name, card.value, delta=card.delta, delta_color=card.delta_color, delta_arrow=card.delta_arrow)
        st.markdown(f"**{card.status_label}**")
        lines = [f"{t('card.target')} {card.target}" + (f" · {card.percent}" if card.percent else "")]
        if card.detail:
            lines.append(card.detail)
        st.caption("  \n".join(lines))
        series = metric_series(plan, monthly, card.metric, month, unit)
        if len(series) > 1:
            st.plotly_chart(sparkline(list(series["month"]), list(series["value"]), language), width="stretch",
                            config={"displayModeBar": False, "staticPlot": True}, key=f"spark_{card.metric}")

st.markdown(f"**{summary_line(report, language)}**")

# -- status counts and attention list
left, right = st.columns([1, 2])
with left:
    st.subheader(t("overview.status_counts"))
    counts = report.status_counts()
    st.plotly_chart(status_donut(counts, language), width="stretch", config={"displayModeBar": False})
    colon = "：" if language == "zh" else ": "
    for code, n in counts.items():
        if n:
            st.markdown(f"- {t('status.' + code)}{colon}**{n}**")
    obligations = report.obligation_counts()
    if obligations["total"]:
        st.subheader(t("overview.monthly_counts"))
        for state in ("met", "missed", "not_reported", "pending"):
            if obligations[state]:
                st.markdown(f"- {t('month_state.' + state)}{colon}**{obligations[state]}**")
with right:
    st.subheader(t("overview.attention"))
    attention = attention_view(month, unit, language)
    if attention is not None:
        counts_line, table = attention
        st.caption(counts_line)
        with st.container(height=520 if len(table) > 8 else "content"):
            wrapped_table(table, max_rows=ATTENTION_SHOWN)
        if len(table) > ATTENTION_SHOWN:
            st.caption(t("overview.attention_more", shown=ATTENTION_SHOWN, n=len(table)))
        st.download_button(t("overview.download_attention"), lambda: csv_bytes(table),
                           file_name=f"attention_{month}.csv", mime="text/csv")
    else:
        st.success(t("overview.attention_empty"), icon=":material/check_circle:")

# -- what the document itself says inconsistently, and where the money came from
st.subheader(t("reconcile.title"))
for sentence, mismatch in reconciliation_lines(plan, language):
    (st.warning if mismatch else st.info)(sentence, icon=":material/warning:" if mismatch else ":material/info:")
for sentence in source_lines(report, language):
    st.markdown(f"- {sentence}")

# -- community comparison
if unit is None and plan.display.comparison:
    st.subheader(t("overview.comparison"))
    chart_columns = st.columns(2)
    for i, metric_id in enumerate(plan.display.comparison):
        compared = comparison_figure(month, metric_id, language)
        if compared is not None:
            figure, shown, total = compared
            chart_columns[i % 2].plotly_chart(figure, width="stretch", key=f"compare_{metric_id}")
            if shown < total:
                chart_columns[i % 2].caption(t("overview.comparison_most_behind", shown=shown, n=total))

# -- reporting grid
st.subheader(t("overview.grid"))
st.caption(t("overview.grid_caption", day=plan.report_due_day))
grid = reporting_grid(report, language)
if len(grid):
    st.dataframe(grid, width="stretch")
    st.download_button(t("overview.download_grid"), lambda: csv_bytes(grid, index=True),
                       file_name=f"reporting_{month}.csv", mime="text/csv")

with st.expander(t("overview.method_title")):
    for line in method_lines(plan, language):
        st.markdown(f"- {line}")

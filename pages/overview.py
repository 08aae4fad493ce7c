"""总览: headline cards, status counts, the attention list, community comparison, reporting grid."""

import streamlit as st

from app_support import as_of, get_plan, lang, monthly_values, status, t, unit_filter
from worktrack.charts import month_label, sparkline, status_donut, unit_comparison_chart
from worktrack.progress import attention, headline
from worktrack.views import (
    attention_table,
    headline_cards,
    metric_series,
    reporting_grid,
    unit_comparison_rows,
)

plan = get_plan()
month = as_of()
unit = unit_filter()

st.title(t("overview.title"))
st.caption(t("overview.caption", month=month_label(month, lang()), unit=unit or t("sidebar.all_units")))

with st.spinner():
    report = status(month, unit)
    monthly = monthly_values(month)

if not len(report.reporting) or not report.reporting["received"].any():
    st.info(t("overview.no_data"), icon=":material/info:")

# -- headline cards
cards = headline_cards(report, headline(report), lang())
columns = st.columns(len(cards)) if cards else []
for column, card in zip(columns, cards, strict=True):
    with column.container(border=True):
        delta_label = t("overview.change_prev") if card["period"] == "month" else t("overview.change_month")
        st.metric(card["name"], card["value"], delta=f"{delta_label} {card['change']}",
                  delta_color="off" if card["change_raw"] == 0 else "normal")
        st.markdown(f"**{card['status_label']}**")
        st.caption(f"{t('overview.target')} {card['target']}" + (f" · {card['percent']}" if card["percent"] else ""))
        series = metric_series(plan, monthly, card["metric"], month, unit)
        if len(series) > 1:
            st.plotly_chart(sparkline(list(series["month"]), list(series["value"]), lang()), width="stretch",
                            config={"displayModeBar": False, "staticPlot": True}, key=f"spark_{card['metric']}")

st.caption(t("overview.method", start=month_label(plan.start_month, lang())))

# -- status counts and attention list
left, right = st.columns([1, 2])
with left:
    st.subheader(t("overview.status_counts"))
    counts = report.status_counts()
    st.plotly_chart(status_donut(counts, lang()), width="stretch", config={"displayModeBar": False})
    for code, n in counts.items():
        if n:
            st.markdown(f"- {t('status.' + code)}：**{n}**")
with right:
    st.subheader(t("overview.attention"))
    items = attention(report, lang())
    if len(items):
        table = attention_table(report, items, lang())
        text_column = table.columns[-1]
        st.dataframe(table, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(table)),
                     column_config={text_column: st.column_config.TextColumn(text_column, width="large")})
        st.download_button(t("overview.download_attention"), table.to_csv(index=False).encode("utf-8-sig"),
                           file_name=f"attention_{month}.csv", mime="text/csv")
    else:
        st.success(t("overview.attention_empty"), icon=":material/check_circle:")

# -- community comparison
if unit is None:
    st.subheader(t("overview.comparison"))
    chart_columns = st.columns(2)
    for column, metric_id in zip(chart_columns, ("retrofit_households", "fund_raised_yuan"), strict=True):
        rows = unit_comparison_rows(report, metric_id)
        if len(rows):
            metric = plan.metrics[metric_id]
            name = metric.name if lang() == "zh" else t(f"metric.{metric_id}")
            column.plotly_chart(unit_comparison_chart(rows, name=name, measure=metric.measure, lang=lang()),
                                width="stretch", key=f"compare_{metric_id}")

# -- reporting grid
st.subheader(t("overview.grid"))
st.caption(t("overview.grid_caption", day=plan.report_due_day))
grid = reporting_grid(report, lang())
if len(grid):
    st.dataframe(grid, width="stretch")
    st.download_button(t("overview.download_grid"), grid.to_csv().encode("utf-8-sig"),
                       file_name=f"reporting_{month}.csv", mime="text/csv")

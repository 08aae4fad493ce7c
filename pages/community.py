"""社区: one community's scorecard, quotas against actuals, history, channels, categories and rank."""

import streamlit as st

from app_support import (
    as_of,
    category_values,
    data_version,
    get_plan,
    get_store,
    lang,
    monthly_values,
    status,
    t,
    today,
    unit_filter,
    viewable_units,
)
from worktrack.charts import monthly_bars
from worktrack.meeting.pdf import ExportUnavailable
from worktrack.registers.notice import make_notice, notice_filename, notice_periods
from worktrack.tables import csv_bytes
from worktrack.views import (
    as_of_caption,
    category_label,
    community_history,
    community_ranks,
    metric_name,
    partial_banner,
    scorecard,
    task_table,
)

plan = get_plan()
month = as_of()
communities = viewable_units()
preselected = unit_filter()

st.title(t("community.title"))
if st.session_state.get("community_choice") not in communities:
    st.session_state["community_choice"] = preselected if preselected in communities else communities[0]
unit = st.selectbox(t("community.choose"), communities, key="community_choice")
language = lang()

with st.spinner():
    report = status(month, unit)
    street = status(month, None)
    monthly = monthly_values(month)
    by_category = category_values(month)
st.caption(as_of_caption(report, language))
banner = partial_banner(report, language)
if banner:
    st.warning(banner, icon=":material/hourglass_top:")

st.subheader(t("community.scorecard"))
card = scorecard(report, unit, language)
st.dataframe(card, hide_index=True, width="stretch")
st.download_button(t("community.download_scorecard"), csv_bytes(card),
                   file_name=f"scorecard_{plan.unit(unit).id}_{month}.csv", mime="text/csv")

# one chart per metric with categories (fund channels, aid categories), month by month
mine = by_category[by_category["reporting_unit"] == unit]
charted = [m for m in plan.metrics_for_unit(unit) if m.dimension and len(mine[mine["item"] == m.id])]
columns = st.columns(2) if charted else []
for i, metric in enumerate(charted):
    part = mine[mine["item"] == metric.id].assign(
        category=lambda f, m=metric.id: [category_label(plan, m, c, language) for c in f["category"]])
    name = t("community.by_category", name=metric_name(plan, metric.id, language))
    columns[i % 2].plotly_chart(monthly_bars(part, category="category", name=name, measure=metric.measure, lang=language),
                                width="stretch", key=f"categories_{metric.id}")

st.subheader(t("community.history"))
st.caption(t("community.history_caption"))
history = community_history(plan, monthly, unit, month, language)
st.dataframe(history, width="stretch")

st.subheader(t("community.tasks"))
st.dataframe(task_table(report, unit, language), hide_index=True, width="stretch")

if plan.unit(unit).is_community:
    st.subheader(t("community.rank"))
    ranks = community_ranks(street, language)
    st.dataframe(ranks, hide_index=True, width="stretch")

# -- public notice (公示) of the unit's fund, from its registers
st.subheader(t("registers2.notice_heading"))
period = st.selectbox(t("registers2.notice_period"), notice_periods(plan.months, month), key="notice_period")
NOTICE_FILES = "community_notice_files"
made = st.session_state.setdefault(NOTICE_FILES, {})
pdf_column, png_column = st.columns(2)
for fmt, column in (("pdf", pdf_column), ("png", png_column)):
    key = (unit, period, fmt, data_version())
    if column.button(t(f"registers2.notice_{fmt}"), key=f"notice_make_{fmt}", icon=":material/campaign:"):
        with st.spinner():
            try:
                made[key] = make_notice(get_store(), plan, unit, period, fmt, today())
            except ExportUnavailable as exc:
                st.error(t("registers2.notice_unavailable", reason=str(exc)), icon=":material/block:")
    if key in made:
        column.download_button(t(f"registers2.notice_download_{fmt}"), made[key],
                               file_name=notice_filename(unit, period, fmt),
                               mime="application/pdf" if fmt == "pdf" else "image/png", key=f"notice_download_{fmt}",
                               icon=":material/download:", on_click="ignore")

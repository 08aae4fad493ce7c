"""社区: one community's scorecard, quotas against actuals, history, channels, categories and rank."""

import streamlit as st

from app_support import (
    as_of,
    category_values,
    get_plan,
    lang,
    monthly_values,
    status,
    t,
    unit_filter,
    viewable_units,
)
from worktrack.charts import category_bars, month_label, monthly_bars
from worktrack.views import community_history, community_ranks, scorecard, task_table

plan = get_plan()
month = as_of()
communities = viewable_units()
preselected = unit_filter()

st.title(t("community.title"))
if st.session_state.get("community_choice") not in communities:
    st.session_state["community_choice"] = preselected if preselected in communities else communities[0]
unit = st.selectbox(t("community.choose"), communities, key="community_choice")
st.caption(t("overview.caption", month=month_label(month, lang()), unit=unit))

with st.spinner():
    report = status(month, unit)
    street = status(month, None)
    monthly = monthly_values(month)
    by_category = category_values(month)

st.subheader(t("community.scorecard"))
card = scorecard(report, unit, lang())
st.dataframe(card, hide_index=True, width="stretch")
st.download_button(t("community.download_scorecard"), card.to_csv(index=False).encode("utf-8-sig"),
                   file_name=f"scorecard_{plan.unit(unit).id}_{month}.csv", mime="text/csv")

left, right = st.columns(2)
mine = by_category[by_category["reporting_unit"] == unit]
fund = mine[mine["item"] == "fund_raised_yuan"]
if len(fund):
    left.plotly_chart(monthly_bars(fund, category="category", name=t("community.fund_by_channel"), measure="元",
                                   lang=lang()), width="stretch", key="fund_channels")
aid = mine[mine["item"] == "people_helped"]
if len(aid):
    right.plotly_chart(category_bars(aid, category="category", name=t("community.aid_by_category"), measure="人",
                                     lang=lang()), width="stretch", key="aid_categories")

st.subheader(t("community.history"))
st.caption(t("community.history_caption"))
history = community_history(plan, monthly, unit, month, lang())
st.dataframe(history, width="stretch")

st.subheader(t("community.tasks"))
st.dataframe(task_table(report, unit, lang()), hide_index=True, width="stretch")

if plan.unit(unit).is_community:
    st.subheader(t("community.rank"))
    ranks = community_ranks(street, lang())
    st.dataframe(ranks, hide_index=True, width="stretch")

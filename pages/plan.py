"""目标: the plan tree with every item's units, deadline and source text, and the numeric targets."""

import pandas as pd
import streamlit as st

from app_support import get_plan, t
from worktrack.plan import plan_as_dict, reconcile

plan = get_plan()
st.title(t("plan_page.title"))
st.caption(t("plan_page.caption", title=plan.title, issuers="、".join(plan.issuers), date=plan.issue_date.isoformat()))
st.write(t("plan_page.sections_count", sections=len(plan.sections), items=len(plan.items), metrics=len(plan.metrics)))


def show_item(item_id: str) -> None:
    item = plan.items[item_id]
    with st.expander(f"{item.number}　{item.title}"):
        cols = st.columns(3)
        cols[0].markdown(f"**{t('plan_page.lead')}**")
        cols[0].text(item.lead)
        cols[1].markdown(f"**{t('plan_page.deadline')}**")
        cols[1].text(f"{item.deadline.isoformat()}（{item.deadline_text}）")
        cols[2].markdown(f"**{t('plan_page.column_period')}**")
        cols[2].text(t("plan_page.status_tracked") if item.status_tracked else t("plan_page.metric_tracked"))
        st.markdown(f"**{t('plan_page.responsible')}**")
        st.text("、".join(item.responsible))
        if item.communities:
            st.markdown(f"**{t('plan_page.named_units')}**")
            st.text("、".join(item.communities))
        st.markdown(f"**{t('plan_page.source_text')}**")
        st.text(item.text)


for section in plan.sections:
    st.header(f"{section.number}、{section.title}")
    for item_id in section.item_ids:
        show_item(item_id)
    for group in section.groups:
        st.subheader(f"{group.number}　{group.title}")
        if group.text:
            st.caption(t("plan_page.group_text"))
            st.text(group.text)
        for item_id in group.item_ids:
            show_item(item_id)

st.header(t("plan_page.targets"))
targets = pd.DataFrame(plan_as_dict(plan)["targets"])
every_month = t("plan_page.every_month")
table = pd.DataFrame({
    t("plan_page.column_metric"): targets["name"],
    t("plan_page.column_unit"): targets["reporting_unit"].fillna(t("plan_page.target_street")),
    t("plan_page.column_target"): targets["value"],
    t("plan_page.column_measure"): targets["measure"],
    t("plan_page.column_period"): [every_month if p == "month" else t("plan_page.by_deadline", date=d)
                                   for p, d in zip(targets["period"], targets["deadline"], strict=True)],
    t("plan_page.source_quote"): targets["source_quote"],
})
st.dataframe(table, hide_index=True, width="stretch")
st.download_button(t("plan_page.download_targets"), table.to_csv(index=False).encode("utf-8-sig"),
                   file_name="targets.csv", mime="text/csv")

st.header(t("plan_page.reconciliation"))
for rec in reconcile(plan):
    (st.warning if rec.difference > 0 else st.info)(rec.message, icon=":material/warning:" if rec.difference > 0 else ":material/info:")

st.header(t("plan_page.notes"))
for note in plan.notes:
    st.markdown(f"- **{plan.item_or_group_title(note.about) if note.about in plan.items else note.about}**：")
    st.text(note.text)

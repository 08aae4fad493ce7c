"""目标: the plan tree with every item's status, units, deadline and source text; per-target trajectories."""

import pandas as pd
import streamlit as st

from app_support import (
    as_of,
    get_plan,
    lang,
    monthly_values,
    signed_in_user,
    status,
    t,
    unit_filter,
    viewable_units,
)
from worktrack.auth import with_visible_notes
from worktrack.charts import month_label, status_label, trajectory_chart
from worktrack.plan import plan_as_dict, reconcile
from worktrack.progress import trajectory
from worktrack.views import (
    STATUS_SEVERITY,
    deadline_window,
    group_targets_by_node,
    item_statuses,
    item_unit_statuses,
)

plan = get_plan()
month = as_of()
st.title(t("plan_page.title"))
st.caption(t("plan_page.caption", title=plan.title, issuers="、".join(plan.issuers), date=plan.issue_date.isoformat()))
st.write(t("plan_page.sections_count", sections=len(plan.sections), items=len(plan.items), metrics=len(plan.metrics)))

# -- filters
units = [None, *viewable_units()]
f1, f2, f3 = st.columns(3)
current_lang = lang()
all_units = t("sidebar.all_units")
if st.session_state.get("plan_unit") not in units:
    st.session_state["plan_unit"] = unit_filter()
unit = f1.selectbox(t("plan_page.filter_unit"), units, key="plan_unit",
                    format_func=lambda u: all_units if u is None else u)
statuses = f2.multiselect(t("plan_page.filter_status"), list(STATUS_SEVERITY), key="plan_status",
                          format_func=lambda s: status_label(s, current_lang), placeholder=t("plan_page.all_statuses"))
windows = ["all", "past", "next3"]
window_labels = {w: t(f"plan_page.window_{w}") for w in windows}
window = f3.selectbox(t("plan_page.filter_deadline"), windows, key="plan_window", format_func=window_labels.get)

with st.spinner():
    report = status(month, unit)
    monthly = monthly_values(month)
item_status = item_statuses(report).set_index("item_id")
metrics_by_node = group_targets_by_node(plan)


def show_targets(node_id: str) -> None:
    for metric_id in metrics_by_node.get(node_id, []):
        metric = plan.metrics[metric_id]
        for target in plan.targets_for(metric_id):
            if target.scope == "unit" and target.reporting_unit != unit:
                continue
            if target.scope == "street" and unit is not None and unit not in metric.reported_by:
                continue
            row = report.targets[report.targets["target_id"] == target.id]
            label = status_label(row["status"].iloc[0], current_lang) if len(row) else ""
            who = target.reporting_unit or t("plan_page.target_street")
            st.markdown(f"**{metric.name} · {who}** — {label}")
            traj = trajectory(plan, monthly, target.id, month)
            st.plotly_chart(trajectory_chart(traj, name="", measure=metric.measure, lang=current_lang, height=260),
                            width="stretch", key=f"traj_{target.id}")
            st.caption(f"{t('plan_page.source_quote')}：“{target.source_quote}”")


def show_item(item_id: str) -> bool:
    item = plan.items[item_id]
    info = item_status.loc[item_id]
    code = info["status"]
    if unit is not None and unit not in item.reporting_units and not metrics_by_node.get(item_id):
        return False
    if statuses and code not in statuses:
        return False
    if not deadline_window(item.deadline, month, window):
        return False
    label = status_label(code, current_lang) if isinstance(code, str) else t("plan_page.metric_tracked")
    tally = (t("plan_page.tally", done=int(info["done_units"]), total=int(info["total_units"]))
             if info["total_units"] else "")
    with st.expander(f"{item.number}　{item.title}　｜ {label} {tally}"):
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
        if item.status_tracked:
            st.markdown(f"**{t('plan_page.unit_statuses')}**")
            st.dataframe(item_unit_statuses(with_visible_notes(signed_in_user(), report), item_id, current_lang),
                         hide_index=True, width="stretch")
        show_targets(item_id)
    return True


shown = 0
for section in plan.sections:
    st.header(f"{section.number}、{section.title}")
    for item_id in section.item_ids:
        shown += show_item(item_id)
    for group in section.groups:
        st.subheader(f"{group.number}　{group.title}")
        if group.text:
            st.caption(t("plan_page.group_text"))
            st.text(group.text)
            if metrics_by_node.get(group.id):
                with st.expander(t("plan_page.group_targets")):
                    show_targets(group.id)
        for item_id in group.item_ids:
            shown += show_item(item_id)
if not shown:
    st.info(t("plan_page.no_match"), icon=":material/filter_alt_off:")

st.header(t("plan_page.targets"))
targets = pd.DataFrame(plan_as_dict(plan)["targets"])
every_month = t("plan_page.every_month")
state = report.targets.set_index("target_id")["status"]
table = pd.DataFrame({
    t("plan_page.column_metric"): targets["name"],
    t("plan_page.column_unit"): targets["reporting_unit"].fillna(t("plan_page.target_street")),
    t("plan_page.column_target"): targets["value"],
    t("plan_page.column_measure"): targets["measure"],
    t("plan_page.column_period"): [every_month if p == "month" else t("plan_page.by_deadline", date=d)
                                   for p, d in zip(targets["period"], targets["deadline"], strict=True)],
    t("plan_page.column_status"): [status_label(state[i], current_lang) if i in state.index else "" for i in targets["id"]],
    t("plan_page.source_quote"): targets["source_quote"],
})
st.dataframe(table, hide_index=True, width="stretch")
st.download_button(t("plan_page.download_targets"), table.to_csv(index=False).encode("utf-8-sig"),
                   file_name=f"targets_{month}.csv", mime="text/csv")
st.caption(t("plan_page.as_of_note", month=month_label(month, current_lang)))

st.header(t("plan_page.reconciliation"))
for rec in reconcile(plan):
    (st.warning if rec.difference > 0 else st.info)(
        rec.message, icon=":material/warning:" if rec.difference > 0 else ":material/info:")

st.header(t("plan_page.notes"))
for note in plan.notes:
    st.markdown(f"- **{plan.item_or_group_title(note.about) if note.about in plan.items else note.about}**：")
    st.text(note.text)


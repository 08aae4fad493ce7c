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
from worktrack.charts import trajectory_chart
from worktrack.progress import trajectory
from worktrack.tables import csv_bytes
from worktrack.views import (
    STATUS_SEVERITY,
    bracket,
    date_label,
    deadline_window,
    format_amount,
    group_targets_by_node,
    item_statuses,
    item_unit_statuses,
    join_list,
    metric_name,
    month_label,
    month_state_label,
    month_state_text,
    note_lines,
    partial_banner,
    reconciliation_lines,
    section_heading,
    source_lines,
    status_label,
    target_history,
    unit_label,
)
from worktrack.views.cycle import pending_marker

plan = get_plan()
month = as_of()
st.title(t("plan_page.title"))
st.caption(t("plan_page.caption", title=plan.title, issuers=join_list(plan.issuers, lang()),
             date=date_label(plan.issue_date, lang())))
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
banner = partial_banner(report, current_lang)
if banner:
    st.warning(banner, icon=":material/hourglass_top:")


def show_targets(node_id: str) -> None:
    for metric_id in metrics_by_node.get(node_id, []):
        metric = plan.metrics[metric_id]
        for target in plan.targets_for(metric_id):
            if target.scope == "unit" and target.reporting_unit != unit:
                continue
            if target.scope == "street" and unit is not None and unit not in metric.reported_by:
                continue
            row = report.targets[report.targets["target_id"] == target.id]
            label = ""
            if len(row) and target.period == "month":
                r = row.iloc[0]
                label = (f"{month_state_text(report, r['month_state'], current_lang)} · "
                         + t("card.months_met", met=int(r["months_met"]), due=int(r["months_due"])))
            elif len(row):
                label = status_label(row["status"].iloc[0], current_lang)
            if len(row) and bool(row.get("includes_pending", pd.Series([False])).iloc[0]):
                label += bracket(pending_marker(current_lang), current_lang)  # 含待审核
            who = unit_label(target.reporting_unit, current_lang)
            st.markdown(f"**{metric_name(plan, metric.id, current_lang, short=False)} · {who}** — {label}")
            traj = trajectory(plan, monthly, target.id, month)
            st.plotly_chart(trajectory_chart(traj, name="", measure=metric.measure, lang=current_lang, height=260),
                            width="stretch", key=f"traj_{target.id}")
            st.caption(t("plan_page.quoted", quote=target.source_quote))


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
    if info["has_monthly"]:
        # an every-month obligation is never done: this month's tally and the months missed so far
        tally = t("plan_page.tally_monthly", met=int(info["monthly_met"]), due=int(info["monthly_due"]),
                  missed=int(info["months_missed"]))
    elif info["total_units"]:
        tally = t("plan_page.tally", done=int(info["done_units"]), total=int(info["total_units"]))
    else:
        tally = ""
    gap = "　" if current_lang == "zh" else "  "
    with st.expander(f"{item.number}{gap}{item.title}{gap}| {label} {tally}"):
        cols = st.columns(3)
        cols[0].markdown(f"**{t('plan_page.lead')}**")
        cols[0].text(item.lead)
        cols[1].markdown(f"**{t('plan_page.deadline')}**")
        cols[1].text(date_label(item.deadline, current_lang) + bracket(item.deadline_text, current_lang))
        cols[2].markdown(f"**{t('plan_page.column_period')}**")
        cols[2].text(t("plan_page.status_tracked") if item.status_tracked else t("plan_page.metric_tracked"))
        st.markdown(f"**{t('plan_page.responsible')}**")
        st.text(join_list(item.responsible, current_lang))
        if item.communities:
            st.markdown(f"**{t('plan_page.named_units')}**")
            st.text(join_list(item.communities, current_lang))
        if item.assignments:
            st.markdown(f"**{t('plan_page.assignments')}**")
            st.text(join_list((f"{u}: {task}" for u, task in item.assignments), current_lang))
        if item.carry_over:
            st.info(t("plan_page.carried_over", title=item.carry_over[2], note=item.carry_over[3] or "-"),
                    icon=":material/redo:")
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
    st.header(section_heading(section, current_lang))
    for item_id in section.item_ids:
        shown += show_item(item_id)
    for group in section.groups:
        st.subheader(f"{group.number} {group.title}")
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
every_month = t("plan_page.every_month")
state = report.targets.set_index("target_id")
rows = []
for target in plan.targets:
    metric = plan.metrics[target.metric]
    if target.id not in state.index:
        status_text = ""
    elif target.period == "month":
        status_text = month_state_label(state.loc[target.id, "month_state"], current_lang)
    else:
        status_text = status_label(state.loc[target.id, "status"], current_lang)
    rows.append({
        t("plan_page.column_metric"): metric_name(plan, metric.id, current_lang, short=False),
        t("plan_page.column_unit"): unit_label(target.reporting_unit, current_lang),
        t("plan_page.column_target"): format_amount(target.value, metric.measure, current_lang, metric=metric),
        t("plan_page.column_period"): every_month if target.period == "month" else t(
            "plan_page.by_deadline", date=date_label(target.deadline, current_lang)),
        t("plan_page.column_status"): status_text,
        t("plan_page.column_history"): target_history(target, metric, current_lang),
        t("plan_page.source_quote"): target.source_quote,
    })
table = pd.DataFrame(rows)
st.dataframe(table, hide_index=True, width="stretch",
             column_config={t("plan_page.column_target"): st.column_config.TextColumn(width="small")})
st.download_button(t("plan_page.download_targets"), csv_bytes(table),
                   file_name=f"targets_{month}.csv", mime="text/csv")
st.caption(t("plan_page.as_of_note", month=month_label(month, current_lang)))

st.header(t("reconcile.title"))
for sentence, mismatch in reconciliation_lines(plan, current_lang, balanced=True):
    (st.warning if mismatch else st.info)(sentence, icon=":material/warning:" if mismatch else ":material/info:")
for sentence in source_lines(report, current_lang):
    st.markdown(f"- {sentence}")

st.header(t("plan_page.notes"))
for about, text in note_lines(plan, current_lang):
    st.markdown(f"**{about}**")
    st.text(text)

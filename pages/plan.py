"""目标: the plan tree with every item's status, units, deadline and source text; per-target trajectories."""

from functools import cache

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

# Past this many reporting units, each item's per-unit status table and trend charts are drawn only
# when asked for (a switch in the item): at city scale they were most of every rerun, and nobody
# reads a thousand rows in each of thirty items at once.
DETAIL_UNITS = 50
many_units = len(plan.units) > DETAIL_UNITS


def details_wanted(node_id: str) -> bool:
    """True when an item's per-unit details are drawn: always for a small plan, else on request."""
    if not many_units:
        return True
    wanted = st.toggle(t("perf.show_details", units=len(plan.units)), key=f"plan_details_{node_id}")
    if not wanted:
        st.caption(t("perf.details_hidden"))
    return wanted


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
        has_details = item.status_tracked or bool(metrics_by_node.get(item_id))
        wanted = not has_details or details_wanted(item_id)
        if item.status_tracked and wanted:
            st.markdown(f"**{t('plan_page.unit_statuses')}**")
            st.dataframe(item_unit_statuses(with_visible_notes(signed_in_user(), report), item_id, current_lang),
                         hide_index=True, width="stretch")
        if wanted or unit is not None:  # one unit's targets are a few charts
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
                    if unit is not None or details_wanted(group.id):
                        show_targets(group.id)
        for item_id in group.item_ids:
            shown += show_item(item_id)
if not shown:
    st.info(t("plan_page.no_match"), icon=":material/filter_alt_off:")

st.header(t("plan_page.targets"))
every_month = t("plan_page.every_month")
state = report.targets.set_index("target_id")
status_of = dict(zip(state.index, state["status"], strict=True))
month_state_of = dict(zip(state.index, state["month_state"], strict=True))
# a city plan has thousands of targets over a few metrics, units, values and deadlines: each
# label is worked out once per distinct value
metric_label = cache(lambda metric_id: metric_name(plan, metric_id, current_lang, short=False))
who_label = cache(lambda name: unit_label(name, current_lang))
amount_label = cache(lambda value, metric_id: format_amount(value, plan.metrics[metric_id].measure, current_lang,
                                                            metric=plan.metrics[metric_id]))
period_label = cache(lambda period, deadline: every_month if period == "month" else t(
    "plan_page.by_deadline", date=date_label(deadline, current_lang)))
state_label = cache(lambda period, code: "" if code is None else (
    month_state_label(code, current_lang) if period == "month" else status_label(code, current_lang)))
targets = plan.targets
table = pd.DataFrame({
    t("plan_page.column_metric"): [metric_label(x.metric) for x in targets],
    t("plan_page.column_unit"): [who_label(x.reporting_unit) for x in targets],
    t("plan_page.column_target"): [amount_label(x.value, x.metric) for x in targets],
    t("plan_page.column_period"): [period_label(x.period, x.deadline) for x in targets],
    t("plan_page.column_status"): [state_label(x.period, (month_state_of if x.period == "month" else status_of)
                                               .get(x.id)) for x in targets],
    t("plan_page.column_history"): [target_history(x, plan.metrics[x.metric], current_lang) for x in targets],
    t("plan_page.source_quote"): [x.source_quote for x in targets],
})
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

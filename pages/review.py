"""审核: each unit's report of a month beside the month before, its flagged figures; approve or return."""

import streamlit as st

from app_support import (
    clear_data_caches,
    current_user,
    filed_values,
    get_plan,
    get_store,
    lang,
    review_queue,
    t,
)
from worktrack.auth import can_review, reviewer_unit
from worktrack.cycle import approvable, awaiting_review, side_by_side
from worktrack.store import StoreRefused
from worktrack.views import format_amount, metric_name, month_label
from worktrack.views.cycle import finding_text, review_state_label

NOTICE = "review_notice"

user = current_user()
st.title(t("cycle.review.title"))
if not can_review(user):
    st.error(t("cycle.review.refused"), icon=":material/block:")
    st.stop()

plan = get_plan()
store = get_store()
language = lang()
own_unit = reviewer_unit(user, plan)
st.caption(t("cycle.review.intro"))
if notice := st.session_state.pop(NOTICE, None):
    kind, text = notice
    (st.success if kind == "ok" else st.error)(text, icon=":material/task_alt:" if kind == "ok" else ":material/block:")

months = plan.months
# the latest month with a report waiting for review; else the month the sidebar shows
default = awaiting_review(store.reviewed_uploads(active_only=True)) or st.session_state.get("as_of")
default = default if default in months else months[0]
month = st.selectbox(t("cycle.review.month"), months, index=months.index(default), key="review_month",
                     format_func=lambda m: month_label(m, language))
queue = review_queue(month)
if not queue:
    st.info(t("cycle.review.nothing"), icon=":material/inbox:")
    st.stop()


def findings_of(entry) -> str:
    return " ".join(finding_text(plan, f, language) for f in entry.findings) or t("cycle.review.normal")


st.subheader(t("cycle.review.queue"))
st.dataframe({
    t("cycle.review.col_unit"): [e.reporting_unit for e in queue],
    t("cycle.review.col_version"): [e.version for e in queue],
    t("cycle.review.col_state"): [review_state_label(e.review_state, language) for e in queue],
    t("cycle.review.col_findings"): [findings_of(e) for e in queue],
    t("cycle.review.col_reason"): [e.review_reason for e in queue],
}, hide_index=True, width="stretch")


def done(kind: str, text: str) -> None:
    clear_data_caches()
    st.session_state[NOTICE] = (kind, text)
    st.rerun()


normal = approvable(queue, own_unit)
if normal and st.button(t("cycle.review.approve_normal", n=len(normal)), key="review_approve_normal",
                        type="primary", icon=":material/done_all:"):
    try:
        store.review_many(normal, "approved", actor=user.username, reviewer_unit=own_unit)
    except StoreRefused as exc:
        done("error", str(exc))
    done("ok", t("cycle.review.approved_many", n=len(normal)))

labels = {e.upload_id: f"{e.reporting_unit} · {review_state_label(e.review_state, language)}" for e in queue}
picked = st.selectbox(t("cycle.review.pick"), list(labels), format_func=labels.get, key="review_pick")
entry = next(e for e in queue if e.upload_id == picked)

st.subheader(t("cycle.review.compare"))
values = filed_values(month)
compare = side_by_side(plan, values, entry.reporting_unit, month)


def amount(value, item: str) -> str:
    metric = plan.metrics[item]
    return format_amount(value, metric.measure, language, metric=metric) if value is not None else "-"


st.dataframe({
    t("cycle.review.col_item"): [metric_name(plan, i, language) for i in compare["item"]],
    t("cycle.review.col_previous"): [amount(v, i) for v, i in zip(compare["previous"], compare["item"], strict=True)],
    t("cycle.review.col_current"): [amount(v, i) for v, i in zip(compare["current"], compare["item"], strict=True)],
}, hide_index=True, width="stretch")
for finding in entry.findings:
    st.warning(finding_text(plan, finding, language), icon=":material/priority_high:")

if not can_review(user, entry.reporting_unit, plan):
    st.info(t("cycle.review.own_unit"), icon=":material/block:")
    st.stop()
what = {"unit": entry.reporting_unit, "month": month_label(month, language), "version": entry.version}
approve_column, return_column = st.columns(2)
if approve_column.button(t("cycle.review.approve"), key="review_approve", icon=":material/check:",
                         disabled=entry.review_state == "approved"):
    try:
        store.review(entry.upload_id, "approved", actor=user.username, reviewer_unit=own_unit)
    except StoreRefused as exc:
        done("error", str(exc))
    done("ok", t("cycle.review.approved_done", **what))
with return_column:
    reason = st.text_area(t("cycle.review.reason"), key=f"review_reason_{entry.upload_id}")
    if st.button(t("cycle.review.return"), key="review_return", icon=":material/undo:",
                 disabled=entry.review_state == "returned"):
        if not reason.strip():
            st.error(t("cycle.review.reason_needed"), icon=":material/edit_note:")
        else:
            try:
                store.review(entry.upload_id, "returned", actor=user.username, reason=reason,
                             reviewer_unit=own_unit)
            except StoreRefused as exc:
                done("error", str(exc))
            done("ok", t("cycle.review.returned_done", **what))

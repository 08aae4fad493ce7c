"""报送: who has filed the month as of today, who is late or returned; 催报 messages ready to copy."""

import json

import streamlit as st
import streamlit.components.v1 as components

from app_support import clear_data_caches, current_user, get_plan, get_store, lang, reminders, t, today
from worktrack.auth import can_review
from worktrack.cycle import default_contact
from worktrack.views import date_label, month_label
from worktrack.views.cycle import group_message, remind_message, remind_state_label

NOTICE = "remind_notice"

user = current_user()
st.title(t("cycle.remind.title"))
if not can_review(user):
    st.error(t("cycle.remind.refused"), icon=":material/block:")
    st.stop()

plan = get_plan()
store = get_store()
language = lang()
st.caption(t("cycle.remind.intro"))
if notice := st.session_state.pop(NOTICE, None):
    st.success(notice, icon=":material/content_copy:")
    if copied := st.session_state.pop("remind_clipboard", None):
        # Best effort: the browser may refuse the clipboard outside a click; the text is shown above anyway.
        components.html(f"<script>navigator.clipboard && navigator.clipboard.writeText({json.dumps(copied)})"
                        ".catch(() => {});</script>", height=0)

# months whose reports are due by now or soon (a month is filed in the month after it); the latest first
months = [m for m in plan.months if m < today().strftime("%Y-%m")] or plan.months[:1]
month_column, contact_column = st.columns(2)
month = month_column.selectbox(t("cycle.remind.month"), months, index=len(months) - 1, key="remind_month",
                               format_func=lambda m: month_label(m, language))
contact = contact_column.text_input(t("cycle.remind.contact"), value=default_contact(plan), key="remind_contact")
report = reminders(month, contact.strip() or None)
st.caption(t("cycle.remind.due", due=date_label(report.due_date, language)))

st.dataframe({
    t("cycle.remind.col_unit"): [u.reporting_unit for u in report.units],
    t("cycle.remind.col_state"): [remind_state_label(u.state, language) for u in report.units],
    t("cycle.remind.col_message"): [remind_message(report, u, language) for u in report.units],
}, hide_index=True, width="stretch")


def copied(target: str | None, text: str) -> None:
    store.record_reminder_copy(month, target, actor=user.username)
    clear_data_caches()
    st.session_state[NOTICE] = t("cycle.remind.copied")
    st.session_state["remind_clipboard"] = text
    st.rerun()


st.subheader(t("cycle.remind.group"))
group = group_message(report, language)
st.code(group, language=None, wrap_lines=True)
if st.button(t("cycle.remind.copy"), key="remind_copy_group", icon=":material/content_copy:"):
    copied(None, group)

for unit in report.units:
    message = remind_message(report, unit, language)
    if not message:
        continue
    st.markdown(f"**{unit.reporting_unit}** · {remind_state_label(unit.state, language)}")
    st.code(message, language=None, wrap_lines=True)
    if st.button(t("cycle.remind.copy"), key=f"remind_copy_{unit.reporting_unit}", icon=":material/content_copy:"):
        copied(unit.reporting_unit, message)

log = store.reminder_copies(month)
if len(log):
    st.subheader(t("cycle.remind.log"))
    st.dataframe({
        t("cycle.remind.col_at"): [str(a)[:19] for a in log["at"]],
        t("cycle.remind.col_actor"): list(log["actor"]),
        t("cycle.remind.col_target"): [t("cycle.remind.group_target") if r == "group" else r
                                       for r in log["reporting_unit"]],
    }, hide_index=True, width="stretch")

"""上报: choose the month, download the template, upload, read the check, confirm, keep the receipt, see history."""

import streamlit as st

from app_support import (
    clear_data_caches,
    confirm_buttons,
    current_user,
    first_column_pinned,
    get_plan,
    get_store,
    lang,
    other_plans,
    register_template_bytes,
    t,
    template_bytes,
    today,
)
from worktrack import submission
from worktrack.auth import uploadable_units
from worktrack.charts import month_label
from worktrack.cycle import returned_reports
from worktrack.intake import MAX_UPLOAD_BYTES
from worktrack.registers import REGISTER_KINDS
from worktrack.registers.monthly import note_register_figures
from worktrack.registers.upload import (
    RegisterReceipt,
    register_template_filename,
    submit_register_upload,
    validate_register_upload,
)
from worktrack.template import template_filename
from worktrack.views.cycle import returned_notice, review_notice
from worktrack.views.registers import kind_title, register_history_table, register_receipt_sentence

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECEIPT = "upload_receipt"
NOTICE = "upload_notice"
UPLOADER = "upload_file_round"  # bumping it gives a fresh, empty file picker after a verdict
MONTH = "upload_month"
ERROR_CARDS_SHOWN = 30  # on a phone the problems are cards; the download has all of them
CONFIRM_OPEN = "upload_confirm_open"
CONFIRMED = "upload_confirmed"

plan = get_plan()
store = get_store()
user = current_user()
language = lang()

st.title(t("upload.title"))
units = uploadable_units(user, plan)
if not units:
    st.error(t("upload.refused_role"), icon=":material/block:")
    st.stop()

# -- the receipt of the last accepted upload stays on top until the next one
if receipt := st.session_state.get(RECEIPT):
    with st.container(border=True):
        st.success(t("upload.accepted", unit=receipt.reporting_unit, month=month_label(receipt.month, language),
                     version=receipt.version), icon=":material/task_alt:")
        st.subheader(t("upload.receipt_title"))
        lines = submission.receipt_lines(receipt, plan, language)
        st.dataframe({t("upload.col_field"): [k for k, _ in lines], t("upload.col_field_value"): [v for _, v in lines]},
                     hide_index=True, width="stretch", height=38 + 35 * len(lines))
        if receipt.figures:
            st.markdown(f"**{t('upload_screen.figures_heading')}**")
            figures = submission.figures_table(receipt.figures, language)
            st.dataframe(figures, hide_index=True, width="stretch", column_config=first_column_pinned(figures))
        if receipt.changes and receipt.replaced_version:
            st.markdown(f"**{t('upload.changes_heading')}**")
            changes = submission.changes_table(plan, receipt.changes, language)
            st.dataframe(changes, hide_index=True, width="stretch", column_config=first_column_pinned(changes))
        elif receipt.replaced_version:
            st.caption(t("upload.no_changes"))
        left, right = st.columns(2)
        left.download_button(t("upload.receipt_download_txt"),
                             submission.receipt_text(receipt, plan, language).encode("utf-8-sig"),
                             file_name=submission.receipt_filename(receipt, "txt"), mime="text/plain",
                             key="receipt_txt", icon=":material/receipt_long:")
        right.download_button(t("upload.receipt_download_csv"), submission.receipt_csv(receipt, plan, language),
                              file_name=submission.receipt_filename(receipt, "csv"), mime="text/csv",
                              key="receipt_csv", icon=":material/table:")
if notice := st.session_state.pop(NOTICE, None):
    kind, text = notice
    (st.info if kind == "info" else st.error)(text, icon=":material/info:" if kind == "info" else ":material/block:")

# -- 1. unit and month
st.subheader(t("upload.step_choose"))
pick_unit, pick_month = st.columns(2)
if user.role == "community":
    unit = user.unit
    pick_unit.text_input(t("upload.unit"), unit, disabled=True, key="upload_own_unit")
else:
    unit = pick_unit.selectbox(t("upload.unit"), units, key="upload_unit")
unit_uploads = store.uploads(unit=unit)
# A returned report stays on top with its reason until a new version is filed.
for returned in returned_reports(store.reviewed_uploads(unit=unit, active_only=True)):
    st.error(returned_notice(returned.month, int(returned.version), returned.review_reason, returned.reviewed_by,
                             language), icon=":material/assignment_return:")
    st.button(t("upload_screen.reupload"), key=f"refile_{returned.month}", icon=":material/restart_alt:",
              on_click=lambda chosen=returned.month: st.session_state.__setitem__(MONTH, chosen))
months = submission.upload_months(plan, today())
month_states = submission.month_states(months, unit_uploads, store.locked_months())
if st.session_state.get(MONTH) not in months:
    st.session_state[MONTH] = submission.default_upload_month(plan, unit_uploads, today())
month = pick_month.selectbox(t("upload.month"), months, key=MONTH,
                             format_func=lambda m: submission.month_choice_label(month_states[m], language))


def choose_month(chosen: str, announce: bool = False) -> None:
    """Set the month picker (a callback: it runs before the picker is drawn again)."""
    st.session_state[MONTH] = chosen
    if announce:
        st.session_state[NOTICE] = ("info", t("upload_screen.reupload_chosen", month=month_label(chosen, language),
                                              state=submission.month_state_text(month_states[chosen], language),
                                              step=t("upload.step_upload")))

if (review := review_notice(store.reviewed_uploads(unit=unit, month=month, active_only=True), language)):
    st.caption(review)

# -- 2. the template
st.subheader(t("upload.step_template"))
st.caption(t("upload.template_caption", unit=unit, month=month_label(month, language)))
xlsx_column, csv_column = st.columns(2)
xlsx_column.download_button(t("upload.template_xlsx"), template_bytes(unit, month, "xlsx"),
                            file_name=template_filename(unit, month, "xlsx"), mime=XLSX_MIME, key="template_xlsx",
                            icon=":material/download:", on_click="ignore")
csv_column.download_button(t("upload.template_csv"), template_bytes(unit, month, "csv"),
                           file_name=template_filename(unit, month, "csv"), mime="text/csv", key="template_csv",
                           icon=":material/download:", on_click="ignore")

# -- 3. upload and check
st.subheader(t("upload.step_upload"))
if store.is_locked(month):
    st.error(t("upload.month_locked", month=month_label(month, language)), icon=":material/lock:")
    uploaded = None
else:
    st.caption(t("upload.file_caption", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    round_ = st.session_state.setdefault(UPLOADER, 0)
    uploaded = st.file_uploader(t("upload.file_label"), type=["csv", "xlsx"], key=f"upload_file_{round_}",
                                help=t("upload.file_help"), max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024))


def finish(result, report, confirmed: bool) -> None:
    """Show the verdict; keep the receipt of an accepted upload; start afresh."""
    if result.status == "accepted":
        clear_data_caches()
        st.session_state[RECEIPT] = submission.make_receipt(
            result, report, user, store.uploads(unit=result.reporting_unit, month=result.month), confirmed,
            plan=plan, lang=language)
    elif result.status == "unchanged":
        st.session_state[NOTICE] = ("info", result.message)
    else:
        st.session_state[NOTICE] = ("error", result.message)
    if result.accepted:
        st.session_state[UPLOADER] = st.session_state.get(UPLOADER, 0) + 1
    st.rerun()


@st.dialog(t("upload.confirm_title"), width="large", on_dismiss=lambda: st.session_state.pop(CONFIRM_OPEN, None))
def confirm_warnings(report, token) -> None:
    st.write(t("upload.confirm_text", n=len(report.warnings)))
    st.dataframe(submission.findings_table(report.warnings, language), hide_index=True, width="stretch")
    confirm_buttons(t("upload.confirm_yes"), t("upload.confirm_no"), "upload_confirm", open_flag=CONFIRM_OPEN,
                    confirmed_flag=CONFIRMED, value=token)


if uploaded is not None:
    data = uploaded.getvalue()
    with st.spinner(t("upload.checking")):
        report = submission.validate_upload(plan, user, data, uploaded.name, unit, month, language,
                                            other_plans=other_plans())
        with store.snapshot() as reader:  # rows counted from the unit's registers: the typed value is not used
            note_register_figures(plan, reader, report)
    token = (report.sha256, unit, month)
    if report.errors:
        st.error(t("upload.errors_found", n=len(report.errors)), icon=":material/error:")
        if (found := submission.file_month_differs(report, month)) in months:
            st.button(t("upload_screen.switch_month", picker=t("upload.month"), month=month_label(found, language)),
                      key="switch_month", on_click=choose_month, args=(found,), icon=":material/event:")
        # A wide screen gets the table; a phone (CSS in app_support.mobile_css) gets one card per problem,
        # so that 说明与修改方法 is read, not scrolled off to the right.
        errors = submission.findings_table(report.errors, language)
        with st.container(key="upload_error_table"):
            st.dataframe(errors, hide_index=True, width="stretch", column_config=first_column_pinned(errors))
        with st.container(key="upload_error_cards"):
            for finding in report.errors[:ERROR_CARDS_SHOWN]:
                with st.container(border=True):
                    st.caption(t("upload_screen.error_where", row=finding.row, column=finding.column or "-")
                               if finding.row is not None else t("upload_screen.error_where_file"))
                    st.text(finding.message)  # from the user's file: plain text, never markdown
                    if finding.value:
                        st.text(t("upload_screen.error_value", value=finding.value))
            if len(report.errors) > ERROR_CARDS_SHOWN:
                st.caption(t("upload_screen.errors_more", n=len(report.errors) - ERROR_CARDS_SHOWN))
        st.download_button(t("upload.download_errors"), submission.findings_csv(report.errors, language),
                           file_name=f"问题清单-{unit}-{month}.csv", mime="text/csv", key="errors_csv",
                           on_click="ignore")
    else:
        st.success(t("upload.valid", rows=len(report.rows), unit=report.reporting_unit,
                     month=month_label(report.month or month, language)), icon=":material/check_circle:")
        if report.warnings:
            st.warning(t("upload.warnings_found", n=len(report.warnings)), icon=":material/warning:")
            st.dataframe(submission.findings_table(report.warnings, language), hide_index=True, width="stretch")
    if report.normalised:
        with st.expander(t("upload.normalised", n=len(report.normalised))):
            st.dataframe(submission.findings_table(report.normalised, language), hide_index=True, width="stretch")

    if report.ok:
        if st.session_state.get(CONFIRMED) == token:
            del st.session_state[CONFIRMED]
            finish(submission.submit_upload(store, user, report, data, confirm=True, lang=language), report, True)
        if st.session_state.get(CONFIRM_OPEN) == token:
            confirm_warnings(report, token)
        if st.button(t("upload.submit"), type="primary", key="upload_submit", icon=":material/send:"):
            if report.warnings:
                st.session_state[CONFIRM_OPEN] = token
                st.rerun()
            finish(submission.submit_upload(store, user, report, data, confirm=False, lang=language), report, False)

# -- 4. history
st.subheader(t("upload.history", unit=unit))
history = submission.history_table(unit_uploads, language)
if len(history):
    st.dataframe(history, hide_index=True, width="stretch", column_config=first_column_pinned(history))
    ordered = unit_uploads.sort_values("upload_id", ascending=False)
    choices = {int(row["upload_id"]): submission.upload_choice_label(row, language) for _, row in ordered.iterrows()}
    picked = st.selectbox(t("upload_screen.history_pick"), list(choices), format_func=choices.get, key="original_pick")
    picked_month = submission.history_months(unit_uploads)[picked]
    name, raw = store.raw_file(picked)
    original, again = st.columns(2)
    original.download_button(t("upload.original_download"), raw, file_name=name, key="original_download",
                             icon=":material/download:", on_click="ignore")
    again.button(t("upload_screen.reupload"), key="reupload_month", on_click=choose_month, args=(picked_month, True),
                 icon=":material/restart_alt:", disabled=picked_month not in months or month_states[picked_month].locked,
                 help=t("upload_screen.reupload_help", picker=t("upload.month")))
else:
    st.info(t("upload.history_empty"), icon=":material/history:")

# -- 5. registers (台账): one row per household, donation, person
st.subheader(t("registers2.upload_heading"))
st.caption(t("registers2.upload_caption"))
REGISTER_RECEIPT = "register_receipt"
REGISTER_UPLOADER = "register_file_round"
# Opened on demand: most months a clerk files only the monthly report, and one file picker is clearer.
if st.toggle(t("registers2.open"), key="register_open"):
    if register_receipt := st.session_state.get(REGISTER_RECEIPT):
        with st.container(border=True, key="register_receipt"):
            st.success(t("registers2.accepted", unit=register_receipt.reporting_unit,
                         month=month_label(register_receipt.month, language),
                         kind=kind_title(register_receipt.kind, language),
                         version=register_receipt.version, rows=register_receipt.rows), icon=":material/task_alt:")
            st.text(register_receipt.sentence)  # plain text: unit names come from the plan
    register_kind = st.selectbox(t("registers2.kind_label"), REGISTER_KINDS, key="register_kind",
                                 format_func=lambda k: kind_title(k, language))
    kind_name = kind_title(register_kind, language)
    register_xlsx, register_csv = st.columns(2)
    register_xlsx.download_button(t("registers2.template_xlsx", kind=kind_name),
                                  register_template_bytes(register_kind, unit, month, "xlsx"),
                                  file_name=register_template_filename(register_kind, unit, month, "xlsx"),
                                  mime=XLSX_MIME,
                                  key="register_template_xlsx", icon=":material/download:", on_click="ignore")
    register_csv.download_button(t("registers2.template_csv", kind=kind_name),
                                 register_template_bytes(register_kind, unit, month, "csv"),
                                 file_name=register_template_filename(register_kind, unit, month, "csv"), mime="text/csv",
                                 key="register_template_csv", icon=":material/download:", on_click="ignore")
    if not store.is_locked(month):
        register_round = st.session_state.setdefault(REGISTER_UPLOADER, 0)
        register_file = st.file_uploader(t("registers2.file_label", kind=kind_name), type=["csv", "xlsx"],
                                         key=f"register_file_{register_round}", help=t("registers2.file_help"),
                                         max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024))
        if register_file is not None:
            register_data = register_file.getvalue()
            with st.spinner(t("upload.checking")):
                register_report = validate_register_upload(plan, user, register_data, register_file.name, register_kind,
                                                            unit, month, language)
            if register_report.errors:
                st.error(t("registers2.errors_found", n=len(register_report.errors)), icon=":material/error:")
                register_errors = submission.findings_table(register_report.errors, language)
                st.dataframe(register_errors, hide_index=True, width="stretch",
                             column_config=first_column_pinned(register_errors))
                st.download_button(t("upload.download_errors"), submission.findings_csv(register_report.errors, language),
                                   file_name=f"问题清单-{unit}-{month}-{kind_name}.csv", mime="text/csv",
                                   key="register_errors_csv", on_click="ignore")
            else:
                st.success(t("registers2.valid", rows=len(register_report.rows), unit=register_report.reporting_unit,
                             month=month_label(register_report.month or month, language)), icon=":material/check_circle:")
                if register_report.warnings:
                    st.warning(t("upload.warnings_found", n=len(register_report.warnings)), icon=":material/warning:")
                    st.dataframe(submission.findings_table(register_report.warnings, language), hide_index=True,
                                 width="stretch")
            if register_report.normalised:
                with st.expander(t("upload.normalised", n=len(register_report.normalised))):
                    st.dataframe(submission.findings_table(register_report.normalised, language), hide_index=True,
                                 width="stretch")
            if register_report.ok:
                label = t("registers2.confirm") if register_report.warnings else t("registers2.submit")
                if st.button(label, type="primary", key="register_submit", icon=":material/send:"):
                    register_result = submit_register_upload(store, user, register_report, register_data,
                                                             confirm=True, lang=language)
                    if register_result.status == "accepted":
                        clear_data_caches()
                        st.session_state[REGISTER_RECEIPT] = RegisterReceipt(
                            register_result.reporting_unit, register_result.month, register_result.kind,
                            int(register_result.version), len(register_report.rows),
                            register_receipt_sentence(register_result, language))
                        st.session_state[REGISTER_UPLOADER] = register_round + 1
                    else:
                        st.session_state[NOTICE] = ("info" if register_result.accepted else "error",
                                                    register_result.message)
                    st.rerun()

    register_history = register_history_table(store.register_uploads(), unit, language)
    if len(register_history):
        st.markdown(f"**{t('registers2.history', unit=unit)}**")
        st.dataframe(register_history, hide_index=True, width="stretch")

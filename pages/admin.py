"""管理: the audit log, rolling back an upload, month locks, the plan check and the accounts (administrators only)."""

import streamlit as st

from app_support import (
    audit_log_table,
    clear_data_caches,
    confirm_buttons,
    current_user,
    get_plan,
    get_store,
    lang,
    plan_check,
    t,
    today,
    uploads_tables,
    user_store,
)
from worktrack import administration
from worktrack.auth import ROLES, AccountError, UserStoreError, can_admin, users_path
from worktrack.charts import month_label
from worktrack.cycle import close_month
from worktrack.store import StoreError
from worktrack.tables import csv_bytes
from worktrack.views.cycle import blocking_lines

ROLLBACK_OPEN = "admin_rollback_open"
ROLLBACK_CONFIRMED = "admin_rollback_confirmed"
NOTICE = "admin_notice"
CLOSE_NOTICE = "close_notice"

user = current_user()
if not can_admin(user):
    st.title(t("nav.admin"))
    st.error(t("admin.refused"), icon=":material/block:")
    st.stop()

plan = get_plan()
store = get_store()
language = lang()

AUDIT_ROWS_SHOWN = 1000

st.title(t("admin.title"))
if notice := st.session_state.pop(NOTICE, None):
    kind, text = notice
    (st.success if kind == "ok" else st.error)(text, icon=":material/task_alt:" if kind == "ok" else ":material/block:")

audit_tab, rollback_tab, locks_tab, plan_tab, accounts_tab = st.tabs(
    [t("admin.tab_audit"), t("admin.tab_rollback"), t("admin.tab_locks"), t("admin.tab_plan"), t("admin.tab_accounts")])

# -- audit log
with audit_tab:
    everything, _ = audit_log_table(None, None, None, None, language)
    actors = sorted(everything["actor"].astype(str).unique()) if len(everything) else []
    actions = sorted(set(administration.ACTIONS) | set(everything["action"].astype(str)) if len(everything) else
                     administration.ACTIONS)
    everyone, every_action = t("admin.filter_all"), t("admin.filter_all")
    by_actor, by_action, since_column, until_column = st.columns(4)
    actor = by_actor.selectbox(t("admin.filter_actor"), [None, *actors], key="audit_actor",
                               format_func=lambda a: everyone if a is None else a)
    action = by_action.selectbox(t("admin.filter_action"), [None, *actions], key="audit_action",
                                 format_func=lambda a: every_action if a is None else administration.action_label(
                                     a, language))
    since = since_column.date_input(t("admin.filter_since"), value=None, key="audit_since", format="YYYY-MM-DD")
    until = until_column.date_input(t("admin.filter_until"), value=None, key="audit_until", format="YYYY-MM-DD")
    _, table = audit_log_table(actor, action, since, until, language)
    st.caption(t("admin.audit_count", n=len(table), total=len(everything)))
    # The newest rows on screen; the download (built only when clicked) has every matching row.
    st.dataframe(table.head(AUDIT_ROWS_SHOWN), hide_index=True, width="stretch",
                 height=min(600, 38 + 35 * max(min(len(table), AUDIT_ROWS_SHOWN), 1)))
    st.download_button(t("admin.audit_download"), lambda: csv_bytes(table),
                       file_name="audit_log.csv", mime="text/csv", key="audit_csv", on_click="ignore",
                       icon=":material/download:")

# -- rollback
with rollback_tab:
    st.caption(t("admin.rollback_caption"))
    uploads, uploads_display, labels = uploads_tables(language)
    st.dataframe(uploads_display, hide_index=True, width="stretch", height=min(420, 38 + 35 * max(len(uploads), 1)))
    picked = st.selectbox(t("admin.rollback_choose"), list(labels), index=None, key="rollback_pick",
                          format_func=labels.get, placeholder=t("admin.rollback_placeholder"))

    @st.dialog(t("admin.rollback_confirm_title"), on_dismiss=lambda: st.session_state.pop(ROLLBACK_OPEN, None))
    def confirm_rollback(upload_id: int) -> None:
        st.write(t("admin.rollback_confirm_text"))
        st.text(labels.get(upload_id, str(upload_id)))
        confirm_buttons(t("admin.rollback_yes"), t("admin.rollback_no"), "rollback", open_flag=ROLLBACK_OPEN,
                        confirmed_flag=ROLLBACK_CONFIRMED, value=upload_id)

    confirmed = st.session_state.pop(ROLLBACK_CONFIRMED, None)
    if confirmed is not None:
        try:
            result = store.rollback(confirmed, actor=user.username)
        except StoreError as exc:
            st.session_state[NOTICE] = ("error", str(exc))
        else:
            clear_data_caches()
            st.session_state[NOTICE] = ("ok", result.message)
        st.rerun()
    if st.session_state.get(ROLLBACK_OPEN) is not None:
        confirm_rollback(st.session_state[ROLLBACK_OPEN])
    if st.button(t("admin.rollback_button"), key="rollback_button", disabled=picked is None,
                 icon=":material/undo:"):
        st.session_state[ROLLBACK_OPEN] = picked
        st.rerun()

# -- month locks
with locks_tab:
    locked = store.locked_months()
    st.caption(t("admin.locks_caption"))
    if locked:
        st.info(t("admin.locked_now", months="、".join(month_label(m, language) for m in locked)),
                icon=":material/lock:")
    else:
        st.info(t("admin.locked_none"), icon=":material/lock_open:")
    month = st.selectbox(t("admin.lock_month"), plan.months, key="lock_month",
                         index=len(plan.months) - 1, format_func=lambda m: month_label(m, language))
    if month in locked:
        if st.button(t("admin.unlock_button", month=month_label(month, language)), key="unlock_button",
                     icon=":material/lock_open:"):
            store.unlock_month(month, actor=user.username)
            clear_data_caches()
            st.session_state[NOTICE] = ("ok", t("admin.unlocked", month=month_label(month, language)))
            st.rerun()
    elif st.button(t("admin.lock_button", month=month_label(month, language)), key="lock_button",
                   icon=":material/lock:"):
        store.lock_month(month, actor=user.username)
        clear_data_caches()
        st.session_state[NOTICE] = ("ok", t("admin.locked", month=month_label(month, language)))
        st.rerun()
    # -- closing a month: every report approved, then locked with the pack's data frozen
    st.markdown(f"**{t('cycle.close.heading')}**")
    if notice := st.session_state.pop(CLOSE_NOTICE, None):
        kind, lines = notice
        (st.success if kind == "ok" else st.error)("\n\n".join(lines), icon=":material/event_available:")
    latest_filed = store.latest_month()  # the month to close is usually the latest one filed
    close_choice = st.selectbox(t("cycle.close.month"), plan.months, key="close_month",
                                index=plan.months.index(latest_filed) if latest_filed in plan.months
                                else len(plan.months) - 1, format_func=lambda m: month_label(m, language))
    close_label = month_label(close_choice, language)
    if store.current_close(close_choice) is None:
        if st.button(t("cycle.close.close"), key="close_button", icon=":material/event_available:"):
            result = close_month(plan, store, close_choice, actor=user.username, today=today())
            clear_data_caches()
            if result.closed:
                st.session_state[CLOSE_NOTICE] = ("ok", [t("cycle.close.closed", month=close_label)])
            else:
                st.session_state[CLOSE_NOTICE] = ("error", [
                    t("cycle.close.blocked", month=close_label, n=len(result.blocking)),
                    *blocking_lines(result.blocking, language)])
            st.rerun()
    else:
        st.info(t("cycle.close.already", month=close_label), icon=":material/event_busy:")
        reopen_reason = st.text_input(t("cycle.close.reason"), key="reopen_reason")
        if st.button(t("cycle.close.reopen"), key="reopen_button", icon=":material/event_repeat:"):
            try:
                store.reopen_month(close_choice, actor=user.username, reason=reopen_reason)
            except StoreError:
                st.session_state[CLOSE_NOTICE] = ("error", [t("cycle.close.reason_needed")])
            else:
                clear_data_caches()
                st.session_state[CLOSE_NOTICE] = ("ok", [t("cycle.close.reopened", month=close_label)])
            st.rerun()
    closes = store.closes()
    if len(closes):
        st.caption(t("cycle.close.history"))
        st.dataframe(closes.drop(columns=["snapshot"]), hide_index=True, width="stretch")
    st.markdown(f"**{t('admin.lock_history')}**")
    history = administration.lock_history_table(store.month_lock_history(), language)
    if len(history):
        st.dataframe(history, hide_index=True, width="stretch")
    else:
        st.caption(t("admin.lock_history_empty"))

# -- plan check
with plan_tab:
    issues, reconciliations = plan_check()
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity == "warning"]
    if errors:
        st.error(t("admin.plan_errors", n=len(errors)), icon=":material/error:")
    else:
        st.success(t("admin.plan_ok"), icon=":material/check_circle:")
    if warnings:
        st.warning(t("admin.plan_warnings", n=len(warnings)), icon=":material/warning:")
    if issues:
        st.dataframe(administration.plan_issues_table(issues, language), hide_index=True, width="stretch")
    st.markdown(f"**{t('admin.reconciliation')}**")
    st.dataframe(administration.reconciliation_table(reconciliations, language), hide_index=True, width="stretch")

# -- accounts


def change_account(action: str, username: str, change, done: str, **detail) -> None:
    """Runs before the next script run (a button's callback): check the administrator again, make the
    change in the users file, write it to the audit log, and forget any password typed."""
    for key in ("account_add_password", "account_new_password"):
        st.session_state[key] = ""
    actor = current_user()  # a callback runs before the entry script's check: check here too
    if not can_admin(actor) or actor.demo:
        st.session_state[NOTICE] = ("error", t("accounts.demo_refused" if actor and actor.demo else "admin.refused"))
        return
    try:
        changed = change()
    except (AccountError, UserStoreError) as exc:
        st.session_state[NOTICE] = ("error", getattr(exc, "message", str(exc)))
        return
    if changed is None:
        st.session_state[NOTICE] = ("ok", t("accounts.unchanged", username=username))
        return
    get_store().record_account_event(action, changed.username, actor=actor.username,
                                     detail={k: v for k, v in detail.items() if v is not None} or None)
    clear_data_caches()
    st.session_state[NOTICE] = ("ok", t(done, username=changed.username, unit=changed.unit or ""))


def add_account() -> None:
    state = st.session_state
    role, unit = state.get("account_add_role"), state.get("account_add_unit")
    name, password = state.get("account_add_username", ""), state.get("account_add_password", "")
    display = state.get("account_add_name") or None
    change_account("account.add", name, lambda: user_store().add(name, password, role, unit, display, plan=plan),
                   "accounts.added", role=role, unit=unit, display_name=display)


def reset_password() -> None:
    name, password = st.session_state.get("account_passwd_user"), st.session_state.get("account_new_password", "")
    if name:
        change_account("account.passwd", name, lambda: user_store().set_password(name, password),
                       "accounts.passwd_done")


def toggle_account(name: str, disable: bool) -> None:
    def change():
        if disable and name == user.username:  # `user` passed the same check in change_account
            raise AccountError("self-disable", t("accounts.self_disable"))
        before = user_store().get(name)
        if before is not None and before.disabled == disable:
            return None
        return user_store().disable(name) if disable else user_store().enable(name)

    change_account("account.disable" if disable else "account.enable", name, change,
                   "accounts.disabled" if disable else "accounts.enabled")


def bind_unit() -> None:
    name, unit = st.session_state.get("account_unit_user"), st.session_state.get("account_unit_unit")

    def change():
        before = user_store().get(name)
        after = user_store().set_unit(name, unit, plan=plan)
        return None if before is not None and before.unit == after.unit else after

    before = user_store().get(name) if name else None
    if name:
        change_account("account.unit", name, change, "accounts.unit_done", old=before.unit if before else None,
                       new=unit)


with accounts_tab:
    accounts = user_store()
    users = accounts.list()
    st.caption(t("admin.accounts_file"))
    st.text(str(users_path()))
    if users:
        failures = {u.username: accounts.failure_count(u.username) for u in users}
        st.dataframe(administration.accounts_table(users, failures, language), hide_index=True, width="stretch")
    else:
        st.info(t("admin.accounts_empty"), icon=":material/person_off:")
    st.subheader(t("accounts.manage_heading"))
    if user.demo:
        st.caption(t("admin.accounts_demo"))
        st.info(t("accounts.demo_refused"), icon=":material/block:")
    else:
        st.caption(t("accounts.audit_note"))
        names = [u.username for u in users]
        unit_names = [u.name for u in plan.units]
        add_column, change_column = st.columns(2)
        with add_column.form("account_add_form"):
            st.markdown(f"**{t('accounts.add_heading')}**")
            st.text_input(t("accounts.username"), key="account_add_username", autocomplete="off")
            st.text_input(t("accounts.display_name"), key="account_add_name", autocomplete="off")
            st.selectbox(t("accounts.role"), list(ROLES), key="account_add_role",
                         format_func=lambda r: t(f"login.role_{r}"))
            st.selectbox(t("accounts.unit"), [None, *unit_names], key="account_add_unit",
                         format_func=lambda u: t("accounts.no_unit") if u is None else u)
            st.text_input(t("accounts.password"), type="password", key="account_add_password",
                          autocomplete="new-password")
            st.form_submit_button(t("accounts.add_button"), type="primary", on_click=add_account,
                                  icon=":material/person_add:")
        with change_column:
            with st.form("account_passwd_form"):
                st.markdown(f"**{t('accounts.passwd_heading')}**")
                st.selectbox(t("accounts.account"), names, index=None, key="account_passwd_user",
                             placeholder=t("accounts.choose_account"))
                st.text_input(t("accounts.new_password"), type="password", key="account_new_password",
                              autocomplete="new-password")
                st.form_submit_button(t("accounts.passwd_button"), on_click=reset_password, icon=":material/key:")
            st.markdown(f"**{t('accounts.state_heading')}**")
            picked = st.selectbox(t("accounts.account"), names, index=None, key="account_state_user",
                                  placeholder=t("accounts.choose_account"))
            current = next((u for u in users if u.username == picked), None)
            if current is not None and current.disabled:
                st.button(t("accounts.enable_button"), key="account_enable", icon=":material/person_check:",
                          on_click=toggle_account, args=(current.username, False))
            elif current is not None:
                st.button(t("accounts.disable_button"), key="account_disable", icon=":material/person_off:",
                          on_click=toggle_account, args=(current.username, True))
            community_names = [u.username for u in users if u.role == "community"]
            st.markdown(f"**{t('accounts.unit_heading')}**")
            if community_names:
                with st.form("account_unit_form"):
                    st.selectbox(t("accounts.account"), community_names, index=None, key="account_unit_user",
                                 placeholder=t("accounts.choose_account"))
                    st.selectbox(t("accounts.unit"), unit_names, key="account_unit_unit")
                    st.form_submit_button(t("accounts.unit_button"), on_click=bind_unit, icon=":material/link:")
            else:
                st.caption(t("accounts.no_community_accounts"))
    st.caption(t("admin.accounts_help"))
    st.code("python -m worktrack users add htl --role community --unit 黄土岭社区 --name 黄土岭社区\n"
            "python -m worktrack users passwd htl\n"
            "python -m worktrack users disable htl\n"
            "python -m worktrack users unit htl --unit 天剑社区\n"
            "python -m worktrack users list", language="bash")

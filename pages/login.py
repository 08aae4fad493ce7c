"""登录: the demo role picker on the demo database, single sign-on when configured, local accounts."""

import streamlit as st

from app_support import (
    LOGIN_MESSAGE,
    demo_available,
    demo_refusal,
    demo_requested,
    get_plan,
    login_with_password,
    oidc_configured,
    oidc_refused,
    sign_in_as_demo,
    t,
)
from worktrack.auth import demo_users


def submit_password() -> None:
    """Runs before the next script run: check the password, then forget it (it never stays in the session)."""
    login_with_password(st.session_state.get("login_username", ""), st.session_state.get("login_password", ""))
    if "login_password" in st.session_state:
        st.session_state["login_password"] = ""


plan = get_plan()
st.title(t("login.title"))
st.caption(plan.title)

if demo_available():
    st.warning(t("app.demo_banner"), icon=":material/science:")
    st.subheader(t("login.demo_heading"))
    st.caption(t("login.demo_caption"))
    identities = demo_users(plan)
    labels = [u.display_name + " · " + t(f"login.role_{u.role}") for u in identities]
    st.radio(t("login.demo_role"), range(len(identities)), format_func=labels.__getitem__, key="demo_role")
    # The choice is read when the button is pressed, never from what the page showed a moment before.
    st.button(t("login.demo_enter"), type="primary", key="demo_enter", icon=":material/login:",
              on_click=lambda: sign_in_as_demo(identities[st.session_state.get("demo_role", 0)]))
    st.stop()

if demo_requested():
    st.error(demo_refusal() or "", icon=":material/block:")

if oidc_configured():
    refused = oidc_refused()
    if refused:
        st.error(t("login.oidc_unknown"), icon=":material/person_off:")
        st.text(refused)
        st.button(t("login.oidc_logout"), key="oidc_logout", on_click=st.logout)
    elif st.button(t("login.oidc"), key="oidc_login", type="primary", icon=":material/badge:"):
        try:
            st.login()
        except Exception:  # noqa: BLE001 - a missing Authlib or a broken [auth] section: say so, in Chinese
            st.error(t("login.oidc_unavailable"), icon=":material/error:")
    st.divider()

with st.form("login_form"):
    st.text_input(t("login.username"), key="login_username", autocomplete="username")
    st.text_input(t("login.password"), type="password", key="login_password", autocomplete="current-password")
    st.form_submit_button(t("login.submit"), type="primary", on_click=submit_password)

if message := st.session_state.pop(LOGIN_MESSAGE, None):
    st.error(message, icon=":material/lock:")
st.caption(t("login.help"))

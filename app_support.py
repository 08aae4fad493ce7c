"""The only glue between Streamlit and the worktrack core: cached plan, language, shared sidebar."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from worktrack import config
from worktrack.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from worktrack.plan import Plan, load_plan


def plan_file() -> Path:
    return config.plan_path()


@st.cache_resource(show_spinner=False)
def _cached_plan(path: str, mtime: float) -> Plan:
    return load_plan(path)


def get_plan() -> Plan:
    """The plan, reloaded automatically when targets.yaml changes on disk."""
    path = plan_file()
    return _cached_plan(str(path), os.path.getmtime(path))


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """Translate a UI string into the session's language."""
    return translate(key, lang(), **values)


def language_selector() -> None:
    """Sidebar language switch (中文 / English), remembered in the session."""
    codes = list(LANGUAGES)
    current = lang()
    choice = st.sidebar.selectbox(
        translate("app.language", current), codes, index=codes.index(current),
        format_func=LANGUAGES.get, key="lang_select",
    )
    if choice != current:
        st.session_state["lang"] = choice
        st.rerun()

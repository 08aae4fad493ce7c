"""The only glue between Streamlit and the worktrack core: cached plan, language, shared sidebar."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from worktrack import config
from worktrack.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from worktrack.plan import Plan, load_plan


def _leave_legacy_multipage_mode() -> None:
    """Make a deep link on the server's first request run through dashboard.py.

    Streamlit decides once per process, before any script has run, whether a `pages/` folder
    means its legacy multipage mode; st.navigation turns that off, but only once dashboard.py has
    run. A first request for /community would otherwise run the page alone, without the page
    config, sidebar or sign-in of the entry script. Switching the mode off and rerunning sends
    that request through dashboard.py, which then opens the requested page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_multipage_mode()


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


# ---------------------------------------------------------------------------
# Data: one cached store, cached query results (cleared after every accepted upload)


def db_file() -> Path:
    return config.db_path()


@st.cache_resource(show_spinner=False)
def _cached_store(path: str):
    from worktrack.store import Store

    return Store(path)


def get_store():
    """The store for WORKTRACK_DB; connections are short-lived, so sharing it is safe."""
    return _cached_store(str(db_file()))


@st.cache_data(show_spinner=False, max_entries=64)
def _status(db: str, plan_mtime: float, as_of: str, unit: str | None):
    from worktrack.progress import status_from_store

    return status_from_store(get_plan(), _cached_store(db), as_of, unit=unit)


@st.cache_data(show_spinner=False, max_entries=16)
def _monthly(db: str, through: str):
    return _cached_store(db).monthly_values(through)


@st.cache_data(show_spinner=False, max_entries=16)
def _category_values(db: str, through: str):
    return _cached_store(db).category_values(through)


@st.cache_data(show_spinner=False, max_entries=4)
def _latest_month(db: str) -> str | None:
    return _cached_store(db).latest_month()


@st.cache_data(show_spinner=False, max_entries=4)
def _demo_loaded(db: str) -> bool:
    uploads = _cached_store(db).active_uploads()
    return bool(len(uploads)) and bool(uploads["file_name"].astype(str).str.startswith("demo_").any())


def status(as_of: str, unit: str | None = None):
    """The progress report as of a month (street-wide, or for one unit)."""
    return _status(str(db_file()), os.path.getmtime(plan_file()), as_of, unit)


def monthly_values(through: str):
    return _monthly(str(db_file()), through)


def category_values(through: str):
    return _category_values(str(db_file()), through)


def clear_data_caches() -> None:
    """Call after every accepted upload, rollback or lock change."""
    st.cache_data.clear()


def demo_mode() -> bool:
    """Demo mode: started by the README's run command on the demo database."""
    return os.environ.get("WORKTRACK_DEMO") == "1" or _demo_loaded(str(db_file()))


# ---------------------------------------------------------------------------
# The shared sidebar


def sidebar() -> None:
    """Language, as-of month and reporting-unit filter; the demo banner."""
    language_selector()
    plan = get_plan()
    st.sidebar.caption(plan.title)
    latest = _latest_month(str(db_file()))
    months = [m for m in plan.months if latest is None or m <= max(latest, plan.start_month)]
    default = months.index(latest) if latest in months else len(months) - 1
    if st.session_state.get("as_of") not in months:
        st.session_state["as_of"] = months[default]
    from worktrack.charts import month_label

    # format functions bind the language now: AppTest calls them outside the script run
    current = lang()
    all_units = t("sidebar.all_units")
    st.sidebar.selectbox(t("sidebar.as_of"), months, key="as_of", format_func=lambda m: month_label(m, current))
    units = [None, *[u.name for u in plan.units]]
    if st.session_state.get("unit_filter") not in units:
        st.session_state["unit_filter"] = None
    st.sidebar.selectbox(t("sidebar.unit_filter"), units, key="unit_filter",
                         format_func=lambda u: all_units if u is None else u)
    if demo_mode():
        st.warning(t("app.demo_banner"), icon=":material/science:")


def as_of() -> str:
    plan = get_plan()
    return st.session_state.get("as_of") or _latest_month(str(db_file())) or plan.start_month


def unit_filter() -> str | None:
    return st.session_state.get("unit_filter")

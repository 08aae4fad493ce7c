"""The only glue between Streamlit and the worktrack core: cached plan, language, sign-in, shared sidebar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from worktrack import config
from worktrack.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from worktrack.plan import Plan, load_plan

if TYPE_CHECKING:
    from worktrack.auth import AuthResult, User, UserStore

logger = logging.getLogger(__name__)


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


@st.cache_resource(show_spinner=False)
def _log_file():
    """Once per server process: the core's log records (reader bugs, library warnings) go to the log file."""
    from worktrack.logs import configure_logging

    return configure_logging()


_log_file()


PLAN_CHOICE = "plan_choice"  # the plan chosen in the sidebar (its file), kept for the whole session


def plan_file() -> Path:
    """The plan the session looks at: the one chosen in the sidebar, else the latest year's."""
    paths = config.plan_paths()
    if len(paths) == 1:
        return paths[0]
    chosen = st.session_state.get(PLAN_CHOICE)
    return next((p for p in paths if str(p) == chosen), None) or latest_plan_file(paths)


def latest_plan_file(paths: list[Path]) -> Path:
    """The plan of the latest year (then the latest issued) among the deployment's plan files."""
    def year(path: Path) -> tuple:
        plan = _cached_plan(str(path), os.path.getmtime(path))
        return plan.year, plan.issue_date

    return max(paths, key=year)


def plan_choices() -> list[tuple[str, str]]:
    """(file, title) of every plan of the deployment, the latest year first."""
    plans = [(str(p), _cached_plan(str(p), os.path.getmtime(p))) for p in config.plan_paths()]
    plans.sort(key=lambda item: (item[1].year, item[1].issue_date), reverse=True)
    return [(path, plan.title) for path, plan in plans]


def other_plans() -> list[Plan]:
    """The deployment's plans other than the chosen one (an upload for one of them is named as such)."""
    current = get_plan()
    plans = [_cached_plan(str(p), os.path.getmtime(p)) for p in config.plan_paths()]
    return [p for p in plans if p.id != current.id]


def plan_selector() -> None:
    """The sidebar's plan choice, shown when the deployment has several plans."""
    choices = plan_choices()
    if len(choices) < 2:
        return
    paths = [path for path, _ in choices]
    titles = dict(choices)
    current = str(plan_file())

    def remember() -> None:
        st.session_state[PLAN_CHOICE] = st.session_state["plan_widget"]

    st.sidebar.selectbox(t("plans.choose"), paths, index=paths.index(current), key="plan_widget",
                         format_func=titles.get, on_change=remember)


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


def db_file() -> Path | str:
    """The database setting: a DuckDB file, or a postgresql:// URL."""
    return config.db_path()


StoreKey = tuple[str, str]  # (database file, plan id): every cached query is keyed by both


def _store_key() -> StoreKey:
    return str(db_file()), get_plan().id


@st.cache_resource(show_spinner=False)
def _cached_store(key: StoreKey):
    """The store seen through one plan (several plans may share the database)."""
    from worktrack.store import Store

    path, plan_id = key
    return Store(path, busy_timeout=config.settings().busy_timeout).for_plan(plan_id)


def show_store_problem(exc: Exception) -> None:
    """Say in the user's language that the database is busy, damaged or out of disk; offer a retry."""
    from worktrack.store import StoreBusy, StoreCorrupt, StoreDiskFull

    key = {StoreBusy: "ops.db_busy", StoreCorrupt: "ops.db_corrupt", StoreDiskFull: "ops.disk_full"}.get(
        type(exc), "ops.db_error")
    logger.warning("database problem shown to the user: %s", exc)
    st.error(t(key), icon=":material/database:")
    if key == "ops.db_error":
        st.caption(t("ops.detail", detail=str(exc)))
    st.button(t("ops.retry"), key="ops_retry", icon=":material/refresh:")  # a click reruns the page


def _guarded(call, *args: Any, **kwargs: Any):
    """Run a store call; a busy, damaged or full database ends the page run with a message and a retry
    button instead of Streamlit's error box. A refusal (StoreRefused) is the caller's to show."""
    from worktrack.store import StoreError, StoreRefused

    try:
        return call(*args, **kwargs)
    except StoreRefused:
        raise
    except StoreError as exc:
        show_store_problem(exc)
        st.stop()


class _GuardedStore:
    """The store as pages see it: every method call goes through `_guarded`."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name: str):
        value = getattr(self._store, name)
        if not callable(value):
            return value
        return functools.wraps(value)(functools.partial(_guarded, value))


def get_store():
    """The store for WORKTRACK_DB; connections are short-lived, so sharing it is safe."""
    return _GuardedStore(_guarded(_cached_store, _store_key()))


@st.cache_data(show_spinner=False, ttl=2, max_entries=4)
def _data_version(db: StoreKey) -> int:
    return _cached_store(db).data_version()


def data_version() -> int:
    """Changes with every write to the database, by this dashboard or by the command line in another
    process; every cached query takes it as an argument, so nothing cached outlives a write by more
    than two seconds."""
    return _guarded(_data_version, _store_key())


@st.cache_resource(show_spinner=False, max_entries=32)
def _shared_status(db: StoreKey, version: int, plan_mtime: float, as_of: str, unit: str | None,
                   today_: dt.date | None = None, approved_only: bool = False):
    """One report per database version, month, unit, day and figures rule, shared by every session
    and never pickled: a city's report with its tables is ~24 MB pickled, ~45 ms to unpickle on every
    rerun, and a fresh copy built its tables again. Readers get `reader_copy`s (see `_status`)."""
    from worktrack.progress import status_from_store

    return status_from_store(get_plan(), _cached_store(db), as_of, unit=unit, today=today_,
                             approved_only=approved_only)


def _status(db: StoreKey, version: int, plan_mtime: float, as_of: str, unit: str | None, today_: dt.date | None = None,
            approved_only: bool = False):
    """The shared report as a reader's copy: a page that adds or changes a column changes its copy only."""
    return _shared_status(db, version, plan_mtime, as_of, unit, today_, approved_only).reader_copy()


@st.cache_data(show_spinner=False, max_entries=8)
def _default_month(db: StoreKey, version: int, plan_mtime: float, today_: dt.date, approved_only: bool = False) -> str:
    from worktrack.progress import approved_receipts, default_as_of

    store = _cached_store(db)
    approved = approved_receipts(store.reviewed_uploads()) if approved_only else None
    return default_as_of(get_plan(), store.active_receipts(), today_, approved=approved)


@st.cache_data(show_spinner=False, max_entries=16)
def _monthly(db: StoreKey, version: int, through: str, approved_only: bool = False):
    return _cached_store(db).monthly_values(through, approved_only)


@st.cache_data(show_spinner=False, max_entries=16)
def _category_values(db: StoreKey, version: int, through: str, approved_only: bool = False):
    return _cached_store(db).category_values(through, approved_only)


@st.cache_data(show_spinner=False, max_entries=4)
def _latest_month(db: StoreKey, version: int) -> str | None:
    return _cached_store(db).latest_month()


@st.cache_data(show_spinner=False, max_entries=4)
def _demo_loaded(db: StoreKey, version: int) -> bool:
    return _cached_store(db).made_by_demo()


@st.cache_data(show_spinner=False, max_entries=16)
def _slide_deck(db: StoreKey, version: int, plan_mtime: float, as_of: str, unit: str | None, language: str, generated,
                approved_only: bool = False):
    from worktrack.export import slide_deck as build

    return build(get_plan(), _status(db, version, plan_mtime, as_of, unit, generated, approved_only), lang=language,
                 generated=generated)


def slide_deck(as_of: str, unit: str | None, language: str):
    """The meeting's slides, built once per month, unit, language and day (and after every upload)."""

    return _guarded(_slide_deck, _store_key(), data_version(), os.path.getmtime(plan_file()), as_of, unit,
                    language, today(), approved_only())


@st.cache_data(show_spinner=False, max_entries=8)
def _frozen_meeting(db: StoreKey, version: int, plan_mtime: float, month: str, unit: str | None, language: str):
    """A closed month's status, pack facts, slides and date, exactly as frozen at the close; or None."""
    from worktrack import export
    from worktrack.cycle import frozen_pack

    frozen = frozen_pack(get_plan(), _cached_store(db), month, unit=unit)
    if frozen is None:
        return None
    slides = export.slide_deck(get_plan(), frozen.report, lang=language, generated=frozen.generated)
    return frozen.report, frozen.facts, slides, frozen.generated


def frozen_meeting(month: str, unit: str | None, language: str):
    """(report, facts, slides, date) of a closed month's meeting as frozen at its close, or None for an
    open month or when the figures include unreviewed reports (the 含待审核 switch is on)."""
    if not approved_only():
        return None
    return _guarded(_frozen_meeting, _store_key(), data_version(), os.path.getmtime(plan_file()), month, unit,
                    language)


@st.cache_data(show_spinner=False, max_entries=16)
def _attention_view(db: StoreKey, version: int, plan_mtime: float, as_of: str, unit: str | None,
                    today_: dt.date | None, approved: bool, language: str):
    from worktrack.views import attention_counts, attention_rows, attention_table

    rows = attention_rows(_status(db, version, plan_mtime, as_of, unit, today_, approved), language)
    if not len(rows):
        return None
    return attention_counts(rows, language), attention_table(rows, language)


def attention_view(as_of: str, unit: str | None, language: str):
    """(count sentence, table) of the attention list for the status on screen, or None when it is empty;
    built once per data version (thousands of sentences at city scale)."""
    return _guarded(_attention_view, _store_key(), data_version(), os.path.getmtime(plan_file()), as_of, unit,
                    today(), approved_only(), language)


@st.cache_resource(show_spinner=False, max_entries=16)  # figures are only read by st.plotly_chart
def _comparison_figure(db: StoreKey, version: int, plan_mtime: float, as_of: str, today_: dt.date | None,
                       approved: bool, metric_id: str, language: str):
    from worktrack.charts import unit_comparison_chart
    from worktrack.views import metric_name, unit_comparison_rows
    from worktrack.views.tables import most_behind

    rows = unit_comparison_rows(_status(db, version, plan_mtime, as_of, None, today_, approved), metric_id)
    if not len(rows):
        return None
    total = len(rows)
    rows = most_behind(rows, COMPARISON_MAX)  # more bars than anyone can read: those furthest behind
    plan = get_plan()
    figure = unit_comparison_chart(rows, name=metric_name(plan, metric_id, language, short=False),
                                   measure=plan.metrics[metric_id].measure, lang=language,
                                   height=max(320, 22 * len(rows) + 120))
    return figure, len(rows), total


COMPARISON_MAX = 25  # bars in a comparison chart; a city's 990 communities are shown as the 25 furthest behind


def comparison_figure(as_of: str, metric_id: str, language: str):
    """(figure, units shown, units in all) comparing the units on one metric, or None when no unit reports
    it; built once per data version. Beyond COMPARISON_MAX units it shows those furthest behind."""
    return _guarded(_comparison_figure, _store_key(), data_version(), os.path.getmtime(plan_file()), as_of,
                    today(), approved_only(), metric_id, language)


@dataclasses.dataclass(frozen=True)
class MeetingView:
    """What the 例会 page shows on every rerun, built once per month, unit, language and data version
    (the stage of a city's 2,400 slides takes half a second to write; a rerun must not pay it)."""

    stage: str  # the stage (or presenter view) document
    caption: str  # as-of caption of the report behind it
    notes: tuple[tuple[str, str], ...]  # (slide title, presenter notes) of every slide
    notes_html: str  # the same as one block (numbered bold titles, the notes as written, escaped)
    fingerprint: str  # the packs' data version (`export.report_fingerprint`)
    frozen_on: dt.date | None  # the close date of a closed month presented as frozen, else None
    file_names: dict[str, str]  # pack format -> download file name


@st.cache_resource(show_spinner=False, max_entries=16)  # immutable: shared, not copied per rerun
def _meeting_view(db: StoreKey, version: int, plan_mtime: float, month: str, unit: str | None, language: str,
                  today_: dt.date | None, approved: bool, deck_id: str, view: str) -> MeetingView:
    import html

    from worktrack import export
    from worktrack.views import as_of_caption

    frozen = _frozen_meeting(db, version, plan_mtime, month, unit, language) if approved else None
    if frozen is not None:
        report, _, slides, generated = frozen
    else:
        report = _status(db, version, plan_mtime, month, unit, today_, approved)
        slides = _slide_deck(db, version, plan_mtime, month, unit, language, today_, approved)
        generated = today_
    plan = get_plan()
    esc = html.escape
    notes_html = "".join(f'<p><b>{n}. {esc(s.title)}</b></p><p style="white-space: pre-wrap">{esc(s.notes)}</p>'
                         for n, s in enumerate(slides, start=1))
    return MeetingView(
        stage=export.stage_html(plan, report, slides, lang=language, deck_id=deck_id, generated=generated, view=view),
        caption=as_of_caption(report, language), notes=tuple((s.title, s.notes) for s in slides),
        notes_html=notes_html,
        fingerprint=export.report_fingerprint(report), frozen_on=generated if frozen is not None else None,
        file_names={fmt: export.export_file_name(plan, report, fmt) for fmt in export.EXPORT_FORMATS})


def meeting_view(month: str, unit: str | None, language: str, deck_id: str, view: str = "stage") -> MeetingView:
    """The 例会 page's stage, caption, notes and pack version (a closed month's as frozen at its close)."""
    return _guarded(_meeting_view, _store_key(), data_version(), os.path.getmtime(plan_file()), month, unit,
                    language, today(), approved_only(), deck_id, view)


@st.cache_data(show_spinner=False, max_entries=4)
def _awaiting_review(db: StoreKey, version: int) -> dict[str, int]:
    """{month: units whose report of that month has no approved version yet}, oldest month first."""
    from worktrack.progress import awaiting_approval

    reviews = _cached_store(db).reviewed_uploads()
    months = sorted(set(reviews.loc[reviews["state"] == "active", "month"].astype(str)))
    counts = {m: len(awaiting_approval(reviews, m)) for m in months}
    return {m: n for m, n in counts.items() if n}


INCLUDE_PENDING = "include_pending"


def approved_only() -> bool:
    """Leaders' figures count approved reports only unless the sidebar's 含待审核 switch is on."""
    return not st.session_state.get(INCLUDE_PENDING, False)


def status(as_of: str, unit: str | None = None):
    """The progress report as of a month (street-wide, or for one unit); reports not yet due are pending.

    Approved reports only, or every active one with the 含待审核 switch (see `approved_only`)."""
    return _guarded(_status, _store_key(), data_version(), os.path.getmtime(plan_file()), as_of, unit, today(),
                    approved_only())


def monthly_values(through: str):
    return _guarded(_monthly, _store_key(), data_version(), through, approved_only())


def category_values(through: str):
    return _guarded(_category_values, _store_key(), data_version(), through, approved_only())


@st.cache_data(show_spinner=False, max_entries=8)
def _register_overview(db: StoreKey, version: int, plan_mtime: float):
    from worktrack.registers.counts import duplicates, register_figures

    store = _cached_store(db)
    with store.snapshot() as reader:
        figures = register_figures(get_plan(), reader)
    return figures, duplicates(get_plan(), store.register_rows())


def register_overview():
    """(figures counted from the registers, cross-unit duplicates): counts and masked forms only, so shared;
    computed once per database version (the duplicates take seconds at city scale)."""
    return _guarded(_register_overview, _store_key(), data_version(), os.path.getmtime(plan_file()))


@st.cache_data(show_spinner=False, max_entries=16)
def _review_queue(db: StoreKey, version: int, plan_mtime: float, month: str):
    from worktrack.cycle import review_queue

    return review_queue(get_plan(), _cached_store(db), month)


def review_queue(month: str):
    """Every active report of a month with its review state and findings (the 审核 screen)."""
    return _guarded(_review_queue, _store_key(), data_version(), os.path.getmtime(plan_file()), month)


@st.cache_data(show_spinner=False, max_entries=16)
def _reminders(db: StoreKey, version: int, plan_mtime: float, month: str, today_: dt.date, contact: str | None):
    from worktrack.cycle import reminders

    return reminders(get_plan(), _cached_store(db), month, today_, contact)


def reminders(month: str, contact: str | None = None):
    """Each unit's filing state for a month as of today (the 报送 screen)."""
    return _guarded(_reminders, _store_key(), data_version(), os.path.getmtime(plan_file()), month, today(),
                    contact)


def filed_values(through: str):
    """Metric totals of every active report, reviewed or not (what a reviewer compares)."""
    return _guarded(_monthly, _store_key(), data_version(), through, False)


@st.cache_data(show_spinner=False, max_entries=8)
def _audit(db: StoreKey, version: int, lang_code: str):
    from worktrack import administration

    log = _cached_store(db).audit_log()
    return log, administration.audit_table(log, lang_code)


def audit_log_table(actor: str | None, action: str | None, since, until, lang_code: str):
    """(the whole audit log, the filtered display table newest first) for the admin page."""
    from worktrack import administration

    log, table = _guarded(_audit, _store_key(), data_version(), lang_code)
    keep = administration.audit_filter(log, actor, action, since, until)
    if bool(keep.all()):
        return log, table
    return log, table[table.iloc[:, 0].isin(set(log.loc[keep, "audit_id"].astype(int)))].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=8)
def _uploads(db: StoreKey, version: int, lang_code: str):
    from worktrack import administration, submission

    uploads = _cached_store(db).uploads()
    active = uploads[uploads["state"] == "active"].sort_values("upload_id", ascending=False)
    return uploads, administration.uploads_table(uploads, lang_code), submission.upload_choice_labels(active, lang_code)


def uploads_tables(lang_code: str):
    """(every upload, its display table, picker labels of the active ones) for the admin page."""
    return _guarded(_uploads, _store_key(), data_version(), lang_code)


@st.cache_data(show_spinner=False, max_entries=32)
def _template(plan_path: str, plan_mtime: float, unit: str, month: str, fmt: str,
              prefilled: tuple[tuple[str, str, float], ...] = ()) -> bytes:
    from worktrack.template import build_template

    counted = {(item, category): value for item, category, value in prefilled}
    return build_template(get_plan(), unit, month, fmt, counted)  # type: ignore[arg-type]


@st.cache_data(show_spinner=False, max_entries=64)
def _register_prefill(db: StoreKey, version: int, plan_mtime: float, unit: str, month: str
                      ) -> tuple[tuple[str, str, float], ...]:
    from worktrack.registers.monthly import prefilled_values

    with _cached_store(db).snapshot() as reader:
        counted = prefilled_values(get_plan(), reader, unit, month)
    return tuple((item, category, value) for (item, category), value in sorted(counted.items()))


def template_bytes(unit: str, month: str, fmt: str) -> bytes:
    """The pre-filled monthly template of a unit and month; rows the unit counts from a register carry
    the register's count (the same for everyone who may see that unit, so shared)."""
    mtime = os.path.getmtime(plan_file())
    prefilled = _guarded(_register_prefill, _store_key(), data_version(), mtime, unit, month)
    return _template(str(plan_file()), mtime, unit, month, fmt, prefilled)


@st.cache_data(show_spinner=False, max_entries=32)
def _register_template(plan_path: str, plan_mtime: float, kind: str, unit: str, month: str, fmt: str) -> bytes:
    from worktrack.registers.upload import register_template

    return register_template(get_plan(), kind, unit, month, fmt)


def register_template_bytes(kind: str, unit: str, month: str, fmt: str) -> bytes:
    """The template of one register for a unit and month (holds no personal data, so shared)."""
    return _register_template(str(plan_file()), os.path.getmtime(plan_file()), kind, unit, month, fmt)


@st.cache_data(show_spinner=False, max_entries=4)
def _plan_check(path: str, mtime: float):
    from worktrack.plan import check_plan, reconcile

    checked, issues = check_plan(path)
    return issues, reconcile(checked) if checked is not None else []


def plan_check():
    """(issues, reconciliations) of targets.yaml, re-checked when the file changes."""
    return _plan_check(str(plan_file()), os.path.getmtime(plan_file()))


def first_column_pinned(frame) -> dict:
    """A column_config for st.dataframe that keeps the first column in view while the table scrolls sideways
    (on a phone the grid scrolls horizontally; the pinned column says which row one is reading)."""
    if frame is None or not len(frame.columns):
        return {}
    return {frame.columns[0]: st.column_config.Column(pinned=True)}


# Phone layout (Streamlit's own breakpoint for stacking columns is 640 px). CSS only: pages stay as they are.
MOBILE_CSS = """
<style>
@media (max-width: 640px) {
  /* A row of three or more columns (the overview's headline cards) wraps two to a row instead of one. */
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]:nth-child(3)) {
    flex-flow: row wrap !important;
    gap: 0.5rem !important;
  }
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]:nth-child(3)) > [data-testid="stColumn"] {
    flex: 1 1 calc(50% - 0.25rem) !important;
    width: calc(50% - 0.25rem) !important;
    min-width: calc(50% - 0.25rem) !important;
  }
  /* The upload page's problem list: cards on a phone, the table on wider screens. */
  .st-key-upload_error_table { display: none !important; }
}
@media (min-width: 641px) {
  .st-key-upload_error_cards { display: none !important; }
}
/* Headline figures are never cut off ("883.66…"): a size that fits five cards to a row, and wrapping. */
[data-testid="stMetricValue"] { font-size: clamp(1.35rem, 2.1vw, 2.25rem); }
[data-testid="stMetricValue"] > div, [data-testid="stMetricDelta"] > div {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
/* The table toolbar's own CSV download writes cells as they are, formulas included; every table people
   need elsewhere has a download button that neutralises them (worktrack.tables.csv_bytes). */
[data-testid="stElementToolbar"] button[aria-label="Download as CSV"] { display: none !important; }
</style>
"""


def mobile_css() -> None:
    """The shared CSS of every page: the phone layout and the hidden table-toolbar download."""
    st.html(MOBILE_CSS)


def clear_data_caches() -> None:
    """Call after every accepted upload, rollback or lock change."""
    st.cache_data.clear()
    _shared_status.clear()


def demo_mode() -> bool:
    """Demo data on screen: the README's run command, or a database the demo command made."""
    return demo_requested() or _guarded(_demo_loaded, _store_key(), data_version())


def demo_requested() -> bool:
    """WORKTRACK_DEMO=1 (scripts/run.sh sets it): offer the password-free role picker if the database allows."""
    return config.settings().demo


def demo_refusal() -> str | None:
    """Why the role picker is withheld on this database although demo mode was asked for, or None.

    Not cached: it guards who may act as administrator, so it always reads the database as it is now.
    """
    from worktrack.auth import demo_database_problem

    store = get_store()
    return demo_database_problem(db_file(), store.made_by_demo(), store.for_plan(None).uploads)  # every plan's


def demo_available() -> bool:
    """The role picker may be offered: demo mode was asked for and the database is a demo database."""
    return demo_requested() and demo_refusal() is None


def today() -> dt.date:
    """Today in China (the store's time zone): which reports are due, which month is shown first."""
    return config.today()


# ---------------------------------------------------------------------------
# Who is signed in. The identity lives only in this server-side session and is set only by
# sign_in(): after authenticate() succeeded, after the demo role picker on a demo database, or
# after single sign-on mapped to an account. A password or single sign-on session is also a
# server-side session record (worktrack.login_state) whose signed token sits in this Streamlit
# session and, for password sign-ins, in a cookie: a reload, a new tab or a bookmark resumes it.
# Every run re-checks that record and re-reads the account, so a revoked session, a new password,
# or a disabled or removed account is signed out at its next click.

SESSION_USER = "auth_user"
SESSION_METHOD = "auth_method"  # "password", "demo" or "oidc"
SESSION_TOKEN = "auth_session"
COOKIE_PENDING = "auth_cookie_pending"  # the token to write into the cookie at the next run, or ""
COOKIE_REJECTED = "auth_cookie_rejected"  # the cookie token found ended: not tried again in this session
OIDC_REFUSED = "auth_oidc_refused"
LOGIN_MESSAGE = "auth_login_message"
SESSION_COOKIE = "worktrack_session"
COOKIE_MAX_AGE = 30 * 24 * 3600  # the browser may keep it a month; the server ends it after the idle timeout


def user_store() -> UserStore:
    """The users file (WORKTRACK_USERS or data/users.yaml), read afresh on every call."""
    from worktrack.auth import UserStore

    return UserStore()


def oidc_configured() -> bool:
    """True when secrets.toml has an [auth] section: single sign-on through st.login is offered."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file, or an unreadable one: no single sign-on
        return False


def _reset_session(keep_cookie_write: bool = False) -> None:
    """Forget everything in this Streamlit session except the language (and a pending cookie write)."""
    keep = {k: st.session_state[k] for k in ("lang", COOKIE_PENDING) if k in st.session_state
            and (k == "lang" or keep_cookie_write)}
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state.update(keep)


def sign_in(user: User, method: str, token: str | None = None) -> None:
    """Start a fresh session for `user`: nothing typed before signing in is carried over.

    Password and single sign-on sign-ins open a server-side session (or resume `token`); a new
    password session's token is written into the browser's cookie at the next run.
    """
    _reset_session()
    if method in ("password", "oidc"):
        if token is None:
            token = user_store().start_session(user)
            if method == "password":
                st.session_state[COOKIE_PENDING] = token
        st.session_state[SESSION_TOKEN] = token
    st.session_state[SESSION_USER] = user
    st.session_state[SESSION_METHOD] = method


def sign_out() -> None:
    """End every session of the account (this browser's cookie included) and, for single sign-on, st.logout."""
    method = st.session_state.get(SESSION_METHOD)
    user = st.session_state.get(SESSION_USER)
    if user is not None and not user.demo:
        user_store().end_sessions(user.username)
    _end_local_session()
    if method == "oidc":
        st.logout()


def _end_local_session() -> None:
    """Forget the identity here and clear the browser's cookie at the next run (the record is left alone)."""
    had_cookie = bool(st.session_state.get(SESSION_TOKEN)) or bool(_cookie_token())
    _reset_session()
    if had_cookie:
        st.session_state[COOKIE_PENDING] = ""
    # the cookie this connection arrived with is spent: do not try it again at every click
    st.session_state[COOKIE_REJECTED] = _cookie_token()


def _cookie_token() -> str | None:
    """The session token the browser sent when this Streamlit session connected, if any."""
    try:
        return st.context.cookies.get(SESSION_COOKIE) or None
    except Exception:  # noqa: BLE001 - no browser behind this run (AppTest, bare mode): no cookie
        return None


def session_cookie_script() -> str | None:
    """The script that writes (or clears) the session cookie in the browser, once, after sign-in or
    sign-out; None when there is nothing to write. The token is checked to be the signed token's
    alphabet before it is put into the script."""
    from worktrack.login_state import TOKEN_PATTERN

    token = st.session_state.pop(COOKIE_PENDING, None)
    if token is None:
        return None
    if token and not TOKEN_PATTERN.fullmatch(token):
        raise ValueError("refusing to write a malformed session token into a script")
    age = COOKIE_MAX_AGE if token else 0
    # HttpOnly cannot be set from a script (see the README's security notes); Secure when served over https.
    return ("<script>document.cookie = '" + SESSION_COOKIE + "=" + token + "; Path=/; SameSite=Strict; Max-Age="
            + str(age) + "' + (location.protocol === 'https:' ? '; Secure' : '');</script>")


def write_session_cookie() -> None:
    """Run the pending cookie write in the browser (called by the entry script on every run)."""
    script = session_cookie_script()
    if script is not None:
        st.html(script, unsafe_allow_javascript=True)


def _client_address() -> str | None:
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - no browser behind this run (AppTest): one shared client key
        return None


def login_with_password(username: str, password: str) -> AuthResult:
    """Check a password login (throttled per account and per client); sign in on success."""
    from worktrack.auth import AuthResult, UserStoreError

    try:
        result = user_store().authenticate(username or "", password or "", client=_client_address())
    except UserStoreError as exc:
        result = AuthResult(False, None, str(exc))
    if result.ok and result.user is not None:
        sign_in(result.user, "password")
    else:
        st.session_state[LOGIN_MESSAGE] = result.message
    return result


def sign_in_as_demo(user: User) -> None:
    """The demo role picker: only demo identities, only on a demo database."""
    if user.demo and demo_available():
        sign_in(user, "demo")


def _oidc_user() -> User | None:
    """After a single sign-on redirect: the account whose `email` is the provider's email, if enabled."""
    if not oidc_configured():
        return None
    info = st.user
    if not info.get("is_logged_in"):
        return None
    email = str(info.get("email") or "")
    user = user_store().find_by_email(email) if email else None
    if user is None or user.disabled:
        st.session_state[OIDC_REFUSED] = email or "-"
        return None
    sign_in(user, "oidc")
    return user


def oidc_refused() -> str | None:
    """The single sign-on email that matched no enabled account in this session, if any."""
    return st.session_state.get(OIDC_REFUSED)


def _resume_from_cookie() -> User | None:
    """A reload, a new tab or a bookmark: resume the session whose token the browser's cookie holds."""
    token = _cookie_token()
    if token is None or COOKIE_PENDING in st.session_state or st.session_state.get(COOKIE_REJECTED) == token:
        return None  # no cookie, or one this session has just replaced, cleared or found ended
    from worktrack.auth import UserStoreError

    try:
        user = user_store().resume_session(token)
    except UserStoreError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if user is None:
        st.session_state[COOKIE_PENDING] = ""  # an ended session: clear the stale cookie
        st.session_state[COOKIE_REJECTED] = token
        return None
    sign_in(user, "password", token=token)
    return user


def current_user() -> User | None:
    """The signed-in user of this session, checked against its session record and the users file on
    every run; None if nobody."""
    user = st.session_state.get(SESSION_USER)
    if user is None:
        return _resume_from_cookie() or _oidc_user()
    method = st.session_state.get(SESSION_METHOD)
    if method == "demo":
        if user.demo and demo_available():
            return user
        sign_out()
        return None
    if method == "oidc" and oidc_configured() and not st.user.get("is_logged_in"):
        sign_out()
        return None
    from worktrack.auth import UserStoreError

    try:
        fresh = user_store().resume_session(st.session_state.get(SESSION_TOKEN))
    except UserStoreError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if fresh is None or fresh.username != user.username or user.demo:
        _end_local_session()
        return None
    if fresh != user:
        st.session_state[SESSION_USER] = fresh
    return fresh


def signed_in_user() -> User | None:
    """The user current_user() checked at the start of this run (the entry script calls it first);
    cheap, for permission checks repeated within one page."""
    return st.session_state.get(SESSION_USER)


def may_open(user: User | None, url_path: str) -> bool:
    """Whether `user` sees a screen in the menu: 上报 needs a unit to upload for, 管理 an administrator.

    The pages check the same permissions themselves; this only decides what the menu offers.
    """
    from worktrack.auth import can_admin, can_review, uploadable_units

    if user is None:
        return False
    if url_path == "upload":
        return bool(uploadable_units(user, get_plan()))
    if url_path == "admin":
        return can_admin(user)
    if url_path in ("review", "remind"):
        return can_review(user)
    return True


def viewable_units() -> list[str]:
    """The reporting units the signed-in user may pick in unit filters (a community: its own)."""
    from worktrack.auth import can_view

    user = st.session_state.get(SESSION_USER)
    return [u.name for u in get_plan().units if can_view(user, u.name)]


# ---------------------------------------------------------------------------
# The shared sidebar


def account_box(user: User) -> None:
    """Who is signed in, as what, for which unit; the sign-out button."""
    box = st.sidebar.container(border=True)
    # Names come from the users file: shown as plain text, never as markdown.
    box.text(user.display_name)
    box.caption(t(f"login.role_{user.role}") + (f" · {t('login.demo_identity')}" if user.demo else ""))
    if user.unit:
        box.text(f"{t('login.unit')}：{user.unit}")
    box.button(t("login.logout"), key="logout", icon=":material/logout:", on_click=sign_out, width="stretch")


def sidebar(user: User | None = None) -> None:
    """Language; when signed in: the account, as-of month and reporting-unit filter; the demo banner."""
    language_selector()
    plan_selector()
    plan = get_plan()
    st.sidebar.caption(plan.title)
    if user is None:
        return
    account_box(user)
    latest = _guarded(_latest_month, _store_key(), data_version())
    months = [m for m in plan.months if latest is None or m <= max(latest, plan.start_month)]
    if st.session_state.get("as_of") not in months:
        # the latest month whose reports are all in or due: one unit filing early moves nobody
        default = _guarded(_default_month, _store_key(), data_version(), os.path.getmtime(plan_file()), today(),
                           approved_only())
        st.session_state["as_of"] = default if default in months else months[-1]
    from worktrack.views import month_label, reporting_badge

    # format functions bind the language now: AppTest calls them outside the script run
    current = lang()
    all_units = t("sidebar.all_units")
    st.sidebar.selectbox(t("sidebar.as_of"), months, key="as_of", format_func=lambda m: month_label(m, current))
    st.sidebar.caption(reporting_badge(status(st.session_state["as_of"]), current))
    units = [None, *viewable_units()]
    if st.session_state.get("unit_filter") not in units:
        st.session_state["unit_filter"] = None
    st.sidebar.selectbox(t("sidebar.unit_filter"), units, key="unit_filter",
                         format_func=lambda u: all_units if u is None else u)
    # 含待审核: leaders' figures are approved reports only unless switched on
    from worktrack.views.cycle import figures_banner

    st.sidebar.toggle(t("cycle.include_pending"), key=INCLUDE_PENDING, help=t("cycle.include_pending_help"))
    st.sidebar.caption(figures_banner(status(st.session_state["as_of"]), current))
    if approved_only():
        # a later month whose reports wait for review: say why it is not the figures shown
        for month, n in _guarded(_awaiting_review, _store_key(), data_version()).items():
            if month > st.session_state["as_of"]:
                st.sidebar.caption(t("cycle.later_awaiting", month=month_label(month, current), n=n))
    if demo_mode():
        st.warning(t("app.demo_banner"), icon=":material/science:")


def as_of() -> str:
    plan = get_plan()
    return st.session_state.get("as_of") or _guarded(_latest_month, _store_key(), data_version()) or plan.start_month


def unit_filter() -> str | None:
    return st.session_state.get("unit_filter")


def confirm_buttons(yes_label: str, no_label: str, key: str, *, open_flag: str, confirmed_flag: str, value) -> None:
    """The yes / no pair inside a confirmation dialog: yes records `value` under `confirmed_flag`,
    both close the dialog (clear `open_flag`) and rerun."""
    yes, no = st.columns(2)
    if yes.button(yes_label, type="primary", key=f"{key}_yes", width="stretch"):
        st.session_state.pop(open_flag, None)
        st.session_state[confirmed_flag] = value
        st.rerun()
    if no.button(no_label, key=f"{key}_no", width="stretch"):
        st.session_state.pop(open_flag, None)
        st.rerun()


# ---------------------------------------------------------------------------
# Tables whose sentences must be read in full (the attention list): wrapped, never cut off

_WRAPPED_CSS = """
<style>
.wt-wrapped { width: 100%; border-collapse: collapse; font-size: 0.95rem; }
.wt-wrapped th { text-align: left; border-bottom: 2px solid #d0d5dd; padding: 6px 8px; white-space: nowrap; }
.wt-wrapped td { border-bottom: 1px solid #e6e9ef; padding: 6px 8px; vertical-align: top;
                 white-space: normal; overflow-wrap: anywhere; }
.wt-wrapped td:first-child { white-space: nowrap; }
@media (max-width: 640px) {
  .wt-wrapped thead { display: none; }
  .wt-wrapped tr { display: block; border-bottom: 1px solid #d0d5dd; padding: 6px 0; }
  .wt-wrapped td { display: block; border: none; padding: 2px 4px; }
  .wt-wrapped td::before { content: attr(data-label) ": "; color: #57606a; font-size: 0.85rem; }
}
</style>
"""


def wrapped_table(frame, max_rows: int | None = None) -> None:
    """A table whose text wraps (at 1440 px and at 390 px alike); every cell is escaped plain text."""
    import html

    rows = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows.columns)
    body = "".join(
        "<tr>" + "".join(f'<td data-label="{html.escape(str(c))}">{html.escape(str(v))}</td>'
                         for c, v in zip(rows.columns, row, strict=True)) + "</tr>"
        for row in rows.itertuples(index=False)
    )
    st.html(f'{_WRAPPED_CSS}<table class="wt-wrapped"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')

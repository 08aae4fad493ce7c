"""例会: the review meeting for a projector and a clicker, the presenter's own view, and the pack exports.

The slides are presented on a 16:9 stage (keys → ← PageDown PageUp Space Home End, F for full screen,
Esc to leave); "演讲者视图" opens the same deck in a second tab with the next slide and the notes.
Everyone signed in may follow the slides; building the pack is for leaders and administrators.
"""

import streamlit as st

from app_support import (
    approved_only,
    as_of,
    current_user,
    frozen_meeting,
    get_plan,
    get_store,
    lang,
    meeting_view,
    slide_deck,
    status,
    t,
    today,
    unit_filter,
)
from worktrack import export
from worktrack.auth import can_export
from worktrack.views import date_label, month_label

EXPORTS = "meeting_exports"
STAGE_HEIGHT = 640  # the stage letterboxes a 16:9 slide into whatever width the page has
PRESENTER_HEIGHT = 900

# The presenter's tab shows nothing but the presenter view. No data goes into this CSS.
PRESENTER_ONLY = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stMainMenu"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: none !important; }
</style>"""

plan = get_plan()
month = as_of()
unit = unit_filter()
language = lang()
presenter = st.query_params.get("view") == "presenter"

deck_id = f"{plan.id}:{month}:{unit or '*'}:{language}"  # the slide a browser was on survives a reload
with st.spinner():
    # a closed month is presented, and its pack built, from what was frozen when it was closed
    view = meeting_view(month, unit, language, deck_id, "presenter" if presenter else "stage")

if presenter:
    st.html(PRESENTER_ONLY)
    st.iframe(view.stage, height=PRESENTER_HEIGHT)
    st.stop()

st.caption(view.caption + " · " + t("meeting.count", n=len(view.notes)))
if view.frozen_on is not None:
    st.info(t("meeting.frozen", month=month_label(month, language), date=date_label(view.frozen_on, language)),
            icon=":material/lock:")
st.iframe(view.stage, height=STAGE_HEIGHT)
st.caption(t("meeting.stage_help"))

# drawn only while open: a city's 2,400 slides make 15 MB of notes, which no rerun should send unasked
notes = st.expander(t("meeting.notes"), icon=":material/record_voice_over:", key="meeting_notes", on_change="rerun")
if notes.open:
    with notes:
        st.html(view.notes_html)  # one block: a city's deck has thousands of slides

# -- the pack handed out after the meeting
st.divider()
st.subheader(t("meeting.export_header"))
if not can_export(current_user()):
    st.info(t("meeting.export_denied"), icon=":material/lock:")
    st.stop()
st.caption(t("meeting.export_caption"))
pdf_problem = export.pdf_problem(language)
def pack_parts():
    """(report, pack facts or None, slides, date) behind the stage: read only when a pack is built."""
    frozen = frozen_meeting(month, unit, language)
    if frozen is not None:
        return frozen
    return status(month, unit), None, slide_deck(month, unit, language), today()


def pack_facts(facts):
    """The pack's fact rows: frozen at the close, or the figures on screen (approved only unless 含待审核)."""
    from worktrack.cycle import pack_facts as ordered

    return facts if facts is not None else ordered(get_store().facts(through=month, approved_only=approved_only()))


def build(fmt: str) -> bytes:
    """The pack in one format; PPTX and XLSX are the same bytes as `export` on the command line."""
    report, facts, slides, generated = pack_parts()
    if fmt == "pdf":
        return export.pdf_bytes(plan, report, lang=language, slides=slides, generated=generated)
    from worktrack.stable_zip import stable_zip

    if fmt == "pptx":
        data = export.pptx_bytes(plan, report, lang=language, slides=slides, generated=generated)
    else:
        data = export.xlsx_bytes(plan, report, pack_facts(facts), lang=language, generated=generated)
    return stable_zip(data, generated)


built = st.session_state.setdefault(EXPORTS, {})
version = (language, view.fingerprint)  # new data (an upload, another month) needs a new file
formats = ("pptx", "xlsx", "pdf")
for column, fmt in zip(st.columns(len(formats)), formats, strict=True):
    with column:
        unavailable = fmt == "pdf" and pdf_problem is not None
        if unavailable:
            st.warning(pdf_problem, icon=":material/warning:")
        if st.button(t(f"meeting.build_{fmt}"), key=f"meeting_build_{fmt}", icon=":material/build:",
                     disabled=unavailable, width="stretch"):
            with st.spinner(t("meeting.building", fmt=fmt.upper())):
                try:
                    built[fmt] = (version, build(fmt))
                except export.ExportUnavailable as exc:
                    st.error(str(exc), icon=":material/error:")
        if fmt in built and built[fmt][0] == version:
            st.download_button(t(f"meeting.download_{fmt}"), built[fmt][1],
                               file_name=view.file_names[fmt], mime=export.EXPORT_FORMATS[fmt],
                               key=f"meeting_download_{fmt}", on_click="ignore", icon=":material/download:",
                               type="primary", width="stretch")

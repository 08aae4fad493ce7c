"""例会: the review meeting on the big screen, one slide at a time, with presenter notes and the pack exports.

Everyone signed in may follow the slides; building the pack is for leaders and administrators.
"""

import streamlit as st

from app_support import as_of, current_user, get_plan, get_store, lang, slide_deck, status, t, unit_filter
from worktrack import export
from worktrack.auth import can_export
from worktrack.charts import month_label

SLIDE = "meeting_slide"
EXPORTS = "meeting_exports"
ROW_HEIGHT = 52
TABLE_WIDTH = 960  # pixels shared out by the slide's relative column widths

# Font sizes only, so the back of a meeting room can read the screen. No data goes into this HTML.
ROOM_TYPE = """<style>
[data-testid="stMain"] h1 { font-size: 3.2rem; }
[data-testid="stMain"] h3 { font-size: 1.9rem; }
[data-testid="stMetricLabel"] p { font-size: 1.5rem; }
[data-testid="stMetricValue"] { font-size: 2.6rem; }
[data-testid="stMetricDelta"] { font-size: 1.15rem; }
[data-testid="stMain"] [data-testid="stText"] { font-size: 1.45rem; }
[data-testid="stExpander"] [data-testid="stText"] { font-size: 1.3rem; }
</style>"""
st.markdown(ROOM_TYPE, unsafe_allow_html=True)

plan = get_plan()
month = as_of()
unit = unit_filter()
language = lang()

with st.spinner():
    report = status(month, unit)
    slides = slide_deck(month, unit, language)
total = len(slides)
if st.session_state.get(SLIDE) not in range(total):
    st.session_state[SLIDE] = 0


def step(delta: int) -> None:
    st.session_state[SLIDE] = min(max(st.session_state.get(SLIDE, 0) + delta, 0), total - 1)


current = st.session_state[SLIDE]
titles = [t("meeting.picker_item", n=i + 1, title=s.title) for i, s in enumerate(slides)]
st.caption(t("meeting.caption", month=month_label(month, language), unit=unit or t("sidebar.all_units"), n=total))
back, pick, forward = st.columns([1, 4, 1], vertical_alignment="bottom")
back.button(t("meeting.prev"), key="meeting_prev", icon=":material/arrow_back:", on_click=step, args=(-1,),
            disabled=current == 0, width="stretch")
pick.selectbox(t("meeting.picker"), list(range(total)), key=SLIDE, format_func=titles.__getitem__)
forward.button(t("meeting.next"), key="meeting_next", icon=":material/arrow_forward:", on_click=step, args=(1,),
               disabled=current == total - 1, width="stretch")

slide = slides[st.session_state[SLIDE]]
st.title(slide.title)
if slide.subtitle:
    st.text(slide.subtitle)

if slide.cards:
    for column, card in zip(st.columns(len(slide.cards)), slide.cards, strict=True):
        with column.container(border=True):
            st.metric(card.name, card.value, delta=f"{card.change_label} {card.change}", delta_color="off",
                      delta_arrow="off")
            st.text(card.status_label)
            st.text(f"{t('overview.target')} {card.target}" + (f" · {card.percent}" if card.percent else ""))

if slide.charts:
    for column, chart in zip(st.columns(len(slide.charts)), slide.charts, strict=True):
        column.plotly_chart(export.chart_figure(chart, height=480 if not slide.cards else 420), width="stretch",
                            config={"displayModeBar": False}, key=f"meeting_{chart.key}")

if slide.table is not None:
    table = slide.table
    scale = TABLE_WIDTH / sum(table.widths)
    st.dataframe(export.styled_table(table), hide_index=True, width="stretch", row_height=ROW_HEIGHT,
                 height=ROW_HEIGHT * (len(table.rows) + 1) + 2,
                 column_config={c: st.column_config.TextColumn(width=int(w * scale))
                                for c, w in zip(table.columns, table.widths, strict=False)})

for line in slide.bullets:
    st.text(f"• {line}")

with st.expander(t("meeting.notes"), icon=":material/record_voice_over:"):
    st.text(slide.notes)
st.text(t("meeting.page_of", n=st.session_state[SLIDE] + 1, total=total) + " · "
        + export.footer_text(plan, report, lang=language))

# -- the pack handed out after the meeting
st.divider()
st.subheader(t("meeting.export_header"))
if not can_export(current_user()):
    st.info(t("meeting.export_denied"), icon=":material/lock:")
    st.stop()
st.caption(t("meeting.export_caption"))
pdf_problem = export.pdf_problem(language)
builders = {
    "pptx": lambda: export.pptx_bytes(plan, report, lang=language, slides=slides),
    "xlsx": lambda: export.xlsx_bytes(plan, report, get_store().facts(through=month), lang=language),
    "pdf": lambda: export.pdf_bytes(plan, report, lang=language, slides=slides),
}
built = st.session_state.setdefault(EXPORTS, {})
version = (language, export.report_fingerprint(report))  # new data (an upload, another month) needs a new file
for column, fmt in zip(st.columns(len(builders)), builders, strict=True):
    with column:
        unavailable = fmt == "pdf" and pdf_problem is not None
        if unavailable:
            st.warning(pdf_problem, icon=":material/warning:")
        if st.button(t(f"meeting.build_{fmt}"), key=f"meeting_build_{fmt}", icon=":material/build:",
                     disabled=unavailable, width="stretch"):
            with st.spinner(t("meeting.building", fmt=fmt.upper())):
                try:
                    built[fmt] = (version, builders[fmt]())
                except export.ExportUnavailable as exc:
                    st.error(str(exc), icon=":material/error:")
        if fmt in built and built[fmt][0] == version:
            st.download_button(t(f"meeting.download_{fmt}"), built[fmt][1],
                               file_name=export.export_file_name(plan, report, fmt), mime=export.EXPORT_FORMATS[fmt],
                               key=f"meeting_download_{fmt}", on_click="ignore", icon=":material/download:",
                               type="primary", width="stretch")

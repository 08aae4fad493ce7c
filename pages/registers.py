"""台账: browse and search the three registers (masked), counts, cross-unit duplicates, evidence."""

import streamlit as st

from app_support import current_user, get_plan, get_store, lang, register_overview, t, viewable_units
from worktrack.auth import can_upload
from worktrack.registers import REGISTER_KINDS
from worktrack.registers.evidence import MAX_EVIDENCE_BYTES, attach, row_attachments, thumbnail
from worktrack.registers.upload import can_unmask
from worktrack.tables import csv_bytes
from worktrack.views.registers import (
    duplicates_table,
    kind_title,
    register_counts_table,
    register_row_label,
    register_table,
)

plan = get_plan()
store = get_store()
user = current_user()
language = lang()

st.title(t("registers2.page_title"))
st.caption(t("registers2.page_caption"))
units = viewable_units()
if not units:
    st.error(t("registers2.refused"), icon=":material/block:")
    st.stop()

kind_column, unit_column = st.columns(2)
kind = kind_column.selectbox(t("registers2.kind_label"), REGISTER_KINDS, key="registers_kind",
                             format_func=lambda k: kind_title(k, language))
street_wide = len(units) > 1
ALL = "__all__"
unit_choices = [ALL, *units] if street_wide else units
unit = unit_column.selectbox(t("registers2.unit_filter"), unit_choices, key="registers_unit",
                             format_func=lambda u: t("registers2.all_units") if u == ALL else u)
search = st.text_input(t("registers2.search"), key="registers_search")

rows = store.register_rows(kind, None if unit == ALL else unit)
if not street_wide:
    rows = rows[rows["reporting_unit"].isin(units)]
own_unit = user.unit if can_unmask(user, user.unit) else None
unmask = own_unit is not None and st.toggle(t("registers2.unmask"), key="registers_unmask",
                                            help=t("registers2.unmask_help"))
table = register_table(rows, kind, language, unmasked_unit=own_unit if unmask else None, search=search)
if unmask:
    shown_own = int((rows["reporting_unit"] == own_unit).sum()) if len(rows) else 0
    store.record_unmasked_view(actor=user.username, kind=kind, unit=own_unit, rows=shown_own,
                               searched=bool(search.strip()))
    st.info(t("registers2.unmasked_note"), icon=":material/visibility:")
else:
    st.caption(t("registers2.masked_note"))
if len(table):
    st.dataframe(table, hide_index=True, width="stretch", key="registers_table")
    st.caption(t("registers2.rows_count", n=len(table)))
    masked = register_table(rows, kind, language, search=search)  # the download is always masked
    st.download_button(t("registers2.download_csv"), csv_bytes(masked),
                       file_name=f"{kind_title(kind, 'zh')}-{'全部' if unit == ALL else unit}.csv", mime="text/csv",
                       key="registers_download", on_click="ignore")
else:
    st.info(t("registers2.empty"), icon=":material/inbox:")

# -- evidence: thumbnails of a row's attachments; the filing unit attaches more
if len(rows):
    st.subheader(t("registers2.evidence_heading"))
    labels = {i: register_row_label(row, kind) for i, row in enumerate(rows.itertuples(index=False))}
    picked = st.selectbox(t("registers2.evidence_row"), list(labels), format_func=labels.get, key="evidence_row")
    row = list(rows.itertuples(index=False))[picked]
    attached = row_attachments(store.attachments(kind, row.reporting_unit), kind, row)
    if len(attached):
        columns = st.columns(4)
        for i, item in enumerate(attached.itertuples(index=False)):
            data = store.attachment_bytes(item.sha256)
            with columns[i % 4]:
                small = thumbnail(data, item.media_type)
                if small is not None:
                    st.image(small, caption=item.file_name)
                else:
                    st.caption(f"{t('registers2.evidence_pdf')}: {item.file_name}")
                st.download_button(t("registers2.evidence_download", name=item.file_name), data,
                                   file_name=item.file_name, mime=item.media_type, key=f"evidence_{item.attachment_id}",
                                   on_click="ignore")
    else:
        st.caption(t("registers2.evidence_none"))
    if can_upload(user, row.reporting_unit):
        st.caption(t("registers2.evidence_caption", mb=MAX_EVIDENCE_BYTES // (1024 * 1024)))
        round_ = st.session_state.setdefault("evidence_round", 0)
        evidence = st.file_uploader(t("registers2.evidence_file"), type=["jpg", "jpeg", "png", "pdf"],
                                    key=f"evidence_file_{round_}",
                                    max_upload_size=MAX_EVIDENCE_BYTES // (1024 * 1024))
        if evidence is not None and st.button(t("registers2.evidence_add"), key="evidence_add",
                                              icon=":material/attach_file:"):
            added, problem = attach(store, user, kind, row, evidence.getvalue(), evidence.name)
            if problem:
                st.error(problem, icon=":material/block:")
            else:
                st.session_state["evidence_round"] = round_ + 1
                st.rerun()

st.subheader(t("registers2.counts_heading"))
figures, found = register_overview()
figures = figures[figures["reporting_unit"].isin(units)]
st.dataframe(register_counts_table(plan, figures, language), hide_index=True, width="stretch")

if street_wide:
    st.subheader(t("registers2.duplicates_heading"))
    if found:
        st.dataframe(duplicates_table(found, language), hide_index=True, width="stretch")
    else:
        st.caption(t("registers2.duplicates_none"))

"""worktrack dashboard entry: page config, navigation over pages/, shared sidebar."""

import streamlit as st

from app_support import sidebar, t

st.set_page_config(page_title="工作要点目标跟踪", page_icon=":material/checklist:", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", url_path="overview", default=True),
    st.Page("pages/plan.py", title=t("nav.plan"), icon=":material/flag:", url_path="plan"),
    st.Page("pages/community.py", title=t("nav.community"), icon=":material/groups:", url_path="community"),
]

pg = st.navigation(PAGES)
sidebar()
pg.run()

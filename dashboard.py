"""worktrack dashboard entry: page config, navigation over pages/, shared sidebar."""

import streamlit as st

from app_support import get_plan, language_selector, t

st.set_page_config(page_title="工作要点目标跟踪", page_icon="📋", layout="wide")

language_selector()
plan = get_plan()
st.sidebar.caption(plan.title)

PAGES = [
    st.Page("pages/plan.py", title=t("nav.plan"), icon="🎯", url_path="plan", default=True),
]

pg = st.navigation(PAGES)
pg.run()

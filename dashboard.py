"""worktrack dashboard entry: page config, sign-in, navigation by role over pages/, shared sidebar."""

import streamlit as st

from app_support import current_user, may_open, mobile_css, sidebar, t, write_session_cookie

st.set_page_config(page_title="工作要点目标跟踪", page_icon=":material/checklist:", layout="wide")
mobile_css()

user = current_user()
write_session_cookie()  # after signing in or out: the browser's session cookie follows


def page(path: str, title: str, icon: str, url_path: str, default: bool = False) -> st.Page:
    """One screen. A role that may not use it does not see it in the menu; its address still opens the
    page, which then refuses by itself (so a stale link shows a clear refusal, not "page not found")."""
    shown = user is not None and may_open(user, url_path)
    return st.Page(path, title=title, icon=icon, url_path=url_path, default=default,
                   visibility="visible" if shown else "hidden")


# Every screen, in menu order; who may open which is app_support.may_open.
PAGES = [
    page("pages/overview.py", t("nav.overview"), ":material/dashboard:", "overview", default=True),
    page("pages/plan.py", t("nav.plan"), ":material/flag:", "plan"),
    page("pages/community.py", t("nav.community"), ":material/groups:", "community"),
    page("pages/meeting.py", t("nav.meeting"), ":material/co_present:", "meeting"),
    page("pages/upload.py", t("nav.upload"), ":material/upload_file:", "upload"),
    page("pages/registers.py", t("registers2.page_title"), ":material/menu_book:", "registers"),
    page("pages/review.py", t("cycle.review.title"), ":material/fact_check:", "review"),
    page("pages/remind.py", t("cycle.remind.title"), ":material/campaign:", "remind"),
    page("pages/admin.py", t("nav.admin"), ":material/admin_panel_settings:", "admin"),
]

if user is None:
    # Signed out, every address shows the sign-in form: a deep link, or the page one just signed out
    # of, never meets "page not found", and after signing in the same address opens that page.
    login = [st.Page("pages/login.py", title=t("login.nav"), icon=":material/login:", url_path="login", default=True)]
    login += [st.Page("pages/login.py", title=t("login.nav"), url_path=p.url_path, visibility="hidden")
              for p in PAGES if p.url_path]  # the default page's address is the site root
    pg = st.navigation(login, position="hidden")
else:
    pg = st.navigation(PAGES)
sidebar(user)
pg.run()

"""peerstudy dashboard: the entry file is a router (``streamlit run dashboards/app.py``).

Reads the database from ``$PEERSTUDY_DB``. It logs the user in, ends idle sessions, shows the
red "DEMO DATA" banner in a demo study, the phase banner and the language switch, and offers the pages of the user's role
(:mod:`dashboards.page_registry`); the pages themselves are thin.
"""

import sys
from pathlib import Path

# `streamlit run dashboards/app.py` puts dashboards/ on sys.path, not the project: put the
# project first so that this checkout's packages are the ones imported.
ROOT = str(Path(__file__).resolve().parent.parent)
if sys.path[0] != ROOT:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from dashboards.actions import survey_language  # noqa: E402
from dashboards.i18n import LANGUAGES  # noqa: E402
from dashboards.page_registry import LOGIN_PAGE, SURVEY_PAGE, pages_for  # noqa: E402
from dashboards.ui import data, state  # noqa: E402
from dashboards.ui.widgets import show_demo_banner, show_phase_banner  # noqa: E402

HERE = Path(__file__).parent
# One name for each of LANGUAGES (the language picker shows it).
LANGUAGE_NAMES = {"en": "English", "da": "Dansk"}


def _page(spec, default: bool = False) -> st.Page:
    return st.Page(
        str(HERE / spec.path),
        title=state.t(spec.title),
        icon=spec.icon,
        url_path=spec.url,
        default=default,
    )


st.set_page_config(page_title="peerstudy", page_icon=":material/diversity_3:", layout="wide")
# A participant's survey link opens in their study's language (Danish for a Danish study);
# looked up once per browser session.
survey_token = st.query_params.get("survey") if state.LANG not in st.session_state else None
state.init(survey_language(data.engine(), survey_token) if survey_token else None)
st.sidebar.selectbox(
    state.t("common.language"), LANGUAGES, key=state.LANG, format_func=LANGUAGE_NAMES.__getitem__
)

viewer = state.current_viewer()
if viewer is not None and not data.viewer_still_valid(viewer):
    state.log_out()  # deactivated, or role or site changed by an admin
    viewer = None
if "survey" in st.query_params:
    # A participant's one-time link: nothing but their own questionnaire, no login (issue 4).
    navigation = st.navigation([_page(SURVEY_PAGE, default=True)], position="hidden")
elif viewer is None:
    navigation = st.navigation([_page(LOGIN_PAGE, default=True)], position="hidden")
else:
    info = data.study_info(viewer)
    sections: dict[str, list] = {}
    for i, spec in enumerate(pages_for(viewer.role)):
        sections.setdefault(state.t(spec.section), []).append(_page(spec, default=i == 0))
    navigation = st.navigation(sections)
    where = viewer.site_code or state.t("common.all_sites")
    st.sidebar.caption(
        state.t("auth.signed_in_as", login=viewer.login, role=state.t(f"role.{viewer.role}"), site=where)
    )
    if st.sidebar.button(state.t("auth.log_out"), key="log_out"):
        state.log_out()
        st.rerun()
    show_demo_banner(info)
    show_phase_banner(info)
navigation.run()

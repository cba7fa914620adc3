"""The participant survey, opened by a personal one-time link (``?survey=TOKEN``, no login).

It shows nothing but that participant's own questionnaire. The link is checked and its
opening audited here (:func:`dashboards.actions.open_survey`); an invalid, expired, used or
replaced link shows one neutral message.

Slot for issue 4: the due questionnaires themselves (items with validation, saving as the
participant goes, phone-sized layout), then ``study.survey_links.use_link`` when complete.
"""

import streamlit as st

from dashboards.actions import open_survey
from dashboards.ui import data, state
from study.errors import PeerstudyError

state.init()
token = st.query_params.get("survey", "")
st.title(state.t("nav.survey"))
# Open (and audit) the link once per browser session, not on every rerun.
opened_key = f"survey_opened_{token}"
if opened_key not in st.session_state:
    try:
        st.session_state[opened_key] = open_survey(data.engine(), token)
    except PeerstudyError:
        st.session_state[opened_key] = None
link = st.session_state[opened_key]
if link is None:
    st.error(state.t("survey.invalid"))
    st.stop()
st.write(state.t("survey.welcome"))
st.info(state.t("slot.pending", issue="4"))

"""Slot for issue 4.

Enter one questionnaire of one participant and timepoint with validation per item, through the single-response Python API of issue 4; coordinators create and resend participants' one-time survey links here.

Until then the page says what will be here. Keep the page thin: widgets → domain function
(taking a `dashboards.access.Viewer` or checking it) → render, with texts from the message
catalogues.
"""

import streamlit as st

from dashboards.ui import state

state.require_viewer()
st.title(state.t("nav.questionnaire"))
st.info(state.t("slot.pending", issue="4"))

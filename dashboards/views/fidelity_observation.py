"""Slot for issue 5.

Log a fidelity observation of one group session: the manual's components for that week as a checklist (2/1/0/not applicable), competence ratings, minutes, participants present, notes; through the observation API of issue 5. The browser test (tests/test_dashboard_browser.py) switches to this form when it exists.

Until then the page says what will be here. Keep the page thin: widgets → domain function
(taking a `dashboards.access.Viewer` or checking it) → render, with texts from the message
catalogues.
"""

import streamlit as st

from dashboards.ui import state

state.require_viewer()
st.title(state.t("nav.fidelity"))
st.info(state.t("slot.pending", issue="5"))

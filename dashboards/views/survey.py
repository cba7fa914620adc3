"""Slot for issue 4.

The participant survey opened by a personal one-time link (`?survey=TOKEN`, no login): it shows nothing but that participant's due questionnaires, works on a phone and saves as they go; every use is audited. The router already sends such links here without a login.

Until then the page says what will be here. Keep the page thin: widgets → domain function
(taking a `dashboards.access.Viewer` or checking it) → render, with texts from the message
catalogues.
"""

import streamlit as st

from dashboards.ui import state

state.init()
st.title(state.t("nav.survey"))
st.info(state.t("slot.pending", issue="4"))

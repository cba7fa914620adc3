"""Slot for issue 3.

Randomise one eligible, consented participant of the coordinator's site, with a confirmation step and the result shown once. Call the randomisation domain function of issue 3 with the viewer's login as actor (`unit_of_work(engine, viewer.login)`), after `viewer.require_edit(person.site_id, ...)`.

Until then the page says what will be here. Keep the page thin: widgets → domain function
(taking a `dashboards.access.Viewer` or checking it) → render, with texts from the message
catalogues.
"""

import streamlit as st

from dashboards.ui import state

state.require_viewer()
st.title(state.t("nav.randomise"))
st.info(state.t("slot.pending", issue="3"))

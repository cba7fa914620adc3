"""Slot for issue 6.

Outcomes by arm and timepoint, the effect table and forest plot, the CONSORT diagram and the data-quality status from the pipelines of issue 6; blinded arm codes until unblinding (`dashboards.queries.scope.arm_view`).

Until then the page says what will be here. Keep the page thin: widgets → domain function
(taking a `dashboards.access.Viewer` or checking it) → render, with texts from the message
catalogues.
"""

import streamlit as st

from dashboards.ui import state

state.require_viewer()
st.title(state.t("nav.analysis"))
st.info(state.t("slot.pending", issue="6"))

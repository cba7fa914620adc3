"""Analysis: outcomes by arm and timepoint, the ITT ANCOVA of the primary outcome with its
forest plot, and the CONSORT diagram; blinded arm codes until unblinding.

One snapshot of the database, analysed on the fly and cached (:func:`dashboards.queries.analysis.analysis_view`;
no multiple imputation here: ``peerstudy analyse`` runs the full plan).
"""

import streamlit as st

from dashboards.ui import data, state
from dashboards.ui.widgets import table

viewer = state.require_viewer()
t = state.t
st.title(t("analysis.title"))
if viewer.role not in ("researcher", "statistician"):
    st.warning(t("analysis.analysts_only"))
    st.stop()

view = data.query("analysis", viewer)
if view.blinded:
    st.info(t("analysis.blinded"))
st.subheader(t("analysis.outcomes", outcome=view.primary))
table(view.outcomes, "outcomes_by_arm")
st.subheader(t("analysis.effects"))
st.caption(t("analysis.effects_note"))
table(view.effects, "effects_itt_ancova")
st.markdown(view.forest_svg, unsafe_allow_html=True)
for problem in view.problems:
    st.caption(problem)
st.subheader(t("analysis.consort"))
st.markdown(view.consort_svg, unsafe_allow_html=True)

"""Interim (DMC): the data monitoring committee's unblinded comparison by real arm before the
analysis phase; every opening is audited (:func:`dashboards.queries.interim.interim_view`).
Not cached: each visit is a recorded disclosure."""

import streamlit as st

from dashboards.i18n.formats import format_datetime
from dashboards.queries.analysis import effects_for_display
from dashboards.queries.interim import interim_view
from dashboards.ui import data, state
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError

viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("interim.title"))
if viewer.role != "dmc":
    st.warning(t("interim.dmc_only"))
    st.stop()
try:
    view = interim_view(data.engine(), viewer)
except PeerstudyError as exc:
    show_error(exc)
    st.stop()
st.error(t("interim.confidential", who=view.opened_by, when=f"{format_datetime(view.opened_at, lang)} UTC"))
st.subheader(t("interim.outcomes", outcome=view.primary))
table(view.outcomes, "interim_outcomes_by_arm_UNBLINDED")
st.subheader(t("interim.effects"))
table(effects_for_display(view.effects), "interim_effects_UNBLINDED")

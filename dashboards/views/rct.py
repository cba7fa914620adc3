"""RCT overview: recruitment against target per site over time, allocation balance, retention.

Questionnaire completion (issue 4) and fidelity per group and site (issue 5) are added here
when those capabilities store their data: each gets its own section below the retention one.
"""

import streamlit as st

from dashboards.ui import data, state
from dashboards.ui.widgets import table

viewer = state.require_viewer()
t = state.t
st.title(t("rct.title"))

overview = data.query("rct_overview", viewer)
if overview.screened == 0:
    st.info(t("rct.no_participants"))
    st.stop()

summary = overview.summary
cols = st.columns(4)
cols[0].metric(t("rct.metric.screened"), int(summary["screened"].sum()))
cols[1].metric(t("rct.metric.recruited"), int(summary["consented"].sum()),
               help=t("rct.metric.recruited_help"))
cols[2].metric(t("rct.metric.randomised"), int(summary["randomised"].sum()))
cols[3].metric(t("rct.metric.target"), int(summary["target"].sum()))

st.subheader(t("rct.recruitment"))
if not overview.over_time.empty:
    labels = (t("rct.chart_title"), t("rct.recruited"), t("rct.target"))
    st.vega_lite_chart(spec=data.recruitment_spec(viewer, labels), width="stretch")
table(summary, "recruitment_by_site")

st.subheader(t("rct.allocation"))
if overview.balance.empty:
    st.info(t("rct.no_allocations"))
else:
    table(overview.balance, "allocation_balance")

st.subheader(t("rct.retention"))
st.caption(t("rct.retention_note"))
table(overview.retention, "retention_by_site")

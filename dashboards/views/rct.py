"""RCT overview: recruitment against target per site over time, allocation balance, retention.

Questionnaire completion (issue 4) and fidelity per group and site (issue 5) are added here
when those capabilities store their data: each gets its own section below the retention one.
"""

import streamlit as st

from dashboards.charts import recruitment_chart
from dashboards.queries.allocation import allocation_balance
from dashboards.queries.recruitment import (
    recruitment_over_time,
    recruitment_summary,
    retention_summary,
)
from dashboards.ui import data, state
from dashboards.ui.widgets import table

viewer = state.require_viewer()
t = state.t
st.title(t("rct.title"))

screening = data.query("screening", viewer, "rct")
targets = data.query("sites", viewer)
if screening.empty:
    st.info(t("rct.no_participants"))
    st.stop()

summary = recruitment_summary(screening, targets)
cols = st.columns(4)
cols[0].metric(t("rct.metric.screened"), int(summary["screened"].sum()))
cols[1].metric(t("rct.metric.recruited"), int(summary["consented"].sum()),
               help=t("rct.metric.recruited_help"))
cols[2].metric(t("rct.metric.randomised"), int(summary["randomised"].sum()))
cols[3].metric(t("rct.metric.target"), int(summary["target"].sum()))

st.subheader(t("rct.recruitment"))
over_time = recruitment_over_time(screening, targets)
if not over_time.empty:
    st.altair_chart(
        recruitment_chart(over_time, t("rct.chart_title"), t("rct.recruited"), t("rct.target")),
        width="stretch",
    )
table(summary, "recruitment_by_site")

st.subheader(t("rct.allocation"))
allocations = data.query("allocation", viewer)
if allocations.empty:
    st.info(t("rct.no_allocations"))
else:
    table(allocation_balance(allocations), "allocation_balance")

st.subheader(t("rct.retention"))
st.caption(t("rct.retention_note"))
table(retention_summary(screening), "retention_by_site")

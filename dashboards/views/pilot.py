"""Pilot: recruitment and groups per site, attendance and dose.

Fidelity observations (issue 5) and the feedback log on the manual join this page later.
"""

import streamlit as st

from dashboards.charts import attendance_chart
from dashboards.queries.groups import attendance_rates, dose_frame
from dashboards.queries.recruitment import recruitment_summary
from dashboards.ui import data, state
from dashboards.ui.widgets import table

viewer = state.require_viewer()
t = state.t
st.title(t("pilot.title"))

screening = data.query("screening", viewer, "pilot")
groups = data.query("groups", viewer, "pilot")
if screening.empty and groups.empty:
    st.info(t("pilot.empty"))
    st.stop()

st.subheader(t("pilot.recruitment"))
summary = recruitment_summary(screening, data.query("sites", viewer))
table(summary.drop(columns=["target", "randomised", "percent_of_target"]), "pilot_recruitment")

st.subheader(t("pilot.groups"))
table(groups, "pilot_groups")

st.subheader(t("pilot.attendance"))
attendance = data.query("attendance", viewer, "pilot")
if attendance.empty:
    st.info(t("pilot.no_attendance"))
    st.stop()
rates = attendance_rates(attendance)
st.altair_chart(
    attendance_chart(rates, t("pilot.attendance_chart"), t("pilot.percent_present"), t("common.week")),
    width="stretch",
)
info = data.study_info(viewer)
st.caption(t("pilot.dose_note", n=info["min_sessions"]))
table(dose_frame(attendance, info["min_sessions"]), "pilot_dose")

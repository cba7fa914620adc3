"""Pilot: recruitment and groups per site, attendance and dose, fidelity observations of the
pilot groups (against the manual version each ran) and the feedback log on the manual (a note
per session from leaders and participants, feeding the next manual version).
"""

import streamlit as st

from dashboards.actions import log_feedback
from dashboards.charts import attendance_chart, vega_spec
from dashboards.queries.groups import attendance_rates, dose_frame
from dashboards.queries.recruitment import recruitment_summary
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import table
from study.manual_feedback import FEEDBACK_KINDS, FEEDBACK_SOURCES, MAX_NOTE

viewer = state.require_viewer()
t = state.translator()
lang = state.language()
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
info = data.study_info(viewer)
if attendance.empty:
    st.info(t("pilot.no_attendance"))
else:
    rates = attendance_rates(attendance)
    chart = attendance_chart(
        rates,
        t("pilot.attendance_chart"),
        t("pilot.percent_present"),
        t("common.week"),
        t("column.group"),
        t("attendance.present"),
        t("column.recorded"),
    )
    st.vega_lite_chart(spec=vega_spec(chart, lang), width="stretch")
    st.caption(t("pilot.dose_note", n=info["min_sessions"]))
    table(dose_frame(attendance, info["min_sessions"]), "pilot_dose")

st.subheader(t("pilot.fidelity"))
st.caption(t("pilot.fidelity_note"))
fidelity = data.query("fidelity_groups", viewer)
table(
    fidelity[fidelity["phase"] == "pilot"].drop(columns=["phase"]),
    "pilot_fidelity_by_group",
    empty_key="pilot.no_observations",
)
table(
    data.query("fidelity_observations", viewer, "pilot"),
    "pilot_fidelity_observations",
    empty_key="pilot.no_observations",
)

st.subheader(t("feedback.title"))
st.caption(t("feedback.intro"))
if viewer.role == "coordinator" and not groups.empty:
    FORM = "feedback"
    with st.form(FORM, clear_on_submit=True):
        c1, c2 = st.columns(2)
        group = c1.selectbox(t("attendance.group"), groups["group"].tolist(), key="feedback_group")
        week = c2.number_input(
            t("common.week"), min_value=1, max_value=info["max_sessions"], step=1, key="feedback_week"
        )
        source = c1.selectbox(
            t("feedback.source"),
            FEEDBACK_SOURCES,
            key="feedback_source",
            format_func=lambda v: t(f"feedback.sources.{v}"),
        )
        kind = c2.selectbox(
            t("feedback.kind"),
            FEEDBACK_KINDS,
            key="feedback_kind",
            format_func=lambda v: t(f"feedback.kinds.{v}"),
        )
        note = st.text_area(t("feedback.note"), max_chars=MAX_NOTE, key="feedback_note")
        submitted = st.form_submit_button(t("feedback.submit"))
    if submitted:
        values = (group, int(week), source, kind, note.strip())
        saved = save(
            lambda: log_feedback(data.engine(), viewer, group, int(week), source, kind, note),
            form=FORM,
            submission=values,
        )
        if saved is not None:
            st.success(t("feedback.saved"))
# The log after the form, so that a note just saved is in it.
table(data.query("feedback", viewer, "pilot"), "manual_feedback", empty_key="feedback.empty")

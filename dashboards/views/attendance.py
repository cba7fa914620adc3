"""Coordinator work: record attendance of one session as a grid.

Group and week → the grid of the group's members (``st.data_editor``, one checkbox per
person) → :func:`dashboards.actions.save_attendance` (``study.groups.record_attendance``, one
audited transaction). Saving the same grid again changes nothing; a changed cell is an audited
correction.
"""

import streamlit as st

from dashboards.actions import save_attendance
from dashboards.i18n.formats import format_date
from dashboards.phase_rules import current_phase_first
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import show_error
from study.errors import PeerstudyError

FORM = "attendance"
viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("attendance.title"))
if viewer.role != "coordinator":
    st.warning(t("common.coordinators_only"))
    st.stop()

groups = data.query("groups", viewer)
# Groups of the running phase first: in the RCT the grid opens on an RCT group.
groups = current_phase_first(groups[groups["members"] > 0], data.study_info(viewer)["phase"])
if groups.empty:
    st.info(t("attendance.no_groups"))
    st.stop()
c1, c2 = st.columns(2)
group = c1.selectbox(t("attendance.group"), groups["group"].tolist(), key="attendance_group")
sessions = data.query("sessions", viewer, group)
week = c2.selectbox(
    t("attendance.week"),
    sessions["week"].tolist(),
    key="attendance_week",
    format_func=lambda w: t(
        "attendance.week_label", week=w, date=format_date(sessions.set_index("week").at[w, "held_on"], lang)
    ),
)
try:
    grid = data.query("session_grid", viewer, group, int(week))
except PeerstudyError as exc:
    show_error(exc)
    st.stop()

editor_key = f"attendance_grid_{group}_{week}"
fill = st.session_state.get(f"fill_{editor_key}")
if grid["present"].isna().any():
    st.caption(t("attendance.unrecorded"))
b1, b2, _ = st.columns([1, 1, 4])
if b1.button(t("attendance.all_present"), key="attendance_all_present"):
    st.session_state[f"fill_{editor_key}"] = fill = True
    st.session_state.pop(editor_key, None)
if b2.button(t("attendance.all_absent"), key="attendance_all_absent"):
    st.session_state[f"fill_{editor_key}"] = fill = False
    st.session_state.pop(editor_key, None)
if fill is not None:
    grid["present"] = fill
    st.caption(t("attendance.filled_present" if fill else "attendance.filled_absent"))
grid["present"] = grid["present"].fillna(False).astype(bool)

edited = st.data_editor(
    grid,
    key=editor_key,
    hide_index=True,
    disabled=["pseudonym"],
    width="stretch",
    column_config={
        "pseudonym": st.column_config.TextColumn(t("people.pseudonym")),
        "present": st.column_config.CheckboxColumn(t("attendance.present")),
    },
)
if st.button(t("attendance.save"), type="primary", key="attendance_save"):
    statuses = dict(zip(edited["pseudonym"], edited["present"].astype(bool)))
    submission = (group, int(week), tuple(sorted(statuses.items())))
    saved = save(
        lambda: save_attendance(data.engine(), viewer, group, int(week), statuses),
        form=FORM,
        submission=submission,
    )
    if saved is None:
        st.stop()
    st.session_state.pop(f"fill_{editor_key}", None)
    st.success(t("attendance.saved", n=saved.value, group=group, week=week))

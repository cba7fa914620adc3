"""Coordinator work: log a fidelity observation of one group session of the own site.

Group and week → the manual's components for that week as a checklist (2 fully / 1 partially /
0 not / not applicable), the competence items on the manual's scale, minutes, participants
present and notes → :func:`dashboards.actions.save_fidelity_observation`
(``study.fidelity.observations.record_observation`` restricted to the viewer's site, observer
= the login, one audited transaction). Any problem: one message listing all, nothing written.
"""

import datetime as dt

import streamlit as st

from dashboards.actions import save_fidelity_observation
from dashboards.i18n.formats import format_date
from dashboards.phase_rules import current_phase_first
from dashboards.queries.fidelity import observation_form
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import show_error
from study.errors import PeerstudyError
from study.fidelity.observations import ObservationInput

FORM = "fidelity"
NA = "na"
viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("fidelity_form.title"))
if viewer.role != "coordinator":
    st.warning(t("common.coordinators_only"))
    st.stop()

groups = data.query("groups", viewer)
if groups.empty:
    st.info(t("fidelity_form.no_groups"))
    st.stop()
# Groups of the current phase first: those are the ones being observed now.
groups = current_phase_first(groups, data.study_info(viewer)["phase"])
c1, c2 = st.columns(2)
group = c1.selectbox(t("fidelity_form.group"), groups["group"].tolist(), key="fidelity_group")
sessions = data.query("sessions", viewer, group)
sessions = sessions[~sessions["cancelled"].astype(bool)]
if sessions.empty:
    st.info(t("fidelity_form.no_sessions"))
    st.stop()
held = sessions.set_index("week")["held_on"]
week = c2.selectbox(
    t("fidelity_form.week"),
    sessions["week"].tolist(),
    key="fidelity_week",
    format_func=lambda w: t("attendance.week_label", week=w, date=format_date(held.at[w], lang)),
)
try:
    spec = observation_form(data.engine(), viewer, group, int(week))
except PeerstudyError as exc:
    show_error(exc)
    st.stop()

st.caption(
    t("fidelity_form.session", theme=spec.theme, minutes=spec.planned_minutes, version=spec.manual_version)
)
if spec.already_observed:
    st.warning(t("fidelity_form.already_observed", login=viewer.login))

score_label = {
    2: t("fidelity_form.fully"),
    1: t("fidelity_form.partially"),
    0: t("fidelity_form.not"),
    NA: t("fidelity_form.na"),
}
prefix = f"fidelity_{group}_{week}"
with st.form(f"{prefix}_form"):
    observed_on = st.date_input(
        t("fidelity_form.observed_on"),
        value=min(spec.held_on, dt.date.today()),
        key=f"{prefix}_date",
        max_value=dt.date.today(),
    )
    st.subheader(t("fidelity_form.components"))
    score_options: list[int | str] = [2, 1, 0, NA]
    components: dict[str, int | str | None] = {}  # a score 0-2, NA, or None (not rated yet)
    for cid, description, essential in spec.components:
        label = f"{description}" + ("" if essential else f" ({t('fidelity_form.optional')})")
        components[cid] = st.radio(
            label,
            score_options,
            index=None,
            horizontal=True,
            key=f"{prefix}_c_{cid}",
            format_func=score_label.get,
        )
    st.subheader(t("fidelity_form.competence", low=spec.scale_min, high=spec.scale_max))
    competence: dict[str, int | None] = {}  # None: not rated yet
    for iid, description in spec.competence:
        competence[iid] = st.radio(
            description,
            list(range(spec.scale_min, spec.scale_max + 1)),
            index=None,
            horizontal=True,
            key=f"{prefix}_k_{iid}",
            help=t("fidelity_form.competence_help"),
        )
    s1, s2 = st.columns(2)
    minutes = s1.number_input(
        t("fidelity_form.minutes"), min_value=0, max_value=600, value=None, step=1, key=f"{prefix}_minutes"
    )
    present = s2.number_input(
        t("fidelity_form.present"), min_value=0, value=None, step=1, key=f"{prefix}_present"
    )
    notes = st.text_area(t("fidelity_form.notes"), key=f"{prefix}_notes")
    submitted = st.form_submit_button(t("fidelity_form.submit"), type="primary")

if submitted:
    unrated = [d for cid, d, _ in spec.components if components[cid] is None]
    if unrated:
        st.error(t("fidelity_form.unrated", components="; ".join(unrated)))
        st.stop()
    # every component is rated here (an unrated one stopped the page just above)
    rated = {c: v for c, v in components.items() if v is not None}
    obs = ObservationInput(
        group=group,
        week=int(week),
        observer=viewer.login,
        observed_on=observed_on,
        components={c: (None if v == NA else int(v)) for c, v in rated.items()},
        competence={i: int(v) for i, v in competence.items() if v is not None},
        minutes=None if minutes is None else int(minutes),
        participants_present=None if present is None else int(present),
        notes=notes or None,
    )
    if save(lambda: save_fidelity_observation(data.engine(), viewer, obs), form=FORM, submission=obs) is None:
        st.stop()
    st.success(t("fidelity_form.saved", group=group, week=week))

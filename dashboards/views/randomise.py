"""Coordinator work: randomise one participant of the own site.

The pending list (eligible, consented, not allocated RCT participants of the site) → choose
one → a confirmation step → :func:`dashboards.actions.randomise_participant` (the same
``study.randomisation.randomise`` as ``peerstudy randomise``). The result (pseudonym and arm)
is shown once: it is taken out of the session state as it is shown; so is a refusal, shown
without the confirmation step. Refused outside the RCT phase, with the phase banner's wording.
"""

import streamlit as st

from dashboards.actions import randomise_participant
from dashboards.ui import data, state
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError

FORM = "randomise"
CONFIRM = "randomise_confirm"
RESULT = "randomise_result"
REFUSED = "randomise_refused"
viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("randomise.title"))
if viewer.role != "coordinator":
    st.warning(t("common.coordinators_only"))
    st.stop()

result = st.session_state.pop(RESULT, None)
if result is not None:
    pseudonym, arm, group = result
    st.success(t("randomise.result", pseudonym=pseudonym, arm=arm))
    if group:
        st.info(t("randomise.placed", pseudonym=pseudonym, group=group))
    st.caption(t("randomise.shown_once"))
refused = st.session_state.pop(REFUSED, None)
if refused is not None:
    show_error(refused)

phase = data.study_info(viewer)["phase"]
if phase != "rct":
    st.warning(
        t(
            "randomise.wrong_phase",
            phase=t(f"phase.name.{phase or 'setup'}"),
            rule=t("phase.rule.randomisation"),
        )
    )
    st.stop()

pending = data.query("pending_randomisation", viewer)
if pending.empty:
    st.info(t("randomise.none_pending"))
    st.stop()
st.caption(t("randomise.pending", n=len(pending)))
table(pending, "pending_randomisation", formatted=True)

chosen = st.session_state.get(CONFIRM)
if chosen is None:
    who = st.selectbox(t("randomise.participant"), pending["pseudonym"].tolist(), key="randomise_who")
    if st.button(t("randomise.start", pseudonym=who), key="randomise_start"):
        st.session_state[CONFIRM] = who
        st.rerun()
    st.stop()

st.warning(t("randomise.confirm_text", pseudonym=chosen))
c1, c2, _ = st.columns([1, 1, 3])
if c2.button(t("randomise.cancel"), key="randomise_cancel"):
    st.session_state.pop(CONFIRM, None)
    st.rerun()
if c1.button(t("randomise.confirm"), type="primary", key="randomise_confirm_button"):
    st.session_state.pop(CONFIRM, None)
    if state.is_repeat_submit(FORM, chosen):
        st.info(t("common.already_saved"))
        st.stop()
    try:
        allocation = randomise_participant(data.engine(), viewer, chosen)
    except PeerstudyError as exc:
        # Shown after a rerun, so the confirmation step (and its button) is gone with it.
        st.session_state[REFUSED] = exc
        data.clear()  # e.g. randomised meanwhile in another tab: the pending list must say so
        st.rerun()
    state.remember_submit(FORM, chosen)
    data.clear()
    st.session_state[RESULT] = (allocation.pseudonym, allocation.arm, allocation.group)
    st.rerun()

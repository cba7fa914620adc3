"""Admin: the study's phases with the switch to the next one (confirmation required; starting
the RCT locks the manual) and its configuration, amended in place with a reason (a protocol
amendment, :func:`study.amendments.amend_config`: what the data already depend on is refused),
and the statistical analysis plan with its SHA-256 and lock (``peerstudy sap lock``).
Both go through the CLI's functions and are audited.
"""

from functools import partial

import streamlit as st

from dashboards.actions import amend_study_config, start_study_phase
from dashboards.queries.study_settings import study_settings
from dashboards.ui import data, state
from dashboards.ui.saving import save
from dashboards.ui.widgets import show_error, table
from study.errors import PeerstudyError

viewer = state.require_viewer()
t = state.translator()
lang = state.language()
st.title(t("study_admin.title"))
try:
    settings = study_settings(data.engine(), viewer)
except PeerstudyError as exc:
    show_error(exc)
    st.stop()

st.subheader(t("study_admin.phases"))
current = t(f"phase.name.{settings.current or 'setup'}")
st.write(t("study_admin.current", phase=current))
table(settings.phases, "phases")
if settings.next_phase:
    nxt = t(f"phase.name.{settings.next_phase}")
    st.caption(t(f"study_admin.consequence.{settings.next_phase}"))
    sure = st.checkbox(t("study_admin.confirm", phase=nxt), key="phase_confirm")
    start = st.button(t("study_admin.start", phase=nxt), key="phase_start", disabled=not sure, type="primary")
    if start and save(partial(start_study_phase, data.engine(), viewer, settings.next_phase)):
        st.session_state.pop("phase_confirm", None)
        st.rerun()
else:
    st.caption(t("study_admin.last_phase"))

st.subheader(t("study_admin.sap"))
if settings.sap_lock is None:
    st.warning(t("study_admin.sap_not_locked", sha=settings.sap_sha256))
else:
    st.success(t("study_admin.sap_locked", sha=settings.sap_sha256, **settings.sap_lock))
if settings.sap_changed:
    st.warning(t("study_admin.sap_changed"))
st.code(settings.sap_document, language=None)

st.subheader(t("study_admin.config"))
st.caption(t("study_admin.config_help"))
st.download_button(
    t("study_admin.download"),
    settings.config_yaml.encode("utf-8"),
    file_name="study.yaml",
    mime="application/x-yaml",
    key="config_download",
)
with st.form("amend_config"):
    text = st.text_area("study.yaml", settings.config_yaml, height=400, key="config_text")
    reason = st.text_input(t("study_admin.reason"), key="config_reason")
    submitted = st.form_submit_button(t("study_admin.amend"), type="primary")
if submitted:
    amended = save(lambda: amend_study_config(data.engine(), viewer, text, reason))
    if amended is not None:
        st.success(t("study_admin.amended", sections=", ".join(amended.value.sections)))

"""The participant survey, opened by a personal one-time link (``?survey=TOKEN``, no login).

It shows nothing but that participant's own due questionnaires: one instrument at a time,
each item a choice among its response range (phone-sized: a single column). Every answer is
saved the moment it is given (:func:`dashboards.actions.save_survey_item`, a draft audited as
``survey-link``), so an interrupted participant finds their answers again, also through a
resent link; submitting the instrument records it as a response
(:func:`dashboards.actions.save_survey_answers`, ``questionnaires.capture.record_response``);
when nothing is left due the link is used up (``study.survey_links.use_link``). The link is checked and its
opening audited once per browser session (:func:`dashboards.actions.open_survey`); an invalid,
expired, used or replaced link shows one neutral message.
"""

import streamlit as st

from dashboards.actions import open_survey, save_survey_answers, save_survey_item, survey_draft, survey_due
from dashboards.queries.questionnaires import study_instrument_definitions
from dashboards.ui import data, state
from study.errors import NotAllowed, PeerstudyError

state.init()
t = state.t
token = st.query_params.get("survey", "")
st.title(t("nav.survey"))
# Open (and audit) the link once per browser session, not on every rerun.
opened_key = f"survey_opened_{token}"
if opened_key not in st.session_state:
    try:
        st.session_state[opened_key] = open_survey(data.engine(), token)
    except PeerstudyError:
        st.session_state[opened_key] = None
link = st.session_state[opened_key]
done_key = f"survey_done_{token}"
if st.session_state.get(done_key):
    st.success(t("survey.complete"))
    st.stop()
if link is None:
    st.error(t("survey.invalid"))
    st.stop()
try:
    due = survey_due(data.engine(), token)
except NotAllowed:
    st.error(t("survey.invalid"))
    st.stop()
st.write(t("survey.welcome"))
if due.empty:
    st.info(t("survey.nothing_due"))
    st.stop()
instruments = study_instrument_definitions(data.engine(), link.study_id)
st.caption(t("survey.progress", n=len(due)))
timepoint, instrument_id = due.at[0, "timepoint"], due.at[0, "instrument"]
inst = instruments[instrument_id]
st.subheader(inst.name)
codes = dict(inst.missing_codes)
prefix = f"survey_{timepoint}_{instrument_id}"
error_key = f"{prefix}__error"


def save_item(item_id: str, key: str) -> None:
    """Save one answer as it is given (a widget callback: runs before the page reruns)."""
    try:
        save_survey_item(data.engine(), token, timepoint, instrument_id, item_id, st.session_state[key])
        st.session_state.pop(error_key, None)
    except PeerstudyError as exc:
        st.session_state[error_key] = str(exc)


try:
    saved = survey_draft(data.engine(), token, timepoint, instrument_id)
except PeerstudyError:
    st.error(t("survey.invalid"))
    st.stop()
values = {}
for item in inst.items:
    scale = item.response_scale or inst.response_scale
    options = list(range(scale.min, scale.max + 1)) + sorted(c for c in codes if not scale.min <= c <= scale.max)

    def fmt(v, scale=scale):
        if v in codes and not scale.min <= v <= scale.max:
            return codes[v]
        return f"{v} – {scale.labels[v]}" if v in scale.labels else str(v)

    key = f"{prefix}_{item.id}"
    given = saved.get(item.id)
    values[item.id] = st.radio(
        item.wording or item.label, options, key=key, format_func=fmt,
        index=options.index(given) if given in options else None,
        on_change=save_item, args=(item.id, key),
    )
if st.session_state.get(error_key):
    st.error(t("survey.not_saved", reason=st.session_state[error_key]))
elif saved:
    st.caption(t("survey.saved_so_far", n=len(saved), total=len(inst.items)))
if st.button(t("survey.save"), type="primary", width="stretch", key=f"{prefix}__submit"):
    try:
        complete = save_survey_answers(data.engine(), token, timepoint, instrument_id, values)
    except PeerstudyError as exc:
        st.error(t("survey.not_saved", reason=str(exc)))
        st.stop()
    if complete:
        st.session_state[done_key] = True
    st.rerun()

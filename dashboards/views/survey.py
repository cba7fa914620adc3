"""The participant survey, opened by a personal one-time link (``?survey=TOKEN``, no login).

It shows nothing but that participant's own questionnaires of one timepoint (the link's, or
the current one; never a baseline once randomised: :mod:`questionnaires.self_completion`),
one instrument at a time with its place ("Questionnaire 2 of 4"), each item a choice among the
answers a self-reporting person may give (phone-sized: a single column), and a thank-you page
at the end. It opens in the study's language (``study.language``). Every answer is
saved the moment it is given (:func:`dashboards.actions.save_survey_item`, a draft audited as
``survey-link``), so an interrupted participant finds their answers again, also through a
resent link; submitting the instrument records it as a response
(:func:`dashboards.actions.save_survey_answers`, ``questionnaires.capture.record_response``);
when nothing is left due the link is used up (``study.survey_links.use_link``). The link is checked and its
opening audited once per browser session (:func:`dashboards.actions.open_survey`); an invalid,
expired, used or replaced link shows one neutral message.
"""

import streamlit as st

from dashboards.actions import (
    open_survey,
    save_survey_answers,
    save_survey_item,
    survey_draft,
    survey_language,
    survey_progress,
)
from dashboards.queries.questionnaires import study_instrument_definitions
from dashboards.ui import data, state
from questionnaires.self_completion import answer_options
from study.errors import NotAllowed, PeerstudyError

token = st.query_params.get("survey", "")
# Opened directly (not through the router): the study's language, once per browser session.
state.init(survey_language(data.engine(), token) if state.LANG not in st.session_state else None)
t = state.translator()
lang = state.language()
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
    # The thank-you page: nothing more to answer, the link is closed.
    st.title(t("survey.thank_you_title"))
    st.success(t("survey.complete"))
    st.stop()
st.title(t("nav.survey"))
if link is None:
    st.error(t("survey.invalid"))
    st.stop()
try:
    offer = survey_progress(data.engine(), token)
except NotAllowed:
    st.error(t("survey.invalid"))
    st.stop()
st.write(t("survey.welcome"))
if offer.open.empty:
    st.info(t("survey.nothing_due"))
    st.stop()
instruments = study_instrument_definitions(data.engine(), link.study_id)
st.caption(t("survey.progress", position=offer.position, total=offer.total))
st.progress(offer.answered / offer.total)
# cannot be None: an offer with open questionnaires names its timepoint (survey_offer)
assert offer.timepoint is not None
timepoint: str = offer.timepoint  # declared str: the widget callbacks below read it
instrument_id = offer.open.at[0, "instrument"]
inst = instruments[instrument_id]
st.subheader(inst.name)
prefer_not = t("survey.prefer_not_to_answer")
prefix = f"survey_{timepoint}_{instrument_id}"
error_key = f"{prefix}__error"


def save_item(item_id: str, key: str) -> None:
    """Save one answer as it is given (a widget callback: runs before the page reruns)."""
    try:
        save_survey_item(data.engine(), token, timepoint, instrument_id, item_id, st.session_state[key])
        st.session_state.pop(error_key, None)
    except PeerstudyError as exc:
        st.session_state[error_key] = str(exc)


def answer_label(value: int, labels: dict[int, str]) -> str:
    """An option as the participant reads it: the value with its scale label, or "prefer not
    to answer" for the instrument's missing code (never an interviewer's code)."""
    if value in inst.missing_codes:
        return prefer_not
    return f"{value} – {labels[value]}" if value in labels else str(value)


try:
    saved = survey_draft(data.engine(), token, timepoint, instrument_id)
except PeerstudyError:
    st.error(t("survey.invalid"))
    st.stop()
values = {}
for item in inst.items:
    # Only what a self-reporting person may answer: the scale, and "prefer not to answer"
    # where the instrument allows it (refused / don't know / not asked are interviewer codes).
    options = answer_options(inst, item.id)
    key = f"{prefix}_{item.id}"
    given = saved.get(item.id)
    labels = inst.item_scale(item.id).labels
    values[item.id] = st.radio(
        item.wording or item.label,
        options,
        key=key,
        format_func=lambda v, labels=labels: answer_label(v, labels),
        index=options.index(given) if given in options else None,
        on_change=save_item,
        args=(item.id, key),
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

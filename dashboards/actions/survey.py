"""Survey links: the coordinator creates one; the participant opens it and answers (no login).

A participant's link is checked on every read and write; an invalid link is refused from a
read, so a stranger's guesses never wait for (or hold up) the write lock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboards.access import Viewer
from dashboards.actions.unit import person_write
from questionnaires.capture import record_response, study_instruments
from questionnaires.definitions import Instrument
from questionnaires.drafts import discard_draft, draft_values, save_draft_item
from questionnaires.schedule import compute_schedule, participant_anchors, received_responses
from questionnaires.self_completion import SurveyOffer, check_self_reported, survey_offer
from study.db import read_session, unit_of_work
from study.db.models import Person, Study
from study.errors import NotAllowed, NotFound
from study.studies import config_of
from study.survey_links import OpenedLink, check_link, create_link, open_link, use_link

__all__ = [
    "SURVEY_ACTOR",
    "create_survey_link",
    "open_survey",
    "save_survey_answers",
    "save_survey_item",
    "survey_draft",
    "survey_due",
    "survey_language",
    "survey_progress",
]

#: Audit actor of a participant opening their own survey link (no login).
SURVEY_ACTOR = "survey-link"


def create_survey_link(engine: Engine, viewer: Viewer, pseudonym: str, timepoint: str | None = None) -> str:
    """Create (or resend: the old link stops working) a participant's one-time survey link;
    returns the token, to be shown once. Only the coordinator of the participant's site."""
    with person_write(engine, viewer, pseudonym, f"dashboard: survey link for {pseudonym}") as (
        session,
        study,
        person,
    ):
        return create_link(session, study, person, viewer.login, timepoint)


def open_survey(engine: Engine, token: str) -> OpenedLink:
    """Open a participant's survey link (no login; the opening is audited). ``NotAllowed``
    when the link is unknown, expired, used up, replaced or its participant left the study;
    an invalid link is refused from a read, without waiting for the write lock."""
    _check_link_read_only(engine, token)
    with unit_of_work(engine, SURVEY_ACTOR, reason="participant opened their survey link") as session:
        return open_link(session, token)


def _study_of(session: Session, link: OpenedLink) -> Study:
    study = session.get(Study, link.study_id)
    if study is None:  # the link's foreign key makes this impossible short of a damaged database
        raise NotFound(f"the study of this link (id {link.study_id}) does not exist")
    return study


def _survey_offer(session: Session, study: Study, link: OpenedLink, today: dt.date) -> SurveyOffer:
    """What the link offers now (:func:`questionnaires.self_completion.survey_offer`): the
    link's timepoint or the participant's current one, never a pre-randomisation assessment
    of a randomised participant."""
    # only the link's participant is read: every saved answer checks the link again, so this
    # must not cost a schedule of the whole study
    anchors = participant_anchors(session, study, person_id=link.person_id)
    anchors = anchors[anchors["pseudonym"] == link.pseudonym]
    schedule = compute_schedule(
        anchors,
        config_of(study).timepoints,
        received_responses(session, study, person_id=link.person_id),
        today,
    )
    randomised = anchors["randomisation"].dropna()
    randomised_on = pd.Timestamp(randomised.iloc[0]).date() if not randomised.empty else None
    return survey_offer(schedule[schedule["pseudonym"] == link.pseudonym], randomised_on, link.timepoint)


def _survey_open(session: Session, study: Study, link: OpenedLink, today: dt.date) -> pd.DataFrame:
    """The instruments the link offers now: DataFrame ``timepoint, instrument, status``."""
    return _survey_offer(session, study, link, today).open


def survey_due(engine: Engine, token: str, today: dt.date | None = None) -> pd.DataFrame:
    """What a participant's valid link offers: the unanswered instruments (``timepoint,
    instrument, status``) of one timepoint (:func:`survey_progress`). ``NotAllowed`` for an
    invalid link. Nothing else of the study."""
    return survey_progress(engine, token, today).open


def survey_progress(engine: Engine, token: str, today: dt.date | None = None) -> SurveyOffer:
    """What a participant's valid link offers and how far they have come
    (:class:`questionnaires.self_completion.SurveyOffer`: timepoint, open instruments,
    ``position`` of ``total``). ``NotAllowed`` for an invalid link."""
    with read_session(engine) as session:
        link = check_link(session, token)
        return _survey_offer(session, _study_of(session, link), link, today or dt.date.today())


def survey_language(engine: Engine, token: str) -> str | None:
    """The participant-facing language of the study a link belongs to (``study.language`` of
    its configuration), ``None`` for an invalid link. Opens nothing (not audited)."""
    with read_session(engine) as session:
        try:
            link = check_link(session, token)
        except NotAllowed:
            return None
        return config_of(_study_of(session, link)).study.language


def _open_instrument(
    session: Session, token: str, timepoint: str, instrument: str, today: dt.date
) -> tuple[OpenedLink, Study, Person, Instrument]:
    """The link, its study, participant and the instrument's definition, if the link offers
    that instrument now (``NotAllowed`` otherwise)."""
    link = check_link(session, token)
    study = _study_of(session, link)
    offered = _survey_open(session, study, link, today)
    if not ((offered["timepoint"] == timepoint) & (offered["instrument"] == instrument)).any():
        raise NotAllowed(f"{instrument} at {timepoint} is not open on this link")
    person = session.get(Person, link.person_id)
    if person is None:  # as for the study: the link's foreign key
        raise NotFound(f"the participant of this link (id {link.person_id}) does not exist")
    return link, study, person, study_instruments(config_of(study))[instrument]


def _check_link_read_only(engine: Engine, token: str) -> None:
    """``NotAllowed`` for an invalid link, decided from a read: a stranger's guesses never
    wait for (or hold up) the write lock."""
    with read_session(engine) as session:
        check_link(session, token)


def survey_draft(
    engine: Engine, token: str, timepoint: str, instrument: str, today: dt.date | None = None
) -> dict[str, int]:
    """The answers a participant saved so far to one of their open instruments (item id →
    value), so the page shows them again after a reload or a resent link."""
    with read_session(engine) as session:
        _, _, person, _ = _open_instrument(session, token, timepoint, instrument, today or dt.date.today())
        return draft_values(session, person, timepoint, instrument)


def save_survey_item(
    engine: Engine,
    token: str,
    timepoint: str,
    instrument: str,
    item: str,
    value: int | None,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Save one answer as the participant gives it (:func:`questionnaires.drafts.save_draft_item`,
    audited as ``survey-link``); returns the draft's answers. ``NotAllowed`` for an invalid link
    or an instrument it does not offer, ``BadInput`` for a value off the item's scale."""
    _check_link_read_only(engine, token)
    with unit_of_work(
        engine, SURVEY_ACTOR, reason="participant answered an item through their survey link"
    ) as session:
        _, study, person, inst = _open_instrument(
            session, token, timepoint, instrument, today or dt.date.today()
        )
        check_self_reported(inst, item, value)
        return save_draft_item(session, study, person, timepoint, inst, item, value)


def save_survey_answers(
    engine: Engine,
    token: str,
    timepoint: str,
    instrument: str,
    values: Mapping[str, int | None],
    today: dt.date | None = None,
) -> bool:
    """Submit a participant's answers to one of their due instruments through their link
    (``questionnaires.capture.record_response``, completed today, audited with actor
    ``survey-link``): the answers saved so far (:func:`save_survey_item`) completed by
    ``values``; the draft is then discarded. When nothing is left due, the link is used up (it
    no longer opens). Returns whether the survey is complete.

    Raises ``NotAllowed`` for an invalid link or an instrument the link does not offer (e.g.
    a second submit of the same instrument), ``BadInput``/``RowErrors`` naming the bad items;
    nothing is written then.
    """
    today = today or dt.date.today()
    _check_link_read_only(engine, token)
    with unit_of_work(
        engine, SURVEY_ACTOR, reason="participant answered through their survey link"
    ) as session:
        link, study, person, inst = _open_instrument(session, token, timepoint, instrument, today)
        answers = {
            **draft_values(session, person, timepoint, instrument),
            **{k: v for k, v in values.items() if v is not None},
        }
        for item_id, value in answers.items():
            check_self_reported(inst, item_id, value)
        record_response(session, study, link.pseudonym, timepoint, instrument, today, answers, today=today)
        discard_draft(session, person, timepoint, instrument)
        session.flush()
        complete = _survey_open(session, study, link, today).empty
        if complete:
            use_link(session, token)
        return complete

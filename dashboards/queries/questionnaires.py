"""Questionnaire schedule and instruments as the entry form needs them (read only)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer, viewer_study
from questionnaires.capture import study_instruments
from questionnaires.definitions import Instrument
from questionnaires.schedule import study_schedule
from study.db import read_session
from study.db.models import Enrolment, Person, Study
from study.people import person_by_pseudonym
from study.studies import config_of

__all__ = [
    "PARTICIPANT_SCHEDULE_COLUMNS",
    "entry_participants",
    "instruments_of",
    "participant_schedule",
    "study_instrument_definitions",
]

PARTICIPANT_SCHEDULE_COLUMNS = [
    "timepoint",
    "instrument",
    "due_on",
    "window_start",
    "window_end",
    "completed_on",
    "status",
]


def entry_participants(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """RCT participants of the coordinator's own site: ``pseudonym`` (sorted). ``NotAllowed``
    for a viewer who is not a coordinator."""
    viewer.require_role("coordinator", action="questionnaire entry")
    with read_session(engine) as session:
        rows = session.scalars(
            select(Person.pseudonym)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Person.study_id == viewer.study_id,
                Person.site_id == viewer.site_id,
                Person.role == "participant",
                Enrolment.phase == "rct",
            )
            .order_by(Person.pseudonym)
        ).all()
    return pd.DataFrame({"pseudonym": rows})


def participant_schedule(
    engine: Engine, viewer: Viewer, pseudonym: str, today: dt.date | None = None
) -> pd.DataFrame:
    """The questionnaire schedule of one participant of the viewer's sites
    (:func:`questionnaires.schedule.compute_schedule`): ``timepoint, instrument, due_on,
    window_start, window_end, completed_on, status`` (complete, overdue, due, not_yet_due,
    withdrawn, not_scheduled). ``NotAllowed`` for a participant of another site."""
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_site(person.site_id, f"person {pseudonym}")
        # only this participant: the schedule of the whole study is not needed
        schedule = study_schedule(session, study, today or dt.date.today(), person_id=person.id)
    mine = schedule[schedule["pseudonym"] == pseudonym]
    return mine[PARTICIPANT_SCHEDULE_COLUMNS].reset_index(drop=True)


def instruments_of(engine: Engine, viewer: Viewer) -> dict[str, Instrument]:
    """The definitions of the instruments the viewer's study uses."""
    with read_session(engine) as session:
        return study_instruments(config_of(viewer_study(session, viewer)))


def study_instrument_definitions(engine: Engine, study_id: int) -> dict[str, Instrument]:
    """The instrument definitions of a study by id (the participant survey has no viewer;
    definitions are public instrument data, no participant data)."""
    with read_session(engine) as session:
        return study_instruments(config_of(session.get_one(Study, study_id)))

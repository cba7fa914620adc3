"""Volunteers: interviews before acceptance, training records and commitment.

A volunteer's role is their ``Person.role`` (``group_leader``, ``peer_buddy`` or
``communication_volunteer``). Volunteers are interviewed up to ``max_interviews`` times (two in
the reference study) until an outcome decides; they are trained (education weekend,
supervision after an observed session, companionship workshop); and they commit to a period
(a group leader to 1–2 courses within half a year, a buddy to companionship of up to 6 months).
:func:`require_training` is the check that a volunteer may start in their role.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.codes import Role
from study.db.models import (
    CourseGroup,
    GroupLeader,
    Person,
    Site,
    Study,
    TrainingRecord,
    VolunteerCommitment,
    VolunteerInterview,
)
from study.errors import BadInput, NotAllowed
from study.studies import config_of

if TYPE_CHECKING:  # pandas only for volunteer_table: randomising places people in groups via this module
    import pandas as pd

__all__ = [
    "DECIDING_OUTCOMES",
    "INTERVIEW_OUTCOMES",
    "VOLUNTEER_ROLES",
    "is_accepted",
    "missing_training",
    "record_interview",
    "record_training",
    "require_training",
    "set_commitment",
    "volunteer_table",
]

VOLUNTEER_ROLES: tuple[str, ...] = ("group_leader", "peer_buddy", "communication_volunteer")
#: ``second_interview`` asks for another interview; the others decide.
INTERVIEW_OUTCOMES: tuple[str, ...] = ("accepted", "second_interview", "not_accepted", "withdrew")
DECIDING_OUTCOMES: tuple[str, ...] = ("accepted", "not_accepted", "withdrew")


def _require_volunteer(person: Person) -> None:
    if person.role not in VOLUNTEER_ROLES:
        raise BadInput(
            f"{person.pseudonym} is a {person.role}, not a volunteer ({', '.join(VOLUNTEER_ROLES)})"
        )


def _not_future(day: dt.date, what: str, today: dt.date | None) -> None:
    today = today or dt.date.today()
    if day > today:
        raise BadInput(f"{what} date {day} is in the future (today is {today})")


def record_interview(
    session: Session,
    study: Study,
    person: Person,
    interviewed_on: dt.date,
    outcome: str,
    interviewer: str | None = None,
    note: str | None = None,
    today: dt.date | None = None,
) -> VolunteerInterview:
    """Record an interview of a volunteer and its outcome.

    Interviews are numbered 1, 2, … in date order. Once an outcome decides (``accepted``,
    ``not_accepted``, ``withdrew``) no further interview is recorded, and the last allowed
    interview (``max_interviews``) must decide.

    Raises
    ------
    BadInput
        Not a volunteer, an unknown outcome, a date in the future or before the previous
        interview, a decided volunteer, or more interviews than allowed.
    """
    _require_volunteer(person)
    limit = config_of(study).companionship.max_interviews
    if outcome not in INTERVIEW_OUTCOMES:
        raise BadInput(f"unknown interview outcome {outcome!r}; outcomes: {', '.join(INTERVIEW_OUTCOMES)}")
    _not_future(interviewed_on, "interview", today)
    earlier = list(
        session.scalars(
            select(VolunteerInterview)
            .where(VolunteerInterview.person_id == person.id)
            .order_by(VolunteerInterview.number)
        )
    )
    if earlier and earlier[-1].outcome in DECIDING_OUTCOMES:
        raise BadInput(
            f"{person.pseudonym} was already interviewed with outcome {earlier[-1].outcome!r} "
            f"on {earlier[-1].interviewed_on}"
        )
    number = len(earlier) + 1
    if number > limit:
        raise BadInput(f"{person.pseudonym} has had {limit} interviews, the most allowed")
    if number == limit and outcome == "second_interview":
        raise BadInput(
            f"interview {number} of {person.pseudonym} is the last allowed: its outcome must "
            f"decide ({', '.join(DECIDING_OUTCOMES)})"
        )
    if earlier and interviewed_on < earlier[-1].interviewed_on:
        raise BadInput(
            f"interview on {interviewed_on} is before {person.pseudonym}'s previous interview "
            f"({earlier[-1].interviewed_on})"
        )
    interview = VolunteerInterview(
        study_id=study.id,
        person_id=person.id,
        number=number,
        interviewed_on=interviewed_on,
        interviewer=interviewer,
        outcome=outcome,
        note=note,
    )
    session.add(interview)
    session.flush()
    return interview


def is_accepted(session: Session, person: Person) -> bool:
    """Whether the volunteer's interviews ended with ``accepted``."""
    last = session.scalar(
        select(VolunteerInterview.outcome)
        .where(VolunteerInterview.person_id == person.id)
        .order_by(VolunteerInterview.number.desc())
        .limit(1)
    )
    return last == "accepted"


def record_training(
    session: Session,
    study: Study,
    person: Person,
    kind: str,
    completed_on: dt.date,
    group_code: str | None = None,
    note: str | None = None,
    today: dt.date | None = None,
) -> TrainingRecord:
    """Record a training a volunteer completed.

    ``group_code`` names the course after whose observed session a ``supervision`` took place;
    the volunteer must lead that course.

    Raises
    ------
    BadInput
        Not a volunteer, a kind not in ``companionship.training_kinds``, a date in the future,
        the same training recorded twice on one day, or a group the volunteer does not lead.
    """
    _require_volunteer(person)
    kinds = config_of(study).companionship.training_kinds
    if kind not in kinds:
        raise BadInput(f"unknown training {kind!r}; training kinds: {', '.join(kinds)}")
    _not_future(completed_on, "training", today)
    if session.scalar(
        select(TrainingRecord.id).where(
            TrainingRecord.person_id == person.id,
            TrainingRecord.kind == kind,
            TrainingRecord.completed_on == completed_on,
        )
    ):
        raise BadInput(f"{kind} of {person.pseudonym} on {completed_on} is already recorded")
    group_id = None
    if group_code is not None:
        group_id = session.scalar(
            select(CourseGroup.id)
            .join(GroupLeader, GroupLeader.group_id == CourseGroup.id)
            .where(
                CourseGroup.study_id == study.id,
                CourseGroup.code == group_code,
                GroupLeader.person_id == person.id,
            )
        )
        if group_id is None:
            raise BadInput(f"{person.pseudonym} does not lead a group {group_code!r}")
    record = TrainingRecord(
        study_id=study.id,
        person_id=person.id,
        kind=kind,
        completed_on=completed_on,
        group_id=group_id,
        note=note,
    )
    session.add(record)
    session.flush()
    return record


def missing_training(
    session: Session,
    study: Study,
    person: Person,
    role: str | None = None,
    on: dt.date | None = None,
) -> list[str]:
    """Training kinds required for ``role`` (default: the person's role) that the person has
    not completed (by ``on``, when given), in the configured order."""
    required = config_of(study).companionship.required_for(role or person.role)
    if not required:
        return []
    query = select(TrainingRecord.kind).where(TrainingRecord.person_id == person.id)
    if on is not None:
        query = query.where(TrainingRecord.completed_on <= on)
    done = set(session.scalars(query))
    return [kind for kind in required if kind not in done]


def require_training(
    session: Session,
    study: Study,
    person: Person,
    role: str | None = None,
    on: dt.date | None = None,
) -> None:
    """Refuse (``NotAllowed``) when the person lacks training required for ``role``.

    ``companionship.required_training`` lists the training kinds per role (the reference
    study: ``group_leader`` needs ``education_weekend``, ``peer_buddy`` needs
    ``companionship_workshop``). With ``on``, the training must be completed by that date
    (e.g. the start of the course the person is to lead).
    """
    role = role or person.role
    missing = missing_training(session, study, person, role, on)
    if missing:
        by = f" by {on}" if on is not None else ""
        raise NotAllowed(
            f"{person.pseudonym} cannot start as {role}: required training not recorded{by}: "
            f"{', '.join(missing)}"
        )


def set_commitment(
    session: Session,
    study: Study,
    person: Person,
    available_from: dt.date,
    available_until: dt.date | None = None,
    courses: int | None = None,
    companionship_months: int | None = None,
    note: str | None = None,
) -> VolunteerCommitment:
    """Record (or correct, audited) what a volunteer commits to and when they are available.

    ``courses`` is for group leaders (1 to ``max_courses_per_half_year``, within half a year
    from ``available_from``); ``companionship_months`` for peer buddies (1 to
    ``planned_months``).
    """
    _require_volunteer(person)
    cfg = config_of(study).companionship
    if available_until is not None and available_until < available_from:
        raise BadInput(f"available until {available_until} is before available from {available_from}")
    if courses is not None:
        if person.role != Role.GROUP_LEADER:
            raise BadInput(f"{person.pseudonym} is a {person.role}: only group leaders commit to courses")
        if not 1 <= courses <= cfg.max_courses_per_half_year:
            raise BadInput(
                f"courses must be 1–{cfg.max_courses_per_half_year} within half a year, got {courses}"
            )
    if companionship_months is not None:
        if person.role != Role.PEER_BUDDY:
            raise BadInput(
                f"{person.pseudonym} is a {person.role}: only peer buddies commit to companionship"
            )
        if not 1 <= companionship_months <= cfg.planned_months:
            raise BadInput(f"companionship months must be 1–{cfg.planned_months}, got {companionship_months}")
    commitment = session.scalar(select(VolunteerCommitment).where(VolunteerCommitment.person_id == person.id))
    if commitment is None:
        commitment = VolunteerCommitment(study_id=study.id, person_id=person.id)
        session.add(commitment)
    commitment.available_from = available_from
    commitment.available_until = available_until
    commitment.courses = courses
    commitment.companionship_months = companionship_months
    commitment.note = note
    session.flush()
    return commitment


def volunteer_table(session: Session, study: Study, site: str | None = None) -> pd.DataFrame:
    """Volunteers with their interviews, training and commitment, one row each.

    Returns
    -------
    DataFrame
        Columns ``pseudonym, site, role, interviews, accepted, training, missing_training,
        available_from, available_until``; ``training`` and ``missing_training`` are
        ``;``-separated training kinds.
    """
    import pandas as pd  # lazily: see the imports at the top

    columns = [
        "pseudonym",
        "site",
        "role",
        "interviews",
        "accepted",
        "training",
        "missing_training",
        "available_from",
        "available_until",
    ]
    query = (
        select(Person.id, Person.pseudonym, Site.code, Person.role)
        .join(Site, Site.id == Person.site_id)
        .where(Person.study_id == study.id, Person.role.in_(VOLUNTEER_ROLES))
        .order_by(Person.pseudonym)
    )
    if site is not None:
        query = query.where(Site.code == site)
    people = pd.DataFrame(session.execute(query).all(), columns=["id", "pseudonym", "site", "role"])
    if people.empty:
        return pd.DataFrame(columns=columns)
    ids = people["id"].tolist()
    interviews = pd.DataFrame(
        session.execute(
            select(VolunteerInterview.person_id, VolunteerInterview.number, VolunteerInterview.outcome).where(
                VolunteerInterview.person_id.in_(ids)
            )
        ).all(),
        columns=["id", "number", "outcome"],
    )
    last = interviews.sort_values("number").groupby("id").last()
    training = pd.DataFrame(
        session.execute(
            select(TrainingRecord.person_id, TrainingRecord.kind).where(TrainingRecord.person_id.in_(ids))
        ).all(),
        columns=["id", "kind"],
    )
    cfg = config_of(study).companionship
    done = training.groupby("id")["kind"].agg(lambda k: set(k))
    commitments = pd.DataFrame(
        session.execute(
            select(
                VolunteerCommitment.person_id,
                VolunteerCommitment.available_from,
                VolunteerCommitment.available_until,
            ).where(VolunteerCommitment.person_id.in_(ids))
        ).all(),
        columns=["id", "available_from", "available_until"],
    ).set_index("id")
    order = {kind: i for i, kind in enumerate(cfg.training_kinds)}
    people["interviews"] = people["id"].map(interviews.groupby("id").size()).fillna(0).astype(int)
    people["accepted"] = people["id"].map(last["outcome"]).eq("accepted")
    kinds = people["id"].map(done).apply(lambda s: s if isinstance(s, set) else set())
    # record_training accepts only the configured kinds, so each has a position
    people["training"] = kinds.apply(lambda s: ";".join(sorted(s, key=order.__getitem__)))
    people["missing_training"] = [
        ";".join(k for k in cfg.required_for(role) if k not in have)
        for role, have in zip(people["role"], kinds)
    ]
    people = people.join(commitments, on="id")
    return people[columns].reset_index(drop=True)

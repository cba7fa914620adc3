"""Gathering recipients and buddies from the database for :mod:`study.companionship.matching`.

Builds the buddy table the pure scorer needs (profile, active matches and capacity, training,
interview, commitment, previous matches with this recipient, waiting date) and returns ranked
suggestions. Diagnosis is read only to check a required same diagnosis; it never leaves this
module.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from study.codes import Role
from study.companionship.matching import SUGGESTION_COLUMNS, rank_buddies, score_buddies
from study.companionship.profiles import profile_of, profiles_frame
from study.db.models import (
    Enrolment,
    Match,
    Person,
    Study,
    TrainingRecord,
    VolunteerCommitment,
    VolunteerInterview,
    WaitlistEntry,
)
from study.errors import BadInput
from study.studies import config_of

__all__ = ["buddy_frame", "recipient_row", "score_pair", "suggest_buddies"]


def recipient_row(session: Session, study: Study, recipient: Person) -> dict:
    """The recipient's profile as the mapping :func:`score_buddies` takes."""
    if recipient.role != Role.PARTICIPANT:
        raise BadInput(f"{recipient.pseudonym} is a {recipient.role}, not a participant (recipient)")
    profile_of(session, recipient)  # NotFound with a clear message when missing
    frame = profiles_frame(session, study, "recipient", [recipient.id])
    return frame.iloc[0].to_dict()


def buddy_frame(
    session: Session,
    study: Study,
    recipient: Person,
    today: dt.date,
    buddy_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Every buddy with a profile (or those in ``buddy_ids``), in the columns
    :func:`score_buddies` takes, for matching with ``recipient`` on ``today``."""
    cfg = config_of(study).companionship
    buddies = profiles_frame(session, study, "buddy", buddy_ids)
    if buddies.empty:
        return buddies
    ids = buddies["person_id"].tolist()
    active = dict(
        session.execute(
            select(Match.buddy_id, func.count())
            .where(Match.buddy_id.in_(ids), Match.ended_on.is_(None))
            .group_by(Match.buddy_id)
        ).all()
    )
    trained_kinds = pd.DataFrame(
        session.execute(
            select(TrainingRecord.person_id, TrainingRecord.kind).where(
                TrainingRecord.person_id.in_(ids), TrainingRecord.completed_on <= today
            )
        ).all(),
        columns=["person_id", "kind"],
    )
    required = set(cfg.required_for("peer_buddy"))
    have = trained_kinds.groupby("person_id")["kind"].agg(set)
    last_interview = (
        pd.DataFrame(
            session.execute(
                select(
                    VolunteerInterview.person_id, VolunteerInterview.number, VolunteerInterview.outcome
                ).where(VolunteerInterview.person_id.in_(ids))
            ).all(),
            columns=["person_id", "number", "outcome"],
        )
        .sort_values("number")
        .groupby("person_id")["outcome"]
        .last()
    )
    until = dict(
        session.execute(
            select(VolunteerCommitment.person_id, VolunteerCommitment.available_until).where(
                VolunteerCommitment.person_id.in_(ids)
            )
        ).all()
    )
    withdrawn = set(
        session.scalars(
            select(Enrolment.person_id).where(
                Enrolment.person_id.in_(ids),
                Enrolment.withdrawn_on.is_not(None),
                Enrolment.withdrawn_on <= today,
            )
        )
    )
    before = set(session.scalars(select(Match.buddy_id).where(Match.person_id == recipient.id)))
    waiting = dict(
        session.execute(
            select(WaitlistEntry.person_id, WaitlistEntry.since).where(
                WaitlistEntry.person_id.in_(ids), WaitlistEntry.left_on.is_(None)
            )
        ).all()
    )
    pid = buddies["person_id"]
    buddies["active_matches"] = pid.map(active).fillna(0).astype(int)
    buddies["max_matches"] = buddies["max_matches"].fillna(cfg.max_matches_per_buddy).astype(int)
    buddies["trained"] = pid.map(have).apply(
        lambda kinds: required <= (kinds if isinstance(kinds, set) else set())
    )
    buddies["accepted"] = pid.map(last_interview).eq("accepted") if cfg.interview_required else True
    buddies["available_until"] = pid.map(until)
    buddies["previously_matched"] = pid.isin(before)
    buddies["withdrawn"] = pid.isin(withdrawn)
    buddies["waiting_since"] = pid.map(waiting)
    return buddies


def score_pair(session: Session, study: Study, recipient: Person, buddy: Person, today: dt.date) -> pd.Series:
    """The scored row (score, eligible, reasons, excluded_because …) of one pair."""
    profile_of(session, buddy)
    row = recipient_row(session, study, recipient)
    buddies = buddy_frame(session, study, recipient, today, [buddy.id])
    weights = config_of(study).companionship.weights
    return score_buddies(row, buddies, weights, today).iloc[0]


def suggest_buddies(
    session: Session,
    study: Study,
    recipient: Person,
    today: dt.date | None = None,
    top: int | None = 5,
    include_excluded: bool = False,
) -> pd.DataFrame:
    """Buddies for a recipient, best first, with scores and reasons.

    Returns
    -------
    DataFrame
        :func:`~study.companionship.matching.rank_buddies` of every buddy of the study:
        ``rank`` then :data:`~study.companionship.matching.SUGGESTION_COLUMNS`. Only eligible
        buddies unless ``include_excluded``.
    """
    today = today or dt.date.today()
    row = recipient_row(session, study, recipient)
    buddies = buddy_frame(session, study, recipient, today)
    if buddies.empty:
        return rank_buddies(pd.DataFrame(columns=SUGGESTION_COLUMNS), include_excluded, top)
    weights = config_of(study).companionship.weights
    return rank_buddies(score_buddies(row, buddies, weights, today), include_excluded, top)

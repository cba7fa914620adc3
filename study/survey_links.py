"""Personal one-time links to the participant survey: create, resend, open, use up.

A link carries a random token (``secrets.token_urlsafe``, 256 bits); the database keeps only
its SHA-256, so a copy of the database cannot be turned into working links. A link works
until it expires (``valid_for``, 14 days by default), is used up (the questionnaire is
complete: :func:`use_link`, called by the questionnaire capture of issue 4), is revoked by a
resend, or its participant withdraws or is excluded (:func:`revoke_links`; a link whose
participant is no longer in the study does not open even before that). Opening a link is recorded as an audited update, so every use is in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.codes import Role
from study.db.models import Enrolment, Person, Study, SurveyLink
from study.db.types import utcnow
from study.errors import BadInput, NotAllowed

__all__ = [
    "DEFAULT_VALIDITY",
    "INVALID_LINK",
    "OpenedLink",
    "check_link",
    "create_link",
    "link_is_usable",
    "open_link",
    "revoke_links",
    "token_hash",
    "use_link",
]

DEFAULT_VALIDITY = dt.timedelta(days=14)


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a link token: what the database stores instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_link(
    session: Session,
    study: Study,
    person: Person,
    created_by: str,
    timepoint: str | None = None,
    valid_for: dt.timedelta = DEFAULT_VALIDITY,
) -> str:
    """Create a link for a participant and return its token (shown once, never stored).

    Any earlier open link of the same person and timepoint is revoked, so that resending
    leaves exactly one working link. Raises ``BadInput`` for a non-participant or a validity
    outside 1 hour to 90 days, ``NotAllowed`` for a withdrawn participant.
    """
    if person.role != Role.PARTICIPANT:
        raise BadInput(f"{person.pseudonym} is a {person.role}; survey links are for participants")
    if not dt.timedelta(hours=1) <= valid_for <= dt.timedelta(days=90):
        raise BadInput("a survey link is valid for between 1 hour and 90 days")
    if person.enrolment is not None and person.enrolment.withdrawn_on is not None:
        raise NotAllowed(f"{person.pseudonym} has withdrawn; no survey links")
    now = utcnow()
    for old in session.scalars(
        select(SurveyLink).where(
            SurveyLink.person_id == person.id,
            SurveyLink.timepoint.is_(None) if timepoint is None else SurveyLink.timepoint == timepoint,
            SurveyLink.used_at.is_(None),
            SurveyLink.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        SurveyLink(
            study_id=study.id,
            person_id=person.id,
            timepoint=timepoint,
            token_hash=token_hash(token),
            expires_at=now + valid_for,
            created_by=created_by,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True)
class OpenedLink:
    """Whose survey a valid link opens: study id, person id, pseudonym and timepoint."""

    study_id: int
    person_id: int
    pseudonym: str
    timepoint: str | None


#: The one answer to every invalid link: a link tells a stranger nothing.
INVALID_LINK = "this survey link is not valid (expired, already used or replaced)"


def link_is_usable(link: SurveyLink | None, enrolment: Enrolment | None, now: dt.datetime) -> bool:
    """Whether a link may open its survey: it exists, is neither revoked, used up nor
    expired, and its participant is still in the study (consented, eligible, not withdrawn
    or excluded)."""
    if link is None or link.revoked_at is not None or link.used_at is not None or link.expires_at <= now:
        return False
    return (
        enrolment is not None
        and enrolment.withdrawn_on is None
        and enrolment.eligible
        and enrolment.consent_on is not None
    )


def _valid_link(session: Session, token: str) -> SurveyLink:
    link = session.scalar(select(SurveyLink).where(SurveyLink.token_hash == token_hash(token or "")))
    enrolment = None
    if link is not None:
        enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == link.person_id))
    if link is None or not link_is_usable(link, enrolment, utcnow()):
        raise NotAllowed(INVALID_LINK)
    return link


def revoke_links(session: Session, person: Person) -> int:
    """Revoke every open link of ``person`` (withdrawal, exclusion); returns how many."""
    now = utcnow()
    links = session.scalars(
        select(SurveyLink).where(
            SurveyLink.person_id == person.id, SurveyLink.used_at.is_(None), SurveyLink.revoked_at.is_(None)
        )
    ).all()
    for link in links:
        link.revoked_at = now
    session.flush()
    return len(links)


def check_link(session: Session, token: str) -> OpenedLink:
    """Whose survey a token opens, without recording an opening (each save of the survey
    checks its link again); ``NotAllowed`` when not valid."""
    link = _valid_link(session, token)
    pseudonym = session.scalars(select(Person.pseudonym).where(Person.id == link.person_id)).one()
    return OpenedLink(link.study_id, link.person_id, pseudonym, link.timepoint)


def open_link(session: Session, token: str) -> OpenedLink:
    """Check a token and record the opening (audited); ``NotAllowed`` when not valid."""
    link = _valid_link(session, token)
    link.opened_count += 1
    link.last_opened_at = utcnow()
    session.flush()
    pseudonym = session.scalars(select(Person.pseudonym).where(Person.id == link.person_id)).one()
    return OpenedLink(link.study_id, link.person_id, pseudonym, link.timepoint)


def use_link(session: Session, token: str) -> None:
    """Mark a link used up (its questionnaire is complete); it no longer opens."""
    link = _valid_link(session, token)
    link.used_at = utcnow()
    session.flush()

"""Finding a person's matches: the look-ups both the waitlist and the match actions need.

A module of its own so that :mod:`study.companionship.waiting` (nobody in an active match
waits) and :mod:`study.companionship.relationships` (confirming a match takes the recipient
off the waitlist) can each use it without importing the other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Match, Person
from study.errors import NotFound

__all__ = ["active_matches_of", "find_match"]


def active_matches_of(session: Session, person: Person) -> list[Match]:
    """Active matches in which the person is the recipient or the buddy."""
    return list(
        session.scalars(
            select(Match).where(
                (Match.person_id == person.id) | (Match.buddy_id == person.id),
                Match.ended_on.is_(None),
            )
        )
    )


def find_match(session: Session, recipient: Person, buddy: Person | None = None) -> Match:
    """The recipient's active match (with ``buddy`` when given), else their latest one."""
    query = select(Match).where(Match.person_id == recipient.id)
    if buddy is not None:
        query = query.where(Match.buddy_id == buddy.id)
    matches = list(session.scalars(query.order_by(Match.started_on.desc(), Match.id.desc())))
    if not matches:
        with_buddy = f" with {buddy.pseudonym}" if buddy is not None else ""
        raise NotFound(f"{recipient.pseudonym} has no match{with_buddy}")
    active = [m for m in matches if m.ended_on is None]
    return active[0] if active else matches[0]

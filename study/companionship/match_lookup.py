"""Finding a person's matches: the look-ups both the waitlist and the match actions need.

A module of its own so that :mod:`study.companionship.waiting` (nobody in an active match
waits) and :mod:`study.companionship.relationships` (confirming a match takes the recipient
off the waitlist) can each use it without importing the other.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Match, Person, Study
from study.errors import NotFound

__all__ = ["active_matches_of", "find_match", "matches_by_pair"]


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
    matches = list(session.scalars(query.order_by(*_LATEST_FIRST)))
    if not matches:
        with_buddy = f" with {buddy.pseudonym}" if buddy is not None else ""
        raise NotFound(f"{recipient.pseudonym} has no match{with_buddy}")
    return _pick(matches)


def matches_by_pair(session: Session, study: Study) -> dict[tuple[int, int], Match]:
    """:func:`find_match` of every pair of the study at once, keyed by (recipient id, buddy
    id), in one query (an import looks up a pair per row)."""
    pairs: dict[tuple[int, int], list[Match]] = {}
    for match in session.scalars(select(Match).where(Match.study_id == study.id).order_by(*_LATEST_FIRST)):
        pairs.setdefault((match.person_id, match.buddy_id), []).append(match)
    return {pair: _pick(matches) for pair, matches in pairs.items()}


#: The order :func:`_pick` chooses from.
_LATEST_FIRST = (Match.started_on.desc(), Match.id.desc())


def _pick(matches: list[Match]) -> Match:
    """The active match, else the latest (``matches`` latest first)."""
    active = [m for m in matches if m.ended_on is None]
    return active[0] if active else matches[0]

"""1:1 relationships: confirming a match, contacts, extension and a neutral end.

A match starts on a date and is planned for ``planned_months`` (6); it may be extended, with a
date and a reason, to at most ``max_months`` (9) after its start. Contacts (date, activity,
minutes) lie between the start and the end (or the planned end while it runs). A match ends
with a reason from the configured neutral list, which never blames either person; when the
reason is one of ``rematch_reasons`` (``chemistry``) the recipient returns to the top of the
waitlist, keeping their original waiting date.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from study.codes import Role
from study.companionship.calendar import add_months
from study.companionship.match_lookup import active_matches_of, find_match
from study.companionship.suggestions import score_pair
from study.companionship.waiting import join_waitlist, leave_waitlist, open_entry
from study.db.models import Enrolment, Match, MatchContact, Person, Site, Study, WaitlistEntry
from study.errors import BadInput
from study.studies import config_of, site_by_code

__all__ = [
    "active_matches_of",
    "confirm_match",
    "contact_problem",
    "end_match",
    "extend_match",
    "find_match",
    "log_contact",
    "matches_table",
]


def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


def confirm_match(
    session: Session,
    study: Study,
    recipient: Person,
    buddy: Person,
    started_on: dt.date,
    confirmed_by: str,
    today: dt.date | None = None,
) -> Match:
    """Confirm a match the coordinator chose (usually from :func:`suggest_buddies`).

    Every hard constraint of :mod:`study.companionship.matching` is checked again here, so
    no path can write a match that violates one. Both people leave the waitlist.

    Raises
    ------
    BadInput
        Wrong roles, no profile, the recipient already in an active match, a start in the
        future or before the recipient joined the waitlist or ended their previous match, or
        a hard constraint that fails (named).
    """
    today = _today(today)
    if recipient.role != Role.PARTICIPANT:
        raise BadInput(f"{recipient.pseudonym} is a {recipient.role}, not a participant (recipient)")
    if buddy.role != Role.PEER_BUDDY:
        raise BadInput(f"{buddy.pseudonym} is a {buddy.role}, not a peer_buddy")
    current = active_matches_of(session, recipient)
    if current:
        other = session.get_one(Person, current[0].buddy_id)
        raise BadInput(
            f"{recipient.pseudonym} is already in an active match with {other.pseudonym} "
            f"(since {current[0].started_on}); end it first"
        )
    if started_on > today:
        raise BadInput(f"start date {started_on} is in the future (today is {today})")
    withdrawn_on = session.scalar(select(Enrolment.withdrawn_on).where(Enrolment.person_id == recipient.id))
    if withdrawn_on is not None and withdrawn_on <= started_on:
        raise BadInput(f"{recipient.pseudonym} withdrew from the study on {withdrawn_on}")
    entry = open_entry(session, recipient)
    if entry is not None and started_on < entry.entered_on:
        raise BadInput(
            f"start date {started_on} is before {recipient.pseudonym} joined the waitlist ({entry.entered_on})"
        )
    last_end = session.scalar(select(func.max(Match.ended_on)).where(Match.person_id == recipient.id))
    if last_end is not None and started_on < last_end:
        raise BadInput(
            f"start date {started_on} is before {recipient.pseudonym}'s previous match ended ({last_end})"
        )
    scored = score_pair(session, study, recipient, buddy, today=started_on)
    if not bool(scored["eligible"]):
        raise BadInput(
            f"{buddy.pseudonym} cannot be matched with {recipient.pseudonym}: {scored['excluded_because']}"
        )
    cfg = config_of(study).companionship
    match = Match(
        study_id=study.id,
        person_id=recipient.id,
        buddy_id=buddy.id,
        started_on=started_on,
        planned_end_on=add_months(started_on, cfg.planned_months),
        score=float(scored["score"]),
        confirmed_by=confirmed_by,
    )
    session.add(match)
    session.flush()
    leave_waitlist(session, recipient, started_on, "matched")
    buddy_entry = open_entry(session, buddy)
    if buddy_entry is not None:
        leave_waitlist(session, buddy, max(started_on, buddy_entry.entered_on), "matched")
    return match


def log_contact(
    session: Session,
    study: Study,
    match: Match,
    contact_on: dt.date,
    activity: str,
    minutes: int,
    note: str | None = None,
    today: dt.date | None = None,
) -> MatchContact:
    """Log a contact of a matched pair (the dose of companionship).

    Raises
    ------
    BadInput
        An activity not in ``companionship.contact_activities``; minutes outside 1–1440; a
        date before the match started, after it ended (or after its planned end while it
        runs), or in the future.
    """
    problem = contact_problem(study, match, contact_on, activity, minutes, _today(today))
    if problem is not None:
        raise BadInput(problem)
    contact = MatchContact(
        study_id=study.id,
        person_id=match.person_id,
        match_id=match.id,
        contact_on=contact_on,
        activity=activity,
        minutes=minutes,
        note=note,
    )
    session.add(contact)
    session.flush()
    return contact


def contact_problem(
    study: Study, match: Match, contact_on: dt.date, activity: str, minutes: int, today: dt.date
) -> str | None:
    """Why a contact cannot be logged (see :func:`log_contact`), or ``None``: the first
    problem, its message starting with what it is about (``unknown activity``, ``minutes``,
    else the date)."""
    cfg = config_of(study).companionship
    if activity not in cfg.contact_activities:
        return f"unknown activity {activity!r}; activities: {', '.join(cfg.contact_activities)}"
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 1440:
        return f"minutes must be a whole number 1–1440, got {minutes!r}"
    if contact_on < match.started_on:
        return f"contact on {contact_on} is before the match started ({match.started_on})"
    if match.ended_on is not None and contact_on > match.ended_on:
        return f"contact on {contact_on} is after the match ended ({match.ended_on})"
    if match.ended_on is None and contact_on > match.runs_until:
        return (
            f"contact on {contact_on} is after the match's planned end ({match.runs_until}): "
            "extend the match first"
        )
    if contact_on > today:
        return f"contact date {contact_on} is in the future (today is {today})"
    return None


def extend_match(
    session: Session,
    study: Study,
    match: Match,
    until: dt.date,
    decided_on: dt.date,
    reason: str,
    today: dt.date | None = None,
) -> Match:
    """Extend an active match to ``until`` (at most ``max_months`` after its start).

    Raises
    ------
    BadInput
        The match has ended; no reason; ``until`` not after the current planned end or
        beyond the maximum; ``decided_on`` before the start or in the future.
    """
    cfg = config_of(study).companionship
    today = _today(today)
    if match.ended_on is not None:
        raise BadInput(f"the match ended on {match.ended_on} and cannot be extended")
    if not (reason or "").strip():
        raise BadInput("an extension needs a reason")
    latest = add_months(match.started_on, cfg.max_months)
    if until > latest:
        raise BadInput(
            f"extension to {until} is beyond {cfg.max_months} months after the start "
            f"({match.started_on}); the latest end is {latest}"
        )
    if until <= match.runs_until:
        raise BadInput(f"extension to {until} is not after the current planned end ({match.runs_until})")
    if decided_on < match.started_on or decided_on > today:
        raise BadInput(
            f"extension date {decided_on} must lie between the start ({match.started_on}) and today ({today})"
        )
    match.extended_until = until
    match.extended_on = decided_on
    match.extension_reason = reason.strip()
    session.flush()
    return match


def end_match(
    session: Session,
    study: Study,
    match: Match,
    ended_on: dt.date,
    reason: str,
    note: str | None = None,
    recipient_waits: bool | None = None,
    buddy_waits: bool = True,
    today: dt.date | None = None,
) -> Match:
    """End a match with a neutral reason.

    Parameters
    ----------
    reason
        From ``companionship.end_reasons`` (completed, chemistry, life_circumstances, moved,
        health, other): neutral words that never blame either person.
    recipient_waits
        Return the recipient to the top of the waitlist, keeping their first waiting date.
        Default: when ``reason`` is one of ``companionship.rematch_reasons`` (chemistry).
    buddy_waits
        Put the buddy back on the waitlist (when they have no other active match).

    Raises
    ------
    BadInput
        The match has ended already; an unknown reason; an end before the start, before its
        last contact, after its (extended) planned end, or in the future.
    """
    cfg = config_of(study).companionship
    today = _today(today)
    if match.ended_on is not None:
        raise BadInput(f"the match already ended on {match.ended_on} ({match.end_reason})")
    if reason not in cfg.end_reasons:
        raise BadInput(f"unknown end reason {reason!r}; reasons: {', '.join(cfg.end_reasons)}")
    if ended_on < match.started_on:
        raise BadInput(f"end date {ended_on} is before the match started ({match.started_on})")
    if ended_on > match.runs_until:
        raise BadInput(f"end date {ended_on} is after the planned end ({match.runs_until}); extend first")
    if ended_on > today:
        raise BadInput(f"end date {ended_on} is in the future (today is {today})")
    last_contact = session.scalar(
        select(func.max(MatchContact.contact_on)).where(MatchContact.match_id == match.id)
    )
    if last_contact is not None and ended_on < last_contact:
        raise BadInput(f"end date {ended_on} is before the match's last contact ({last_contact})")
    match.ended_on = ended_on
    match.end_reason = reason
    match.end_note = note
    session.flush()

    if recipient_waits is None:
        recipient_waits = reason in cfg.rematch_reasons
    recipient = session.get_one(Person, match.person_id)
    if recipient_waits:
        # Back at the top, keeping the date they first started waiting.
        first_since = session.scalar(
            select(func.min(WaitlistEntry.since)).where(WaitlistEntry.person_id == recipient.id)
        )
        join_waitlist(
            session,
            study,
            recipient,
            first_since or match.started_on,
            entered_on=ended_on,
            top=True,
            today=today,
        )
    buddy = session.get_one(Person, match.buddy_id)
    if buddy_waits and not active_matches_of(session, buddy) and open_entry(session, buddy) is None:
        join_waitlist(session, study, buddy, ended_on, today=today)
    return match


def matches_table(
    session: Session, study: Study, site: str | None = None, active_only: bool = False
) -> pd.DataFrame:
    """Matches with their dates and dose so far.

    Returns
    -------
    DataFrame
        Columns ``recipient, buddy, site, started_on, runs_until, extended, ended_on,
        end_reason, contacts, hours`` ordered by site and start.
    """
    buddy = aliased(Person)
    recipient = aliased(Person)
    dose = (
        select(
            MatchContact.match_id,
            func.count().label("contacts"),
            func.sum(MatchContact.minutes).label("minutes"),
        )
        .group_by(MatchContact.match_id)
        .subquery()
    )
    query = (
        select(
            recipient.pseudonym,
            buddy.pseudonym,
            Site.code,
            Match.started_on,
            Match.planned_end_on,
            Match.extended_until,
            Match.ended_on,
            Match.end_reason,
            dose.c.contacts,
            dose.c.minutes,
        )
        .join(recipient, recipient.id == Match.person_id)
        .join(buddy, buddy.id == Match.buddy_id)
        .join(Site, Site.id == recipient.site_id)
        .outerjoin(dose, dose.c.match_id == Match.id)
        .where(Match.study_id == study.id)
        .order_by(Site.code, Match.started_on, recipient.pseudonym)
    )
    if site is not None:
        query = query.where(Site.id == site_by_code(session, study, site).id)
    if active_only:
        query = query.where(Match.ended_on.is_(None))
    df = pd.DataFrame(
        session.execute(query).all(),
        columns=[
            "recipient",
            "buddy",
            "site",
            "started_on",
            "planned_end_on",
            "extended_until",
            "ended_on",
            "end_reason",
            "contacts",
            "minutes",
        ],
    )
    df["runs_until"] = df["extended_until"].where(df["extended_until"].notna(), df["planned_end_on"])
    df["extended"] = df["extended_until"].notna()
    df["contacts"] = df["contacts"].fillna(0).astype(int)
    df["hours"] = (df["minutes"].fillna(0).astype(float) / 60).round(2)
    return df[
        [
            "recipient",
            "buddy",
            "site",
            "started_on",
            "runs_until",
            "extended",
            "ended_on",
            "end_reason",
            "contacts",
            "hours",
        ]
    ]

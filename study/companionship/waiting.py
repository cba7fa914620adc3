"""The waitlist in the database: joining, leaving, follow-up calls and the list itself.

Everyone with a companionship profile who is not matched waits, with the date they joined.
A waiting period is a :class:`~study.db.models.WaitlistEntry`; it ends when the person is
matched or leaves (e.g. a call with the outcome ``declined``). The schedule of calls is
computed by :func:`study.companionship.waitlist.schedule_calls`.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from study.codes import Role
from study.companionship.match_lookup import active_matches_of
from study.companionship.waitlist import schedule_calls
from study.db.models import Enrolment, FollowUpCall, Person, Site, Study, WaitlistEntry
from study.errors import BadInput
from study.studies import config_of, site_by_code

__all__ = [
    "join_waitlist",
    "leave_waitlist",
    "log_call",
    "open_entry",
    "overdue_calls",
    "waitlist_problem",
    "waitlist_table",
]


def open_entry(session: Session, person: Person) -> WaitlistEntry | None:
    """The person's current waiting period, or ``None`` when they are not waiting."""
    return session.scalar(
        select(WaitlistEntry).where(WaitlistEntry.person_id == person.id, WaitlistEntry.left_on.is_(None))
    )


def join_waitlist(
    session: Session,
    study: Study,
    person: Person,
    since: dt.date,
    entered_on: dt.date | None = None,
    top: bool = False,
    today: dt.date | None = None,
) -> WaitlistEntry:
    """Put a person on the waitlist.

    Parameters
    ----------
    since
        The waiting date that sets their place in the list.
    entered_on
        When this waiting period begins (default ``since``); a person returned after a failed
        match keeps their first ``since`` and enters on the day the match ended.
    top
        List them at the top (a failed match).
    """
    today = today or dt.date.today()
    entered_on = entered_on or since
    problem = waitlist_problem(
        person,
        since,
        entered_on,
        today,
        waiting=open_entry(session, person) is not None,
        matched=person.role == Role.PARTICIPANT and bool(active_matches_of(session, person)),
    )
    if problem is not None:
        raise BadInput(problem)
    entry = WaitlistEntry(study_id=study.id, person_id=person.id, since=since, entered_on=entered_on, top=top)
    session.add(entry)
    session.flush()
    return entry


def waitlist_problem(
    person: Person, since: dt.date, entered_on: dt.date, today: dt.date, *, waiting: bool, matched: bool
) -> str | None:
    """Why ``person`` cannot join the waitlist (see :func:`join_waitlist`), or ``None``.

    ``waiting``: they have an open waiting period; ``matched``: a recipient in an active match.
    """
    if since > today or entered_on > today:
        return f"{person.pseudonym} cannot join the waitlist on a future date ({entered_on})"
    if waiting:
        return f"{person.pseudonym} is already on the waitlist"
    if matched:
        return f"{person.pseudonym} is in an active match and does not wait"
    return None


def leave_waitlist(session: Session, person: Person, on: dt.date, reason: str) -> WaitlistEntry | None:
    """Close the person's waiting period (``reason``: ``matched`` or a leaving call outcome);
    ``None`` when they were not waiting."""
    entry = open_entry(session, person)
    if entry is None:
        return None
    if on < entry.entered_on:
        raise BadInput(
            f"{person.pseudonym} cannot leave the waitlist on {on}, before joining it on {entry.entered_on}"
        )
    entry.left_on = on
    entry.left_reason = reason
    session.flush()
    return entry


def log_call(
    session: Session,
    study: Study,
    person: Person,
    called_on: dt.date,
    outcome: str,
    note: str | None,
    called_by: str,
    today: dt.date | None = None,
) -> FollowUpCall:
    """Log a follow-up call to a waiting person; a leaving outcome (``declined``) takes them
    off the waitlist.

    Raises
    ------
    BadInput
        The person is not waiting, the outcome is not in ``companionship.call_outcomes``, or
        the date is in the future or before the waiting period began.
    """
    cfg = config_of(study).companionship
    today = today or dt.date.today()
    if outcome not in cfg.call_outcomes:
        raise BadInput(f"unknown call outcome {outcome!r}; outcomes: {', '.join(cfg.call_outcomes)}")
    entry = open_entry(session, person)
    if entry is None:
        raise BadInput(f"{person.pseudonym} is not on the waitlist")
    if called_on > today:
        raise BadInput(f"call date {called_on} is in the future (today is {today})")
    if called_on < entry.entered_on:
        raise BadInput(
            f"call date {called_on} is before {person.pseudonym} joined the waitlist ({entry.entered_on})"
        )
    call = FollowUpCall(
        study_id=study.id,
        person_id=person.id,
        entry_id=entry.id,
        called_on=called_on,
        outcome=outcome,
        note=note,
        called_by=called_by,
    )
    session.add(call)
    session.flush()
    if outcome in cfg.leaving_call_outcomes:
        leave_waitlist(session, person, called_on, outcome)
    return call


def waitlist_table(session: Session, study: Study, today: dt.date, site: str | None = None) -> pd.DataFrame:
    """Who waits, in waitlist order, with their follow-up call schedule (people who withdrew
    from the study by ``today`` are left out).

    Returns
    -------
    DataFrame
        Columns ``pseudonym, role, since, last_call, next_call_due, overdue`` (see
        :func:`~study.companionship.waitlist.schedule_calls`), then ``site, entered_on, top``.
    """
    query = (
        select(
            WaitlistEntry.id.label("entry_id"),
            Person.pseudonym,
            Person.role,
            WaitlistEntry.since,
            WaitlistEntry.entered_on,
            WaitlistEntry.top,
            Site.code.label("site"),
        )
        .join(Person, Person.id == WaitlistEntry.person_id)
        .join(Site, Site.id == Person.site_id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .where(
            WaitlistEntry.study_id == study.id,
            WaitlistEntry.left_on.is_(None),
            # People who withdrew from the study are not called any more.
            or_(Enrolment.withdrawn_on.is_(None), Enrolment.withdrawn_on > today),
        )
    )
    if site is not None:
        query = query.where(Site.id == site_by_code(session, study, site).id)
    entries = pd.DataFrame(
        session.execute(query).all(),
        columns=["entry_id", "pseudonym", "role", "since", "entered_on", "top", "site"],
    )
    calls = pd.DataFrame(
        session.execute(
            select(FollowUpCall.entry_id, FollowUpCall.called_on)
            .join(WaitlistEntry, WaitlistEntry.id == FollowUpCall.entry_id)
            .where(FollowUpCall.study_id == study.id, WaitlistEntry.left_on.is_(None))
        ).all(),
        columns=["entry_id", "called_on"],
    )
    weeks = config_of(study).companionship.follow_up_call_weeks
    return schedule_calls(entries, calls, today, weeks)


def overdue_calls(session: Session, study: Study, today: dt.date, site: str | None = None) -> pd.DataFrame:
    """The overdue follow-up calls per site (each site's coordinator makes their own calls):
    the rows of :func:`waitlist_table` that are overdue, ordered by site then due date."""
    table = waitlist_table(session, study, today, site)
    overdue = table[table["overdue"]]
    return overdue.sort_values(["site", "next_call_due", "pseudonym"]).reset_index(drop=True)

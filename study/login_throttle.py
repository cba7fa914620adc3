"""Throttling of failed logins: growing delays per login name and per client, never a lock.

After a few free failures, each further failure makes the next attempt wait longer (1 s,
2 s, 4 s, ...). The delay of a login name is capped at :data:`LOGIN_DELAY_CAP` (30 s), so a
stranger guessing at ``admin`` slows the real admin down by seconds at most, never locks
them out; the delay of a client (the address the dashboard sees) grows to
:data:`CLIENT_DELAY_CAP` (15 minutes), which stops one machine from guessing many logins.
Unknown login names are throttled exactly like known ones, so the behaviour tells nobody
which logins exist. An attempt made while throttled is refused without being counted (so
hammering does not lengthen anyone's delay) and answered like a wrong password.

The pure part (:func:`delay_after`, :func:`wait_left`) decides; :func:`throttle_state` reads
the counters without any lock and :func:`record_failure` / :func:`clear` write them after the
password check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import LoginThrottle

__all__ = [
    "CLIENT_DELAY_CAP",
    "FREE_FAILURES",
    "LOGIN_DELAY_CAP",
    "RESET_AFTER",
    "Throttle",
    "clear",
    "delay_after",
    "record_failure",
    "throttle_state",
    "wait_left",
]

#: Failures in a row that cost nothing (typos).
FREE_FAILURES = 3
#: Delay after the first failure beyond the free ones; it doubles with each further failure.
FIRST_DELAY = dt.timedelta(seconds=1)
#: Longest delay of a login name (what a stranger can impose on a real user).
LOGIN_DELAY_CAP = dt.timedelta(seconds=30)
#: Longest delay of a client.
CLIENT_DELAY_CAP = dt.timedelta(minutes=15)
#: Failures older than this are forgotten.
RESET_AFTER = dt.timedelta(hours=1)
_CAPS = {"login": LOGIN_DELAY_CAP, "client": CLIENT_DELAY_CAP}


def delay_after(failures: int, kind: str) -> dt.timedelta:
    """How long the next attempt must wait after ``failures`` failures in a row.

    Parameters
    ----------
    failures
        Failed attempts counted so far (≥ 0).
    kind
        ``login`` or ``client`` (they differ only in the cap).

    Returns
    -------
    timedelta
        0 for the first :data:`FREE_FAILURES`, then 1 s, 2 s, 4 s, ... up to the cap.
    """
    beyond = failures - FREE_FAILURES
    if beyond < 0:
        return dt.timedelta(0)
    cap = _CAPS[kind]
    if beyond >= 30:  # 2**30 s is far beyond any cap
        return cap
    return min(FIRST_DELAY * (2**beyond), cap)


def wait_left(
    failures: int, last_failure_at: dt.datetime | None, kind: str, now: dt.datetime
) -> dt.timedelta:
    """Time the next attempt must still wait (0: it may be checked now)."""
    if last_failure_at is None or now - last_failure_at > RESET_AFTER:
        return dt.timedelta(0)
    return max(dt.timedelta(0), last_failure_at + delay_after(failures, kind) - now)


@dataclass(frozen=True)
class Throttle:
    """Whether an attempt may be checked now, how long it would have to wait, and whether
    any failures are on record (a success then has counters to clear)."""

    wait: dt.timedelta
    counted: bool = False

    @property
    def throttled(self) -> bool:
        """The attempt comes too early: refuse it without checking the password."""
        return self.wait > dt.timedelta(0)


def throttle_state(session: Session, login: str, client: str, now: dt.datetime) -> Throttle:
    """The throttle of an attempt by ``client`` at ``login`` (reads only, takes no lock)."""
    rows = session.scalars(
        select(LoginThrottle).where(
            ((LoginThrottle.kind == "login") & (LoginThrottle.key == login))
            | ((LoginThrottle.kind == "client") & (LoginThrottle.key == client))
        )
    ).all()
    waits = [wait_left(r.failures, r.last_failure_at, r.kind, now) for r in rows]
    return Throttle(max(waits, default=dt.timedelta(0)), counted=bool(rows))


def record_failure(session: Session, login: str, client: str, now: dt.datetime) -> None:
    """Count a checked, failed attempt against the login name and the client (in a unit of
    work opened after the check)."""
    for kind, key in (("login", login), ("client", client)):
        row = session.scalar(
            select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
        )
        if row is None:
            session.add(LoginThrottle(kind=kind, key=key, failures=1, last_failure_at=now))
            continue
        stale = now - row.last_failure_at > RESET_AFTER
        row.failures = 1 if stale else row.failures + 1
        row.last_failure_at = now
    session.flush()


def clear(session: Session, login: str, client: str) -> None:
    """Forget the failures of a login name and client after a successful login."""
    for row in session.scalars(
        select(LoginThrottle).where(
            ((LoginThrottle.kind == "login") & (LoginThrottle.key == login))
            | ((LoginThrottle.kind == "client") & (LoginThrottle.key == client))
        )
    ):
        session.delete(row)
    session.flush()

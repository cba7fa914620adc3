"""The dates a group's sessions may carry: from the group's start to its last planned week
plus a grace period for postponed sessions.

A date outside that window (``1900-01-01`` for a group that started in 2025) is a typing
error, never a real session, so imports refuse it with the window in the message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["POSTPONEMENT_GRACE", "GroupWindow", "group_window"]

#: How long after its last planned week a postponed session may still be held.
POSTPONEMENT_GRACE = dt.timedelta(weeks=8)


@dataclass(frozen=True)
class GroupWindow:
    """The first and last date a session (or an observation of it) of a group may have."""

    first: dt.date
    last: dt.date

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` lies in the window (both ends included)."""
        return self.first <= day <= self.last

    def __str__(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


def group_window(start_date: dt.date, weeks: int) -> GroupWindow:
    """The window of a weekly course of ``weeks`` sessions starting on ``start_date``.

    Parameters
    ----------
    start_date
        The group's start (the date of week 1).
    weeks
        Number of weekly sessions (≥ 1).

    Returns
    -------
    GroupWindow
        From ``start_date`` to the planned date of the last week plus
        :data:`POSTPONEMENT_GRACE`.
    """
    last_planned = start_date + dt.timedelta(weeks=max(weeks, 1) - 1)
    return GroupWindow(start_date, last_planned + POSTPONEMENT_GRACE)

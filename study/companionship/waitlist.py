"""Scheduling follow-up calls to people on the waitlist (pure pandas, no database).

While people wait for a match the coordinator calls them every few weeks (3 in the reference
study). The next call is due that many weeks after the last call of the current waiting
period, or after the day the period began when nobody has called yet; a call is overdue once
its due date has passed (a call due today is not yet overdue).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = ["WAITLIST_COLUMNS", "schedule_calls"]

#: The columns ``peerstudy match waitlist`` prints, in this order (a contract).
WAITLIST_COLUMNS: list[str] = ["pseudonym", "role", "since", "last_call", "next_call_due", "overdue"]


def schedule_calls(
    entries: pd.DataFrame,
    calls: pd.DataFrame,
    today: dt.date,
    every_weeks: int = 3,
    *,
    entry: str = "entry_id",
    called_on: str = "called_on",
) -> pd.DataFrame:
    """When each waiting person is next due a follow-up call, and whether it is overdue.

    Parameters
    ----------
    entries
        One row per open waiting period with columns ``entry`` (an id), ``pseudonym``,
        ``role``, ``since`` (the waiting date that sets the place in the list),
        ``entered_on`` (when this period began) and ``top`` (returned after a failed match:
        listed first); any further columns (e.g. ``site``) are kept.
    calls
        Follow-up calls, one row each, with columns ``entry`` and ``called_on``; calls of
        other periods are ignored.
    today
        The reference date for ``overdue``.
    every_weeks
        Weeks between calls, ≥ 1.

    Returns
    -------
    DataFrame
        The columns of :data:`WAITLIST_COLUMNS` followed by the other columns of ``entries``,
        one row per entry, in waitlist order (``top`` first, then by ``since``, then by
        pseudonym):

        - ``since``: date the person's wait counts from
        - ``last_call``: date of the latest call in this period (``None`` when not called yet)
        - ``next_call_due``: ``last_call`` (else ``entered_on``) + ``every_weeks`` weeks
        - ``overdue``: ``today`` is after ``next_call_due``

    Examples
    --------
    >>> entries = pd.DataFrame({"entry_id": [1], "pseudonym": ["P1"], "role": ["participant"],
    ...     "since": [dt.date(2025, 1, 1)], "entered_on": [dt.date(2025, 1, 1)], "top": [False]})
    >>> calls = pd.DataFrame({"entry_id": [1], "called_on": [dt.date(2025, 1, 20)]})
    >>> row = schedule_calls(entries, calls, dt.date(2025, 2, 11)).iloc[0]
    >>> row["next_call_due"], bool(row["overdue"])
    (datetime.date(2025, 2, 10), True)
    """
    if every_weeks < 1:
        raise ValueError(f"every_weeks must be at least 1, got {every_weeks}")
    needed = {entry, "pseudonym", "role", "since", "entered_on", "top"}
    missing = needed - set(entries.columns)
    if missing:
        raise ValueError(f"entries lack column(s) {', '.join(sorted(missing))}")
    missing = {entry, called_on} - set(calls.columns)
    if missing:
        raise ValueError(f"calls lack column(s) {', '.join(sorted(missing))}")

    # The latest call of each open period; calls of closed periods drop out of the join.
    last = pd.to_datetime(calls[called_on]).groupby(calls[entry]).max().rename("last_call")
    out = entries.join(last, on=entry)
    out["last_call"] = pd.to_datetime(out["last_call"])
    anchor = out["last_call"].fillna(pd.to_datetime(out["entered_on"]))
    due = anchor + pd.Timedelta(weeks=every_weeks)
    out["overdue"] = (pd.Timestamp(today) > due).astype(bool)
    out["next_call_due"] = due.dt.date
    out["last_call"] = out["last_call"].dt.date.astype(object).where(out["last_call"].notna(), None)
    out["top"] = out["top"].astype(bool)
    out = out.sort_values(["top", "since", "pseudonym"], ascending=[False, True, True])
    others = [c for c in out.columns if c not in WAITLIST_COLUMNS and c != entry]
    return out[WAITLIST_COLUMNS + others].reset_index(drop=True)

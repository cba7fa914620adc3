"""Calendar arithmetic of relationships: months are calendar months, as people plan them."""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta

__all__ = ["DAYS_PER_MONTH", "add_months"]

#: Mean length of a calendar month in days (365.25 / 12), for durations in months.
DAYS_PER_MONTH = 365.25 / 12


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole calendar months, clipped to the month's end (31 Aug + 6 → 28/29 Feb).

    Examples
    --------
    >>> add_months(dt.date(2025, 8, 31), 6)
    datetime.date(2026, 2, 28)
    """
    return day + relativedelta(months=months)

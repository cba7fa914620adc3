"""Query results as pandas DataFrames, built fast.

pandas probes every element of a row list for named-tuple attributes; SQLAlchemy ``Row``
objects answer such probes through a slow missing-key path, so building a frame from 10,000
rows took ~60 ms where the same rows as plain tuples take ~10 ms (``benchmarks/
dashboard_rct_page.py``). :func:`select_frame` converts first.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Executable
from sqlalchemy.orm import Session

__all__ = ["select_frame"]


def select_frame(
    session: Session,
    statement: Executable,
    columns: Sequence[str],
    dates: Sequence[str] = (),
) -> pd.DataFrame:
    """Run ``statement`` and return its rows as a DataFrame named ``columns``.

    Parameters
    ----------
    session
        A session (reads need no unit of work).
    statement
        A ``select`` returning ``len(columns)`` columns.
    columns
        Column names of the frame, in the statement's order.
    dates
        Columns to convert to ``datetime64`` (missing → ``NaT``), e.g. date columns that the
        caller compares or groups by period.

    Returns
    -------
    pandas.DataFrame
        One row per result row; typed columns even when the result is empty.
    """
    rows = [tuple(row) for row in session.execute(statement)]
    frame = pd.DataFrame(rows, columns=list(columns))
    for column in dates:
        frame[column] = pd.to_datetime(frame[column])
    return frame

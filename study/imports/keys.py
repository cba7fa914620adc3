"""Rows that repeat an earlier row's key after normalisation (week ``3`` and ``03``,
pseudonym ``p0001`` and ``P0001``)."""

from __future__ import annotations

import pandas as pd

from study.errors import RowProblem

__all__ = ["duplicate_key_problems"]


def duplicate_key_problems(
    keys: pd.DataFrame, lines: pd.Series, column: str, values: pd.Series, what: str
) -> list[RowProblem]:
    """A problem for every row whose normalised key repeats an earlier row's.

    Parameters
    ----------
    keys
        The normalised key columns (e.g. group, week as a number, upper-case pseudonym), same
        index as ``lines``; rows with a missing key part are ignored (their own cell checks
        report them).
    lines
        The file's row number of each row (the header is row 1).
    column, values
        The column and the cells shown in the message.
    what
        What the key is made of, for the message (``"group, week and pseudonym"``).

    Returns
    -------
    list of RowProblem
        One per repeating row, naming the first row with that key.
    """
    complete = keys.notna().all(axis=1)
    if not complete.any():
        return []
    keyed = keys[complete].astype(str).agg("\x1f".join, axis=1)
    repeated = keyed.duplicated(keep="first")
    first = lines[complete].groupby(keyed).transform("min")
    return [
        RowProblem(int(lines[i]), column, str(values[i]), f"same {what} as row {int(first[i])}")
        for i in keyed.index[repeated]
    ]

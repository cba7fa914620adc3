"""Rows that repeat an earlier row's key after normalisation (week ``3`` and ``03``,
pseudonym ``p0001`` and ``P0001``), within a frame or across the chunks of a streamed file."""

from __future__ import annotations

import pandas as pd

from study.errors import RowProblem

__all__ = ["SeenKeys", "duplicate_key_problems"]


class SeenKeys:
    """The keys of a streamed file's rows read so far, each with the row it first appeared in
    (only complete keys are kept: a junk row with an unreadable week adds nothing)."""

    def __init__(self) -> None:
        self._first: dict[str, int] = {}

    def problems(
        self, keys: pd.DataFrame, lines: pd.Series, column: str, values: pd.Series, what: str
    ) -> list[RowProblem]:
        """A problem for every row whose normalised key repeats an earlier row's, in this
        chunk or an earlier one; the chunk's new keys are remembered.

        Parameters
        ----------
        keys
            The normalised key columns (e.g. group, week as a number, upper-case pseudonym),
            same index as ``lines``; rows with a missing key part are ignored (their own cell
            checks report them).
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
        parts = [keys.loc[complete, c].astype(str) for c in keys.columns]
        keyed = parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]
        here = lines[complete]
        earlier = keyed.map(self._first)
        first = earlier.fillna(here.groupby(keyed).transform("min"))
        new = ~keyed.duplicated(keep="first") & earlier.isna()
        self._first.update(zip(keyed[new], here[new].astype(int)))
        return [
            RowProblem(int(lines[i]), column, str(values[i]), f"same {what} as row {int(first[i])}")
            for i in keyed.index[~new]
        ]


def duplicate_key_problems(
    keys: pd.DataFrame, lines: pd.Series, column: str, values: pd.Series, what: str
) -> list[RowProblem]:
    """A problem for every row of one frame whose normalised key repeats an earlier row's
    (:meth:`SeenKeys.problems` of a file read whole)."""
    return SeenKeys().problems(keys, lines, column, values, what)

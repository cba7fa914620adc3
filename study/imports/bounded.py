"""Imports that give up after 50 problems instead of reading a bad file to its end.

A file of junk under a valid header has a problem in every cell; checking all of it costs
gigabytes and prints millions of lines nobody reads. An import checks its file a chunk at a
time (:class:`study.imports.reading.CsvStream`) and collects the problems in a
:class:`ProblemCap`; once it holds :data:`~study.errors.MAX_PROBLEMS_SHOWN` problems the
import stops reading and raises :class:`~study.errors.RowErrors` ending with
``50 errors shown, N more rows not checked`` (``N``: the data rows after the row of the 50th
problem). ``all_errors`` (``--all-errors`` on the command line) checks the whole file and lists
every problem.
"""

from __future__ import annotations

__all__ = ["ProblemCap", "read_bounded"]

from collections.abc import Callable, Iterable

import pandas as pd

from study.errors import MAX_PROBLEMS_SHOWN, RowErrors, RowProblem
from study.imports.reading import CsvStream, CsvTable, Source, empty_frame, no_rows


class ProblemCap:
    """The problems an import found so far, chunk by chunk, up to a limit.

    Problems of row 1 (the header) found again in every chunk are kept once.
    """

    def __init__(self, all_errors: bool = False) -> None:
        self.limit = None if all_errors else MAX_PROBLEMS_SHOWN
        self.problems: list[RowProblem] = []
        self._header: set[tuple[str, str]] = set()

    def add(self, found: Iterable[RowProblem]) -> None:
        """Add a chunk's problems (rows after every earlier chunk's)."""
        for p in sorted(found, key=lambda p: p.row):
            if p.row <= 1:
                if (p.column, p.reason) in self._header:
                    continue
                self._header.add((p.column, p.reason))
            self.problems.append(p)

    @property
    def full(self) -> bool:
        """At least the limit of problems: stop reading."""
        return self.limit is not None and len(self.problems) >= self.limit

    def stopped(self, source: str, chunk: pd.DataFrame, stream: CsvStream) -> RowErrors:
        """The error of an import that stops now, in ``chunk`` of ``stream``: the first
        problems up to the limit, and how many data rows after the last of them were not
        checked (the rest of ``chunk`` and of the file)."""
        shown = self.problems[: self.limit]
        last_row = shown[-1].row
        unchecked = int((chunk["line"] > last_row).sum()) + stream.count_rest()
        return RowErrors(source, shown, unchecked_rows=unchecked)


def read_bounded(
    source: Source,
    check: Callable[[pd.DataFrame], list[RowProblem]],
    *,
    all_errors: bool = False,
    require_rows: bool = True,
) -> CsvTable:
    """Read a file chunk by chunk, giving up early when ``check`` finds too many problems.

    Parameters
    ----------
    source
        A path or text in memory.
    check
        The problems of one chunk that need no other rows (cell limits, formats, codes).
    all_errors
        Never give up (``--all-errors``).
    require_rows
        Refuse a file with only a header.

    Returns
    -------
    CsvTable
        The whole file when the chunks hold fewer problems than the limit: the caller's full
        check then reports every problem, its cross-row ones (duplicates) too.

    Raises
    ------
    RowErrors
        With ``50 errors shown, N more rows not checked`` when the limit was reached.
    """
    stream = CsvStream(source)
    cap = ProblemCap(all_errors)
    frames = []
    for chunk in stream.chunks():
        frames.append(chunk)
        found = check(chunk)
        if found and not all_errors and all(p.row <= 1 for p in found):
            raise RowErrors(stream.source, found)  # the header is wrong: no row can be read right
        cap.add(found)
        if cap.full:
            raise cap.stopped(stream.source, chunk, stream)
    if not frames and require_rows:
        raise no_rows(stream.source)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame(stream.columns)
    return CsvTable(frame=frame, source=stream.source, delimiter=stream.delimiter, notes=stream.notes)

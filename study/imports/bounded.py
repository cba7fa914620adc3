"""Imports that give up after 50 problems instead of reading a bad file to its end.

A file of junk under a valid header has a problem in every cell; checking all of it costs
gigabytes and prints millions of lines nobody reads. An import checks its file a chunk at a
time (:class:`study.imports.reading.CsvStream`) and collects the problems in a
:class:`ProblemCap`; once it holds :data:`~study.errors.MAX_PROBLEMS_SHOWN` problems the
import stops reading and raises :class:`~study.errors.RowErrors` ending with
``50 errors shown, N more rows not checked`` (``N``: the data rows after the row of the 50th
problem). ``all_errors`` (``--all-errors`` on the command line) checks the whole file and lists
every problem; a :class:`ProblemLog` keeps them on disk beyond the first 50, so a file with a
problem in every cell costs no more memory than a good one.

Two ways to read a file bounded:

- :func:`read_bounded`: the chunks checked by a function, the whole file returned for the
  caller's full check (participants);
- :class:`BoundedCsv`: a file of fixed columns whose import checks (and keeps what it needs of)
  each chunk itself, adding the problems as it goes (fidelity, attendance, contacts, profiles).
"""

from __future__ import annotations

__all__ = ["BoundedCsv", "ProblemCap", "ProblemLog", "read_bounded"]

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, overload

import pandas as pd

from study.errors import MAX_PROBLEMS_SHOWN, VALUE_SHOWN, RowErrors, RowProblem
from study.imports.limits import cell_problems
from study.imports.reading import (
    CsvStream,
    CsvTable,
    Source,
    column_problems,
    empty_frame,
    no_rows,
)


class ProblemLog(Sequence[RowProblem]):
    """Problems in the order found: the first :data:`~study.errors.MAX_PROBLEMS_SHOWN` in
    memory, the others in a temporary file (one JSON line each, the value cut to what a
    message shows), read back when iterated. ``--all-errors`` on a file of junk finds hundreds
    of thousands of problems: kept as objects they took hundreds of megabytes."""

    def __init__(self, keep: int = MAX_PROBLEMS_SHOWN) -> None:
        self._keep = keep
        self._head: list[RowProblem] = []
        self._spill: IO[str] | None = None
        self._count = 0

    def append(self, problem: RowProblem) -> None:
        """Add one problem after the others."""
        self._count += 1
        if len(self._head) < self._keep:
            self._head.append(problem)
            return
        if self._spill is None:
            # closed (and removed) when the log is garbage-collected with its error
            self._spill = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        value = problem.value[: VALUE_SHOWN + 1]  # one more than shown: the message still cuts it
        self._spill.write(json.dumps([problem.row, problem.column, value, problem.reason]) + "\n")

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[RowProblem]:
        yield from self._head
        if self._spill is None:
            return
        self._spill.flush()
        self._spill.seek(0)
        for line in self._spill:
            yield RowProblem(*json.loads(line))
        self._spill.seek(0, 2)  # appending goes on at the end

    @overload
    def __getitem__(self, index: int) -> RowProblem: ...
    @overload
    def __getitem__(self, index: slice) -> list[RowProblem]: ...
    def __getitem__(self, index: int | slice) -> RowProblem | list[RowProblem]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if stop <= len(self._head):
                return self._head[index]
            return list(self)[index]  # beyond the first problems: read back (rare)
        if -self._count <= index < 0:
            index += self._count
        if 0 <= index < len(self._head):
            return self._head[index]
        if not 0 <= index < self._count:
            raise IndexError(index)
        return next(p for i, p in enumerate(self) if i == index)


class ProblemCap:
    """The problems an import found so far, chunk by chunk, up to a limit.

    Problems of row 1 (the header) found again in every chunk are kept once.
    """

    def __init__(self, all_errors: bool = False) -> None:
        self.limit = None if all_errors else MAX_PROBLEMS_SHOWN
        self.problems = ProblemLog()
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


class BoundedCsv:
    """A file of fixed columns whose import checks it a chunk at a time, giving up after 50
    problems (see the module docstring).

    ::

        read = BoundedCsv(source, REQUIRED, OPTIONAL, all_errors=all_errors)
        for chunk in read.chunks():
            read.add(problems_of(chunk))  # raises RowErrors once 50 are found
        read.finish(problems_across_chunks)  # raises RowErrors when any problem was found

    A missing required or an unknown column is refused when the file is opened; an optional
    column the file leaves out is added to every chunk with empty cells. Cells too long or
    with a control character (:func:`study.imports.limits.cell_problems`) are reported alone:
    a chunk holding one is not given to the import (nothing else is sure of its cells).
    Memory holds one chunk and what the import keeps of it.
    """

    def __init__(
        self,
        source: Source,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        *,
        all_errors: bool = False,
        extra_limits: Mapping[str, int] | None = None,
    ) -> None:
        self._stream = CsvStream(source)
        self.source = self._stream.source
        problems = column_problems(self._stream.columns, required, optional)
        if problems:
            raise RowErrors(self.source, problems)
        self._optional = [c for c in optional if c not in self._stream.columns]
        self._limits = extra_limits
        self._cap = ProblemCap(all_errors)
        self._chunk: pd.DataFrame | None = None
        #: Data rows read so far.
        self.rows = 0

    @property
    def failed(self) -> bool:
        """Whether a problem was found: the file will be refused (nothing is to be written)."""
        return len(self._cap.problems) > 0

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The file's rows a chunk at a time: text cells and ``line`` (see the class docstring).

        Raises
        ------
        RowErrors
            A file with only a header; 50 problems in cells too long or with control characters.
        """
        for chunk in self._stream.chunks():
            self._chunk = chunk
            self.rows += len(chunk)
            columns = [c for c in chunk.columns if c != "line"]
            found = cell_problems(chunk, chunk["line"], columns, self._limits)
            if found:
                self.add(sorted(found, key=lambda p: (p.row, p.column)))
                continue
            for column in self._optional:
                chunk[column] = ""
            yield chunk
        if self.rows == 0:
            raise no_rows(self.source)

    def add(self, problems: Iterable[RowProblem]) -> None:
        """The problems of the chunk just read (sorted here by row and column).

        Raises
        ------
        RowErrors
            With ``50 errors shown, N more rows not checked`` once the limit is reached.
        """
        self._cap.add(sorted(problems, key=lambda p: (p.row, p.column)))
        if self._cap.full and self._chunk is not None:
            raise self._cap.stopped(self.source, self._chunk, self._stream)

    def finish(self, problems: Iterable[RowProblem] = ()) -> None:
        """After the last chunk: add the problems only the whole file shows (rows that
        disagree across chunks).

        Raises
        ------
        RowErrors
            Every problem found (the first 50 listed unless ``all_errors``).
        """
        self._cap.add(sorted(problems, key=lambda p: (p.row, p.column)))
        if self.failed:
            raise RowErrors(self.source, self._cap.problems)

"""Domain errors shared by every layer.

The CLI turns a :class:`BadInput` into one clear line on stderr and exit code 2; the dashboard
shows it as an error message. Nothing is written when one is raised inside a unit of work,
because the transaction is rolled back.
"""

from __future__ import annotations

__all__ = ["PeerstudyError", "BadInput", "NotFound", "NotAllowed", "RowProblem", "RowErrors"]

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

#: Problems of a file listed in the message (all of them stay in ``RowErrors.problems``): a
#: bad file of 100 000 rows must not print 100 000 lines.
MAX_PROBLEMS_SHOWN = 50
#: Characters of a bad cell shown in a message (a 5 MB cell is not echoed back).
VALUE_SHOWN = 60


class PeerstudyError(Exception):
    """Base class of every error peerstudy raises on purpose."""


class BadInput(PeerstudyError):
    """The user's input (a file, an argument, a form) is wrong; nothing was written."""


class NotFound(BadInput):
    """A named thing (pseudonym, site, study, user) does not exist."""


class NotAllowed(PeerstudyError):
    """The action is not allowed in this phase, for this role or for this record."""


@dataclass(frozen=True)
class RowProblem:
    """One bad cell of an imported file: 1-based data row (header is row 1), column, value, reason."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        value = self.value if len(self.value) <= VALUE_SHOWN else self.value[:VALUE_SHOWN] + "…"
        return f"row {self.row}, column {self.column!r}, value {value!r}: {self.reason}"


class RowErrors(BadInput):
    """Every problem found in an imported file; the import wrote nothing.

    ``unchecked_rows`` is set when the import stopped after :data:`MAX_PROBLEMS_SHOWN`
    problems without checking the rest of the file: the message then ends with
    ``50 errors shown, N more rows not checked``. ``show_all`` lists every problem (the
    ``--all-errors`` of the import commands). ``problems`` may be a list or any sequence (a
    :class:`study.imports.bounded.ProblemLog` keeps the problems of ``--all-errors`` on disk);
    :meth:`message_lines` gives the message line by line without building it whole.
    """

    def __init__(
        self,
        source: str,
        problems: Sequence[RowProblem],
        *,
        unchecked_rows: int | None = None,
        show_all: bool = False,
    ):
        self.source = source
        self.problems = problems
        self.unchecked_rows = unchecked_rows
        # Every problem in the message only when asked for (the CLI streams it instead).
        super().__init__("\n".join(self.message_lines(show_all)))

    def message_lines(self, show_all: bool = False) -> Iterator[str]:
        """The message, a line at a time: the summary, one line per problem shown, and how
        many were not shown or not checked."""
        source, problems, unchecked_rows = self.source, self.problems, self.unchecked_rows
        if unchecked_rows is None:
            yield f"{source}: {len(problems)} problem(s), nothing was imported"
        else:
            yield f"{source}: the import stopped after {len(problems)} problem(s), nothing was imported"
        shown = len(problems) if show_all else min(len(problems), MAX_PROBLEMS_SHOWN)
        for p in problems if show_all else problems[:shown]:
            yield f"  {source}: {p}"
        if unchecked_rows is not None:
            yield (
                f"  {source}: {shown} errors shown, {unchecked_rows} more rows not checked "
                "(--all-errors checks and lists them all)"
            )
        elif shown < len(problems):
            yield (
                f"  {source}: {shown} problems shown, "
                f"{len(problems) - shown} more not shown (--all-errors lists them all)"
            )

    def showing_all(self) -> RowErrors:
        """The same error with every problem in its message."""
        return RowErrors(self.source, self.problems, unchecked_rows=self.unchecked_rows, show_all=True)

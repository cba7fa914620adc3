"""How long a cell may be and which characters it may hold: declared once, for every import.

The limits are checked on the text of the file before anything is written, so SQLite (which
stores any length) and PostgreSQL (which refuses what exceeds a ``VARCHAR`` or holds a NUL)
answer the same way: a row/column error. They are no longer than the database columns the
cells go to (codes ``String(64)``, names ``String(255)``), and free text is bounded too, so a
5 MB note can neither be stored nor copied into the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd
from pandas.api.types import infer_dtype

from study.errors import RowProblem

__all__ = ["CELL_LIMITS", "CODE_LIMIT", "DEFAULT_LIMIT", "FREE_TEXT_LIMIT", "cell_problems", "limit_of"]

#: Codes and identifiers (pseudonyms, sites, groups, items, stratification levels): they end up
#: in ``String(64)`` columns or, joined, in a stratum key.
CODE_LIMIT = 64
#: Any other cell (municipality, lists of flags or slots): a ``String(255)`` column.
DEFAULT_LIMIT = 255
#: Free-text notes.
FREE_TEXT_LIMIT = 2000

#: The longest text each file column may hold (characters); columns not named here get
#: :data:`DEFAULT_LIMIT`, stratification columns :data:`CODE_LIMIT`.
CELL_LIMITS: dict[str, int] = {
    # people and places
    "pseudonym": CODE_LIMIT,
    "recipient": CODE_LIMIT,
    "buddy": CODE_LIMIT,
    "site": CODE_LIMIT,
    "role": CODE_LIMIT,
    "observer": CODE_LIMIT,
    "area": CODE_LIMIT,
    # schedule and items
    "group": CODE_LIMIT,
    "week": 9,
    "timepoint": CODE_LIMIT,
    "kind": CODE_LIMIT,
    "item": CODE_LIMIT,
    "status": CODE_LIMIT,
    "activity": CODE_LIMIT,
    "home_visits": CODE_LIMIT,
    "value": FREE_TEXT_LIMIT,  # a fidelity row's value holds the session notes
    # numbers and dates
    "minutes": 9,
    "age_min": 9,
    "age_max": 9,
    "max_matches": 9,
    "birth_date": 10,
    "screened_on": 10,
    "consent_on": 10,
    "completed_on": 10,
    "observed_on": 10,
    "held_on": 10,
    "contact_on": 10,
    "since": 10,
    # free text
    "note": FREE_TEXT_LIMIT,
    "notes": FREE_TEXT_LIMIT,
}
#: Questionnaire item columns hold a whole number or a missing code.
ITEM_LIMIT = 9

# NUL and the other C0/C1 control characters except tab, line feed and carriage return (which
# a quoted cell may hold); U+2028/2029 split lines in some viewers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_PATTERN = _CONTROL.pattern


def limit_of(column: str, extra: Mapping[str, int] | None = None) -> int:
    """The longest text ``column`` may hold (``extra`` overrides, e.g. stratification columns)."""
    if extra and column in extra:
        return extra[column]
    return CELL_LIMITS.get(column, DEFAULT_LIMIT)


def cell_problems(
    frame: pd.DataFrame,
    lines: pd.Series,
    columns: list[str] | None = None,
    extra_limits: Mapping[str, int] | None = None,
) -> list[RowProblem]:
    """Cells that are too long or hold a control character (NUL, escape, ...).

    Parameters
    ----------
    frame
        The file's text cells.
    lines
        The file's row number of each row (the header is row 1), same index as ``frame``.
    columns
        The columns to check (default: every column of ``frame`` except ``line``).
    extra_limits
        Limits of columns this file adds (stratification, questionnaire items), overriding
        :data:`CELL_LIMITS`.

    Returns
    -------
    list of RowProblem
        One per bad cell; the value shown is cut to 40 characters.
    """
    problems: list[RowProblem] = []
    for column in columns if columns is not None else [c for c in frame.columns if c != "line"]:
        limit = limit_of(column, extra_limits)
        # The usual column is clean: one scan of its joined text (C speed) proves it. Cells
        # already held as Python text (an import's stripped cells) are scanned as they are;
        # converting 100,000 of them to a pandas string array costs more than the scan.
        cells = frame[column]
        if cells.dtype == object and infer_dtype(cells, skipna=False) == "string":
            values = cells.tolist()
        else:
            values = cells.fillna("").astype(str).tolist()
        if max(map(len, values), default=0) <= limit and not _CONTROL.search("\n".join(values)):
            continue
        text = frame[column].fillna("").astype(str)
        length = text.str.len()
        for i in text.index[length > limit]:
            problems.append(
                RowProblem(
                    int(lines[i]), column, _cut(text[i]), f"too long: {length[i]} characters, at most {limit}"
                )
            )
        control = text.str.contains(_CONTROL_PATTERN, regex=True)
        for i in text.index[control & (length <= limit)]:
            found = _CONTROL.search(text[i])
            # cannot be None: the row was selected because the same pattern matched it
            assert found is not None
            char = found.group()
            problems.append(
                RowProblem(
                    int(lines[i]),
                    column,
                    _cut(text[i]),
                    f"contains the control character U+{ord(char):04X} (e.g. NUL); remove it",
                )
            )
    return problems


def _cut(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width] + "…"

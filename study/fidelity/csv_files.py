"""Reading the fidelity and attendance CSV files: text cells, row numbers, header checks."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Optional

import pandas as pd

from study.errors import RowErrors, RowProblem

__all__ = ["NA_VALUES", "parse_date", "parse_int", "read_table", "source_name"]

#: Cell values meaning "not applicable" (case-insensitive).
NA_VALUES = frozenset({"na", "n/a"})


def source_name(source: str | Path | io.StringIO) -> str:
    """How messages name an imported file: its path, or ``(input)`` for text in memory."""
    return str(source) if not isinstance(source, io.StringIO) else "(input)"


def read_table(
    source: str | Path | io.StringIO, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a CSV file as text (no type guessing), stripped, with a ``line`` column.

    ``line`` is the line number as a spreadsheet shows it: the header is row 1, the first
    data row is row 2. A missing required or an unknown column raises ``RowErrors`` (row 1);
    an optional column the file leaves out is added with empty cells.
    """
    name = source_name(source)
    try:
        df = pd.read_csv(source, dtype=str, keep_default_na=False, skipinitialspace=True,
                         encoding="utf-8-sig")
    except FileNotFoundError:
        raise RowErrors(name, [RowProblem(0, "(file)", name, "file not found")]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise RowErrors(name, [RowProblem(0, "(file)", name, f"not a readable CSV file: {exc}")]) from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    problems = [
        RowProblem(1, c, "", "required column is missing") for c in required if c not in df.columns
    ]
    problems += [
        RowProblem(1, c, c, f"unknown column (columns: {', '.join(required + optional)})")
        for c in df.columns if c not in required + optional
    ]
    if problems:
        raise RowErrors(name, problems)
    df = df.apply(lambda col: col.str.strip())
    for column in optional:
        if column not in df.columns:
            df[column] = ""
    df["line"] = range(2, len(df) + 2)
    return df


def parse_int(text: str) -> Optional[int]:
    """A whole number written in a cell, or ``None`` when it is not one."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() else None


def parse_date(text: str) -> Optional[dt.date]:
    """An ISO date (YYYY-MM-DD), or ``None``."""
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None

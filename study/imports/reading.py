"""Reading an imported CSV file as text cells, with errors a person can act on.

- Encoding: UTF-8 (with or without the byte-order mark Excel writes). Anything else, e.g. the
  Windows-1252 "CSV" Excel saves by default, is refused with the row and column of the first
  byte that is not UTF-8 and the hint to save the file as "CSV UTF-8".
- Separator: ``,``; a file whose header has more ``;`` than ``,`` (Danish Excel) is read with
  ``;`` and :func:`format_notes` says so.
- An empty file or a file with only a header is refused (nothing to import is a mistake).
- Row numbers are those a spreadsheet shows: the header is row 1, the first data row row 2
  (blank lines count as rows, as they do in a spreadsheet).
- Cells are text, nothing guessed: ``""`` for empty, surrounding spaces removed.

:func:`iter_records` yields the records one at a time, so a later reader can check a large
file chunk by chunk; :func:`read_csv_table` collects them into one frame.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from study.errors import RowErrors, RowProblem

__all__ = [
    "CsvTable", "format_notes", "iter_records", "no_rows", "read_csv_table", "read_table", "source_name",
]

Source = str | Path | io.StringIO
#: Characters stripped from both ends of a cell: spaces, tabs and line breaks (not the
#: control characters :mod:`study.imports.limits` refuses, which ``str.strip`` would eat).
_BLANK = " \t\r\n\u00a0"
_UTF8_BOM = b"\xef\xbb\xbf"
#: The note of a file read with ``;`` as separator.
SEMICOLON_NOTE = "read as ';'-separated (as Danish Excel saves CSV); ',' is the standard separator"
_SAVE_AS = 'save it in Excel with "Save as" → "CSV UTF-8 (comma delimited)" and import again'


def source_name(source: Source) -> str:
    """How messages name an imported file: its path, or ``(input)`` for text in memory."""
    return str(source) if not isinstance(source, io.StringIO) else "(input)"


@dataclass(frozen=True)
class CsvTable:
    """An imported file as text.

    ``frame`` has the file's columns (names stripped and lower-cased) as text cells and a
    ``line`` column with each row's number (the header is row 1); ``notes`` say how the file
    was read when it was not plain comma-separated UTF-8.
    """

    frame: pd.DataFrame
    source: str
    delimiter: str
    notes: tuple[str, ...]


def _refuse(name: str, row: int, column: str, reason: str) -> RowErrors:
    return RowErrors(name, [RowProblem(row, column, "", reason)])


def _decode(raw: bytes, name: str) -> str:
    """The file's text; a :class:`RowErrors` naming row and column when it is not UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(name, 1, "(file)", f"the file is UTF-16, not UTF-8: {_SAVE_AS}")
    if raw.startswith(_UTF8_BOM):
        raw = raw[len(_UTF8_BOM):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        row = before.count(b"\n") + 1
        line = before[before.rfind(b"\n") + 1:]
        header = raw.split(b"\n", 1)[0]
        separator = b";" if header.count(b";") > header.count(b",") else b","
        names = header.decode("utf-8", "replace").strip().split(separator.decode())
        index = line.count(separator)
        column = names[index].strip().lower() if row > 1 and index < len(names) else "(file)"
        raise _refuse(
            name, row, column,
            f"byte 0x{raw[exc.start]:02X} is not UTF-8 (the file is probably Windows-1252/"
            f"Latin-1, as Excel's plain \"CSV\" writes æ, ø, å): {_SAVE_AS}",
        ) from None


def _text(source: Source, name: str) -> str:
    if isinstance(source, io.StringIO):
        return source.getvalue()
    try:
        raw = Path(source).read_bytes()
    except FileNotFoundError:
        raise _refuse(name, 0, "(file)", "file not found") from None
    except OSError as exc:
        raise _refuse(name, 0, "(file)", f"cannot read the file: {exc.strerror}") from None
    return _decode(raw, name)


def _delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def format_notes(source: Source) -> list[str]:
    """How the file is read, when that is not the standard (today: ``;`` as separator).

    Reads only the first line; an unreadable file has no notes (the import reports it).
    """
    try:
        if isinstance(source, io.StringIO):
            first = source.getvalue().split("\n", 1)[0]
        else:
            with open(source, "rb") as handle:
                first = handle.readline().decode("utf-8", "replace")
    except OSError:
        return []
    return [SEMICOLON_NOTE] if _delimiter(first) == ";" else []


def iter_records(text: str, name: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of every record after the header, blank lines skipped (but
    counted). A malformed record (e.g. an unclosed quote) raises :class:`RowErrors`."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    row = 1
    try:
        next(reader, None)
        for row, cells in enumerate(reader, start=2):
            if cells and any(c.strip(_BLANK) for c in cells):
                yield row, cells
    except csv.Error as exc:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a cell is longer than {csv.field_size_limit()} characters"
        raise _refuse(name, row + 1, "(file)", f"not a readable CSV file: {reason}") from None


def _header(text: str, name: str, delimiter: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), [])
    except csv.Error as exc:
        raise _refuse(name, 1, "(file)", f"not a readable CSV header: {exc}") from None
    columns = [c.strip(_BLANK).lower() for c in first]
    if not any(columns):
        raise _refuse(name, 1, "(file)", "the file is empty (no header)")
    seen: set[str] = set()
    problems = []
    for c in columns:
        if c in seen:
            problems.append(RowProblem(1, c, c, "this column appears more than once"))
        seen.add(c)
    if problems:
        raise RowErrors(name, problems)
    return columns


def no_rows(name: str) -> RowErrors:
    """The error of a file that has a header but no data rows."""
    return _refuse(name, 2, "(file)", "the file has a header but no rows: nothing to import")


def read_csv_table(source: Source, max_rows: Optional[int] = None, require_rows: bool = True) -> CsvTable:
    """Read an imported file as text cells (see the module docstring).

    Parameters
    ----------
    source
        A path, or text in memory (``io.StringIO``; messages call it ``(input)``).
    max_rows
        Stop after this many data rows (``None``: all).
    require_rows
        Refuse a file with only a header (``False``: the caller checks its columns first and
        then raises :func:`no_rows` itself).

    Raises
    ------
    RowErrors
        Not UTF-8, not CSV, empty, only a header, a row with more cells than the header or a
        column named twice; nothing is imported.
    """
    name = source_name(source)
    text = _text(source, name)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = _delimiter(text.split("\n", 1)[0])
    columns = _header(text, name, delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    width = len(columns)
    for row, cells in iter_records(text, name, delimiter):
        if len(cells) > width and any(c.strip(_BLANK) for c in cells[width:]):
            raise _refuse(name, row, "(file)",
                          f"the row has {len(cells)} cells, the header {width} columns"
                          + (" (is the separator ';'?)" if delimiter == "," and ";" in "".join(cells) else ""))
        rows.append((cells + [""] * width)[:width])
        lines.append(row)
        if max_rows is not None and len(rows) >= max_rows:
            break
    if not rows and require_rows:
        raise no_rows(name)
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame = frame.apply(lambda col: col.str.strip(_BLANK))
    frame["line"] = lines
    notes = (SEMICOLON_NOTE,) if delimiter == ";" else ()
    return CsvTable(frame=frame, source=name, delimiter=delimiter, notes=notes)


def read_table(
    source: Source,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    extra_limits: Optional[dict[str, int]] = None,
) -> pd.DataFrame:
    """Read a file with fixed columns as text cells, checked cell by cell, with ``line``.

    A missing required or an unknown column raises ``RowErrors`` (row 1); an optional column
    the file leaves out is added with empty cells. Every cell is checked against the length
    limits and for control characters (:func:`study.imports.limits.cell_problems`).
    """
    from study.imports.limits import cell_problems

    table = read_csv_table(source, require_rows=False)
    df = table.frame
    columns = [c for c in df.columns if c != "line"]
    problems = [RowProblem(1, c, "", "required column is missing") for c in required if c not in columns]
    problems += [
        RowProblem(1, c, c, f"unknown column (columns: {', '.join(required + optional)})")
        for c in columns if c not in required + optional
    ]
    if problems:
        raise RowErrors(table.source, problems)
    if df.empty:
        raise no_rows(table.source)
    problems = cell_problems(df, df["line"], columns, extra_limits)
    if problems:
        raise RowErrors(table.source, sorted(problems, key=lambda p: (p.row, p.column)))
    for column in optional:
        if column not in df.columns:
            df[column] = ""
    return df

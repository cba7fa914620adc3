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

The file is streamed: :class:`CsvStream` decodes a megabyte of lines at a time and yields the
rows a chunk (:data:`CHUNK_ROWS` rows) at a time, so an import can check, write or give up
chunk by chunk with flat memory (:mod:`study.imports.bounded` stops after 50 problems);
:func:`read_csv_table` collects the chunks into one frame.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from study.errors import RowErrors, RowProblem

__all__ = [
    "CHUNK_ROWS",
    "CsvStream",
    "CsvTable",
    "column_problems",
    "empty_frame",
    "format_notes",
    "iter_records",
    "no_rows",
    "read_csv_table",
    "read_table",
    "source_name",
]

Source = str | Path | io.StringIO
#: Characters stripped from both ends of a cell: spaces, tabs and line breaks (not the
#: control characters :mod:`study.imports.limits` refuses, which ``str.strip`` would eat).
_BLANK = " \t\r\n\u00a0"
#: ``_BLANK`` for every cell of a row (``map(str.strip, cells, _BLANKS)`` strips in C).
_BLANKS = itertools.repeat(_BLANK)
_UTF8_BOM = b"\xef\xbb\xbf"
#: Data rows per chunk of :class:`CsvStream` (a chunk of a wide file is a few megabytes).
CHUNK_ROWS = 20_000
_FIRST_CHUNK_ROWS = 1_000
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


#: Bytes of the file decoded at a time (whole lines): memory stays flat for any file size.
_READ_BYTES = 1 << 20


def _decode_error(
    raw: bytes, exc: UnicodeDecodeError, name: str, row_offset: int, header: bytes
) -> RowErrors:
    """The error of a byte that is not UTF-8, naming its row (physical line) and column."""
    before = raw[: exc.start]
    row = row_offset + before.count(b"\n") + 1
    line = before[before.rfind(b"\n") + 1 :]
    separator = b";" if header.count(b";") > header.count(b",") else b","
    names = header.decode("utf-8", "replace").strip().split(separator.decode())
    index = line.count(separator)
    column = names[index].strip().lower() if row > 1 and index < len(names) else "(file)"
    return _refuse(
        name,
        row,
        column,
        f"byte 0x{raw[exc.start]:02X} is not UTF-8 (the file is probably Windows-1252/"
        f'Latin-1, as Excel\'s plain "CSV" writes æ, ø, å): {_SAVE_AS}',
    )


def _file_lines(path: Path, name: str) -> Iterator[str]:
    """The file's text line by line, decoded a megabyte of whole lines at a time.

    A UTF-16 file, or a byte that is not UTF-8, raises :class:`RowErrors` naming the row and
    column when the reading reaches it. A UTF-8 byte-order mark is dropped.
    """
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the `with handle` below
    except FileNotFoundError:
        raise _refuse(name, 0, "(file)", "file not found") from None
    except OSError as exc:
        raise _refuse(name, 0, "(file)", f"cannot read the file: {exc.strerror}") from None
    with handle:
        rows_before = 0
        header = b""
        while True:
            try:
                chunk = handle.readlines(_READ_BYTES)
            except OSError as exc:
                raise _refuse(name, 0, "(file)", f"cannot read the file: {exc.strerror}") from None
            if not chunk:
                return
            if rows_before == 0 and not header:
                if chunk[0].startswith((b"\xff\xfe", b"\xfe\xff")):
                    raise _refuse(name, 1, "(file)", f"the file is UTF-16, not UTF-8: {_SAVE_AS}")
                if chunk[0].startswith(_UTF8_BOM):
                    chunk[0] = chunk[0][len(_UTF8_BOM) :]
                header = chunk[0]
            raw = b"".join(chunk)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _decode_error(raw, exc, name, rows_before, header) from None
            rows_before += len(chunk)
            # Lines split as the csv module expects (\n, \r\n or \r; endings kept).
            yield from io.StringIO(text, newline="")


def _lines(source: Source, name: str) -> Iterator[str]:
    if isinstance(source, io.StringIO):
        text = source.getvalue()
        return iter(io.StringIO(text[1:] if text.startswith("\ufeff") else text, newline=""))
    return _file_lines(Path(source), name)


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
    next(_guarded(reader, name, 1), None)
    yield from _records(reader, name)


def _guarded(reader, name: str, row: int) -> Iterator[list[str]]:
    """The reader's records; a malformed one raises :class:`RowErrors` naming its row."""
    try:
        for cells in reader:
            yield cells
            row += 1
    except csv.Error as exc:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a cell is longer than {csv.field_size_limit()} characters"
        raise _refuse(name, row, "(file)", f"not a readable CSV file: {reason}") from None


def _records(reader, name: str) -> Iterator[tuple[int, list[str]]]:
    for row, cells in enumerate(_guarded(reader, name, 2), start=2):
        if cells and "".join(cells).strip(_BLANK):  # not a blank line (one scan in C)
            yield row, cells


def _header(first: list[str] | None, name: str) -> list[str]:
    columns = [c.strip(_BLANK).lower() for c in first or []]
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


class CsvStream:
    """An imported file read a chunk of rows at a time (see the module docstring).

    The header is read when the stream is made (``columns``, ``delimiter``, ``notes``);
    :meth:`chunks` yields the data rows as frames of text cells with ``line``, and
    :meth:`count_rest` counts the rows not read yet (an import that stops early says how many
    it did not check). Memory holds one chunk, whatever the file's size.
    """

    def __init__(self, source: Source) -> None:
        self.source = source_name(source)
        lines = _lines(source, self.source)
        first = next(lines, "")
        self.delimiter = _delimiter(first.split("\n", 1)[0])
        self.notes: tuple[str, ...] = (SEMICOLON_NOTE,) if self.delimiter == ";" else ()
        reader = csv.reader(itertools.chain([first], lines), delimiter=self.delimiter, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise _refuse(self.source, 1, "(file)", f"not a readable CSV header: {exc}") from None
        self.columns = _header(header, self.source)
        self._records = _records(reader, self.source)

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """The data rows, up to ``rows`` at a time: text cells (stripped; a short row padded
        with ``""``) and ``line``. A row with more cells than the header raises
        :class:`RowErrors`. The first chunks are small (1,000 rows, doubling), so that an
        import that gives up on a bad file has read little of it."""
        width = len(self.columns)
        size = min(rows, _FIRST_CHUNK_ROWS)
        cells_of: list[list[str]] = []
        lines: list[int] = []
        for row, cells in self._records:
            if len(cells) > width and any(c.strip(_BLANK) for c in cells[width:]):
                raise _refuse(
                    self.source,
                    row,
                    "(file)",
                    f"the row has {len(cells)} cells, the header {width} columns"
                    + (" (is the separator ';'?)" if self.delimiter == "," and ";" in "".join(cells) else ""),
                )
            if len(cells) != width:
                cells = (cells + [""] * width)[:width]
            cells_of.append(list(map(str.strip, cells, _BLANKS)))
            lines.append(row)
            if len(cells_of) >= size:
                yield self._frame(cells_of, lines)
                cells_of, lines = [], []
                size = min(rows, size * 2)
        if cells_of:
            yield self._frame(cells_of, lines)

    def _frame(self, cells_of: list[list[str]], lines: list[int]) -> pd.DataFrame:
        frame = pd.DataFrame(cells_of, columns=self.columns, dtype=object)  # cells stripped as read
        frame["line"] = lines
        return frame

    def count_rest(self) -> int:
        """How many data rows are left (read and counted, not kept; a malformed record ends
        the count)."""
        count = 0
        try:
            for _ in self._records:
                count += 1
        except RowErrors:
            pass
        return count


def no_rows(name: str) -> RowErrors:
    """The error of a file that has a header but no data rows."""
    return _refuse(name, 2, "(file)", "the file has a header but no rows: nothing to import")


def read_csv_table(source: Source, max_rows: int | None = None, require_rows: bool = True) -> CsvTable:
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
    stream = CsvStream(source)
    frames = []
    kept = 0
    for chunk in stream.chunks(CHUNK_ROWS if max_rows is None else min(CHUNK_ROWS, max_rows)):
        frames.append(chunk)
        kept += len(chunk)
        if max_rows is not None and kept >= max_rows:
            break
    if not frames and require_rows:
        raise no_rows(stream.source)
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame(stream.columns)
    if max_rows is not None:
        frame = frame.iloc[:max_rows]
    return CsvTable(frame=frame, source=stream.source, delimiter=stream.delimiter, notes=stream.notes)


def empty_frame(columns: list[str]) -> pd.DataFrame:
    """The frame of a file with only a header: its columns and ``line``, no rows."""
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    frame["line"] = pd.Series([], dtype="int64")
    return frame


def column_problems(
    columns: list[str], required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[RowProblem]:
    """The header's problems (row 1): a required column missing, a column not expected."""
    problems = [RowProblem(1, c, "", "required column is missing") for c in required if c not in columns]
    problems += [
        RowProblem(1, c, c, f"unknown column (columns: {', '.join(required + optional)})")
        for c in columns
        if c not in required + optional
    ]
    return problems


def read_table(
    source: Source,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    extra_limits: dict[str, int] | None = None,
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
    problems = column_problems(columns, required, optional)
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

"""Writing many rows of one table in few statements, on SQLite and PostgreSQL.

The raw database half of an audited bulk write (:mod:`study.bulk_write` computes the audit
events; :mod:`study.audit` appends them): ids are reserved up front so that a batch's rows and
its events can be built before anything is sent, and the rows go in as

- SQLite: one ``executemany`` of a prepared ``INSERT``, the values converted by each column
  type's own bind processor (dates and times stored exactly as the ORM stores them);
- PostgreSQL: one ``COPY ... FROM STDIN`` through psycopg 3's ``cursor.copy``. The COPY text is
  built column by column here for the types a batch usually holds (text, whole numbers, dates,
  times, booleans: written exactly as psycopg's text dumpers write them); a batch with any
  other type goes through psycopg's row-by-row adaptation instead.

Everything runs on the caller's connection, inside its transaction (a rollback or a killed
process leaves nothing).
"""

from __future__ import annotations

__all__ = ["reserve_ids", "update_rows_by_key", "write_columns", "write_rows"]

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, text, update

#: Rows per ``executemany`` call (bounds the memory of the bound parameters).
_CHUNK = 20_000


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` new values of ``table``'s integer primary key, in increasing order.

    SQLite: the ids after the current largest (the writer holds ``BEGIN IMMEDIATE``, so no
    other writer can take them; SQLite itself gives a new row ``max(id) + 1``). PostgreSQL:
    drawn from the column's sequence, as an ``INSERT`` would draw them.
    """
    if count <= 0:
        return []
    (pk,) = table.primary_key.columns
    if conn.dialect.name == "postgresql":
        # One array, not one result row per id: 200,000 ids in one round trip and one value.
        drawn = conn.execute(
            text("SELECT array_agg(nextval(pg_get_serial_sequence(:t, :c))) FROM generate_series(1, :n)"),
            {"t": table.name, "c": pk.name, "n": count},
        ).scalar_one()
        return sorted(drawn)
    start = conn.execute(select(func.coalesce(func.max(pk), 0))).scalar_one()
    return list(range(start + 1, start + 1 + count))


def write_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name, every row the same keys) into ``table``."""
    if not rows:
        return
    write_columns(conn, table, {name: [row[name] for row in rows] for name in rows[0]})


def write_columns(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert rows given column by column: ``columns`` maps column names to the rows' values
    (all the same length) — what a bulk write builds anyway, without a dict per row."""
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return
    if conn.dialect.name == "postgresql":
        _copy_columns(conn, table, columns)
        return
    # Each column's values converted by the column type's own bind processor (what Core
    # would do row by row), then one executemany of the driver's prepared statement.
    values = []
    for name in names:
        column_values = columns[name]
        process = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            column_values = _processed(process, column_values)
        values.append(column_values)
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    params = list(zip(*values))
    for start in range(0, len(params), _CHUNK):
        conn.exec_driver_sql(sql, params[start : start + _CHUNK])


def _processed(process, values: Sequence[Any]) -> list[Any]:
    """``process`` of each value, computed once per object (a batch's ``created_at`` and
    event time are one object for thousands of rows, an import's dates a few objects)."""
    done: dict[int, Any] = {}  # by id: every object stays alive in ``values`` meanwhile
    out = []
    last, text = object(), None
    for value in values:
        if value is not last:
            last = value
            key = id(value)
            if key not in done:
                done[key] = process(value)
            text = done[key]
        out.append(text)
    return out


#: What COPY's text format escapes in a value, and how (psycopg escapes the same characters).
_COPY_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r", "\\": "\\\\"}


def _copy_texts(values: Sequence[Any]) -> list[str] | None:
    """A column's values in COPY's text format (``\\N`` for null), as psycopg's text dumpers
    write them: ``str`` of whole numbers, dates and times, ``t``/``f``, text escaped.
    ``None`` when the column holds any other type (the caller lets psycopg adapt it)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if all(issubclass(kind, str) for kind in kinds):  # psycopg dumps a subclass as its text
        joined = "".join(v for v in values if v is not None)
        # backslash first (the escapes of the other characters hold one); a column without
        # any of them (the usual one) is taken as it is
        order = [ch for ch in _COPY_ESCAPES if ch in joined]
        order.sort(key=lambda ch: ch != "\\")
        out = []
        for v in values:
            if v is None:
                out.append("\\N")
                continue
            for ch in order:
                v = v.replace(ch, _COPY_ESCAPES[ch])
            out.append(v)
        return out
    if kinds <= {int}:
        return ["\\N" if v is None else int.__repr__(v) for v in values]
    if kinds <= {bool}:
        return ["\\N" if v is None else "t" if v else "f" for v in values]
    if kinds <= {dt.date} or kinds <= {dt.datetime}:
        return ["\\N" if v is None else text for v, text in zip(values, _processed(str, values))]
    return None


def _copy_columns(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any]]) -> None:
    # The connection is the session's, so COPY joins its transaction.
    names = list(columns)
    quote = conn.dialect.identifier_preparer.quote
    driver = conn.connection.driver_connection
    assert driver is not None  # a live connection (the session's, inside its transaction)
    texts = [_copy_texts(columns[name]) for name in names]
    cursor = driver.cursor()
    try:
        with cursor.copy(
            f"COPY {quote(table.name)} ({', '.join(quote(c) for c in names)}) FROM STDIN"
        ) as copy:
            if any(t is None for t in texts):
                # a type written here by no rule of _copy_texts: psycopg adapts every value
                for row in zip(*(columns[name] for name in names)):
                    copy.write_row(row)
                return
            lines = ["\t".join(row) for row in zip(*texts)]
            for start in range(0, len(lines), _CHUNK):
                copy.write("\n".join(lines[start : start + _CHUNK]) + "\n")
    finally:
        cursor.close()


def update_rows_by_key(
    conn: Connection, table: Table, fields: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """``UPDATE table SET field = ... WHERE pk = ...`` for many rows in one ``executemany``.

    Each row maps the primary key column(s) and every name in ``fields`` to its new value.
    """
    if not rows:
        return
    pk_columns = list(table.primary_key.columns)
    statement = (
        update(table)
        .where(*(c == bindparam(f"_pk_{c.name}") for c in pk_columns))
        .values({f: bindparam(f"_new_{f}") for f in fields})
    )
    params = [
        {**{f"_pk_{c.name}": row[c.name] for c in pk_columns}, **{f"_new_{f}": row[f] for f in fields}}
        for row in rows
    ]
    for start in range(0, len(params), _CHUNK):
        conn.execute(statement, params[start : start + _CHUNK])

"""Writing many rows of one table in few statements, on SQLite and PostgreSQL.

The raw database half of an audited bulk write (:mod:`study.bulk_write` computes the audit
events; :mod:`study.audit` appends them): ids are reserved up front so that a batch's rows and
its events can be built before anything is sent, and the rows go in as

- SQLite: one ``executemany`` of a prepared ``INSERT``, the values converted by each column
  type's own bind processor (dates and times stored exactly as the ORM stores them);
- PostgreSQL: one ``COPY ... FROM STDIN`` through psycopg 3's ``cursor.copy`` (values adapted
  by psycopg, the same adaptation as a bound parameter).

Everything runs on the caller's connection, inside its transaction (a rollback or a killed
process leaves nothing).
"""

from __future__ import annotations

__all__ = ["reserve_ids", "update_rows_by_key", "write_rows"]

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
        result = conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, :c)) FROM generate_series(1, :n)"),
            {"t": table.name, "c": pk.name, "n": count},
        )
        return sorted(r[0] for r in result)
    start = conn.execute(select(func.coalesce(func.max(pk), 0))).scalar_one()
    return list(range(start + 1, start + 1 + count))


def write_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts keyed by column name, every row the same keys) into ``table``."""
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, columns, rows)
        return
    # Each column's values converted by the column type's own bind processor (what Core
    # would do row by row), then one executemany of the driver's prepared statement.
    values = []
    for name in columns:
        column_values = [row[name] for row in rows]
        process = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            column_values = _processed(process, column_values)
        values.append(column_values)
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    params = list(zip(*values))
    for start in range(0, len(params), _CHUNK):
        conn.exec_driver_sql(sql, params[start : start + _CHUNK])


def _processed(process, values: list[Any]) -> list[Any]:
    """``process`` of each value, computed once for a run of the same object (a batch's
    ``created_at`` and event time are one object for thousands of rows)."""
    out = []
    last, done = object(), None
    for value in values:
        if value is not last:
            last, done = value, process(value)
        out.append(done)
    return out


def _copy_rows(conn: Connection, table: Table, columns: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
    # psycopg 3 adapts each Python value (date, aware datetime, bool, int, str, None) as it
    # would a query parameter; the connection is the session's, so COPY joins its transaction.
    names = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    driver = conn.connection.driver_connection
    assert driver is not None  # a live connection (the session's, inside its transaction)
    cursor = driver.cursor()
    try:
        with cursor.copy(
            f"COPY {conn.dialect.identifier_preparer.quote(table.name)} ({names}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
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

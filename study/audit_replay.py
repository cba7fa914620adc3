"""Replaying the audit trail: the rows the events say each audited table holds.

Pure functions over event and row data (no database), so that verification can prove the
*data* as well as the chain: a row inserted, changed or deleted by raw SQL (outside the
application, so without an event) differs from the replayed state and is named with its table,
row and field.
"""

from __future__ import annotations

__all__ = ["Discrepancy", "TrailState", "compare_table"]

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from study.audit_chain import REDACTED

RowTexts = dict[str, str | None]


@dataclass(frozen=True)
class Discrepancy:
    """One difference between the audit trail and the database.

    ``field`` is ``None`` when a whole row is missing or was never recorded; ``trail`` and
    ``database`` are the audit texts (redacted fields as their keyed digests).
    """

    table: str
    row_id: str
    field: str | None
    trail: str | None
    database: str | None
    kind: str  # "changed", "missing" (deleted outside the trail), "unrecorded" (inserted outside it)

    def describe(self) -> str:
        """One line for people: table, row, field and what differs."""
        where = f"{self.table} row {self.row_id}"
        if self.kind == "missing":
            return f"{where}: in the audit trail but not in the database (deleted outside the application)"
        if self.kind == "unrecorded":
            return f"{where}: in the database but not in the audit trail (inserted outside the application)"
        if self.kind == "orphan-update":
            return f"{where} field {self.field}: the trail changes a row it never inserted"
        return (
            f"{where} field {self.field}: the audit trail says {self.trail!r}, "
            f"the database holds {self.database!r} (changed outside the application)"
        )


@dataclass
class TrailState:
    """The rows of every audited table as the events replayed so far say they are.

    Feed events in chain order with :meth:`apply`; ``rows[table][row_id]`` then maps each
    field to its audit text.
    """

    rows: dict[str, dict[str, RowTexts]] = field(default_factory=dict)
    orphans: list[Discrepancy] = field(default_factory=list)

    def apply(
        self,
        action: str,
        table: str,
        row_id: str,
        field_name: str | None,
        new_value: str | None,
    ) -> None:
        """Apply one event (``insert``: the row's JSON; ``update``: one field; ``delete``)."""
        table_rows = self.rows.setdefault(table, {})
        if action == "insert":
            table_rows[row_id] = json.loads(new_value) if new_value else {}
        elif action == "delete":
            table_rows.pop(row_id, None)
        elif action == "update":
            # cannot be None: the application writes one update event per changed field
            # (study.db.audit_capture), and an event reaches here only after its keyed hash
            # was verified, so it is one the application wrote
            assert field_name is not None
            row = table_rows.get(row_id)
            if row is None:
                self.orphans.append(Discrepancy(table, row_id, field_name, new_value, None, "orphan-update"))
            else:
                row[field_name] = new_value


def compare_table(
    table: str,
    trail_rows: dict[str, RowTexts],
    database_rows: Iterable[tuple[str, RowTexts]],
    defaulted: frozenset[str] = frozenset(),
) -> list[Discrepancy]:
    """Differences between the trail's rows of one table and the database's.

    Parameters
    ----------
    table
        Table name (for the report).
    trail_rows
        ``row_id -> {field: text}`` from :class:`TrailState` (consumed: rows are removed).
    database_rows
        ``(row_id, {field: text})`` for every row now in the table.
    defaulted
        Fields the database fills in (server defaults): when the trail's row does not name
        one (filled in by the database, or a column added by a later migration), it is not
        compared. Any other field the trail does not name must be null.

    Returns
    -------
    list of Discrepancy
        Changed fields, rows only in the database, rows only in the trail.
    """
    found: list[Discrepancy] = []
    for row_id, current in database_rows:
        expected = trail_rows.pop(row_id, None)
        if expected is None:
            found.append(Discrepancy(table, row_id, None, None, None, "unrecorded"))
            continue
        for name, held in current.items():
            if name in expected:
                value = expected[name]
            elif name in defaulted:
                continue
            else:
                value = None
            if held != value and value != REDACTED:  # "<redacted>": a value recorded before digests
                found.append(Discrepancy(table, row_id, name, value, held, "changed"))
    found.extend(Discrepancy(table, row_id, None, None, None, "missing") for row_id in trail_rows)
    return found

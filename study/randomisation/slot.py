"""Writing a taken slot under the writers' lock without the ORM flush: the allocation row and the
counter's new value in one statement on PostgreSQL, then their two audit events.

:func:`study.randomisation.randomise` locks the counter row and reads the audit chain's head in
one statement (:func:`study.randomisation.service._lock_counter_if_unchanged`); then
:func:`write_slot` inserts the allocation and moves the counter in one statement (an ``UPDATE``
in a ``WITH`` clause of the ``INSERT``; two statements on SQLite, which has no data-modifying
``WITH``) and appends the events with :func:`study.db.audit_capture.append_events`, chained
after the head already read. The events have exactly the content the ORM capture gives the
same change (the allocation's insert event, then the counter's update event, in the capture's
order: new rows, then changed ones), so ``audit verify`` and the replay cannot tell the paths
apart (``tests/test_randomisation_slot.py`` compares them).

The statement goes to the session's connection, past the ORM's refusal of bulk writes to
audited tables: like :mod:`study.bulk_write`, this module computes the audit events itself
(and appends them through the one event writer).
"""

from __future__ import annotations

__all__ = ["AllocationRow", "write_slot"]

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, String, Table, Update, bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from study.audit_chain import audit_text, redacted_digest, row_json
from study.db.audit_capture import append_events
from study.db.models import Allocation, AllocationCounter
from study.db.text_guard import text_problem
from study.db.types import utcnow
from study.errors import BadInput

_ALLOCATION: Table = Allocation.__table__  # type: ignore[assignment]
_COUNTER: Table = AllocationCounter.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class AllocationRow:
    """The values of a new ``allocation`` row (its id and ``created_at`` are set on writing)."""

    study_id: int
    person_id: int
    arm: str
    stratum: str
    method: str
    sequence: str
    sequence_position: int
    allocated_on: dt.date
    allocated_by: str


def write_slot(
    session: Session,
    allocation: AllocationRow,
    counter_id: int,
    head: tuple[int, str],
    audit_key: bytes,
) -> int:
    """Insert ``allocation``, set counter ``counter_id`` to its position and append both audit
    events after ``head``; returns the allocation's id.

    Parameters
    ----------
    session
        A :func:`study.db.unit_of_work` session holding the writers' lock and the counter row's
        lock, the counter at ``allocation.sequence_position - 1``.
    head
        ``(seq, hash)`` of the audit chain's newest event, read under the lock after this
        transaction's last event (:func:`study.db.audit_capture.checked_chain_head`).
    audit_key
        The study's audit key.

    Raises
    ------
    BadInput
        A text value the allocation table cannot hold (as the ORM's text guard says it);
        nothing is written.
    """
    row: dict[str, Any] = dict(vars(allocation), created_at=utcnow())
    _check_text(row)
    position = allocation.sequence_position
    # Parameter names that are no column's: SQLAlchemy would read a column's name among the
    # parameters of the UPDATE as one more value to set.
    params = {f"new_{name}": value for name, value in row.items()}
    moved = {"counter_id": counter_id, "new_count": position}
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        new_id = conn.execute(_insert_moving_counter(), {**params, **moved}).scalar_one()
    else:
        conn.execute(_move_counter(), moved)
        new_id = conn.execute(_insert_allocation(), params).scalar_one()
    row["id"] = new_id
    # A counter loaded earlier in this session (the first slot of a sequence takes the ORM
    # path) would now be stale.
    counter = session.identity_map.get(identity_key(AllocationCounter, counter_id))
    if counter is not None:
        session.expire(counter)
    events = [
        _event(allocation.study_id, allocation.person_id, _ALLOCATION.name, new_id, "insert")
        | {"new_value": _row_json(row, audit_key)},
        _event(allocation.study_id, None, _COUNTER.name, counter_id, "update")
        | {"field": "allocated", "old_value": str(position - 1), "new_value": str(position)},
    ]
    append_events(session, events, audit_key, head=head)
    return new_id


def _check_text(row: dict[str, Any]) -> None:
    """:mod:`study.db.text_guard`'s check of the new row (the ORM runs it before a flush)."""
    for column in _ALLOCATION.columns:
        if isinstance(column.type, String):
            reason = text_problem(row.get(column.name), column.type.length)
            if reason:
                raise BadInput(f"{_ALLOCATION.name}.{column.name} {reason}")


def _row_json(row: dict[str, Any], audit_key: bytes) -> str:
    """The insert event's value: every column as audit text (redacted ones as keyed digests),
    as the ORM capture writes it for the same row."""
    redact = Allocation.__audit_redact__
    texts = {}
    for column in _ALLOCATION.columns:
        text = audit_text(row[column.name])
        texts[column.name] = redacted_digest(text, audit_key) if column.name in redact else text
    return row_json(texts)


def _event(study_id: int, person_id: int | None, table: str, row_id: int, action: str) -> dict[str, Any]:
    return {
        "study_id": study_id,
        "person_id": person_id,
        "table_name": table,
        "row_id": str(row_id),
        "action": action,
        "field": None,
        "old_value": None,
        "new_value": None,
    }


# Built once per process: SQLAlchemy reuses the compiled SQL, psycopg its prepared statement.
@functools.cache
def _move_counter() -> Update:
    return (
        update(_COUNTER)
        .where(_COUNTER.c.id == bindparam("counter_id"))
        .values(allocated=bindparam("new_count"))
    )


@functools.cache
def _insert_allocation() -> Insert:
    values = {c.name: bindparam(f"new_{c.name}", type_=c.type) for c in _ALLOCATION.columns if c.name != "id"}
    return insert(_ALLOCATION).values(values).returning(_ALLOCATION.c.id)


@functools.cache
def _insert_moving_counter() -> Insert:
    """PostgreSQL: ``WITH counter_update AS (UPDATE allocation_counter …) INSERT INTO
    allocation … RETURNING id``, one round trip (a data-modifying ``WITH`` runs to completion
    whether or not the main statement reads it)."""
    return _insert_allocation().add_cte(_move_counter().cte("counter_update"))

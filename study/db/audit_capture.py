"""The capture half of the audit trail: the session class of every unit of work and its listeners.

Every insert, update and delete of an audited row becomes hash-chained audit events in the same
flush (``after_flush``), so no write path can forget to audit; bulk ``UPDATE``/``DELETE`` of
audited tables and any change of an audit event are refused. It lives in the database layer
because :func:`study.db.engine.unit_of_work` opens its sessions with :class:`AuditedSession`;
reading and verifying the trail is :mod:`study.audit`.
"""

from __future__ import annotations

__all__ = [
    "EVENT_FIELDS",
    "AuditedSession",
    "append_event_columns",
    "append_events",
    "chain_head_query",
    "checked_chain_head",
]

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, Table, event, inspect, select
from sqlalchemy.orm import Mapper, ORMExecuteState, Session

from study.audit_chain import GENESIS_HASH, audit_text, chain_columns, event_hash, redacted_digest, row_json
from study.audit_key import key_id, key_path, load_key
from study.db.base import Base
from study.db.models import AuditEvent, Person
from study.db.models.audited import Audited
from study.db.row_writer import write_columns
from study.db.types import utcnow
from study.db.write_lock import take_write_lock
from study.errors import NotAllowed

_AUDIT_TABLE = AuditEvent.__tablename__
#: What a writer gives of each event (actor, reason, time and the chain come from here).
EVENT_FIELDS = ("study_id", "person_id", "table_name", "row_id", "action", "field", "old_value", "new_value")


class AuditedSession(Session):
    """The session class of every peerstudy unit of work (listeners below)."""


# --- capture -------------------------------------------------------------------------------
def _value(obj: Audited, key: str, value: Any, audit_key: bytes) -> str | None:
    if key in type(obj).__audit_redact__:
        return redacted_digest(audit_text(value), audit_key)
    return audit_text(value)


def _row_json(obj: Audited, state, audit_key: bytes) -> str:
    # A value the database filled in (a server default) is not in the session after the
    # flush; it is left out rather than recorded as null (verification then skips it).
    row = {
        attr.key: _value(obj, attr.key, state.dict.get(attr.key), audit_key)
        for attr in state.mapper.column_attrs
        if attr.key in state.dict or attr.columns[0].server_default is None
    }
    return row_json(row)


def _scope(obj: Audited, state) -> tuple[int | None, int | None]:
    """(study id, person id) an event belongs to, for scoping and ``audit show --person``."""
    values = state.dict
    if isinstance(obj, Person):
        return values.get("study_id"), values.get("id")
    study_id = values.get("id") if state.mapper.local_table.name == "study" else values.get("study_id")
    return study_id, values.get("person_id")


def _changes(session: Session, audit_key: bytes) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            state = inspect(obj)
            changes.append(
                dict(_base(obj, state), action="insert", new_value=_row_json(obj, state, audit_key))
            )
    for obj in session.dirty:
        if not isinstance(obj, Audited) or not session.is_modified(obj, include_collections=False):
            continue
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            changes.append(
                dict(
                    _base(obj, state),
                    action="update",
                    field=attr.key,
                    old_value=_value(obj, attr.key, old, audit_key),
                    new_value=_value(obj, attr.key, new, audit_key),
                )
            )
    for obj in session.deleted:
        if isinstance(obj, Audited):
            state = inspect(obj)
            changes.append(
                dict(_base(obj, state), action="delete", old_value=_row_json(obj, state, audit_key))
            )
    return changes


def _base(obj: Audited, state) -> dict[str, Any]:
    study_id, person_id = _scope(obj, state)
    # The identity key is not assigned yet for rows inserted in this flush; the primary key
    # values are, so read them from the instance.
    mapper = state.mapper
    identity = [state.dict.get(mapper.get_property_by_column(c).key) for c in mapper.primary_key]
    return {
        "study_id": study_id,
        "person_id": person_id,
        "table_name": state.mapper.local_table.name,
        "row_id": "/".join(str(part) for part in identity),
        "field": None,
        "old_value": None,
        "new_value": None,
    }


@event.listens_for(AuditedSession, "after_flush")
def _write_audit_events(session: Session, _flush_context) -> None:
    if not any(isinstance(obj, Audited) for obj in (*session.new, *session.dirty, *session.deleted)):
        return
    audit_key = load_key(key_path(session.get_bind()))
    append_events(session, _changes(session, audit_key), audit_key)


def append_events(
    session: Session,
    changes: list[dict[str, Any]],
    audit_key: bytes,
    *,
    head: tuple[int, str] | None = None,
) -> None:
    """Chain ``changes`` after the head of the audit chain and insert them, in ``session``'s
    transaction: the one way events are written (the flush capture above and the audited
    bulk writes of :mod:`study.bulk_write`).

    Parameters
    ----------
    changes
        Events in the order they happened, each with ``study_id, person_id, table_name,
        row_id, action, field, old_value, new_value`` (values already as audit text,
        redacted fields as keyed digests); the actor, reason and time come from the session.
    audit_key
        The study's audit key (:func:`study.audit_key.load_key`).
    head
        ``(seq, hash)`` of the chain's newest event when the caller read it itself, in this
        transaction, under the writers' lock and after its last event (from
        :func:`chain_head_query` in one of its own statements, checked by
        :func:`checked_chain_head`): saves the query here.
    """
    if not changes:
        return
    append_event_columns(
        session, {name: [change[name] for change in changes] for name in EVENT_FIELDS}, audit_key, head=head
    )


def append_event_columns(
    session: Session,
    events: Mapping[str, Sequence[Any]],
    audit_key: bytes,
    *,
    head: tuple[int, str] | None = None,
) -> None:
    """:func:`append_events` for a batch held column by column (an audited bulk write).

    ``events`` maps each of :data:`EVENT_FIELDS` to the batch's values in event order (all
    the same length); the events' content, chain and rows are then built a column at a time,
    without a dict per event. ``head`` as for :func:`append_events`.
    """
    count = len(events["action"])
    if not count:
        return
    actor = session.info.get("actor")
    if not actor:
        raise NotAllowed("a change of study data needs an actor: use study.db.unit_of_work")
    # The chain head is read and extended under the writers' lock (usually held already).
    take_write_lock(session)
    conn = session.connection()
    last_seq, last_hash = head if head is not None else _chain_head(conn, audit_key)
    # Microseconds only: both databases keep exactly that, so the hash survives a round trip.
    occurred_at = utcnow()
    reason = session.info.get("reason")
    columns = {
        **{name: events[name] for name in EVENT_FIELDS},
        "occurred_at": [occurred_at] * count,
        "actor": [actor] * count,
        "reason": [reason] * count,
    }
    seqs, prev_hashes, hashes = chain_columns(columns, last_seq=last_seq, last_hash=last_hash, key=audit_key)
    columns.update(seq=seqs, prev_hash=prev_hashes, hash=hashes)
    write_columns(conn, Base.metadata.tables[_AUDIT_TABLE], columns)


def _chain_head(conn, audit_key: bytes) -> tuple[int, str]:
    """``(seq, hash)`` of the newest event, after checking it was hashed with this key."""
    return checked_chain_head(conn.execute(chain_head_query()).mappings().first(), audit_key)


@functools.cache
def chain_head_query() -> Select:
    """The newest audit event (every column but ``id``): the chain's head, for
    :func:`checked_chain_head`. Read it under the writers' lock, in a statement that starts
    after the lock was taken (an earlier snapshot can miss the previous writer's events)."""
    columns = [c for c in AuditEvent.__table__.columns if c.name != "id"]
    return select(*columns).order_by(AuditEvent.seq.desc()).limit(1)


def checked_chain_head(last: Mapping[str, Any] | None, audit_key: bytes) -> tuple[int, str]:
    """``(seq, hash)`` of the newest event ``last`` (a row of :func:`chain_head_query`;
    ``None`` for an empty chain), after checking it was hashed with this key.

    Writing with another key (a wrong ``$PEERSTUDY_AUDIT_KEY``, a key file of another study)
    would fork the chain into two keys that no verification can follow, so it is refused.
    """
    if last is None:
        return 0, GENESIS_HASH
    if event_hash(last, audit_key) != last["hash"]:
        raise NotAllowed(
            f"the audit key (id {key_id(audit_key)}) does not match this database's audit chain "
            f"(event {last['seq']}): wrong key file, or the newest event was changed; run "
            "`peerstudy audit verify`"
        )
    return last["seq"], last["hash"]


@event.listens_for(AuditedSession, "before_flush")
def _refuse_audit_edits(session: Session, _flush_context, _instances) -> None:
    _delete_cascaded_rows(session)
    _apply_onupdate_values(session)
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise NotAllowed("audit events cannot be changed or deleted")
    # Rows written once (allocations: intention to treat; the randomisation secret; uploaded
    # allocation tables) can never be changed or deleted through the application.
    for obj in session.deleted:
        if isinstance(obj, Audited) and obj.__audit_immutable__:
            raise NotAllowed(f"{_table_name(type(obj))} rows cannot be deleted")
    for obj in session.dirty:
        if (
            isinstance(obj, Audited)
            and obj.__audit_immutable__
            and session.is_modified(obj, include_collections=False)
        ):
            raise NotAllowed(f"{_table_name(type(obj))} rows cannot be changed")


def _delete_cascaded_rows(session: Session) -> None:
    """Delete through the session the rows the database would delete by ``ON DELETE CASCADE``.

    The database's cascade is invisible to the ORM, so without this a person's attributes
    would vanish with the person and no event would say so; every cascaded row gets its own
    delete event instead (repeated until no deleted row has further dependants).
    """
    pending = [obj for obj in session.deleted if isinstance(obj, Audited)]
    seen: set[int] = set()
    with session.no_autoflush:
        while pending:
            obj = pending.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for child_class, fk_column, parent_column in _cascading_children(type(obj)):
                parent_value = getattr(obj, parent_column)
                children = session.scalars(select(child_class).where(fk_column == parent_value))
                for child in children:
                    if child not in session.deleted:
                        session.delete(child)
                        pending.append(child)


def _apply_onupdate_values(session: Session) -> None:
    """Set ``onupdate`` columns (e.g. ``updated_at``) on changed objects before the flush.

    SQLAlchemy would set them inside the flush, where the change is not in the attribute
    history and so would get no audit event; the row would then differ from the trail.
    """
    for obj in session.dirty:
        if not isinstance(obj, Audited) or not session.is_modified(obj, include_collections=False):
            continue
        mapper = inspect(obj).mapper
        for column in mapper.local_table.columns:
            default = column.onupdate
            if default is not None and getattr(default, "is_callable", False):
                setattr(obj, mapper.get_property_by_column(column).key, default.arg(None))


def _cascading_children(parent_class: type[Audited]) -> list[tuple[type[Audited], Any, str]]:
    """``(child class, its FK column, parent attribute)`` for every audited table whose foreign
    key to ``parent_class``'s table says ``ON DELETE CASCADE``."""
    parent_mapper: Mapper[Any] = inspect(parent_class)
    parent_table = parent_mapper.local_table
    found = []
    for mapper in Base.registry.mappers:
        if not issubclass(mapper.class_, Audited):
            continue
        for fk in mapper.local_table.foreign_keys:
            if fk.ondelete and fk.ondelete.upper() == "CASCADE" and fk.column.table is parent_table:
                parent_attr = parent_mapper.get_property_by_column(fk.column).key
                found.append((mapper.class_, fk.parent, parent_attr))
    return found


@event.listens_for(AuditedSession, "do_orm_execute")
def _refuse_bulk_writes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name == _AUDIT_TABLE:
        raise NotAllowed("audit events cannot be written, changed or deleted directly")
    if name in _audited_tables():
        raise NotAllowed(
            f"bulk writes to {name} would bypass the audit trail; change objects in a unit of work"
        )


def _audited_tables() -> frozenset[str]:
    return frozenset(_table_name(m.class_) for m in Base.registry.mappers if issubclass(m.class_, Audited))


def _table_name(mapped: type) -> str:
    """The name of the table a mapped class is mapped to."""
    mapper: Mapper[Any] = inspect(mapped)
    table = mapper.local_table
    # cannot be anything else: every model is declarative with its own __tablename__ (a
    # Table), none is mapped to a join or a subquery
    assert isinstance(table, Table)
    return table.name

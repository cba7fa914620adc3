"""The audit trail: every insert, update and delete of study data, hash-chained.

Changes are captured from the ORM unit of work (``after_flush``), so no write path can forget
to audit: the events are inserted in the same transaction as the change and vanish with it on
rollback. Bulk ``UPDATE``/``DELETE`` statements against audited tables are refused because they
would bypass the capture, and nothing in the application can change or delete an audit event.

Each event stores ``hash = SHA-256(content, prev_hash)``; :func:`verify_chain` recomputes the
chain and names the first event whose content, link or sequence number does not match.
"""

from __future__ import annotations

__all__ = [
    "AuditedSession",
    "ChainReport",
    "GENESIS_HASH",
    "event_hash",
    "person_history",
    "verify_chain",
]

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Optional

import pandas as pd
from sqlalchemy import Engine, event, insert, inspect, select, text
from sqlalchemy.orm import ORMExecuteState, Session

from study.db.models import AuditEvent, Person
from study.db.models.audited import Audited
from study.db.types import utcnow
from study.errors import NotAllowed

GENESIS_HASH = "0" * 64
REDACTED = "<redacted>"
_AUDIT_TABLE = AuditEvent.__tablename__


class AuditedSession(Session):
    """The session class of every peerstudy unit of work (listeners below)."""


# --- capture -------------------------------------------------------------------------------
def _encode(value: Any) -> Optional[str]:
    """A value as audit text: ISO dates, ``true``/``false``, plain strings as they are."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _value(obj: Audited, key: str, value: Any) -> Optional[str]:
    if key in type(obj).__audit_redact__ and value is not None:
        return REDACTED
    return _encode(value)


def _row_json(obj: Audited, state) -> str:
    row = {
        attr.key: _value(obj, attr.key, state.dict.get(attr.key))
        for attr in state.mapper.column_attrs
    }
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


def _scope(obj: Audited, state) -> tuple[Optional[int], Optional[int]]:
    """(study id, person id) an event belongs to, for scoping and ``audit show --person``."""
    values = state.dict
    if isinstance(obj, Person):
        return values.get("study_id"), values.get("id")
    study_id = values.get("id") if state.mapper.local_table.name == "study" else values.get("study_id")
    return study_id, values.get("person_id")


def _changes(session: Session) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            state = inspect(obj)
            changes.append(dict(_base(obj, state), action="insert", new_value=_row_json(obj, state)))
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
                    old_value=_value(obj, attr.key, old),
                    new_value=_value(obj, attr.key, new),
                )
            )
    for obj in session.deleted:
        if isinstance(obj, Audited):
            state = inspect(obj)
            changes.append(dict(_base(obj, state), action="delete", old_value=_row_json(obj, state)))
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


def event_hash(event_row: dict[str, Any]) -> str:
    """SHA-256 (hex) over an event's content and its predecessor's hash.

    The content is canonical JSON of the fields listed below, so the hash is the same on every
    database and Python version.
    """
    occurred = event_row["occurred_at"]
    if isinstance(occurred, dt.datetime):
        occurred = occurred.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    content = [
        event_row["seq"],
        event_row["study_id"],
        event_row["person_id"],
        occurred,
        event_row["actor"],
        event_row["action"],
        event_row["table_name"],
        event_row["row_id"],
        event_row["field"],
        event_row["old_value"],
        event_row["new_value"],
        event_row["reason"],
        event_row["prev_hash"],
    ]
    canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@event.listens_for(AuditedSession, "after_flush")
def _write_audit_events(session: Session, _flush_context) -> None:
    changes = _changes(session)
    if not changes:
        return
    actor = session.info.get("actor")
    if not actor:
        raise NotAllowed("a change of study data needs an actor: use study.db.unit_of_work")
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # Re-entrant within the transaction; unit_of_work already holds it.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key()})
    last = conn.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    # Microseconds only: both databases keep exactly that, so the hash survives a round trip.
    occurred_at = utcnow()
    rows = []
    for change in changes:
        seq += 1
        row = dict(
            change,
            seq=seq,
            occurred_at=occurred_at,
            actor=actor,
            reason=session.info.get("reason"),
            prev_hash=prev_hash,
        )
        row["hash"] = prev_hash = event_hash(row)
        rows.append(row)
    conn.execute(insert(AuditEvent.__table__), rows)


def _lock_key() -> int:
    from study.db.engine import WRITE_LOCK_KEY

    return WRITE_LOCK_KEY


@event.listens_for(AuditedSession, "before_flush")
def _refuse_audit_edits(session: Session, _flush_context, _instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise NotAllowed("audit events cannot be changed or deleted")
    # Rows written once (allocations: intention to treat; the randomisation secret; uploaded
    # allocation tables) can never be changed or deleted through the application.
    for obj in session.deleted:
        if isinstance(obj, Audited) and obj.__audit_immutable__:
            raise NotAllowed(f"{obj.__tablename__} rows cannot be deleted")
    for obj in session.dirty:
        if (
            isinstance(obj, Audited)
            and obj.__audit_immutable__
            and session.is_modified(obj, include_collections=False)
        ):
            raise NotAllowed(f"{obj.__tablename__} rows cannot be changed")


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
    from study.db.base import Base

    return frozenset(
        m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, Audited)
    )


# --- verification and reading --------------------------------------------------------------
@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`: ``broken_id`` is the first bad event, if any."""

    events: int
    broken_id: Optional[int] = None
    broken_seq: Optional[int] = None
    problem: Optional[str] = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify_chain(engine: Engine) -> ChainReport:
    """Walk the whole audit chain in order and report the first broken event.

    An event is broken when its hash does not match its content (edited), its ``prev_hash``
    does not match the event before it, or its sequence number skips (an event removed).
    """
    columns = [c for c in AuditEvent.__table__.columns if c.name != "id"]
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=5000).execute(
            select(AuditEvent.id, *columns).order_by(AuditEvent.seq)
        )
        for row in result.mappings():
            count += 1
            problem = None
            if row["seq"] != expected_seq:
                problem = f"sequence number {row['seq']} where {expected_seq} was expected (an event is missing)"
            elif row["prev_hash"] != expected_prev:
                problem = "its link to the previous event does not match (an event was changed or removed)"
            elif event_hash(dict(row)) != row["hash"]:
                problem = "its content does not match its hash (the event was changed)"
            if problem:
                return ChainReport(count, row["id"], row["seq"], problem)
            expected_prev, expected_seq = row["hash"], row["seq"] + 1
    return ChainReport(count)


def person_history(session: Session, study_id: int, pseudonym: str) -> pd.DataFrame:
    """Every audit event about one person, oldest first.

    Returns a DataFrame with columns ``occurred_at, actor, action, table_name, row_id, field,
    old_value, new_value, reason``. Identity fields appear as ``<redacted>``.
    """
    from study.errors import NotFound

    person_id = session.scalar(
        select(Person.id).where(Person.study_id == study_id, Person.pseudonym == pseudonym)
    )
    if person_id is None:
        raise NotFound(f"unknown pseudonym {pseudonym!r}")
    cols = ["occurred_at", "actor", "action", "table_name", "row_id", "field", "old_value", "new_value", "reason"]
    rows = session.execute(
        select(*(getattr(AuditEvent, c) for c in cols))
        .where(AuditEvent.study_id == study_id, AuditEvent.person_id == person_id)
        .order_by(AuditEvent.seq)
    ).all()
    return pd.DataFrame(rows, columns=cols)

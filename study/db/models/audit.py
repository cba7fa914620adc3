"""The audit trail: one append-only, hash-chained row per change of study data."""

import datetime as dt

from sqlalchemy import Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, IntPK, Name

__all__ = ["AuditEvent"]


class AuditEvent(Base):
    """Who changed what, when, from which value to which.

    ``action`` is ``insert`` (``field`` empty, ``new_value`` the row as JSON), ``update`` (one
    event per changed field) or ``delete`` (``old_value`` the row as JSON). ``hash`` is the
    SHA-256 over the event's content and ``prev_hash``, the hash of the event before it, so that
    any edit or removal breaks the chain. ``seq`` numbers the chain without gaps (ids from a
    sequence need not be in insertion order) (see :func:`study.audit.verify_chain`).
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_person", "study_id", "person_id"),)

    id: Mapped[IntPK]
    seq: Mapped[int] = mapped_column(unique=True)
    study_id: Mapped[int | None]
    person_id: Mapped[int | None]
    occurred_at: Mapped[dt.datetime]
    actor: Mapped[Name]
    action: Mapped[Code]
    table_name: Mapped[Code]
    row_id: Mapped[Code]
    field: Mapped[Code | None]
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[Code]
    hash: Mapped[Code] = mapped_column(unique=True)

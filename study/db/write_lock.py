"""The lock that serialises writers on PostgreSQL (SQLite locks the file with ``BEGIN IMMEDIATE``).

Shared by :func:`study.db.engine.unit_of_work`, which takes it when a write transaction starts,
and the audit capture (:mod:`study.db.audit_capture`), which takes it again before it reads the
head of the hash chain (re-entrant within the transaction).
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

__all__ = ["WRITE_LOCK_KEY", "lock_writers"]

#: Key of the PostgreSQL advisory lock that serialises writers (an arbitrary constant).
WRITE_LOCK_KEY = 0x7065_6572  # "peer"


def lock_writers(conn: Connection | Session) -> None:
    """Take the writers' transaction-scoped advisory lock on PostgreSQL; nothing elsewhere."""
    bind = conn if isinstance(conn, Connection) else conn.get_bind()
    if bind.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})

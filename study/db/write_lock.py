"""The lock that serialises writers on PostgreSQL (SQLite locks the file with ``BEGIN IMMEDIATE``).

Shared by :func:`study.db.engine.unit_of_work`, which takes it when a write transaction starts
(or, with ``lock_at_start=False``, defers it to the critical section), and the audit capture
(:mod:`study.db.audit_capture`), which takes it before it reads the head of the hash chain.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["LOCKED_INFO_KEY", "WRITE_LOCK_KEY", "take_write_lock"]

#: Key of the PostgreSQL advisory lock that serialises writers (an arbitrary constant).
WRITE_LOCK_KEY = 0x7065_6572  # "peer"
#: ``session.info`` key: True once the transaction holds the writers' lock.
LOCKED_INFO_KEY = "peerstudy_write_locked"
_LOCK_STATEMENT = text("SELECT pg_advisory_xact_lock(:k)")


def take_write_lock(session: Session) -> None:
    """Serialise the rest of this write transaction with every other writer (idempotent).

    PostgreSQL: the transaction-scoped advisory lock :data:`WRITE_LOCK_KEY`, held until
    commit or rollback (one round trip, the first time only). SQLite: nothing to do, the
    transaction began with ``BEGIN IMMEDIATE``.
    """
    if session.info.get(LOCKED_INFO_KEY):
        return
    if session.get_bind().dialect.name == "postgresql":
        # On the connection, not through the ORM's execute (its events and result set-up cost
        # more than the round trip).
        session.connection().execute(_LOCK_STATEMENT, {"k": WRITE_LOCK_KEY})
    session.info[LOCKED_INFO_KEY] = True

"""Database triggers that refuse any change or removal of audit events.

The application never changes an event (:mod:`study.audit` refuses it in the session); these
triggers make the database itself refuse ``UPDATE`` and ``DELETE`` on ``audit_event`` (and
``TRUNCATE`` on PostgreSQL), whoever sends them. Only the tables' owner can drop the triggers;
on PostgreSQL the application role is not the owner (:mod:`study.db.roles`), and the keyed
chain and anchors detect what an owner might still do.
"""

from __future__ import annotations

__all__ = ["install_audit_guard", "remove_audit_guard", "suspended_audit_guard"]

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

_SQLITE_INSTALL = (
    "CREATE TRIGGER IF NOT EXISTS audit_event_refuse_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be changed'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_refuse_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit events cannot be deleted'); END",
)
_SQLITE_REMOVE = (
    "DROP TRIGGER IF EXISTS audit_event_refuse_update",
    "DROP TRIGGER IF EXISTS audit_event_refuse_delete",
)
_PG_INSTALL = (
    """CREATE OR REPLACE FUNCTION audit_event_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'audit events cannot be changed or deleted: ' || TG_OP || ' refused',
            ERRCODE = 'insufficient_privilege';
    END $$""",
    "DROP TRIGGER IF EXISTS audit_event_refuse_change ON audit_event",
    "CREATE TRIGGER audit_event_refuse_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_refuse()",
    "DROP TRIGGER IF EXISTS audit_event_refuse_truncate ON audit_event",
    "CREATE TRIGGER audit_event_refuse_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse()",
)
_PG_REMOVE = (
    "DROP TRIGGER IF EXISTS audit_event_refuse_change ON audit_event",
    "DROP TRIGGER IF EXISTS audit_event_refuse_truncate ON audit_event",
)


def install_audit_guard(conn: Connection) -> None:
    """Create the refusing triggers (idempotent); part of the schema since revision 0009."""
    statements = _PG_INSTALL if conn.dialect.name == "postgresql" else _SQLITE_INSTALL
    for statement in statements:
        conn.exec_driver_sql(statement)


def remove_audit_guard(conn: Connection) -> None:
    """Drop the triggers (what only the owner can do; used by migrations and test set-up)."""
    statements = _PG_REMOVE if conn.dialect.name == "postgresql" else _SQLITE_REMOVE
    for statement in statements:
        conn.exec_driver_sql(statement)


@contextmanager
def suspended_audit_guard(conn: Connection) -> Iterator[Connection]:
    """The triggers dropped for the block and created again after it, in ``conn``'s transaction.

    For emptying a test database, and for tests that play an owner who drops them.
    """
    remove_audit_guard(conn)
    yield conn
    install_audit_guard(conn)

"""PostgreSQL roles for a multi-site study: an owner that holds the schema, an application
role that may only use it.

The owner role (no login) owns every table, sequence and the audit triggers' function, so only
it (and superusers) can run DDL, drop the triggers or change the audit table's privileges. The
application role (what the dashboard and the sites' command lines log in as) may read and write
study tables, but on ``audit_event`` only ``SELECT`` and ``INSERT``; it cannot create, alter or
drop anything. See docs/operations.md for the set-up.
"""

from __future__ import annotations

__all__ = ["DEFAULT_OWNER_ROLE", "check_roles", "setup_roles"]

import re

from sqlalchemy import Connection, Engine, text

from study.errors import BadInput

DEFAULT_OWNER_ROLE = "peerstudy_owner"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_AUDIT_TABLE = "audit_event"
_READ_ONLY_TABLES = ("alembic_version",)


def setup_roles(engine: Engine, app_role: str, owner_role: str = DEFAULT_OWNER_ROLE) -> None:
    """Create (if missing) the owner and application roles and set ownership and privileges.

    Idempotent: run it again after every schema upgrade (``peerstudy init --app-role``) so new
    tables get the same treatment. Must be run by a superuser or a role that may create roles
    and is a member of the owner role (it is made one).

    Raises
    ------
    BadInput
        On SQLite (roles are a PostgreSQL feature) or for a role name that is not a plain
        lower-case identifier.
    """
    check_roles(engine, app_role, owner_role)
    with engine.begin() as conn:
        _create_role(conn, owner_role, login=False)
        _create_role(conn, app_role, login=True)
        conn.execute(text(f'GRANT "{owner_role}" TO CURRENT_USER'))
        _transfer_ownership(conn, owner_role)
        _grant_application(conn, app_role)


def check_roles(engine: Engine, app_role: str, owner_role: str = DEFAULT_OWNER_ROLE) -> None:
    """Refuse (``BadInput``) roles on SQLite, malformed role names, or one name for both; call
    it before writing anything."""
    if engine.dialect.name != "postgresql":
        raise BadInput("--app-role needs PostgreSQL: SQLite has no roles (protect the file instead)")
    for name in (app_role, owner_role):
        if not _ROLE_NAME.match(name):
            raise BadInput(f"role name {name!r}: use lower-case letters, digits and _")
    if app_role == owner_role:
        raise BadInput("the application role must differ from the owner role")


def _create_role(conn: Connection, name: str, *, login: bool) -> None:
    exists = conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name})
    if not exists:
        conn.execute(text(f'CREATE ROLE "{name}" {"LOGIN" if login else "NOLOGIN"}'))


def _tables(conn: Connection) -> list[str]:
    return list(
        conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
    )


def _transfer_ownership(conn: Connection, owner: str) -> None:
    for table in _tables(conn):
        conn.execute(text(f'ALTER TABLE "{table}" OWNER TO "{owner}"'))  # with its sequences
    if conn.scalar(text("SELECT 1 FROM pg_proc WHERE proname = 'audit_event_refuse'")):
        conn.execute(text(f'ALTER FUNCTION audit_event_refuse() OWNER TO "{owner}"'))


def _grant_application(conn: Connection, app: str) -> None:
    database = conn.scalar(text("SELECT current_database()"))
    # Nobody but the owner creates objects in this database's public schema.
    conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    conn.execute(text(f'REVOKE ALL ON DATABASE "{database}" FROM "{app}"'))
    conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{app}"'))
    conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{app}"'))
    for table in _tables(conn):
        conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM "{app}"'))
        if table == _AUDIT_TABLE:
            privileges = "SELECT, INSERT"
        elif table in _READ_ONLY_TABLES:
            privileges = "SELECT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        conn.execute(text(f'GRANT {privileges} ON TABLE "{table}" TO "{app}"'))
    conn.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app}"'))

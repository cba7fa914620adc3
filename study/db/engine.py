"""Engines and units of work for SQLite (embedded default) and PostgreSQL (multi-site).

Every write goes through :func:`unit_of_work`: one transaction, an actor for the audit trail,
and writers serialised (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on
PostgreSQL) so that the audit hash chain, sequence slots and minimisation counts can never be
raced. Reads use :func:`read_session` and take no lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

# Every session is an AuditedSession: importing it registers the audit capture.
from study.db.audit_capture import AuditedSession
from study.db.write_lock import LOCKED_INFO_KEY, WRITE_LOCK_KEY, take_write_lock

__all__ = [
    "DEFAULT_URL",
    "WRITE_LOCK_KEY",
    "make_engine",
    "read_session",
    "resolve_url",
    "take_write_lock",
    "unit_of_work",
]

DEFAULT_URL = "sqlite:///peerstudy.db"


def resolve_url(url: str | None = None) -> str:
    """The database URL: the argument, else ``$PEERSTUDY_DB``, else ``sqlite:///peerstudy.db``.

    A bare file path means SQLite; ``postgresql://`` and ``postgres://`` use the psycopg 3
    driver.
    """
    url = url or os.environ.get("PEERSTUDY_DB") or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{Path(url)}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, **kwargs) -> Engine:
    """Create an engine for ``url`` (see :func:`resolve_url`) with peerstudy's settings."""
    url = resolve_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling cannot say BEGIN IMMEDIATE; take it over (the
    # SQLAlchemy-documented recipe) so that writers lock the file when they start, not at their
    # first write, where two of them would otherwise deadlock or read stale counters.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 60000")
        # 64 MB of page cache (default 2 MB): a bulk import updates indexes (the audit
        # chain's unique hashes) far larger than 2 MB, and a smaller cache spills their pages
        # to the WAL again and again inside the one transaction.
        cursor.execute("PRAGMA cache_size = -65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        write = conn.get_execution_options().get("peerstudy_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def unit_of_work(
    engine: Engine, actor: str, reason: str | None = None, *, lock_at_start: bool = True
) -> Iterator[Session]:
    """One audited, serialised write transaction.

    Parameters
    ----------
    engine
        From :func:`make_engine`.
    actor
        Who makes the change (a login, or ``cli:<os user>``); written to every audit event.
    reason
        Why, when the user gave a reason (a correction, a withdrawal); written to the events.
    lock_at_start
        Take the writers' lock when the transaction begins (the default: everything the
        block reads is then serialised with every other writer). ``False`` defers it on
        PostgreSQL to the first :func:`take_write_lock` or, at the latest, the first flush of
        audited changes, so that a writer can prepare outside the critical section (reads
        it re-checks under the lock, as :func:`study.randomisation.randomise` does). SQLite
        has one database-wide write lock, taken at ``BEGIN IMMEDIATE``; there it is ignored.

    Commits when the block ends normally; rolls back everything on any exception, so nothing
    is half written.
    """
    if not actor:
        raise ValueError("a unit of work needs an actor for the audit trail")
    write_engine = engine.execution_options(peerstudy_write=True)
    # A session, not a sessionmaker: that would define a new session subclass each time,
    # whose event dispatch SQLAlchemy then builds again (a tenth of a short unit of work's CPU).
    with AuditedSession(write_engine, expire_on_commit=False) as session, session.begin():
        session.info["actor"] = actor
        session.info["reason"] = reason
        # SQLite: BEGIN IMMEDIATE (see _configure_sqlite) already is the write lock.
        session.info[LOCKED_INFO_KEY] = engine.dialect.name == "sqlite"
        if lock_at_start:
            take_write_lock(session)
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading; it commits nothing (closing it discards any pending change).

    Objects loaded in it stay readable after the block (they are detached, not expired).
    """
    with AuditedSession(engine, expire_on_commit=False) as session:  # see unit_of_work
        yield session

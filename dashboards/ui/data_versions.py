"""Data versions per table, read from the audit trail, for the dashboard's cache keys.

Every change of study data is an audit event, and the chain's ``seq`` only grows (events are
written one transaction at a time, under the chain lock). So the events after the last
``seq`` this server saw name exactly the tables that changed — whoever changed them: this
dashboard, another server or the CLI. A table's version is the ``seq`` of its latest event seen;
a cached query keyed by the versions of the tables it reads
(:mod:`dashboards.queries.dependencies`) is recomputed after a change of those tables and only
then. Looking costs one indexed query, at most every :data:`MIN_INTERVAL_S` seconds per server
(and at once after a write of this server).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from sqlalchemy import Engine, func, select

from study.db.models import AuditEvent

__all__ = ["MIN_INTERVAL_S", "TableVersions"]

#: Seconds between two looks at the audit trail (a page run asks several times).
MIN_INTERVAL_S = 0.25


class TableVersions:
    """The data versions of one database, shared by every session of a server (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._head: int | None = None  # the last seq seen
        self._head_hash: str | None = None  # that event's chain hash: another means another trail
        self._generation = 0  # bumped when the trail restarts (a rebuilt database)
        self._versions: dict[str, int] = {}
        self._looked_at = float("-inf")

    def versions(self, engine: Engine, tables: Iterable[str] | None) -> tuple:
        """A key that changes whenever one of ``tables`` changes (``None``: any table)."""
        with self._lock:
            if time.monotonic() - self._looked_at >= MIN_INTERVAL_S:
                self._look(engine)
            if tables is None:
                return (self._generation, self._head)
            return (self._generation, *(self._versions.get(t, 0) for t in sorted(tables)))

    def look_next_time(self) -> None:
        """Look at the trail on the next call (after a write, so that it shows at once)."""
        with self._lock:
            self._looked_at = float("-inf")

    def seen(self, events: Iterable[tuple[int, str]]) -> None:
        """Take in ``(seq, table_name)`` events newer than the head (in any order).

        >>> v = TableVersions()
        >>> v.seen([(3, "attendance"), (5, "person"), (4, "attendance")])
        >>> v._versions == {"attendance": 4, "person": 5}, v._head
        (True, 5)
        """
        for seq, table in events:
            if seq > self._versions.get(table, 0):
                self._versions[table] = seq
            if self._head is None or seq > self._head:
                self._head = seq

    def _look(self, engine: Engine) -> None:
        with engine.connect() as conn:
            if self._head is not None:
                # The usual case, one indexed query: the head seen last (its hash shows it is
                # the same trail) and the events after it. After a save this runs on every
                # page run of every session, under the lock.
                rows = conn.execute(
                    select(AuditEvent.seq, AuditEvent.table_name, AuditEvent.hash)
                    .where(AuditEvent.seq >= self._head)
                    .order_by(AuditEvent.seq)
                ).all()
                empty_before = self._head == 0  # an empty trail: every event is new
                if empty_before or (rows and rows[0].seq == self._head and rows[0].hash == self._head_hash):
                    new = rows if empty_before else rows[1:]
                    self.seen((row.seq, row.table_name) for row in new)
                    if new:
                        self._head_hash = new[-1].hash
                    self._looked_at = time.monotonic()
                    return
            # First look, or another trail (a database emptied and rebuilt, so the head seen
            # is gone or another event): every table is new to this server.
            head = conn.execute(select(func.max(AuditEvent.seq))).scalar() or 0
            self._generation += 1
            self._versions = {}
            self._head = head
            self._head_hash = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == head)).scalar()
        self._looked_at = time.monotonic()

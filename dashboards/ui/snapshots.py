"""Expensive page data served from the last snapshot while a fresh one is computed.

The analysis page takes a snapshot of the whole study and fits the trial's models: seconds
for a large study, and every questionnaire or attendance entry changes its data. Recomputing
it for the next visitor after every entry would make researchers wait on a busy day. Instead a
visitor gets the latest snapshot at once; when the data changed since (at most once per
``min_interval_s``, so that a busy day does not keep the server's CPU on refits) or it is
older than ``max_age_s``, one background thread computes the next, which the following visits
get. Only the very first visit of a key waits (and concurrent first visitors wait for the same
computation). A failed refresh keeps the previous snapshot and is retried on a later visit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Snapshot", "SnapshotStore"]

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """One key's latest value, the data version and time (``time.monotonic``) it was taken at."""

    value: Any = None
    version: Hashable = None
    taken_at: float = float("-inf")
    refreshing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class SnapshotStore:
    """Latest values per key, refreshed in the background (thread-safe).

    >>> store = SnapshotStore(max_age_s=600, min_interval_s=0)
    >>> store.latest("k", 1, lambda: "first")
    'first'
    >>> store.latest("k", 2, lambda: "second")  # stale at once; "second" is being computed
    'first'
    >>> store.wait_idle("k"); store.latest("k", 2, lambda: "third")
    'second'
    """

    def __init__(self, max_age_s: float, min_interval_s: float = 0) -> None:
        self.max_age_s = max_age_s
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._entries: dict[Hashable, Snapshot] = {}

    def latest(self, key: Hashable, version: Hashable, compute: Callable[[], Any]) -> Any:
        """The value of ``key``: computed now on the first visit, else the latest snapshot,
        with a background refresh started when ``version`` differs or it is too old."""
        with self._lock:
            entry = self._entries.setdefault(key, Snapshot())
        if entry.version is None:
            with entry.lock:  # concurrent first visitors wait for one computation
                if entry.version is None:
                    entry.value, entry.taken_at = compute(), time.monotonic()
                    entry.version = version
            return entry.value
        value = entry.value  # what this visit gets, whatever a refresh does meanwhile
        age = time.monotonic() - entry.taken_at
        stale = (entry.version != version and age >= self.min_interval_s) or age > self.max_age_s
        if stale:
            with self._lock:
                start = not entry.refreshing
                entry.refreshing = True
            if start:
                threading.Thread(
                    target=self._refresh,
                    args=(entry, version, compute),
                    name=f"snapshot-{key!r}"[:60],
                    daemon=True,
                ).start()
        return value

    def _refresh(self, entry: Snapshot, version: Hashable, compute: Callable[[], Any]) -> None:
        try:
            value = compute()
        except Exception:
            log.exception("refreshing a dashboard snapshot failed; the previous one is kept")
        else:
            with entry.lock:
                entry.value, entry.version, entry.taken_at = value, version, time.monotonic()
        finally:
            with self._lock:
                entry.refreshing = False

    def wait_idle(self, key: Hashable, timeout_s: float = 60) -> None:
        """Wait until no refresh of ``key`` runs (for tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                entry = self._entries.get(key)
                if entry is None or not entry.refreshing:
                    return
            time.sleep(0.01)

    def clear(self) -> None:
        """Forget every snapshot (the next visit computes again)."""
        with self._lock:
            self._entries.clear()

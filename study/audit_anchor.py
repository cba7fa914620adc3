"""Anchors: the head of the audit chain written down outside the database.

An anchor is one line a person can keep anywhere (an e-mail, paper, a second system)::

    peerstudy-anchor seq=1234 hash=9f2c...e1 at=2026-11-26T08:00:00Z db=sqlite:///study.db

``audit verify --anchor FILE`` proves the chain still contains every anchor in FILE with the
same hash: a chain whose tail was cut off, or one rewritten from some event on, no longer does.
``check``, ``report`` and ``backup`` append an anchor to the anchor log automatically
(``$PEERSTUDY_ANCHOR_LOG``, else ``peerstudy-anchors.log`` in the working directory).
"""

from __future__ import annotations

__all__ = [
    "ANCHOR_LOG_ENV",
    "Anchor",
    "anchor_log_path",
    "current_anchor",
    "format_anchor",
    "logged_anchors",
    "parse_anchors",
    "record_anchor",
    "record_new_chain",
]

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select

from study.db.models import AuditEvent
from study.errors import BadInput

ANCHOR_LOG_ENV = "PEERSTUDY_ANCHOR_LOG"
DEFAULT_ANCHOR_LOG = "peerstudy-anchors.log"
_LINE = re.compile(r"^peerstudy-anchor\s+seq=(\d+)\s+hash=([0-9a-f]{64})\s+at=(\S+)(?:\s+db=(\S+))?\s*$")
_NEW_CHAIN = re.compile(r"^peerstudy-new-chain\s+at=(\S+)\s+db=(\S+)\s*$")


@dataclass(frozen=True)
class Anchor:
    """The chain head at one moment: sequence number, keyed hash, UTC time, database."""

    seq: int
    hash: str
    recorded_at: str
    database: str | None = None


def current_anchor(engine: Engine) -> Anchor | None:
    """The newest event of the chain as an anchor (``None`` for an empty chain)."""
    with engine.connect() as conn:
        head = conn.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    if head is None:
        return None
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Anchor(head.seq, head.hash, now, engine.url.render_as_string(hide_password=True))


def format_anchor(anchor: Anchor) -> str:
    """The anchor as its one line (no newline)."""
    line = f"peerstudy-anchor seq={anchor.seq} hash={anchor.hash} at={anchor.recorded_at}"
    return line + (f" db={anchor.database}" if anchor.database else "")


def parse_anchors(text: str, source: str) -> list[Anchor]:
    """Every anchor line in ``text`` (other lines, e.g. of an e-mail, are ignored).

    Raises
    ------
    BadInput
        When ``text`` holds no anchor at all (naming ``source``).
    """
    anchors = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            anchors.append(Anchor(int(match[1]), match[2], match[3], match[4]))
    if not anchors:
        raise BadInput(f"{source}: no 'peerstudy-anchor seq=... hash=... at=...' line")
    return anchors


def anchor_log_path() -> Path:
    """Where ``check``, ``report`` and ``backup`` append their anchors."""
    return Path(os.environ.get(ANCHOR_LOG_ENV) or DEFAULT_ANCHOR_LOG)


def record_anchor(engine: Engine, path: Path | None = None) -> Anchor | None:
    """Append the chain's current head to the anchor log (``path`` or :func:`anchor_log_path`)."""
    anchor = current_anchor(engine)
    if anchor is None:
        return None
    target = path or anchor_log_path()
    with target.open("a", encoding="utf-8") as log:
        log.write(format_anchor(anchor) + "\n")
    return anchor


def record_new_chain(engine: Engine, path: Path | None = None) -> bool:
    """Mark in the anchor log that the database at this URL starts a new chain.

    ``init`` and ``demo`` call it on a database whose chain is still empty: anchors logged
    earlier for the same URL belong to a database that was there before (a rebuilt demo, a
    test database) and are no longer checked against this one. Returns whether a mark was
    written (only for an empty chain). The log is a convenience: the anchors a person keeps
    elsewhere (``audit anchor --out``) are what proves a chain was not rebuilt.
    """
    if current_anchor(engine) is not None:
        return False
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = path or anchor_log_path()
    with target.open("a", encoding="utf-8") as log:
        log.write(f"peerstudy-new-chain at={now} db={engine.url.render_as_string(hide_password=True)}\n")
    return True


def logged_anchors(engine: Engine, path: Path | None = None) -> list[Anchor]:
    """The anchors of this database (same URL) in the anchor log since its chain began
    (:func:`record_new_chain`); none when there is no log."""
    target = path or anchor_log_path()
    if not target.exists():
        return []
    database = engine.url.render_as_string(hide_password=True)
    anchors: list[Anchor] = []
    for line in target.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if (mark := _NEW_CHAIN.match(line)) and mark[2] == database:
            anchors = []  # a new chain began at this URL: earlier anchors were of another database
        elif (match := _LINE.match(line)) and match[4] == database:
            anchors.append(Anchor(int(match[1]), match[2], match[3], match[4]))
    return anchors

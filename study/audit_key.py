"""The study's audit key: a secret kept outside the database that keys the audit chain.

Where the key file is:

1. ``$PEERSTUDY_AUDIT_KEY`` (a path), when set;
2. else, for a SQLite database ``study.db``, the file ``study.db.audit-key`` beside it;
3. else (PostgreSQL) ``peerstudy-audit.key`` in the working directory.

``peerstudy init`` (and ``peerstudy demo``) create the key when there is none yet: 32 random
bytes, hex encoded, in a file readable only by its owner (mode 0600). Without the key nothing
can be written to the study (the chain could not be extended) and ``audit verify`` cannot
prove the chain; see docs/operations.md for what to do when it is lost.
"""

from __future__ import annotations

__all__ = ["KEY_ENV", "create_key", "key_id", "key_path", "load_key"]

import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import Connection, Engine

from study.errors import NotAllowed

KEY_ENV = "PEERSTUDY_AUDIT_KEY"
DEFAULT_KEY_FILE = "peerstudy-audit.key"
_KEY_BYTES = 32


def key_path(engine: Engine | Connection | None = None) -> Path:
    """The key file of the database behind ``engine`` (see the module docstring for the order)."""
    if isinstance(engine, Connection):
        engine = engine.engine
    configured = os.environ.get(KEY_ENV)
    if configured:
        return Path(configured).expanduser()
    if engine is not None and engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            return Path(database + ".audit-key")
    return Path(DEFAULT_KEY_FILE)


def create_key(path: Path) -> bool:
    """Write a new random key to ``path`` (mode 0600) unless one is there; True if created.

    The file is created exclusively, so two processes never write two different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(_KEY_BYTES) + "\n")
    return True


def load_key(path: Path) -> bytes:
    """The key in ``path``; refuses a missing, malformed or group/world-readable key file."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotAllowed(
            f"no audit key at {path}: run `peerstudy init` for a new study, or set "
            f"${KEY_ENV} to the study's key file"
        ) from None
    return _read_key(str(path), stat.st_mtime_ns, stat.st_mode)


@functools.lru_cache(maxsize=8)
def _read_key(path: str, _mtime_ns: int, mode: int) -> bytes:
    if mode & 0o077:
        raise NotAllowed(f"audit key {path} is readable by others: chmod 600 {path}")
    text = Path(path).read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise NotAllowed(f"audit key {path} is not a peerstudy key (64 hex characters)")
    return key


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (names it in messages; reveals nothing of it)."""
    return hmac.digest(key, b"peerstudy-key-id", hashlib.sha256).hex()[:12]

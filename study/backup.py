"""Backup and restore of a whole peerstudy database, audit chain included.

A backup is one ``tar.gz`` archive:

- ``tables/<table>.jsonl``: every row of every table, one JSON object per line, read in one
  snapshot transaction (consistent while the dashboard keeps writing);
- ``config/<STUDY>.yaml``: each study's stored configuration, for people to read;
- ``anchor.txt``: the audit chain's head in the snapshot (an anchor line);
- ``manifest.json``: format, schema revision, row counts and the SHA-256 of every member;
- ``manifest.hmac``: HMAC-SHA256 of the manifest with the study's audit key, so an archive
  changed by anyone without the key (checksums recomputed or not) is refused.

Restore checks all of that before writing, loads every row in one transaction into an empty,
freshly migrated SQLite or PostgreSQL database (so a move from SQLite to PostgreSQL keeps ids,
times and the audit chain exactly), then verifies the chain and the data there.
"""

from __future__ import annotations

__all__ = ["BackupSummary", "RestoreSummary", "read_archive", "restore_archive", "write_backup"]

import datetime as dt
import decimal
import hashlib
import hmac
import io
import json
import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.types import TypeDecorator

from study.audit_anchor import Anchor, format_anchor
from study.audit_key import key_id
from study.errors import BadInput, NotAllowed

FORMAT = "peerstudy-backup/1"
_BATCH = 5_000


@dataclass(frozen=True)
class BackupSummary:
    """What :func:`write_backup` wrote: the archive, rows per table and the anchored head."""

    path: Path
    rows: dict[str, int]
    anchor: Optional[Anchor]


@dataclass(frozen=True)
class RestoreSummary:
    """What :func:`restore_archive` loaded."""

    rows: dict[str, int]
    anchor_seq: Optional[int]


# --- values ----------------------------------------------------------------------------------
def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _python_type(column) -> Optional[type]:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # e.g. UTCDateTime: the stored type decides
        column_type = column_type.impl_instance
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


def _from_json(value: Any, kind: Optional[type]) -> Any:
    if value is None or kind is None:
        return value
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind is decimal.Decimal:
        return decimal.Decimal(value)
    if kind is bytes:
        return bytes.fromhex(value)
    return value


def _tables() -> list[Table]:
    import study.db.models  # noqa: F401  (registers every table)
    from study.db.base import Base

    return list(Base.metadata.sorted_tables)


def _schema_heads(conn: Connection) -> list[str]:
    return sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))


# --- backup ----------------------------------------------------------------------------------
def write_backup(engine: Engine, out: Path, key: bytes) -> BackupSummary:
    """Write a consistent archive of the whole database to ``out``.

    Parameters
    ----------
    engine
        The study database (SQLite or PostgreSQL); writers are not blocked.
    out
        The archive to write. It is written as ``out.partial`` and renamed when complete, so an
        interrupted backup never leaves a file that looks like a backup.
    key
        The audit key: signs the manifest.
    """
    members: dict[str, bytes] = {}
    rows: dict[str, int] = {}
    with _snapshot(engine) as conn:
        heads = _schema_heads(conn)
        for table in _tables():
            data, count = _dump_table(conn, table)
            members[f"tables/{table.name}.jsonl"] = data
            rows[table.name] = count
        for code, config_yaml in conn.execute(text("SELECT code, config_yaml FROM study ORDER BY code")):
            members[f"config/{code}.yaml"] = config_yaml.encode("utf-8")
        head = conn.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")).first()
    taken_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    anchor = Anchor(head.seq, head.hash, taken_at, engine.url.render_as_string(hide_password=True)) if head else None
    if anchor is not None:
        members["anchor.txt"] = (format_anchor(anchor) + "\n").encode("utf-8")
    manifest = {
        "format": FORMAT,
        "taken_at": taken_at,
        "source": engine.url.render_as_string(hide_password=True),
        "schema_heads": heads,
        "key_id": key_id(key),
        "anchor_seq": anchor.seq if anchor else None,
        "rows": rows,
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(members.items())},
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
    members["manifest.json"] = manifest_bytes
    members["manifest.hmac"] = (hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest() + "\n").encode()
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name in ("manifest.json", "manifest.hmac", *sorted(n for n in members if not n.startswith("manifest."))):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = 0
            archive.addfile(info, io.BytesIO(members[name]))
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, out)
    return BackupSummary(out, rows, anchor)


class _snapshot:
    """A read transaction that sees one consistent state of every table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        conn = self.engine.connect()
        if self.engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        self.conn = conn
        self.transaction = conn.begin()  # SQLite (WAL): one read snapshot for the transaction
        return conn

    def __exit__(self, *exc) -> None:
        self.transaction.rollback()
        self.conn.close()


def _dump_table(conn: Connection, table: Table) -> tuple[bytes, int]:
    buffer = io.StringIO()
    names = [c.name for c in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    count = 0
    result = conn.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
    for row in result:
        buffer.write(json.dumps(dict(zip(names, map(_to_json, row))), ensure_ascii=False, sort_keys=True))
        buffer.write("\n")
        count += 1
    return buffer.getvalue().encode("utf-8"), count


# --- restore ---------------------------------------------------------------------------------
def read_archive(path: Path, key: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and members of an archive, after proving it intact and made with ``key``.

    Raises
    ------
    BadInput
        When the file is not a readable archive, the manifest's HMAC does not match (changed,
        or made with another study's key), or any member is missing, extra or altered.
    """
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {
                m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()
            }
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise BadInput(f"{path}: not a readable peerstudy backup (damaged?): {exc}") from None
    manifest_bytes = members.get("manifest.json")
    signature = members.get("manifest.hmac", b"").decode("ascii", "replace").strip()
    if manifest_bytes is None:
        raise BadInput(f"{path}: no manifest.json: not a peerstudy backup")
    expected = hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        raise BadInput(
            f"{path}: manifest.json does not carry this study's audit signature (the archive was "
            "changed, or it was made with another audit key)"
        )
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        raise BadInput(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
    listed = manifest["sha256"]
    present = {n for n in members if not n.startswith("manifest.")}
    if present != set(listed):
        raise BadInput(f"{path}: members {sorted(present ^ set(listed))} missing or not in the manifest")
    for name, digest in listed.items():
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise BadInput(f"{path}: {name} does not match its SHA-256 in the manifest (damaged)")
    return manifest, members


def restore_archive(path: Path, engine: Engine, key: bytes) -> RestoreSummary:
    """Load an archive into an empty database whose schema is at the archive's revision.

    Everything is inserted in one transaction (nothing is left half restored); PostgreSQL
    sequences are moved past the restored ids so new rows get fresh ones.

    Raises
    ------
    BadInput
        Damaged or foreign archive (:func:`read_archive`), another schema revision.
    NotAllowed
        The target database already holds data.
    """
    manifest, members = read_archive(path, key)
    tables = _tables()
    with engine.begin() as conn:
        heads = _schema_heads(conn)
        if heads != manifest["schema_heads"]:
            raise BadInput(
                f"{path}: made at schema revision {manifest['schema_heads']}, the target is at {heads}: "
                "restore with the peerstudy version that made the backup, then upgrade"
            )
        for table in tables:
            if conn.scalar(select(func.count()).select_from(table)):
                raise NotAllowed(f"the target database is not empty ({table.name} has rows): restore into an empty one")
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table in tables:
            _load_table(conn, table, members[f"tables/{table.name}.jsonl"])
        if engine.dialect.name == "postgresql":
            _advance_sequences(conn, tables)
    return RestoreSummary(dict(manifest["rows"]), manifest.get("anchor_seq"))


def _load_table(conn: Connection, table: Table, data: bytes) -> None:
    kinds = {c.name: _python_type(c) for c in table.columns}
    batch: list[dict[str, Any]] = []
    for line in data.decode("utf-8").splitlines():
        raw = json.loads(line)
        batch.append({name: _from_json(value, kinds.get(name)) for name, value in raw.items()})
        if len(batch) >= _BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def _advance_sequences(conn: Connection, tables: list[Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and _python_type(column) is int):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), "
                    f"COALESCE((SELECT MAX(\"{column.name}\") FROM \"{table.name}\"), 0) + 1, false) "
                    f"WHERE pg_get_serial_sequence('\"{table.name}\"', '{column.name}') IS NOT NULL"
                ))

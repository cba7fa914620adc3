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
import functools
import hashlib
import hmac
import io
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, func, insert, select, text
from sqlalchemy.types import TypeDecorator

from study.audit_anchor import Anchor, format_anchor
from study.audit_key import key_id
from study.checksums import file_sha256
from study.db import models as _models  # noqa: F401  (registers every table on Base.metadata)
from study.db.base import Base
from study.errors import BadInput, NotAllowed

FORMAT = "peerstudy-backup/1"
_BATCH = 5_000


@dataclass(frozen=True)
class BackupSummary:
    """What :func:`write_backup` wrote: the archive, rows per table and the anchored head."""

    path: Path
    rows: dict[str, int]
    anchor: Anchor | None


@dataclass(frozen=True)
class RestoreSummary:
    """What :func:`restore_archive` loaded."""

    rows: dict[str, int]
    anchor_seq: int | None


# --- values ----------------------------------------------------------------------------------
def _to_json(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _python_type(column) -> type | None:
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # e.g. UTCDateTime: the stored type decides
        column_type = column_type.impl_instance
    try:
        return column_type.python_type
    except NotImplementedError:
        return None


def _from_json(value: Any, kind: type | None) -> Any:
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
        interrupted backup never leaves a file that looks like a backup. Tables are streamed
        through a temporary directory beside it, never held in memory.
    key
        The audit key: signs the manifest.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".peerstudy-backup-") as work_dir:
        work = Path(work_dir)
        files: dict[str, Path] = {}
        rows: dict[str, int] = {}
        with _snapshot(engine) as conn:
            heads = _schema_heads(conn)
            for table in _tables():  # dependency order: restore streams them in this order
                name = f"tables/{table.name}.jsonl"
                files[name] = work / f"{table.name}.jsonl"
                rows[table.name] = _dump_table(conn, table, files[name])
            for code, config_yaml in conn.execute(text("SELECT code, config_yaml FROM study ORDER BY code")):
                files[f"config/{code}.yaml"] = _write(work / f"{code}.yaml", config_yaml.encode("utf-8"))
            head = conn.execute(text("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")).first()
        taken_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        source = engine.url.render_as_string(hide_password=True)
        anchor = Anchor(head.seq, head.hash, taken_at, source) if head else None
        if anchor is not None:
            files["anchor.txt"] = _write(work / "anchor.txt", (format_anchor(anchor) + "\n").encode("utf-8"))
        manifest = {
            "format": FORMAT,
            "taken_at": taken_at,
            "source": source,
            "schema_heads": heads,
            "key_id": key_id(key),
            "anchor_seq": anchor.seq if anchor else None,
            "rows": rows,
            "sha256": {name: file_sha256(path) for name, path in files.items()},
        }
        manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        signature = (hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest() + "\n").encode("ascii")
        _write_archive(out, {"manifest.json": manifest_bytes, "manifest.hmac": signature}, files)
    return BackupSummary(out, rows, anchor)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _write_archive(out: Path, head: dict[str, bytes], files: dict[str, Path]) -> None:
    """The manifest first (restore reads it before anything else), then the members in order;
    written to ``out.partial``, synced, then renamed."""
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name, data in head.items():
            archive.addfile(_tar_info(name, len(data)), io.BytesIO(data))
        for name, path in files.items():
            with path.open("rb") as handle:
                archive.addfile(_tar_info(name, path.stat().st_size), handle)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, out)


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o600
    return info


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one consistent state of every table (PostgreSQL:
    REPEATABLE READ; SQLite in WAL mode: one read snapshot for the transaction)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin() as transaction:
            yield conn
            transaction.rollback()


def _dump_table(conn: Connection, table: Table, path: Path) -> int:
    names = [c.name for c in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    count = 0
    result = conn.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
    with path.open("w", encoding="utf-8") as handle:
        for row in result:
            handle.write(json.dumps(dict(zip(names, map(_to_json, row))), ensure_ascii=False, sort_keys=True))
            handle.write("\n")
            count += 1
    return count


# --- restore ---------------------------------------------------------------------------------
_DAMAGE = (tarfile.TarError, zlib.error, EOFError, OSError, UnicodeDecodeError)


def read_archive(path: Path, key: bytes) -> dict[str, Any]:
    """The manifest of an archive, after proving the archive intact and made with ``key``.

    Reads the archive once, streaming: the manifest's signature first, then every member's
    SHA-256.

    Raises
    ------
    BadInput
        When the file is not a readable archive, the manifest's HMAC does not match (changed,
        or made with another study's key), or any member is missing, extra or altered.
    """
    try:
        with tarfile.open(path, "r:gz") as archive:
            manifest = _signed_manifest(path, archive, key)
            listed = manifest["sha256"]
            seen: set[str] = set()
            for member in archive:
                if not member.isfile() or member.name.startswith("manifest."):
                    continue
                if member.name not in listed:
                    raise BadInput(f"{path}: {member.name} is not in the manifest (added)")
                digest = hashlib.sha256()
                handle = archive.extractfile(member)
                if handle is None:  # a regular file always has a body; None would be a damaged header
                    raise BadInput(f"{path}: {member.name} has no content in the archive (damaged)")
                for chunk in iter(functools.partial(handle.read, 1 << 20), b""):
                    digest.update(chunk)
                if digest.hexdigest() != listed[member.name]:
                    raise BadInput(
                        f"{path}: {member.name} does not match its SHA-256 in the manifest (damaged)"
                    )
                seen.add(member.name)
    except _DAMAGE as exc:
        raise BadInput(f"{path}: not a readable peerstudy backup (damaged?): {exc}") from None
    missing = sorted(set(listed) - seen)
    if missing:
        raise BadInput(f"{path}: {', '.join(missing)} listed in the manifest but missing")
    return manifest


def _member_file(path: Path, archive: tarfile.TarFile, member: tarfile.TarInfo | str) -> IO[bytes]:
    """The contents of ``member``; a backup holds only regular files (tarfile gives ``None``
    for a directory or link, which only a changed archive can hold)."""
    handle = archive.extractfile(member)
    if handle is None:
        name = member if isinstance(member, str) else member.name
        raise BadInput(f"{path}: {name} is not a regular file: not a peerstudy backup")
    return handle


def _signed_manifest(path: Path, archive: tarfile.TarFile, key: bytes) -> dict[str, Any]:
    first, second = archive.next(), archive.next()
    if first is None or second is None or (first.name, second.name) != ("manifest.json", "manifest.hmac"):
        raise BadInput(f"{path}: does not start with manifest.json and manifest.hmac: not a peerstudy backup")
    manifest_bytes = _member_file(path, archive, first).read()
    signature = _member_file(path, archive, second).read().decode("ascii", "replace").strip()
    expected = hmac.new(key, manifest_bytes, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature, expected):
        raise BadInput(
            f"{path}: manifest.json does not carry this study's audit signature (the archive was "
            "changed, or it was made with another audit key)"
        )
    manifest = json.loads(manifest_bytes)
    if manifest.get("format") != FORMAT:
        raise BadInput(f"{path}: format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def restore_archive(
    path: Path, engine: Engine, key: bytes, manifest: dict[str, Any] | None = None
) -> RestoreSummary:
    """Load an archive into an empty database whose schema is at the archive's revision.

    Everything is inserted in one transaction (nothing is left half restored); PostgreSQL
    sequences are moved past the restored ids so new rows get fresh ones. ``manifest`` is
    :func:`read_archive`'s result when the caller checked the archive already.

    Raises
    ------
    BadInput
        Damaged or foreign archive (:func:`read_archive`), another schema revision.
    NotAllowed
        The target database already holds data.
    """
    manifest = manifest if manifest is not None else read_archive(path, key)
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
                raise NotAllowed(
                    f"the target database is not empty ({table.name} has rows): restore into an empty one"
                )
        try:
            with tarfile.open(path, "r:gz") as archive:
                for table in tables:  # the archive holds them in this (dependency) order
                    _load_table(conn, table, _member_file(path, archive, f"tables/{table.name}.jsonl"))
        except _DAMAGE as exc:  # changed since it was checked a moment ago
            raise BadInput(f"{path}: not a readable peerstudy backup (damaged?): {exc}") from None
        if engine.dialect.name == "postgresql":
            _advance_sequences(conn, tables)
    return RestoreSummary(dict(manifest["rows"]), manifest.get("anchor_seq"))


def _load_table(conn: Connection, table: Table, lines: IO[bytes]) -> None:
    kinds = {c.name: _python_type(c) for c in table.columns}
    batch: list[dict[str, Any]] = []
    for line in lines:
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
            if column.autoincrement is True or (
                column.autoincrement == "auto" and _python_type(column) is int
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), "
                        f'COALESCE((SELECT MAX("{column.name}") FROM "{table.name}"), 0) + 1, false) '
                        f"WHERE pg_get_serial_sequence('\"{table.name}\"', '{column.name}') IS NOT NULL"
                    )
                )

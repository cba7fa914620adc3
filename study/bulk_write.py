"""Audited bulk writes: many rows of an audited table at once, with the full audit trail.

The ORM capture (:mod:`study.audit`) audits every change of an object, but an import of
100,000 rows through the ORM spends most of its time on objects. This is the one sanctioned
way around it: :func:`insert_rows` and :func:`update_rows` take a whole batch as plain dicts,
write it in a few statements (:mod:`study.db.row_writer`: ``executemany`` on SQLite, ``COPY``
on PostgreSQL) and compute the batch's audit events themselves, *with the same content the
ORM capture would give the same change* (insert: the row as canonical JSON; update: one event
per changed field with old and new value; identity fields as keyed digests), chained after the
head of the chain by :func:`study.audit.append_events` under the same lock, in the caller's
unit of work. ``audit verify`` and the trail's replay cannot tell the two paths apart, and a
rollback (or kill -9) leaves nothing of either.

Within :func:`orm_writes` the same calls go through ORM objects and the flush capture instead:
the reference path that tests compare the events with and benchmarks measure against.
"""

from __future__ import annotations

__all__ = ["RowUpdate", "insert_columns", "insert_rows", "orm_writes", "update_rows"]

import contextlib
import contextvars
import gc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, inspect
from sqlalchemy.orm import Session

from study.audit_chain import audit_text, redacted_digest, row_jsons
from study.audit_key import key_path, load_key
from study.db.audit_capture import EVENT_FIELDS, append_event_columns
from study.db.models.audited import Audited
from study.db.row_writer import reserve_ids, update_rows_by_key, write_columns
from study.db.text_guard import text_problem
from study.errors import BadInput, NotAllowed

_VIA_ORM: contextvars.ContextVar[bool] = contextvars.ContextVar("peerstudy_bulk_via_orm", default=False)


@contextlib.contextmanager
def orm_writes() -> Iterator[None]:
    """Within the block, :func:`insert_rows` and :func:`update_rows` write through ORM objects
    (one object per row, audited by the flush capture): the reference path."""
    token = _VIA_ORM.set(True)
    try:
        yield
    finally:
        _VIA_ORM.reset(token)


@dataclass(frozen=True)
class RowUpdate:
    """New values for some fields of one existing row.

    ``key`` is the primary key value (a tuple for a composite key); ``old`` and ``new`` map
    attribute names to the stored and the new value (only fields that change; ``old`` must be
    the value the database holds, it goes to the audit trail). ``study_id`` and
    ``person_id`` scope the events as the ORM capture would (``person_id`` is the row's own
    id for the ``person`` table).
    """

    key: Any
    old: Mapping[str, Any]
    new: Mapping[str, Any]
    study_id: int | None
    person_id: int | None


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch: a batch allocates hundreds of thousands
    of dicts and tuples without cycles, which the collector would otherwise scan again and
    again (plain reference counting still frees them)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def insert_rows(session: Session, model: type[Audited], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Insert ``rows`` into ``model``'s table with one insert event each.

    Parameters
    ----------
    session
        A session of :func:`study.db.unit_of_work` (its actor and reason go to every event).
    model
        An audited model class, e.g. ``QuestionnaireResponse``.
    rows
        One dict per row keyed by attribute name, every row the same keys. An integer primary
        key left out is assigned here; Python-side column defaults (``created_at``) are filled
        in as the ORM would.

    Returns
    -------
    list
        The primary key of each row, in order.

    Raises
    ------
    BadInput
        A text value a column cannot hold (too long, NUL), as :mod:`study.db.text_guard` says it
        for the ORM; nothing is written.
    """
    if not rows:
        return []
    return insert_columns(session, model, {name: [row[name] for row in rows] for name in rows[0]})


def insert_columns(session: Session, model: type[Audited], columns: Mapping[str, Sequence[Any]]) -> list[Any]:
    """:func:`insert_rows` for rows given column by column: ``columns`` maps attribute names
    to the rows' values (all the same length). What a vectorised import builds anyway, with
    no dict per row; the rows, their events and the result are those of :func:`insert_rows`.
    """
    if not columns or not len(next(iter(columns.values()))):
        return []
    with _collector_paused():
        return _insert_columns(session, model, {name: list(values) for name, values in columns.items()})


def _insert_columns(session: Session, model: type[Audited], columns: dict[str, list[Any]]) -> list[Any]:
    mapper = inspect(model)
    table = mapper.local_table
    count = len(next(iter(columns.values())))
    if _VIA_ORM.get():
        objects = [model(**dict(zip(columns, values))) for values in zip(*columns.values())]
        session.add_all(objects)
        session.flush()
        return [_key_of(mapper, obj) for obj in objects]
    session.flush()  # pending ORM changes (and their events) come first
    conn = session.connection()
    attrs = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
    # Every step below is a pass over one column.
    _fill_defaults(attrs, columns, count)
    pk = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    if len(pk) == 1 and pk[0] not in columns:
        columns[pk[0]] = reserve_ids(conn, table, count)
    _check_text(table.name, attrs, columns)
    write_columns(conn, table, {attrs[k].name: values for k, values in columns.items()})

    audit_key = load_key(key_path(session.get_bind()))
    redact = model.__audit_redact__
    # The ORM records every column it knows a value for; a column the database fills in (a
    # server default) is left out when the row does not give it.
    none: list[Any] = [None] * count
    recorded = [k for k, c in attrs.items() if k in columns or c.server_default is None]
    texts = {k: _texts(k, columns.get(k, none), redact, audit_key) for k in recorded}
    if len(pk) == 1:
        keys: list[Any] = columns[pk[0]]
        row_ids = [str(key) for key in keys]
    else:
        keys = list(zip(*(columns[k] for k in pk)))
        row_ids = ["/".join(str(part) for part in key) for key in keys]
    study_ids, person_ids = _scope_columns(table.name, columns, none)
    events = dict.fromkeys(EVENT_FIELDS, none)
    events.update(
        study_id=study_ids,
        person_id=person_ids,
        table_name=[str(table.name)] * count,  # plain text (the name is a str subclass)
        row_id=row_ids,
        action=["insert"] * count,
        new_value=row_jsons(texts),
    )
    append_event_columns(session, events, audit_key)
    return list(keys)


def update_rows(session: Session, model: type[Audited], updates: Sequence[RowUpdate]) -> None:
    """Change existing rows of ``model``'s table, one update event per changed field.

    Rows of the same set of changed fields are written in one ``executemany``. ORM objects
    of ``model`` already loaded in ``session`` are expired afterwards (they would be stale).

    Raises
    ------
    NotAllowed
        ``model`` is written once and never changed (allocations), or has ``onupdate`` columns
        (their values would need events too; use the ORM).
    BadInput
        A new text value a column cannot hold; nothing is written.
    """
    updates = [u for u in updates if u.new]
    if not updates:
        return
    with _collector_paused():
        _update_rows(session, model, updates)


def _update_rows(session: Session, model: type[Audited], updates: Sequence[RowUpdate]) -> None:
    mapper = inspect(model)
    table = mapper.local_table
    if model.__audit_immutable__:
        raise NotAllowed(f"{table.name} rows cannot be changed")
    if _VIA_ORM.get():
        for u in updates:
            obj = session.get(model, u.key)
            for name, value in u.new.items():
                setattr(obj, name, value)
        session.flush()
        return
    attrs = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
    if any(c.onupdate is not None for c in attrs.values()):
        raise NotAllowed(f"{table.name} has onupdate columns: change it through the ORM")
    session.flush()
    conn = session.connection()
    changed = {name for u in updates for name in u.new}
    _check_text(
        table.name, attrs, {name: [u.new[name] for u in updates if name in u.new] for name in changed}
    )
    pk = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in updates:
        key = u.key if isinstance(u.key, tuple) else (u.key,)
        fields = tuple(sorted(u.new))
        by_fields.setdefault(fields, []).append(
            {**{attrs[k].name: v for k, v in zip(pk, key)}, **{attrs[f].name: u.new[f] for f in fields}}
        )
    for fields, rows in by_fields.items():
        update_rows_by_key(conn, table, [attrs[f].name for f in fields], rows)

    audit_key = load_key(key_path(session.get_bind()))
    redact = model.__audit_redact__
    order = list(attrs)  # the ORM capture walks the columns in mapper order
    events = []
    for u in updates:
        key = u.key if isinstance(u.key, tuple) else (u.key,)
        for name in order:
            if name not in u.new or u.old.get(name) == u.new[name]:
                continue
            events.append(
                _event(
                    u.study_id,
                    u.person_id,
                    table.name,
                    key,
                    "update",
                    field=name,
                    old_value=_text(name, u.old.get(name), redact, audit_key),
                    new_value=_text(name, u.new[name], redact, audit_key),
                )
            )
    append_event_columns(session, {f: [e[f] for e in events] for f in EVENT_FIELDS}, audit_key)
    for obj in [o for o in session.identity_map.values() if isinstance(o, model)]:
        session.expire(obj)


# --- helpers ---------------------------------------------------------------------------------
def _key_of(mapper, obj) -> Any:
    key = tuple(getattr(obj, mapper.get_property_by_column(c).key) for c in mapper.primary_key)
    return key[0] if len(key) == 1 else key


def _fill_defaults(attrs: Mapping[str, Any], columns: dict[str, list[Any]], count: int) -> None:
    """Python-side column defaults the rows leave out, evaluated once per batch (the ORM
    evaluates them once per flush: ``created_at`` is the same for a whole batch either way)."""
    for name, column in attrs.items():
        default = column.default
        if default is None or name in columns or column.primary_key:
            continue
        if default.is_callable:
            value = default.arg(None)
        elif default.is_scalar:
            value = default.arg
        else:
            continue
        columns[name] = [value] * count


def _check_text(table_name: str, attrs: Mapping[str, Any], columns: Mapping[str, Sequence[Any]]) -> None:
    """:mod:`study.db.text_guard`'s check for a whole batch, column by column (one scan of
    the column's joined text proves the usual column clean)."""
    for name, column in attrs.items():
        if not isinstance(column.type, String) or name not in columns:
            continue
        length = column.type.length
        texts = [v for v in columns[name] if isinstance(v, str)]
        if "\x00" not in "".join(texts) and (length is None or max(map(len, texts), default=0) <= length):
            continue
        for value in texts:
            if "\x00" in value or (length is not None and len(value) > length):
                raise BadInput(f"{table_name}.{column.name} {text_problem(value, length)}")


def _texts(name: str, values: list[Any], redact: frozenset[str], audit_key: bytes) -> list[str | None]:
    """:func:`_text` of a column's values. Text and whole numbers are their own audit text;
    other values (dates, times, booleans) and redacted ones are encoded once per distinct
    value (the batch's time, a study's dates repeat)."""
    cache: dict[tuple[type, Any], str | None] = {}

    def encode(value: Any) -> str | None:
        key = (type(value), value)
        if key not in cache:
            cache[key] = _text(name, value, redact, audit_key)
        return cache[key]

    if name in redact:
        return [encode(v) for v in values]
    first = values[0] if values else None
    if all(v is first for v in values):  # one object for the batch (its study, its time)
        return [first if type(first) is str else encode(first)] * len(values)
    kinds = set(map(type, values))
    if kinds == {int}:
        return list(map(str, values))
    if kinds == {str}:
        return list(values)
    return [v if type(v) is str else str(v) if type(v) is int else encode(v) for v in values]


def _text(name: str, value: Any, redact: frozenset[str], audit_key: bytes) -> str | None:
    text = audit_text(value)
    return redacted_digest(text, audit_key) if name in redact else text


def _scope_columns(
    table_name: str, columns: Mapping[str, list[Any]], none: list[Any]
) -> tuple[list[Any], list[Any]]:
    """(study ids, person ids) of a batch's events, as :func:`study.audit._scope` gives them
    (``none`` for a field the rows do not have)."""
    if table_name == "person":
        return columns.get("study_id", none), columns.get("id", none)
    if table_name == "study":
        return columns.get("id", none), columns.get("person_id", none)
    return columns.get("study_id", none), columns.get("person_id", none)


def _event(
    study_id,
    person_id,
    table_name: str,
    key: tuple,
    action: str,
    *,
    field: str | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
) -> dict[str, Any]:
    return {
        "study_id": study_id,
        "person_id": person_id,
        "table_name": str(table_name),
        "row_id": "/".join(str(part) for part in key),
        "action": action,
        "field": field,
        "old_value": old_value,
        "new_value": new_value,
    }

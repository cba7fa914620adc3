"""``audit verify``: prove the audit chain and, through it, the study data.

One pass over the events in chain order checks every link and keyed hash and replays the
events into the rows they describe (:class:`study.audit_replay.TrailState`); then every audited
table is read and compared with the replayed rows. Anchors kept outside the database
(:mod:`study.audit_anchor`) prove that the chain still contains a head seen earlier, so a
cut-off tail is detected even when the rows it described were removed as well.
"""

from __future__ import annotations

__all__ = ["ChainReport", "verify_chain"]

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, String, func, select, type_coerce

from study.audit_anchor import Anchor
from study.audit_chain import CHAIN_FIELDS, GENESIS_HASH, ContentHasher, audit_text, redacted_digest
from study.audit_key import key_path, load_key
from study.audit_replay import Discrepancy, TrailState, compare_table
from study.db.base import Base
from study.db.models import AuditEvent
from study.db.models.audited import Audited

_BATCH = 10_000


@dataclass(frozen=True)
class ChainReport:
    """Result of :func:`verify_chain`.

    ``broken_id``/``broken_seq``/``problem`` name the first bad event of the chain, if any;
    ``discrepancies`` the rows that differ from what the trail says; ``anchor_problems`` the
    anchors the chain no longer contains.
    """

    events: int
    broken_id: int | None = None
    broken_seq: int | None = None
    problem: str | None = None
    discrepancies: tuple[Discrepancy, ...] = ()
    anchor_problems: tuple[str, ...] = ()
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    @property
    def chain_intact(self) -> bool:
        """The events themselves are unchanged and complete (as far as anchors reach)."""
        return self.broken_id is None and not self.anchor_problems

    @property
    def intact(self) -> bool:
        """The chain is intact and the data are exactly what it says."""
        return self.chain_intact and not self.discrepancies


def verify_chain(
    engine: Engine,
    key: bytes | None = None,
    *,
    anchors: Sequence[Anchor] = (),
    check_data: bool = True,
) -> ChainReport:
    """Walk the audit chain, replay it and compare it with the audited tables.

    Parameters
    ----------
    engine
        The study database.
    key
        The audit key; by default the key file of ``engine`` (:func:`study.audit_key.key_path`).
    anchors
        Heads recorded earlier; each must still be in the chain with the same hash.
    check_data
        Also compare every audited table's rows with the replayed events.

    Returns
    -------
    ChainReport
        An event is broken when its keyed hash does not match its content (edited, or
        rewritten without the key), its ``prev_hash`` does not match the event before it, or
        its sequence number skips (an event removed). Data are checked only when the chain is
        intact (a broken chain cannot vouch for anything).
    """
    key = key if key is not None else load_key(key_path(engine))
    state = TrailState() if check_data else None
    with engine.connect() as conn:
        walk = _walk(conn, key, state)
        if walk.broken_id is not None:
            return walk
        anchor_problems = tuple(_anchor_problems(conn, anchors, walk.head_seq))
        discrepancies: list[Discrepancy] = []
        if state is not None:
            discrepancies += state.orphans
            for mapper in _audited_mappers():
                table = mapper.local_table.name
                trail_rows = state.rows.pop(table, {})
                defaulted = frozenset(
                    attr.key for attr in mapper.column_attrs if attr.columns[0].server_default is not None
                )
                discrepancies += compare_table(
                    table, trail_rows, _database_rows(conn, mapper, key), defaulted
                )
    return ChainReport(
        walk.events,
        discrepancies=tuple(discrepancies),
        anchor_problems=anchor_problems,
        head_seq=walk.head_seq,
        head_hash=walk.head_hash,
    )


_I = {name: i for i, name in enumerate(CHAIN_FIELDS)}


def _occurred_iso(dialect_name: str):
    """``occurred_at`` as the ISO text the hash covers, computed by the database: parsing a
    million timestamps in Python would take most of the verification's time."""
    column = AuditEvent.__table__.c.occurred_at
    if dialect_name == "postgresql":
        local = func.timezone("UTC", column)
        return func.to_char(local, 'YYYY-MM-DD"T"HH24:MI:SS.US').concat("+00:00")
    # SQLite keeps naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's storage format).
    return func.replace(type_coerce(column, String), " ", "T").concat("+00:00")


def _walk(conn: Connection, key: bytes, state: TrailState | None) -> ChainReport:
    """Check every event's sequence number, link and keyed hash in chain order, feeding each
    to ``state`` (the replay). The hot loop of verification: kept flat on purpose."""
    hasher = ContentHasher(key)
    columns = [
        _occurred_iso(conn.dialect.name) if name == "occurred_at" else AuditEvent.__table__.c[name]
        for name in CHAIN_FIELDS
    ]
    # Row layout: id, hash, then the CHAIN_FIELDS (the content the hash covers).
    seq_i, prev_i = 2 + _I["seq"], 2 + _I["prev_hash"]
    action_i, table_i, row_i, field_i, new_i = (
        2 + _I["action"],
        2 + _I["table_name"],
        2 + _I["row_id"],
        2 + _I["field"],
        2 + _I["new_value"],
    )
    apply = state.apply if state is not None else None
    expected_prev, expected_seq = GENESIS_HASH, 1
    result = conn.execution_options(yield_per=_BATCH).execute(
        select(AuditEvent.id, AuditEvent.hash, *columns).order_by(AuditEvent.seq)
    )
    for row in result:
        problem = None
        if row[seq_i] != expected_seq:
            problem = f"sequence number {row[seq_i]} where {expected_seq} was expected (an event is missing)"
        elif row[prev_i] != expected_prev:
            problem = "its link to the previous event does not match (an event was changed or removed)"
        elif hasher(row[2:]) != row[1]:
            problem = "its content does not match its keyed hash (the event was changed, or the key is wrong)"
        if problem:
            return ChainReport(expected_seq, row[0], row[seq_i], problem)
        if apply is not None:
            apply(row[action_i], row[table_i], row[row_i], row[field_i], row[new_i])
        expected_prev = row[1]
        expected_seq += 1
    return ChainReport(expected_seq - 1, head_seq=expected_seq - 1, head_hash=expected_prev)


def _anchor_problems(conn: Connection, anchors: Sequence[Anchor], head_seq: int) -> Iterator[str]:
    for anchor in anchors:
        found = conn.scalar(select(AuditEvent.hash).where(AuditEvent.seq == anchor.seq))
        if found is None:
            yield (
                f"anchored event {anchor.seq} (recorded {anchor.recorded_at}) is gone: the chain "
                f"ends at {head_seq} (its tail was cut off)"
            )
        elif found != anchor.hash:
            yield f"anchored event {anchor.seq} has another hash than recorded {anchor.recorded_at} (the chain was rewritten)"


def _audited_mappers() -> list:
    mappers = [m for m in Base.registry.mappers if issubclass(m.class_, Audited)]
    return sorted(mappers, key=lambda m: m.local_table.name)


def _database_rows(conn: Connection, mapper, key: bytes) -> Iterator[tuple[str, dict[str, str | None]]]:
    """Every row of one audited table as ``(row_id, {attribute: audit text})``."""
    redact = mapper.class_.__audit_redact__
    attrs = [(attr.key, attr.columns[0]) for attr in mapper.column_attrs]
    pk_keys = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    result = conn.execution_options(yield_per=_BATCH).execute(select(*(col for _, col in attrs)))
    names = [name for name, _ in attrs]
    for values in result:
        row = dict(zip(names, values))
        texts = {
            name: redacted_digest(audit_text(value), key) if name in redact else audit_text(value)
            for name, value in row.items()
        }
        yield "/".join(str(row[k]) for k in pk_keys), texts

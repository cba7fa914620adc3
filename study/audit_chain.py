"""The audit chain's arithmetic: keyed event hashes, chaining and redaction digests.

Pure functions (data in, data out, no database): the capture in :mod:`study.audit`, the
verification, the migration of unkeyed chains and bulk imports that write many events at once
all compute hashes here, so they agree byte for byte.

Each event's hash is ``HMAC-SHA256(key, canonical JSON of its content and prev_hash)``. The key
lives outside the database (:mod:`study.audit_key`), so whoever holds only the database cannot
recompute a consistent chain after changing an event.
"""

from __future__ import annotations

__all__ = [
    "CHAIN_FIELDS",
    "ContentHasher",
    "GENESIS_HASH",
    "REDACTED",
    "audit_text",
    "chain_columns",
    "chain_events",
    "event_hash",
    "legacy_event_hash",
    "redacted_digest",
    "row_json",
    "row_jsons",
]

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring as _encode_json_text
from typing import Any

#: ``prev_hash`` of the first event of a chain.
GENESIS_HASH = "0" * 64
#: How a redacted value is shown to people (the stored value is ``<redacted:DIGEST>``).
REDACTED = "<redacted>"
#: The event fields the hash covers, in this order (``hash`` and the row id are not content).
CHAIN_FIELDS: tuple[str, ...] = (
    "seq",
    "study_id",
    "person_id",
    "occurred_at",
    "actor",
    "action",
    "table_name",
    "row_id",
    "field",
    "old_value",
    "new_value",
    "reason",
    "prev_hash",
)
_OCCURRED = CHAIN_FIELDS.index("occurred_at")
_REDACTION_CONTEXT = b"peerstudy-redacted-value\x00"


def _encode_text(value: str) -> str:
    # A field name as JSON (json.dumps(ensure_ascii=False) escapes strings with exactly this
    # function) inside row_jsons' %-template, where a literal "%" is written "%%".
    return _encode_json_text(value).replace("%", "%%")


def audit_text(value: Any) -> str | None:
    """A column value as audit text: ISO dates, UTC times, ``true``/``false``, else ``str``.

    The capture (values in the session) and the verification (values read back from the
    database) both encode with this function, so equal values give equal text.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def row_json(row: dict[str, str | None]) -> str:
    """A row's audit texts as the canonical JSON of an insert or delete event."""
    return json.dumps(row, ensure_ascii=False, sort_keys=True)


def row_jsons(columns: Mapping[str, Sequence[str | None]]) -> list[str]:
    """:func:`row_json` of many rows at once, from their audit texts column by column.

    ``columns`` maps each field to its texts (all the same length, ``None`` for null). The
    result equals ``[row_json(row) for row in rows]`` character for character (same key order,
    separators and escaping as ``json.dumps(..., ensure_ascii=False, sort_keys=True)``), built
    from one template per batch: a bulk import writes 200,000 insert events with it.
    """
    names = sorted(columns)
    if not names:
        return []
    template = "{" + ", ".join(f"{_encode_text(name)}: %s" for name in names) + "}"
    encoded = [
        [_encode_json_text(values[0]) if values[0] is not None else "null"] * len(values)
        if _same_text(values)
        else [("null" if v is None else _encode_json_text(v)) for v in values]
        for values in (columns[name] for name in names)
    ]
    return [template % values for values in zip(*encoded)]


def _same_text(values: Sequence[Any]) -> bool:
    """Whether every value is the same text (or every one ``None``): a batch's actor, table
    or timepoint, encoded once. (``list.count`` compares in C; text equals only text.)"""
    return (
        bool(values)
        and (type(values[0]) is str or values[0] is None)
        and (values.count(values[0]) == len(values))
    )


def _occurred_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def event_hash(event_row: Mapping[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) of an event's content and its predecessor's hash.

    Parameters
    ----------
    event_row
        Mapping with at least the :data:`CHAIN_FIELDS`; ``occurred_at`` may be an aware
        datetime or its ISO text (microseconds, UTC).
    key
        The study's audit key (32 random bytes, see :mod:`study.audit_key`).

    Returns
    -------
    str
        64 hex characters. The content is canonical JSON, so the hash is the same on every
        database and Python version.
    """
    content = [event_row[name] for name in CHAIN_FIELDS]
    content[_OCCURRED] = _occurred_text(content[_OCCURRED])
    return ContentHasher(key)(content)


class ContentHasher:
    """:func:`event_hash` for many events with one key, fast enough for a million events.

    HMAC-SHA256 is built as RFC 2104 defines it, ``H((K ^ opad) || H((K ^ ipad) || m))``, from
    two SHA-256 states keyed once and copied per event (the result equals :func:`hmac.new`'s;
    the ``hmac`` module's own copy costs twice as much), and the JSON encoder is built once.

    Call it with an event's :data:`CHAIN_FIELDS` values in that order (list or tuple),
    ``occurred_at`` as ISO text.
    """

    _encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    _BLOCK = 64  # SHA-256 block size in bytes

    def __init__(self, key: bytes) -> None:
        if len(key) > self._BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __call__(self, content: Sequence[Any]) -> str:
        inner = self._inner.copy()
        inner.update(self._encoder.encode(content).encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def chain(self, heads: Sequence[bytes], prev_hash: str) -> list[str]:
        """The hashes of consecutive events, each chained to the one before.

        ``heads`` are the events' canonical JSON up to their ``prev_hash`` (UTF-8 of
        ``[seq,...,reason,``, as :func:`chain_columns` builds them); the first event's
        predecessor is ``prev_hash``. Only the predecessor's hash is added per event, so the
        content of a whole batch is encoded before the (inherently sequential) chaining.
        """
        hashes: list[str] = []
        inner_start, outer_start = self._inner, self._outer
        tail = (_encode_json_text(prev_hash) + "]").encode("utf-8")
        for head in heads:
            inner = inner_start.copy()
            inner.update(head + tail)
            outer = outer_start.copy()
            outer.update(inner.digest())
            prev_hash = outer.hexdigest()
            hashes.append(prev_hash)
            tail = b'"' + prev_hash.encode("ascii") + b'"]'  # hex digits are their own JSON text
        return hashes


def _json_texts(values: Sequence[Any]) -> list[str]:
    """Each value as :class:`ContentHasher`'s encoder writes it inside the content list: text
    and whole numbers directly (the encoder's own functions), anything else by the encoder."""
    encode = ContentHasher._encoder.encode
    if _same_text(values):
        return [_encode_json_text(values[0]) if values[0] is not None else "null"] * len(values)
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(_encode_json_text, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))
    return [
        _encode_json_text(v)
        if type(v) is str
        else "null"
        if v is None
        else int.__repr__(v)
        if type(v) is int
        else encode(v)
        for v in values
    ]


def _occurred_texts(values: Sequence[Any]) -> list[Any]:
    """:func:`_occurred_text` of each value, computed once for a run of the same object (a
    batch shares one time)."""
    out: list[Any] = []
    last: Any = object()
    text: Any = None
    for value in values:
        if value is not last:
            last, text = value, _occurred_text(value)
        out.append(text)
    return out


def legacy_event_hash(event_row: Mapping[str, Any]) -> str:
    """The unkeyed SHA-256 of an event as peerstudy hashed it before revision 0009.

    Only for recognising and converting such a chain (migration 0009, ``init``).
    """
    content = [event_row[name] for name in CHAIN_FIELDS]
    content[_OCCURRED] = _occurred_text(content[_OCCURRED])
    canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_events(
    events: Iterable[dict[str, Any]], *, last_seq: int, last_hash: str, key: bytes
) -> list[dict[str, Any]]:
    """Number and chain a batch of new events after the chain's current head.

    Parameters
    ----------
    events
        New events in the order they happened, each with every :data:`CHAIN_FIELDS` entry
        except ``seq``, ``prev_hash`` (and ``hash``), which are filled in here.
    last_seq, last_hash
        The head of the chain: ``0`` and :data:`GENESIS_HASH` for an empty one.
    key
        The study's audit key.

    Returns
    -------
    list of dict
        Copies of the events with ``seq``, ``prev_hash`` and ``hash`` set, ready to insert in
        one statement (a bulk import can chain thousands of events in one call).
    """
    events = list(events)
    columns = {name: [event[name] for event in events] for name in CHAIN_FIELDS if name not in _CHAINING}
    seqs, prev_hashes, hashes = chain_columns(columns, last_seq=last_seq, last_hash=last_hash, key=key)
    return [
        dict(event, seq=seq, prev_hash=prev, hash=this)
        for event, seq, prev, this in zip(events, seqs, prev_hashes, hashes)
    ]


#: The chain fields :func:`chain_columns` computes.
_CHAINING = ("seq", "prev_hash")


def chain_columns(
    columns: Mapping[str, Sequence[Any]], *, last_seq: int, last_hash: str, key: bytes
) -> tuple[list[int], list[str], list[str]]:
    """:func:`chain_events` for a batch held column by column (a bulk import's events).

    Parameters
    ----------
    columns
        Every :data:`CHAIN_FIELDS` entry except ``seq`` and ``prev_hash``, each mapped to the
        batch's values in event order (all the same length).
    last_seq, last_hash
        The head of the chain.
    key
        The study's audit key.

    Returns
    -------
    tuple of lists
        ``seq``, ``prev_hash`` and ``hash`` of each event: the values :func:`chain_events`
        gives the same events. Each event's content is encoded column by column, and only
        the predecessor's hash is added to it in the sequential part.
    """
    count = len(columns[CHAIN_FIELDS[-2]])
    seqs = list(range(last_seq + 1, last_seq + 1 + count))
    texts = [
        _json_texts(
            seqs
            if name == "seq"
            else _occurred_texts(columns[name])
            if name == "occurred_at"
            else columns[name]
        )
        for name in CHAIN_FIELDS
        if name != "prev_hash"
    ]
    # prev_hash is the last field: every event's JSON up to it is known before the chaining
    assert CHAIN_FIELDS[-1] == "prev_hash"
    # A field with one text for the whole batch (actor, time, table...) is written into the
    # template itself: the per-event formatting fills in only the fields that vary.
    parts, varying = [], []
    for column in texts:
        if column and column.count(column[0]) == len(column):
            parts.append(column[0].replace("%", "%%"))
        else:
            parts.append("%s")
            varying.append(column)
    template = "[" + ",".join(parts) + ","
    if varying:
        heads = [(template % content).encode("utf-8") for content in zip(*varying)]
    else:  # a single event
        heads = [(template % ()).encode("utf-8")] * count
    hashes = ContentHasher(key).chain(heads, last_hash)
    return seqs, [last_hash, *hashes[:-1]], hashes


def redacted_digest(value: str | None, key: bytes) -> str | None:
    """What the trail stores for a personal or secret value: ``<redacted:DIGEST>``.

    The digest is a keyed hash (HMAC-SHA256, 128 bits shown) of the value's audit text, so
    verification can prove the current value is the recorded one while the trail never holds
    the value, and without the key a birth date cannot be found by trying every date.
    ``None`` stays ``None``.
    """
    if value is None:
        return None
    digest = hmac.digest(key, _REDACTION_CONTEXT + value.encode("utf-8"), hashlib.sha256)
    return f"<redacted:{digest.hex()[:32]}>"

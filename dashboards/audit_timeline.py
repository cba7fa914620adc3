"""A person's audit history as a timeline people can read: when, who, what, from → to.

Pure pandas, from :func:`study.audit.person_history` (after blinding: the timeline shows
only what the history already shows). Technical keys (row ids, foreign keys, creation
stamps) are left out; a created row reads as its fields (``instrument: qpr15 · timepoint:
baseline``), a change as ``field: old → new``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Optional

import pandas as pd

__all__ = ["TIMELINE_COLUMNS", "audit_timeline"]

#: Columns of the timeline.
TIMELINE_COLUMNS = ["when", "who", "what", "change", "reason"]
#: Keys of an inserted or deleted row that say nothing to a reader.
_TECHNICAL = {"id", "study_id", "person_id", "created_at", "sequence_position"}
EMPTY = "–"


def _value(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return EMPTY
    return str(value)


def _row_summary(raw: object, words: Callable[[str], str]) -> str:
    """The readable fields of an inserted/deleted row (its JSON in the audit event)."""
    try:
        row = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        row = None
    if not isinstance(row, dict):
        return _value(raw)
    parts = []
    for key, value in row.items():
        if key in _TECHNICAL or key.endswith("_id") or value is None:
            continue
        if key == "item_values":
            with contextlib.suppress(TypeError, ValueError):  # not a JSON list: shown as stored
                value = words("answers").format(n=len(json.loads(value)))
        parts.append(f"{key.replace('_', ' ')}: {value}")
    return " · ".join(parts)


def audit_timeline(history: pd.DataFrame, words: Optional[Callable[[str], str]] = None) -> pd.DataFrame:
    """The audit history as :data:`TIMELINE_COLUMNS`, oldest first.

    Parameters
    ----------
    history
        ``occurred_at, actor, action, table_name, row_id, field, old_value, new_value,
        reason`` (:func:`study.audit.person_history`).
    words
        Message look-up for ``created``, ``changed``, ``deleted`` and ``answers`` (``{n}
        answers``); English by default.

    Returns
    -------
    pandas.DataFrame
        - ``when``: UTC time to the minute (``2026-01-05 14:03``)
        - ``who``: the audit actor
        - ``what``: ``created`` / ``changed`` / ``deleted`` and the record (``questionnaire
          response``), with the field for a change
        - ``change``: ``old → new`` for a change, the record's readable fields otherwise
        - ``reason``: the reason recorded with the change

    Examples
    --------
    >>> h = pd.DataFrame({"occurred_at": [pd.Timestamp("2026-01-05 14:03:59", tz="UTC")],
    ...                   "actor": ["hel.coordinator"], "action": ["update"],
    ...                   "table_name": ["waitlist_entry"], "row_id": ["19"], "field": ["left_on"],
    ...                   "old_value": [None], "new_value": ["2026-01-05"], "reason": ["matched"]})
    >>> audit_timeline(h).iloc[0].to_dict()
    {'when': '2026-01-05 14:03', 'who': 'hel.coordinator', 'what': 'changed: waitlist entry, left on', 'change': '– → 2026-01-05', 'reason': 'matched'}
    """
    english = {"created": "created", "changed": "changed", "deleted": "deleted", "answers": "{n} answers"}
    words = words or english.__getitem__
    if history.empty:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    verbs = {"insert": words("created"), "update": words("changed"), "delete": words("deleted")}
    when = pd.to_datetime(history["occurred_at"], utc=True).dt.strftime("%Y-%m-%d %H:%M")
    record = history["table_name"].astype(str).str.replace("_", " ")
    field = history["field"].where(history["field"].notna(), "").astype(str).str.replace("_", " ")
    verb = history["action"].map(verbs).fillna(history["action"])
    what = verb + ": " + record + field.map(lambda f: f", {f}" if f else "")
    is_update = history["action"] == "update"
    change = [
        f"{_value(old)} → {_value(new)}" if update else _row_summary(new if action == "insert" else old, words)
        for update, action, old, new in zip(is_update, history["action"], history["old_value"], history["new_value"])
    ]
    return pd.DataFrame({
        "when": when.to_numpy(), "who": history["actor"].to_numpy(), "what": what.to_numpy(),
        "change": change, "reason": history["reason"].where(history["reason"].notna(), "").to_numpy(),
    })

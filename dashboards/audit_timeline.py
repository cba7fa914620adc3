"""A person's audit history as a timeline people can read: when, who, what, from → to.

Pure pandas, from :func:`study.audit.person_history` (after blinding: the timeline shows
only what the history already shows). Technical keys (row ids, foreign keys, creation
stamps) are left out; a created row reads as its fields (``instrument: qpr15 · timepoint:
baseline``), a change as ``field: old → new``.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable

import pandas as pd

from dashboards.i18n.formats import format_date, format_datetime

__all__ = ["TIMELINE_COLUMNS", "audit_timeline"]

#: Columns of the timeline.
TIMELINE_COLUMNS = ["when", "who", "what", "change", "reason"]
#: Keys of an inserted or deleted row that say nothing to a reader.
_TECHNICAL = {"id", "study_id", "person_id", "created_at", "sequence_position"}
EMPTY = "–"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Catalogue look-up: a key (``record.enrolment``, ``column.withdrawn_on``,
#: ``code.withdrawal_reason.moved away``) → its text, ``None`` when the catalogue has none.
Names = Callable[[str], "str | None"]


def _no_names(key: str) -> str | None:
    return None


def _value(value: object, field: str = "", names: Names = _no_names, language: str | None = None) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return EMPTY
    text = str(value)
    if text.lower() in ("true", "false"):
        return names(f"common.{'yes' if text.lower() == 'true' else 'no'}") or text.lower()
    if language is not None and _ISO_DATE.match(text):
        return format_date(text, language)
    return names(f"code.{field}.{text}") or text


def _field(key: str, names: Names) -> str:
    return names(f"column.{key}") or key.replace("_", " ")


def _row_summary(
    raw: object, words: Callable[[str], str], names: Names = _no_names, language: str | None = None
) -> str:
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
            parts.append(f"{_field(key, names)}: {value}")
            continue
        parts.append(f"{_field(key, names)}: {_value(value, key, names, language)}")
    return " · ".join(parts)


def audit_timeline(
    history: pd.DataFrame,
    words: Callable[[str], str] | None = None,
    names: Names | None = None,
    language: str | None = None,
) -> pd.DataFrame:
    """The audit history as :data:`TIMELINE_COLUMNS`, oldest first.

    Parameters
    ----------
    history
        ``occurred_at, actor, action, table_name, row_id, field, old_value, new_value,
        reason`` (:func:`study.audit.person_history`).
    words
        Message look-up for ``created``, ``changed``, ``deleted`` and ``answers`` (``{n}
        answers``); English by default.
    names
        Catalogue look-up for the record (``record.<table>``), field (``column.<field>``) and
        coded values (``code.<field>.<value>``); the snake_case names made readable without.
    language
        When given, times and dates read as in that language (``5. jan. 2026 14:03``);
        otherwise ISO (``2026-01-05 14:03``).

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
    names = names or _no_names
    moments = pd.to_datetime(history["occurred_at"], utc=True)
    when = (
        moments.dt.strftime("%Y-%m-%d %H:%M")
        if language is None
        else moments.map(lambda m: format_datetime(m, language))
    )
    record = history["table_name"].astype(str).map(lambda r: names(f"record.{r}") or r.replace("_", " "))
    fields = history["field"].where(history["field"].notna(), "").astype(str)
    verb = history["action"].map(verbs).fillna(history["action"])
    what = verb + ": " + record + fields.map(lambda f: f", {_field(f, names)}" if f else "")
    is_update = history["action"] == "update"
    change = [
        f"{_value(old, f, names, language)} → {_value(new, f, names, language)}"
        if update
        else _row_summary(new if action == "insert" else old, words, names, language)
        for update, action, f, old, new in zip(
            is_update, history["action"], fields, history["old_value"], history["new_value"]
        )
    ]
    return pd.DataFrame(
        {
            "when": when.to_numpy(),
            "who": history["actor"].to_numpy(),
            "what": what.to_numpy(),
            "change": change,
            "reason": history["reason"].where(history["reason"].notna(), "").to_numpy(),
        }
    )

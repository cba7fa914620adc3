"""The same answer on SQLite and PostgreSQL for text a column cannot hold.

PostgreSQL refuses a value longer than its ``VARCHAR(n)`` and any NUL character with a driver
traceback; SQLite stores both silently. This guard checks every new and changed row before
it is flushed, on both, and raises :class:`~study.errors.BadInput` naming the table, column
and problem, so that nothing is written and the CLI exits with 2. Imports check their cells
earlier (:mod:`study.imports.limits`, with row and column); this is the safety net for every
other way in (forms, commands).
"""

from __future__ import annotations

from sqlalchemy import String, event
from sqlalchemy.orm import Session

from study.errors import BadInput

__all__ = ["text_problem"]


def text_problem(value: object, length: int | None) -> str | None:
    """Why ``value`` cannot be stored in a text column of ``length`` characters (``None``:
    unlimited), or ``None`` when it can."""
    if not isinstance(value, str):
        return None
    if "\x00" in value:
        return "contains a NUL character"
    if length is not None and len(value) > length:
        return f"is {len(value)} characters long, at most {length}"
    return None


@event.listens_for(Session, "before_flush")
def _check_text(session: Session, _flush_context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        table = getattr(obj, "__table__", None)
        if table is None:
            continue
        for column in table.columns:
            if not isinstance(column.type, String):
                continue
            reason = text_problem(getattr(obj, column.key, None), column.type.length)
            if reason:
                raise BadInput(f"{table.name}.{column.name} {reason}")

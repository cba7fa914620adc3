"""The feedback log on the course manual: a note per session from leaders and participants
(what works, what does not, ideas) that feeds the next manual version."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import CourseGroup, GroupSession, ManualFeedback, Site, Study
from study.errors import BadInput

__all__ = [
    "FEEDBACK_COLUMNS",
    "FEEDBACK_KINDS",
    "FEEDBACK_SOURCES",
    "MAX_NOTE",
    "add_feedback",
    "feedback_table",
]

FEEDBACK_SOURCES: tuple[str, ...] = ("leader", "participant", "coordinator")
FEEDBACK_KINDS: tuple[str, ...] = ("works", "does_not_work", "idea")
#: Longest note in characters (a note, not a report).
MAX_NOTE = 2000
FEEDBACK_COLUMNS = [
    "group",
    "site",
    "week",
    "manual_version",
    "source",
    "kind",
    "note",
    "recorded_by",
    "recorded_on",
]


def add_feedback(
    session: Session,
    study: Study,
    group: CourseGroup,
    week: int,
    source: str,
    kind: str,
    note: str,
    recorded_by: str,
    recorded_on: dt.date | None = None,
) -> ManualFeedback:
    """Log one note on the manual from session ``week`` of ``group``.

    Raises ``BadInput`` for a week the group has no session in, an unknown source or kind, an
    empty note or one longer than :data:`MAX_NOTE` characters, or a date in the future.
    """
    note = (note or "").strip()
    problems = []
    if source not in FEEDBACK_SOURCES:
        problems.append(f"source {source!r} is not one of {', '.join(FEEDBACK_SOURCES)}")
    if kind not in FEEDBACK_KINDS:
        problems.append(f"kind {kind!r} is not one of {', '.join(FEEDBACK_KINDS)}")
    if not note:
        problems.append("the note is empty")
    elif len(note) > MAX_NOTE:
        problems.append(f"the note has {len(note)} characters; at most {MAX_NOTE}")
    today = dt.date.today()
    recorded_on = recorded_on or today
    if recorded_on > today:
        problems.append(f"date {recorded_on} is in the future")
    has_session = session.scalar(
        select(GroupSession.id).where(GroupSession.group_id == group.id, GroupSession.week == week)
    )
    if has_session is None:
        problems.append(f"group {group.code} has no session in week {week}")
    if problems:
        raise BadInput("; ".join(problems))
    feedback = ManualFeedback(
        study_id=study.id,
        group_id=group.id,
        week=week,
        source=source,
        kind=kind,
        note=note,
        manual_version=group.manual_version,
        recorded_by=recorded_by,
        recorded_on=recorded_on,
    )
    session.add(feedback)
    session.flush()
    return feedback


def feedback_table(
    session: Session, study: Study, phase: str | None = None, site_id: int | None = None
) -> pd.DataFrame:
    """The feedback log, oldest first, optionally of one phase's groups and one site.

    Returns
    -------
    DataFrame
        ``group, site, week, manual_version, source, kind, note, recorded_by, recorded_on``.
    """
    stmt = (
        select(
            CourseGroup.code,
            Site.code,
            ManualFeedback.week,
            ManualFeedback.manual_version,
            ManualFeedback.source,
            ManualFeedback.kind,
            ManualFeedback.note,
            ManualFeedback.recorded_by,
            ManualFeedback.recorded_on,
        )
        .join(CourseGroup, CourseGroup.id == ManualFeedback.group_id)
        .join(Site, Site.id == CourseGroup.site_id)
        .where(ManualFeedback.study_id == study.id)
        .order_by(ManualFeedback.recorded_on, ManualFeedback.id)
    )
    if phase is not None:
        stmt = stmt.where(CourseGroup.phase == phase)
    if site_id is not None:
        stmt = stmt.where(CourseGroup.site_id == site_id)
    return pd.DataFrame(session.execute(stmt).all(), columns=FEEDBACK_COLUMNS)

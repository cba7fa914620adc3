"""Writes about course groups from the dashboard: attendance and notes on the manual."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dashboards.access import Viewer
from dashboards.actions.unit import study_write
from study.codes import AttendanceStatus
from study.db.models import Attendance, GroupSession, Person
from study.groups import group_by_code, record_attendance
from study.manual_feedback import add_feedback

__all__ = ["log_feedback", "save_attendance"]


def save_attendance(
    engine: Engine, viewer: Viewer, group_code: str, week: int, present: Mapping[str, bool]
) -> int:
    """Record the attendance grid of one session (present True/False per pseudonym).

    Saving the same grid twice changes nothing; a changed cell is an audited correction.
    Returns the number of attendance rows inserted or changed.

    Raises ``NotAllowed`` for a group of another site or a viewer who is not a coordinator,
    ``BadInput`` for a week without a session or a pseudonym not in the group.
    """
    statuses = {
        p: AttendanceStatus.PRESENT if bool(v) else AttendanceStatus.ABSENT for p, v in present.items()
    }
    with study_write(engine, viewer, f"dashboard: attendance {group_code} week {week}") as (session, study):
        group = group_by_code(session, study, group_code)
        viewer.require_edit(group.site_id, f"group {group_code}")
        before = _recorded_statuses(session, group.id, int(week))
        record_attendance(session, study, group, int(week), statuses)
        return sum(1 for p, status in statuses.items() if before.get(p) != status)


def _recorded_statuses(session: Session, group_id: int, week: int) -> dict[str, str]:
    """Attendance already recorded for the session: pseudonym → status."""
    rows = session.execute(
        select(Person.pseudonym, Attendance.status)
        .join(Attendance, Attendance.person_id == Person.id)
        .join(GroupSession, GroupSession.id == Attendance.session_id)
        .where(GroupSession.group_id == group_id, GroupSession.week == week)
    ).all()
    return {row.pseudonym: row.status for row in rows}


def log_feedback(
    engine: Engine, viewer: Viewer, group_code: str, week: int, source: str, kind: str, note: str
) -> int:
    """Log a note on the manual from one session of a group of the coordinator's own site
    (:func:`study.manual_feedback.add_feedback`); returns the new note's id."""
    with study_write(engine, viewer, f"dashboard: manual feedback {group_code} week {week}") as (
        session,
        study,
    ):
        group = group_by_code(session, study, group_code)
        viewer.require_edit(group.site_id, f"group {group_code}")
        return add_feedback(session, study, group, int(week), source, kind, note, recorded_by=viewer.login).id

"""Dose of the course per participant: sessions held and attended, per-protocol flag."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Attendance, CourseGroup, GroupMember, GroupSession, Person, Study
from study.studies import config_of

__all__ = ["attendance_dose", "dose_table"]

DOSE_COLUMNS = ["pseudonym", "group", "sessions_held", "sessions_attended", "per_protocol"]


def dose_table(
    members: pd.DataFrame, sessions: pd.DataFrame, attendance: pd.DataFrame, min_sessions: int
) -> pd.DataFrame:
    """Dose from plain tables (pure pandas).

    Parameters
    ----------
    members
        ``pseudonym, group``: every participant placed in a group.
    sessions
        ``group, week, cancelled, recorded``: every planned session; ``recorded`` is true when
        attendance was taken at it.
    attendance
        ``pseudonym, group, week, status`` with status ``present`` or ``absent``.
    min_sessions
        Per-protocol threshold: sessions attended (``groups.per_protocol_min_sessions``).

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, group, sessions_held, sessions_attended, per_protocol``: sessions held =
        the group's sessions not cancelled at which attendance was taken; attended = present;
        per protocol = attended ≥ ``min_sessions``. Sorted by group and pseudonym.

    Examples
    --------
    >>> m = pd.DataFrame({"pseudonym": ["P1", "P2"], "group": ["G", "G"]})
    >>> s = pd.DataFrame({"group": ["G"] * 3, "week": [1, 2, 3],
    ...                   "cancelled": [False, False, True], "recorded": [True, True, False]})
    >>> a = pd.DataFrame({"pseudonym": ["P1", "P1", "P2"], "group": ["G"] * 3,
    ...                   "week": [1, 2, 1], "status": ["present", "present", "absent"]})
    >>> dose_table(m, s, a, 2).values.tolist()
    [['P1', 'G', 2, 2, True], ['P2', 'G', 2, 0, False]]
    """
    held = (
        sessions[~sessions["cancelled"].astype(bool) & sessions["recorded"].astype(bool)]
        .groupby("group")
        .size()
        .rename("sessions_held")
    )
    attended = (
        attendance[attendance["status"] == "present"]
        .groupby(["pseudonym", "group"])
        .size()
        .rename("sessions_attended")
    )
    out = members[["pseudonym", "group"]].copy()
    out["sessions_held"] = out["group"].map(held).fillna(0).astype(int)
    out = out.merge(attended.reset_index(), on=["pseudonym", "group"], how="left")
    out["sessions_attended"] = out["sessions_attended"].fillna(0).astype(int)
    out["per_protocol"] = out["sessions_attended"] >= min_sessions
    return out.sort_values(["group", "pseudonym"])[DOSE_COLUMNS].reset_index(drop=True)


def attendance_dose(session: Session, study: Study) -> pd.DataFrame:
    """Dose of every group member of the study (pilot and RCT groups).

    Returns ``pseudonym, group, sessions_held, sessions_attended, per_protocol`` (see
    :func:`dose_table`); the threshold is ``groups.per_protocol_min_sessions`` of study.yaml
    (default 6 of 10).
    """
    min_sessions = config_of(study).groups.per_protocol_min_sessions
    members = pd.DataFrame(
        session.execute(
            select(Person.pseudonym, CourseGroup.code)
            .join(GroupMember, GroupMember.person_id == Person.id)
            .join(CourseGroup, CourseGroup.id == GroupMember.group_id)
            .where(GroupMember.study_id == study.id)
        ).all(),
        columns=["pseudonym", "group"],
    )
    recorded = select(Attendance.session_id).where(Attendance.study_id == study.id).distinct()
    sessions = pd.DataFrame(
        session.execute(
            select(CourseGroup.code, GroupSession.week, GroupSession.cancelled, GroupSession.id.in_(recorded))
            .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
            .where(GroupSession.study_id == study.id)
        ).all(),
        columns=["group", "week", "cancelled", "recorded"],
    )
    attendance = pd.DataFrame(
        session.execute(
            select(Person.pseudonym, CourseGroup.code, GroupSession.week, Attendance.status)
            .join(Attendance, Attendance.person_id == Person.id)
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
            .where(Attendance.study_id == study.id)
        ).all(),
        columns=["pseudonym", "group", "week", "status"],
    )
    return dose_table(members, sessions, attendance, min_sessions)

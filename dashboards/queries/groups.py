"""Groups, their sessions and attendance at the viewer's sites."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from dashboards.access import Viewer
from dashboards.queries.scope import site_clause
from study.db import read_session
from study.db.models import (
    Attendance,
    CourseGroup,
    GroupLeader,
    GroupMember,
    GroupSession,
    Person,
    Site,
)
from study.errors import BadInput, NotFound

__all__ = [
    "ATTENDANCE_COLUMNS",
    "GROUP_COLUMNS",
    "attendance_frame",
    "attendance_rates",
    "dose_frame",
    "groups_frame",
    "session_grid",
    "sessions_of_group",
]

GROUP_COLUMNS = ["group", "site", "phase", "start_date", "manual_version", "leaders", "members"]
ATTENDANCE_COLUMNS = ["group", "site", "week", "held_on", "cancelled", "pseudonym", "status"]


def groups_frame(engine: Engine, viewer: Viewer, phase: str | None = None) -> pd.DataFrame:
    """Groups at the viewer's sites, optionally of one phase.

    Returns
    -------
    DataFrame
        ``group, site, phase, start_date, manual_version, leaders, members``: ``leaders`` the
        leaders' pseudonyms joined by ", " in position order, ``members`` the number of
        participants placed in the group.
    """
    where = [CourseGroup.study_id == viewer.study_id, site_clause(viewer, CourseGroup.site_id)]
    if phase is not None:
        where.append(CourseGroup.phase == phase)
    with read_session(engine) as session:
        groups = session.execute(
            select(
                CourseGroup.id,
                CourseGroup.code,
                Site.code,
                CourseGroup.phase,
                CourseGroup.start_date,
                CourseGroup.manual_version,
            )
            .join(Site, Site.id == CourseGroup.site_id)
            .where(*where)
            .order_by(CourseGroup.start_date, CourseGroup.code)
        ).all()
        leaders = session.execute(
            select(GroupLeader.group_id, Person.pseudonym)
            .join(Person, Person.id == GroupLeader.person_id)
            .join(CourseGroup, CourseGroup.id == GroupLeader.group_id)
            .where(*where)
            .order_by(GroupLeader.group_id, GroupLeader.position)
        ).all()
        members = session.execute(
            select(GroupMember.group_id, func.count())
            .join(CourseGroup, CourseGroup.id == GroupMember.group_id)
            .where(*where)
            .group_by(GroupMember.group_id)
        ).all()
    df = pd.DataFrame(groups, columns=["id"] + GROUP_COLUMNS[:5])
    lead = pd.DataFrame(leaders, columns=["id", "pseudonym"]).groupby("id")["pseudonym"].agg(", ".join)
    size = pd.DataFrame(members, columns=["id", "n"]).set_index("id")["n"]
    df["leaders"] = df["id"].map(lead).fillna("")
    df["members"] = df["id"].map(size).fillna(0).astype(int)
    return df.drop(columns="id")


def attendance_frame(engine: Engine, viewer: Viewer, phase: str | None = None) -> pd.DataFrame:
    """Recorded attendance at the viewer's sites: one row per participant and session.

    Returns
    -------
    DataFrame
        ``group, site, week, held_on, cancelled, pseudonym, status`` (``present``/``absent``).
    """
    where = [CourseGroup.study_id == viewer.study_id, site_clause(viewer, CourseGroup.site_id)]
    if phase is not None:
        where.append(CourseGroup.phase == phase)
    with read_session(engine) as session:
        rows = session.execute(
            select(
                CourseGroup.code,
                Site.code,
                GroupSession.week,
                GroupSession.held_on,
                GroupSession.cancelled,
                Person.pseudonym,
                Attendance.status,
            )
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
            .join(Site, Site.id == CourseGroup.site_id)
            .join(Person, Person.id == Attendance.person_id)
            .where(*where)
        ).all()
    return pd.DataFrame(rows, columns=ATTENDANCE_COLUMNS)


def attendance_rates(attendance: pd.DataFrame) -> pd.DataFrame:
    """Attendance per group and week.

    Returns
    -------
    DataFrame
        ``group, site, week, present, recorded, percent_present`` (100 × present / recorded).
    """
    df = attendance.assign(present=(attendance["status"] == "present").astype(int), recorded=1)
    out = df.groupby(["group", "site", "week"], as_index=False)[["present", "recorded"]].sum()
    out["percent_present"] = (100 * out["present"] / out["recorded"]).round(1)
    return out


def dose_frame(attendance: pd.DataFrame, min_sessions: int) -> pd.DataFrame:
    """Sessions attended per participant (the dose) and whether it meets the per-protocol
    threshold ``min_sessions`` (``groups.per_protocol_min_sessions`` in study.yaml).

    Returns
    -------
    DataFrame
        ``pseudonym, group, site, sessions_attended, per_protocol``.
    """
    if min_sessions < 0:
        raise ValueError("min_sessions must be ≥ 0")
    df = attendance.assign(present=(attendance["status"] == "present").astype(int))
    out = df.groupby(["pseudonym", "group", "site"], as_index=False)["present"].sum()
    out = out.rename(columns={"present": "sessions_attended"})
    out["per_protocol"] = out["sessions_attended"] >= min_sessions
    return out


def _group_row(session, viewer: Viewer, group_code: str) -> CourseGroup:
    group = session.scalar(
        select(CourseGroup).where(CourseGroup.study_id == viewer.study_id, CourseGroup.code == group_code)
    )
    if group is None:
        raise NotFound(f"unknown group {group_code!r}")
    viewer.require_site(group.site_id, f"group {group_code}")
    return group


def sessions_of_group(engine: Engine, viewer: Viewer, group_code: str) -> pd.DataFrame:
    """The sessions of one group: ``week, held_on, cancelled, recorded`` (attendance rows).

    Raises ``NotAllowed`` for a group of another site, ``NotFound`` for an unknown group.
    """
    with read_session(engine) as session:
        group = _group_row(session, viewer, group_code)
        recorded = select(func.count()).where(Attendance.session_id == GroupSession.id).scalar_subquery()
        rows = session.execute(
            select(GroupSession.week, GroupSession.held_on, GroupSession.cancelled, recorded)
            .where(GroupSession.group_id == group.id)
            .order_by(GroupSession.week)
        ).all()
    return pd.DataFrame(rows, columns=["week", "held_on", "cancelled", "recorded"])


def session_grid(engine: Engine, viewer: Viewer, group_code: str, week: int) -> pd.DataFrame:
    """The attendance grid of one session: one row per member of the group.

    Returns
    -------
    DataFrame
        ``pseudonym, present`` where ``present`` is True/False as recorded, or ``None`` when
        nothing is recorded yet for that member.

    Raises ``NotAllowed`` for a group of another site, ``BadInput`` for a week without a
    session.
    """
    with read_session(engine) as session:
        group = _group_row(session, viewer, group_code)
        group_session = session.scalar(
            select(GroupSession).where(GroupSession.group_id == group.id, GroupSession.week == week)
        )
        if group_session is None:
            raise BadInput(f"group {group_code} has no session in week {week}")
        rows = session.execute(
            select(Person.pseudonym, Attendance.status)
            .join(GroupMember, GroupMember.person_id == Person.id)
            .outerjoin(
                Attendance,
                (Attendance.person_id == Person.id) & (Attendance.session_id == group_session.id),
            )
            .where(GroupMember.group_id == group.id)
            .order_by(Person.pseudonym)
        ).all()
    df = pd.DataFrame(rows, columns=["pseudonym", "status"])
    df["present"] = df["status"].map({"present": True, "absent": False}).astype("boolean")
    return df[["pseudonym", "present"]]

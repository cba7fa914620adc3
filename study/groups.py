"""Course groups: creation with their leaders and weekly sessions, members, attendance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from study.codes import ATTENDANCE_STATUSES, Role
from study.companionship.volunteers import require_training
from study.db.models import (
    Attendance,
    CourseGroup,
    GroupLeader,
    GroupMember,
    GroupSession,
    Person,
    Study,
)
from study.errors import BadInput, NotFound
from study.studies import config_of, site_by_code

__all__ = ["add_member", "create_group", "group_by_code", "record_attendance"]


def create_group(
    session: Session,
    study: Study,
    code: str,
    site: str,
    start_date: dt.date,
    leaders: Sequence[str],
    phase: str | None = None,
    manual_version: str | None = None,
) -> CourseGroup:
    """Create a group at ``site`` with its leaders (pseudonyms) and one session a week.

    A group has exactly the configured number of leaders (two in the reference study), each a
    ``group_leader`` of the same site with the required training recorded by ``start_date``
    (``NotAllowed`` otherwise). Sessions are dated weekly from ``start_date``.
    """
    config = config_of(study)
    site_row = site_by_code(session, study, site)
    if len(leaders) != config.groups.leaders or len(set(leaders)) != len(leaders):
        raise BadInput(
            f"group {code} needs exactly {config.groups.leaders} different leaders, got "
            f"{', '.join(leaders) or 'none'}"
        )
    if session.scalar(
        select(CourseGroup.id).where(CourseGroup.study_id == study.id, CourseGroup.code == code)
    ):
        raise BadInput(f"group code {code!r} already exists")
    # Imported here, not at the top: study.people loads pandas, and `peerstudy randomise`
    # reaches this module (placing a participant) without needing it.
    from study.people import person_by_pseudonym

    leader_rows = [person_by_pseudonym(session, study, p) for p in leaders]
    for leader in leader_rows:
        if leader.role != Role.GROUP_LEADER:
            raise BadInput(f"{leader.pseudonym} is a {leader.role}, not a group_leader")
        if leader.site_id != site_row.id:
            raise BadInput(f"leader {leader.pseudonym} belongs to another site than {site}")
        # Only trained leaders lead a course (companionship.required_training, by its start).
        require_training(session, study, leader, "group_leader", on=start_date)
    group = CourseGroup(
        study_id=study.id,
        site_id=site_row.id,
        code=code,
        phase=phase or study.current_phase or "pilot",
        start_date=start_date,
        manual_version=manual_version,
    )
    session.add(group)
    session.flush()
    for position, leader in enumerate(leader_rows, start=1):
        session.add(GroupLeader(study_id=study.id, group_id=group.id, person_id=leader.id, position=position))
    for week in range(1, config.groups.sessions + 1):
        session.add(
            GroupSession(
                study_id=study.id,
                group_id=group.id,
                week=week,
                held_on=start_date + dt.timedelta(weeks=week - 1),
            )
        )
    session.flush()
    return group


def group_by_code(session: Session, study: Study, code: str) -> CourseGroup:
    """The study's group with this code, or ``NotFound``."""
    group = session.scalar(
        select(CourseGroup).where(CourseGroup.study_id == study.id, CourseGroup.code == code)
    )
    if group is None:
        raise NotFound(f"unknown group {code!r} in study {study.code}")
    return group


def add_member(
    session: Session, study: Study, group: CourseGroup, person: Person, joined_on: dt.date
) -> GroupMember:
    """Place a participant in a group of their own site; refuse a full group."""
    config = config_of(study)
    if person.role != Role.PARTICIPANT:
        raise BadInput(f"{person.pseudonym} is a {person.role}; only participants join groups")
    if person.site_id != group.site_id:
        raise BadInput(f"{person.pseudonym} belongs to another site than group {group.code}")
    if session.scalar(select(GroupMember.id).where(GroupMember.person_id == person.id)):
        raise BadInput(f"{person.pseudonym} is already in a group")
    size = session.scalars(select(func.count()).where(GroupMember.group_id == group.id)).one()
    if size >= config.groups.max_size:
        raise BadInput(
            f"group {group.code} is full ({size} of at most {config.groups.max_size} participants)"
        )
    member = GroupMember(study_id=study.id, group_id=group.id, person_id=person.id, joined_on=joined_on)
    session.add(member)
    session.flush()
    return member


def record_attendance(
    session: Session, study: Study, group: CourseGroup, week: int, statuses: Mapping[str, str]
) -> list[Attendance]:
    """Record ``present``/``absent`` for members of ``group`` at the session of ``week``.

    An existing record is updated (an audited correction), so recording twice is idempotent.
    """
    group_session = session.scalar(
        select(GroupSession).where(GroupSession.group_id == group.id, GroupSession.week == week)
    )
    if group_session is None:
        raise BadInput(f"group {group.code} has no session in week {week}")
    members = dict(
        session.execute(
            select(Person.pseudonym, Person.id)
            .join(GroupMember, GroupMember.person_id == Person.id)
            .where(GroupMember.group_id == group.id)
        ).all()
    )
    existing = {
        a.person_id: a
        for a in session.scalars(select(Attendance).where(Attendance.session_id == group_session.id))
    }
    records = []
    for pseudonym, status in statuses.items():
        if status not in ATTENDANCE_STATUSES:
            raise BadInput(f"attendance of {pseudonym}: {status!r} is not present or absent")
        if pseudonym not in members:
            raise BadInput(f"{pseudonym} is not a member of group {group.code}")
        record = existing.get(members[pseudonym])
        if record is None:
            record = Attendance(
                study_id=study.id,
                session_id=group_session.id,
                person_id=members[pseudonym],
                status=status,
            )
            session.add(record)
        else:
            record.status = status
        records.append(record)
    session.flush()
    return records

"""Placing an intervention participant in a course group of their site after randomisation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from study.db.models import CourseGroup, GroupMember, Person, Study
from study.groups import add_member
from study.studies import config_of

__all__ = ["place_in_next_group"]


def place_in_next_group(
    session: Session, study: Study, person: Person, on: dt.date, phase: str = "rct"
) -> CourseGroup | None:
    """Put ``person`` in the first group of their site that starts on or after ``on`` and has
    room (fewer than ``groups.max_size`` members); ``None`` when no group has room.

    The candidate group row is locked (``SELECT … FOR UPDATE``) before its members are
    counted, so two writers can never both take its last place.
    """
    max_size = config_of(study).groups.max_size
    candidates = session.scalars(
        select(CourseGroup.id)
        .where(
            CourseGroup.study_id == study.id,
            CourseGroup.site_id == person.site_id,
            CourseGroup.phase == phase,
            CourseGroup.start_date >= on,
        )
        .order_by(CourseGroup.start_date, CourseGroup.code)
    ).all()
    for group_id in candidates:
        group = session.scalars(
            select(CourseGroup)
            .where(CourseGroup.id == group_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        size = session.scalars(select(func.count()).where(GroupMember.group_id == group_id)).one()
        if size < max_size:
            add_member(session, study, group, person, joined_on=on)
            return group
    return None

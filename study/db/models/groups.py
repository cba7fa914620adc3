"""Course groups (cohorts), their leaders, members, weekly sessions and attendance."""

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, IntPK, PersonFK, SiteFK, StudyFK
from study.db.models.audited import Audited

__all__ = ["Attendance", "CourseGroup", "GroupLeader", "GroupMember", "GroupSession"]


class CourseGroup(Audited, Base):
    """One run of the course at a site (a cohort), led by two peer leaders."""

    __tablename__ = "course_group"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    site_id: Mapped[SiteFK]
    code: Mapped[Code]
    phase: Mapped[Code]
    start_date: Mapped[dt.date]
    manual_version: Mapped[Code | None]


class GroupLeader(Audited, Base):
    """A peer leader of a group; ``position`` 1 or 2 (a group has exactly two)."""

    __tablename__ = "group_leader"
    __table_args__ = (
        UniqueConstraint("group_id", "position"),
        UniqueConstraint("group_id", "person_id"),
        CheckConstraint("position >= 1 AND position <= 4", name="position_range"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    group_id: Mapped[int] = mapped_column(ForeignKey("course_group.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[PersonFK]
    position: Mapped[int]


class GroupMember(Audited, Base):
    """A participant placed in a group; a participant is in at most one group."""

    __tablename__ = "group_member"

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    group_id: Mapped[int] = mapped_column(ForeignKey("course_group.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    joined_on: Mapped[dt.date]


class GroupSession(Audited, Base):
    """One weekly session of a group (week 1–10 for the reference course)."""

    __tablename__ = "group_session"
    __table_args__ = (
        UniqueConstraint("group_id", "week"),
        CheckConstraint("week >= 1 AND week <= 52", name="week_range"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    group_id: Mapped[int] = mapped_column(ForeignKey("course_group.id", ondelete="CASCADE"), index=True)
    week: Mapped[int]
    held_on: Mapped[dt.date]
    cancelled: Mapped[bool] = mapped_column(default=False)


class Attendance(Audited, Base):
    """Whether a participant attended a session: ``present`` or ``absent``."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "person_id"),
        CheckConstraint("status IN ('present', 'absent')", name="status_values"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    session_id: Mapped[int] = mapped_column(ForeignKey("group_session.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[PersonFK]
    status: Mapped[Code]

"""Studies, their sites and their phases."""

import datetime as dt

from sqlalchemy import Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["Site", "Study", "StudyPhase"]


class Study(Audited, Base):
    """A study; every other row belongs to exactly one. ``config_yaml`` is the validated
    ``study.yaml`` as loaded, kept so that every later command works from the same
    configuration. ``is_demo`` marks the synthetic study of ``peerstudy demo``."""

    __tablename__ = "study"

    id: Mapped[IntPK]
    code: Mapped[Code] = mapped_column(unique=True)
    name: Mapped[Name]
    config_yaml: Mapped[str] = mapped_column(Text)
    current_phase: Mapped[Code | None]
    unblinded_at: Mapped[dt.datetime | None]
    unblinded_by: Mapped[Name | None]
    #: A synthetic demo study (``peerstudy demo``): the only kind that may hold demo logins.
    is_demo: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[Created]

    sites: Mapped[list["Site"]] = relationship(back_populates="study", order_by="Site.id")
    phases: Mapped[list["StudyPhase"]] = relationship(order_by="StudyPhase.id")


class Site(Audited, Base):
    """A recruiting site (city) with its coordinator."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    code: Mapped[Code]
    name: Mapped[Name]
    recruitment_target: Mapped[int]

    study: Mapped[Study] = relationship(back_populates="sites")


class StudyPhase(Audited, Base):
    """A planned phase (dates from the configuration) and when it actually started."""

    __tablename__ = "study_phase"
    __table_args__ = (UniqueConstraint("study_id", "name"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    name: Mapped[Code]
    planned_start: Mapped[dt.date]
    planned_end: Mapped[dt.date]
    started_at: Mapped[dt.datetime | None]
    started_by: Mapped[Name | None]

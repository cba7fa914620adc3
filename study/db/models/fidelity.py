"""Fidelity: stored manual versions, session observations and their item ratings."""

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["CompetenceRating", "ComponentRating", "FidelityObservation", "ManualVersion"]


class ManualVersion(Audited, Base):
    """One version of a course manual: its validated YAML and why it changed.

    In the pilot each change is a new version; from the start of the RCT the version in
    force is locked (``locked_at``) and no new version may be stored (see
    :mod:`study.fidelity.versions`). ``sha256`` is the hash of ``content`` so that storing the
    same file twice is recognised and changes nothing.
    """

    __tablename__ = "manual_version"
    __table_args__ = (UniqueConstraint("study_id", "manual", "version"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    manual: Mapped[Code]
    version: Mapped[Code]
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[Code]
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    created_by: Mapped[Name]
    locked_at: Mapped[dt.datetime | None]
    locked_by: Mapped[Name | None]


class FidelityObservation(Audited, Base):
    """A coordinator's observation of one group session, scored against the manual version
    the group runs. One observer observes a session at most once; a second observer may
    score the same session independently (double coding)."""

    __tablename__ = "fidelity_observation"
    __table_args__ = (
        UniqueConstraint("session_id", "observer"),
        CheckConstraint("minutes IS NULL OR (minutes >= 0 AND minutes <= 600)", name="minutes_range"),
        CheckConstraint("participants_present IS NULL OR participants_present >= 0", name="present_range"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    group_id: Mapped[int] = mapped_column(ForeignKey("course_group.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("group_session.id", ondelete="CASCADE"), index=True)
    week: Mapped[int]
    observer: Mapped[Name]
    observed_on: Mapped[dt.date]
    manual_version: Mapped[Code]
    minutes: Mapped[int | None]
    participants_present: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]

    components: Mapped[list["ComponentRating"]] = relationship(
        back_populates="observation", cascade="all, delete-orphan", order_by="ComponentRating.id"
    )
    competences: Mapped[list["CompetenceRating"]] = relationship(
        back_populates="observation", cascade="all, delete-orphan", order_by="CompetenceRating.id"
    )


class ComponentRating(Audited, Base):
    """How fully a manual component was delivered: 2 fully, 1 partially, 0 not; empty (NULL)
    when the observer judged it not applicable."""

    __tablename__ = "component_rating"
    __table_args__ = (
        UniqueConstraint("observation_id", "component"),
        CheckConstraint("score IS NULL OR score IN (0, 1, 2)", name="score_values"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("fidelity_observation.id", ondelete="CASCADE"), index=True
    )
    component: Mapped[Code]
    score: Mapped[int | None]

    observation: Mapped[FidelityObservation] = relationship(back_populates="components")


class CompetenceRating(Audited, Base):
    """The observer's rating of one competence item on the manual's scale (1–5)."""

    __tablename__ = "competence_rating"
    __table_args__ = (
        UniqueConstraint("observation_id", "item"),
        CheckConstraint("score >= 1 AND score <= 10", name="score_range"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("fidelity_observation.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[Code]
    score: Mapped[int]

    observation: Mapped[FidelityObservation] = relationship(back_populates="competences")

"""The feedback log on the course manual: what works and what does not, per session."""

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["ManualFeedback"]


class ManualFeedback(Audited, Base):
    """One note on the manual from a session of a group, feeding the next manual version.

    ``source`` is who the note comes from (``leader``, ``participant``, ``coordinator``);
    ``kind`` is ``works``, ``does_not_work`` or ``idea``; ``manual_version`` the version the
    group ran when the note was made.
    """

    __tablename__ = "manual_feedback"
    __table_args__ = (
        CheckConstraint("week >= 1 AND week <= 52", name="week_range"),
        CheckConstraint("source IN ('leader', 'participant', 'coordinator')", name="source_values"),
        CheckConstraint("kind IN ('works', 'does_not_work', 'idea')", name="kind_values"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    group_id: Mapped[int] = mapped_column(ForeignKey("course_group.id", ondelete="CASCADE"), index=True)
    week: Mapped[int]
    source: Mapped[Code]
    kind: Mapped[Code]
    note: Mapped[str] = mapped_column(Text)
    manual_version: Mapped[Code | None]
    recorded_by: Mapped[Name]
    recorded_on: Mapped[dt.date]
    created_at: Mapped[Created]

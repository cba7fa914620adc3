"""Runs of the data-quality checks, kept so the dashboard can show the latest status."""

import datetime as dt
from typing import ClassVar

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["QualityRun"]


class QualityRun(Audited, Base):
    """One run of the generated data-quality checks on a study snapshot.

    ``checks``/``passed``/``errors``/``warnings`` count checks (a failed check of severity
    ``error`` or ``warning``); ``results`` holds every check's row as JSON (columns of
    ``pipelines.quality.run.QUALITY_COLUMNS``: pseudonyms at most, never identity fields);
    ``audit_seq`` is the newest audit event when the snapshot was taken, so a later change of
    study data marks the run as out of date.
    """

    __tablename__ = "quality_run"
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    taken_at: Mapped[dt.datetime]
    run_by: Mapped[Name]
    checks: Mapped[int]
    passed: Mapped[int]
    errors: Mapped[int]
    warnings: Mapped[int]
    audit_seq: Mapped[int | None]
    results: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Created]

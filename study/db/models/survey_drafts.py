"""Answers a participant has given so far to a questionnaire they have not yet submitted."""

import datetime as dt

from sqlalchemy import Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, PersonFK, StudyFK
from study.db.models.audited import Audited
from study.db.types import utcnow

__all__ = ["SurveyDraft"]


class SurveyDraft(Audited, Base):
    """The item answers saved as a participant goes through one instrument on their survey
    page (one row per person × timepoint × instrument, ``item_values`` a JSON object of item
    id → value). Kept per person, not per link, so a resent link resumes where the last one
    stopped; deleted when the instrument is submitted as a response. Drafts never reach the
    analysis or exports: only :class:`~study.db.models.QuestionnaireResponse` does.
    """

    __tablename__ = "survey_draft"
    __table_args__ = (UniqueConstraint("person_id", "timepoint", "instrument"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    timepoint: Mapped[Code]
    instrument: Mapped[Code]
    item_values: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_at: Mapped[Created]

"""Questionnaire responses, their item values, and the instrument versions that scored them."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from study.db.base import Base, Code, Created, IntPK, PersonFK, StudyFK
from study.db.models.audited import Audited

__all__ = ["InstrumentVersion", "QuestionnaireItem", "QuestionnaireResponse"]


class InstrumentVersion(Audited, Base):
    """An instrument definition as it was when it first scored data in a study.

    ``definition`` is the validated definition as JSON and ``sha256`` its hash: a definition
    with data is never changed in place, a changed definition must carry a new ``version``.
    """

    __tablename__ = "instrument_version"
    __table_args__ = (UniqueConstraint("study_id", "instrument", "version"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    instrument: Mapped[Code]
    version: Mapped[Code]
    definition: Mapped[str] = mapped_column(Text)
    sha256: Mapped[Code]
    created_at: Mapped[Created]


class QuestionnaireResponse(Audited, Base):
    """One participant's answers to one instrument at one timepoint.

    ``version`` is the instrument version the response is scored with; ``completed_on`` the
    date the participant answered (kept even when outside the timepoint's window).
    """

    __tablename__ = "questionnaire_response"
    __table_args__ = (UniqueConstraint("person_id", "timepoint", "instrument"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    timepoint: Mapped[Code]
    instrument: Mapped[Code]
    version: Mapped[Code]
    completed_on: Mapped[dt.date]
    created_at: Mapped[Created]

    items: Mapped[list["QuestionnaireItem"]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="QuestionnaireItem.id"
    )


class QuestionnaireItem(Audited, Base):
    """The value given to one item: an answer, a declared missing code (e.g. ``-9``), or
    empty (``NULL``: not answered). ``person_id`` is repeated so that the audit trail of a
    correction is found under the person."""

    __tablename__ = "questionnaire_item"
    __table_args__ = (UniqueConstraint("response_id", "item"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    response_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_response.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[Code]
    value: Mapped[Optional[int]]

    response: Mapped[QuestionnaireResponse] = relationship(back_populates="items")

"""Questionnaire responses with their item values, and the instrument versions that scored them."""

import datetime as dt

from sqlalchemy import Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, PersonFK, StudyFK
from study.db.models.audited import Audited

__all__ = ["InstrumentVersion", "QuestionnaireResponse"]


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
    ``item_values`` holds every item's value as canonical JSON in the definition's item order,
    e.g. ``{"1":3,"2":-9,"3":null}``: an answer, a declared missing code (stored as given), or
    ``null`` (not answered). One row per response keeps imports fast while every correction
    remains one audited update whose old value is the previous JSON (see
    :func:`questionnaires.store.load_items` for the long item table).
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
    item_values: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Created]

"""People (known by pseudonym), their identity kept apart, attributes and enrolment."""

import datetime as dt
from typing import ClassVar

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from study.db.base import Base, Code, Created, IntPK, Name, PersonFK, SiteFK, StudyFK
from study.db.models.audited import Audited

__all__ = ["Enrolment", "Person", "PersonAttribute", "PersonIdentity"]


class Person(Audited, Base):
    """Anyone in a study, in one role at one site, known only by a pseudonym."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("study_id", "pseudonym"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    pseudonym: Mapped[Code]
    role: Mapped[Code]
    site_id: Mapped[SiteFK]
    created_at: Mapped[Created]

    enrolment: Mapped["Enrolment | None"] = relationship(back_populates="person")


class PersonIdentity(Audited, Base):
    """Identifying data. Lives apart from study data: never joined into an export or a
    researcher's view, and shown only to the coordinator of the person's site."""

    __tablename__ = "person_identity"
    __audit_redact__: ClassVar[frozenset[str]] = frozenset(
        {"full_name", "birth_date", "phone", "email", "address"}
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    study_id: Mapped[StudyFK]
    full_name: Mapped[Name | None]
    birth_date: Mapped[dt.date | None]
    phone: Mapped[Code | None]
    email: Mapped[Name | None]
    address: Mapped[Name | None]


class PersonAttribute(Audited, Base):
    """A named attribute of a person used for strata and baseline tables (e.g. gender)."""

    __tablename__ = "person_attribute"
    __table_args__ = (UniqueConstraint("person_id", "name"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    name: Mapped[Code]
    value: Mapped[Name]


class Enrolment(Audited, Base):
    """Screening, eligibility, consent and withdrawal of one person.

    ``phase`` is the study phase the person was enrolled in (``pilot`` or ``rct``): pilot
    participants are never randomised. ``ineligibility_reasons`` is a JSON list of every rule
    the person failed (for the CONSORT "excluded, with reasons" box).
    """

    __tablename__ = "enrolment"

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    phase: Mapped[Code]
    screened_on: Mapped[dt.date]
    age_at_screening: Mapped[int | None]
    municipality: Mapped[Name | None]
    eligible: Mapped[bool]
    ineligibility_reasons: Mapped[str] = mapped_column(Text, default="[]")
    consent_on: Mapped[dt.date | None]
    withdrawn_on: Mapped[dt.date | None]
    withdrawal_reason: Mapped[Name | None]

    person: Mapped[Person] = relationship(back_populates="enrolment")

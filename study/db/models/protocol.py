"""The locked statistical analysis plan (SAP) and the protocol deviations of a study.

A SAP version is the plan document the pipelines would run, frozen with its SHA-256 by
``peerstudy sap lock`` (version 1) and by every later amendment (kind ``amendment``, always
with a reason). A protocol deviation is an audited, reasoned departure from the protocol
after the fact: a SAP amendment after the lock, or a correction of a randomised
participant's consent date, eligibility facts or stratification factor. Both are immutable:
a mistake is corrected by a new row, never by editing one.
"""

from typing import ClassVar

from sqlalchemy import ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["ProtocolDeviation", "SapVersion"]


class SapVersion(Audited, Base):
    """One frozen version of the statistical analysis plan."""

    __tablename__ = "sap_version"
    __table_args__ = (UniqueConstraint("study_id", "version"),)
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[Code]  # lock | amendment
    sha256: Mapped[Code]
    document: Mapped[str] = mapped_column(Text)
    plan_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[Name]
    recorded_at: Mapped[Created]


class ProtocolDeviation(Audited, Base):
    """A recorded departure from the protocol (``kind``: ``sap_amendment``,
    ``correction_after_allocation``), with what changed and why."""

    __tablename__ = "protocol_deviation"
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[Code]
    detail: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[Name]
    recorded_at: Mapped[Created]

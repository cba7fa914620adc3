"""Concealment of the allocation sequence: the secret seed, per-stratum counters, uploaded
allocation tables and the record of every disclosure of the sequence.

These tables are not study data in the analysis sense: they are never exported and never
shown in a researcher's view. Their values that would reveal future slots (the seed, the arms
of an uploaded table) are redacted in the audit trail.
"""

from typing import ClassVar

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = [
    "AllocationCounter",
    "AllocationDisclosure",
    "AllocationTableSlot",
    "RandomisationSecret",
]


class RandomisationSecret(Audited, Base):
    """The secret seed of a study's allocation sequences (256 bits from a CSPRNG, as hex).

    Every sequence is derived from it with HMAC-SHA256 (see :mod:`study.randomisation.stream`),
    so whoever holds it can regenerate every list; nobody else can predict one.
    """

    __tablename__ = "randomisation_secret"
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"seed"})
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK] = mapped_column(unique=True)
    seed: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[Name]
    created_at: Mapped[Created]


class AllocationCounter(Audited, Base):
    """Slots consumed so far in one stratum (``*`` for minimisation, which has one sequence per
    study). Randomisation locks this row (``SELECT … FOR UPDATE``) before it takes a slot, so
    two writers can never take the same one."""

    __tablename__ = "allocation_counter"
    __table_args__ = (UniqueConstraint("study_id", "stratum"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    stratum: Mapped[Name]
    allocated: Mapped[int] = mapped_column(default=0)


class AllocationTableSlot(Audited, Base):
    """One slot of an uploaded allocation table (REDCap style): the ``position``-th slot of a
    stratum and its arm. The arm is concealed: redacted in the audit trail."""

    __tablename__ = "allocation_table_slot"
    __table_args__ = (UniqueConstraint("study_id", "stratum", "position"),)
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"arm"})
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    stratum: Mapped[Name]
    position: Mapped[int]
    arm: Mapped[Code]


class AllocationDisclosure(Audited, Base):
    """A disclosure of the concealed sequence to the trial statistician (``kind``:
    ``sequence`` shows slots, ``verify`` regenerates and compares), kept as an audited row."""

    __tablename__ = "allocation_disclosure"
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    kind: Mapped[Code]
    detail: Mapped[str] = mapped_column(Text)
    actor: Mapped[Name]
    disclosed_at: Mapped[Created]

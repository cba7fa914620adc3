"""Allocations of RCT participants to arms (written once, never changed or deleted)."""

import datetime as dt
from typing import ClassVar

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["Allocation"]


class Allocation(Audited, Base):
    """The arm a participant was randomised to (intention to treat: withdrawal keeps it).

    ``stratum`` is the stratum key the allocation was drawn in (e.g. ``CPH|female``);
    ``sequence_position`` the slot of the concealed list it consumed: the position within the
    stratum (blocks, table) or within the study's single minimisation sequence.
    ``sequence`` names the concealed list the slot belongs to (the stratum for blocks and
    tables, ``*`` for the study's minimisation sequence); a unique constraint on
    (``study_id``, ``sequence``, ``sequence_position``) makes a shared slot impossible even
    for a writer that bypassed the row locks. ``allocated_on`` is the date of randomisation
    (the anchor of later timepoints).
    """

    __tablename__ = "allocation"
    __table_args__ = (UniqueConstraint("study_id", "sequence", "sequence_position"),)
    __audit_immutable__: ClassVar[bool] = True

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    arm: Mapped[Code]
    stratum: Mapped[Name]
    method: Mapped[Code]
    sequence: Mapped[Name | None]
    sequence_position: Mapped[int | None]
    allocated_on: Mapped[dt.date]
    allocated_by: Mapped[Name]
    created_at: Mapped[Created]

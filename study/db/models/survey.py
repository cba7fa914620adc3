"""Personal one-time links to the participant survey (only the token's hash is stored)."""

import datetime as dt
from typing import ClassVar

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name, StudyFK
from study.db.models.audited import Audited

__all__ = ["SurveyLink"]


class SurveyLink(Audited, Base):
    """A participant's link to their due questionnaires.

    ``token_hash`` is the SHA-256 of the random token in the link; the token itself is shown
    once to the coordinator and never stored. A link is valid until ``expires_at``, until it is
    used up (``used_at``, set when the questionnaire is complete) or revoked (a resend revokes
    the previous link). Every opening is an audited update of ``opened_count``.
    """

    __tablename__ = "survey_link"
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"token_hash"})

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    timepoint: Mapped[Code | None]
    token_hash: Mapped[Code] = mapped_column(unique=True)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    opened_count: Mapped[int] = mapped_column(default=0)
    last_opened_at: Mapped[dt.datetime | None]
    created_by: Mapped[Name]
    created_at: Mapped[Created]

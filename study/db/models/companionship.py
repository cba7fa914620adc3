"""Volunteers (interviews, training, commitment) and 1:1 companionship (profiles, waitlist,
follow-up calls, matches and their contacts).

Every table carries ``person_id`` for the person it is about (for a match and its contacts:
the recipient), so ``peerstudy audit show --person`` finds the history. List-valued fields
(wishes, availability slots, preferred genders) are JSON arrays in a text column: they are
read whole, never queried inside.
"""

import datetime as dt
from typing import ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name, PersonFK, StudyFK
from study.db.models.audited import Audited

__all__ = [
    "CompanionProfile",
    "FollowUpCall",
    "Match",
    "MatchContact",
    "TrainingRecord",
    "VolunteerCommitment",
    "VolunteerInterview",
    "WaitlistEntry",
]


class VolunteerInterview(Audited, Base):
    """An interview of a volunteer before acceptance (``number`` 1 or 2 in the reference
    study). ``outcome``: ``accepted``, ``second_interview``, ``not_accepted`` or ``withdrew``."""

    __tablename__ = "volunteer_interview"
    __table_args__ = (UniqueConstraint("person_id", "number"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    number: Mapped[int]
    interviewed_on: Mapped[dt.date]
    interviewer: Mapped[Name | None]
    outcome: Mapped[Code]
    note: Mapped[str | None] = mapped_column(Text)


class TrainingRecord(Audited, Base):
    """Training a volunteer completed: ``kind`` from the configured training kinds (education
    weekend, supervision after an observed session, companionship workshop). ``group_id``
    names the course whose observed session a supervision followed."""

    __tablename__ = "training_record"
    __table_args__ = (UniqueConstraint("person_id", "kind", "completed_on"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    kind: Mapped[Code]
    completed_on: Mapped[dt.date]
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_group.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str | None] = mapped_column(Text)


class VolunteerCommitment(Audited, Base):
    """What a volunteer commits to and when: ``courses`` (group leaders, e.g. 1–2 within half
    a year) and ``companionship_months`` (peer buddies, up to the planned match length)."""

    __tablename__ = "volunteer_commitment"

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    available_from: Mapped[dt.date]
    available_until: Mapped[dt.date | None]
    courses: Mapped[int | None]
    companionship_months: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)


class CompanionProfile(Audited, Base):
    """What a recipient wishes for or a buddy offers, where and when they can meet, and
    their preferences about the other person.

    ``side`` is ``recipient`` or ``buddy``; ``wishes`` and ``availability`` are JSON lists
    (availability slots like ``tue_pm``); ``home_visits`` is ``wanted``, ``ok`` or ``no`` (a
    pair with ``wanted`` on one side and ``no`` on the other is never matched).
    ``diagnosis`` is sensitive health data kept only when it is used: for a recipient who
    requires a buddy with the same diagnosis, and for a buddy who agrees to be matched on it;
    it is redacted in the audit trail and never shown in suggestions.
    """

    __tablename__ = "companion_profile"
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"diagnosis"})
    __table_args__ = (
        CheckConstraint("side IN ('recipient', 'buddy')", name="side_values"),
        CheckConstraint("home_visits IN ('wanted', 'ok', 'no')", name="home_visits_values"),
    )

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    side: Mapped[Code]
    area: Mapped[Name]
    wishes: Mapped[str] = mapped_column(Text, default="[]")
    availability: Mapped[str] = mapped_column(Text, default="[]")
    home_visits: Mapped[Code] = mapped_column(default="ok")
    preferred_genders: Mapped[str] = mapped_column(Text, default="[]")
    preferred_age_min: Mapped[int | None]
    preferred_age_max: Mapped[int | None]
    same_diagnosis_required: Mapped[bool] = mapped_column(default=False)
    diagnosis: Mapped[Code | None]
    max_matches: Mapped[int | None]
    created_at: Mapped[Created]


class WaitlistEntry(Audited, Base):
    """A period of waiting for a match.

    ``since`` is the waiting date that sets the person's place (kept from the first entry when
    a failed match returns them); ``entered_on`` is when this period began; ``top`` puts a
    person returned after a failed match at the top of the list. The period is open while
    ``left_on`` is empty; ``left_reason`` is ``matched`` or a leaving call outcome.
    """

    __tablename__ = "waitlist_entry"

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    since: Mapped[dt.date]
    entered_on: Mapped[dt.date]
    top: Mapped[bool] = mapped_column(default=False)
    left_on: Mapped[dt.date | None]
    left_reason: Mapped[Code | None]


class FollowUpCall(Audited, Base):
    """A follow-up call to a person on the waitlist (date, outcome, note)."""

    __tablename__ = "follow_up_call"

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entry.id", ondelete="CASCADE"), index=True)
    called_on: Mapped[dt.date]
    outcome: Mapped[Code]
    note: Mapped[str | None] = mapped_column(Text)
    called_by: Mapped[Name]


class Match(Audited, Base):
    """A 1:1 companionship relationship: ``person_id`` is the recipient, ``buddy_id`` the
    peer buddy. Active while ``ended_on`` is empty; runs until ``planned_end_on`` or, when
    extended, ``extended_until`` (at most the configured maximum after ``started_on``)."""

    __tablename__ = "companion_match"
    __table_args__ = (CheckConstraint("person_id <> buddy_id", name="two_people"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    buddy_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    started_on: Mapped[dt.date]
    planned_end_on: Mapped[dt.date]
    score: Mapped[float | None]
    confirmed_by: Mapped[Name]
    extended_until: Mapped[dt.date | None]
    extended_on: Mapped[dt.date | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    ended_on: Mapped[dt.date | None]
    end_reason: Mapped[Code | None]
    end_note: Mapped[str | None] = mapped_column(Text)

    @property
    def runs_until(self) -> dt.date:
        """The planned last day, extension included."""
        return self.extended_until or self.planned_end_on


class MatchContact(Audited, Base):
    """A meeting or call of a matched pair: date, activity and minutes (the dose)."""

    __tablename__ = "match_contact"
    __table_args__ = (CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_range"),)

    id: Mapped[IntPK]
    study_id: Mapped[StudyFK]
    person_id: Mapped[PersonFK]
    match_id: Mapped[int] = mapped_column(ForeignKey("companion_match.id", ondelete="CASCADE"), index=True)
    contact_on: Mapped[dt.date]
    activity: Mapped[Code]
    minutes: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)

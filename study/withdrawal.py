"""Withdrawal of a participant: recorded with a neutral reason; the allocation is kept
(intention to treat)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Enrolment, Person, Study
from study.errors import BadInput
from study.survey_links import revoke_links
from study.withdrawal_reasons import WITHDRAWAL_REASONS

__all__ = ["WITHDRAWAL_REASONS", "withdraw"]


def withdraw(session: Session, study: Study, person: Person, on: dt.date, reason: str) -> Enrolment:
    """Record that ``person`` withdrew on ``on`` for ``reason`` (one of
    :data:`WITHDRAWAL_REASONS`). Their allocation, if any, is kept unchanged; their open
    survey links are revoked."""
    if reason not in WITHDRAWAL_REASONS:
        raise BadInput(f"withdrawal reason {reason!r} is not one of: {', '.join(WITHDRAWAL_REASONS)}")
    enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == person.id))
    if enrolment is None:
        raise BadInput(f"{person.pseudonym} was never enrolled")
    if enrolment.withdrawn_on is not None:
        raise BadInput(f"{person.pseudonym} already withdrew on {enrolment.withdrawn_on}")
    if on < enrolment.screened_on:
        raise BadInput(f"{person.pseudonym}: withdrawal ({on}) before screening ({enrolment.screened_on})")
    enrolment.withdrawn_on = on
    enrolment.withdrawal_reason = reason
    revoke_links(session, person)  # their survey links stop working (audited revocations)
    session.flush()
    return enrolment

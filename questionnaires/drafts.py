"""Drafts: the answers a participant has given so far to one instrument on their survey page.

The survey saves each answer as it is given (a participant on a phone may be interrupted at
any item); the draft becomes a :class:`~study.db.models.QuestionnaireResponse` only when the
instrument is submitted, through the same validation as every other entry
(:func:`questionnaires.capture.record_response`), and is then discarded. Drafts are keyed by
person, timepoint and instrument, so a resent link resumes where the old one stopped; the
analysis, exports and checks never read them. Every saved answer is an audited change.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires.definitions import Instrument
from study.db.models import Person, Study, SurveyDraft
from study.errors import BadInput

__all__ = ["check_item_value", "discard_draft", "draft_values", "save_draft_item"]


def check_item_value(instrument: Instrument, item_id: str, value: int | None) -> None:
    """Raise ``BadInput`` naming the item unless ``value`` is an answer on the item's response
    scale (inclusive bounds), one of the instrument's declared missing codes, or ``None`` (not
    answered).

    >>> from questionnaires.definitions import shipped_instruments
    >>> who5 = shipped_instruments()["who5"]
    >>> check_item_value(who5, "1", 5)
    >>> check_item_value(who5, "1", 6)
    Traceback (most recent call last):
    ...
    study.errors.BadInput: who5 item 1: 6 is not an answer (0–5 or a missing code)
    """
    if item_id not in instrument.item_ids:
        raise BadInput(f"{instrument.id} has no item {item_id!r}")
    if value is None or value in instrument.missing_codes:
        return
    scale = instrument.item_scale(item_id)
    if isinstance(value, bool) or not isinstance(value, int) or not scale.min <= value <= scale.max:
        raise BadInput(
            f"{instrument.id} item {item_id}: {value!r} is not an answer ({scale.min}–{scale.max} or a missing code)"
        )


def _draft(session: Session, person: Person, timepoint: str, instrument: str) -> SurveyDraft | None:
    return session.scalar(
        select(SurveyDraft).where(
            SurveyDraft.person_id == person.id,
            SurveyDraft.timepoint == timepoint,
            SurveyDraft.instrument == instrument,
        )
    )


def draft_values(session: Session, person: Person, timepoint: str, instrument: str) -> dict[str, int]:
    """The answers saved so far (item id → value; items not answered are absent)."""
    draft = _draft(session, person, timepoint, instrument)
    return {} if draft is None else {k: int(v) for k, v in json.loads(draft.item_values).items()}


def save_draft_item(
    session: Session,
    study: Study,
    person: Person,
    timepoint: str,
    instrument: Instrument,
    item_id: str,
    value: int | None,
) -> dict[str, int]:
    """Save one answer (``None`` clears it) to the person's draft of ``instrument`` at
    ``timepoint``, creating the draft on the first answer; returns the draft's answers.
    ``BadInput`` for an unknown item or a value off the scale (nothing saved)."""
    check_item_value(instrument, item_id, value)
    draft = _draft(session, person, timepoint, instrument.id)
    values = {} if draft is None else json.loads(draft.item_values)
    if value is None:
        values.pop(item_id, None)
    else:
        values[item_id] = int(value)
    # Item order of the instrument, so the audit trail's old and new values read alike.
    text = json.dumps({i: values[i] for i in instrument.item_ids if i in values})
    if draft is None:
        session.add(
            SurveyDraft(
                study_id=study.id,
                person_id=person.id,
                timepoint=timepoint,
                instrument=instrument.id,
                item_values=text,
            )
        )
    elif draft.item_values != text:
        draft.item_values = text
    session.flush()
    return {i: int(v) for i, v in json.loads(text).items()}


def discard_draft(session: Session, person: Person, timepoint: str, instrument: str) -> None:
    """Delete the draft (after its answers were recorded as a response); no draft, no-op."""
    draft = _draft(session, person, timepoint, instrument)
    if draft is not None:
        session.delete(draft)
        session.flush()

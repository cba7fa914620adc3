"""Writes about one person from the dashboard: a participant's withdrawal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from dashboards.access import Viewer
from dashboards.actions.unit import person_write
from study.errors import BadInput
from study.withdrawal import withdraw

__all__ = ["withdraw_participant"]


def withdraw_participant(engine: Engine, viewer: Viewer, pseudonym: str, on: dt.date, reason: str) -> None:
    """Record that a participant of the coordinator's own site withdrew
    (:func:`study.withdrawal.withdraw`, as ``peerstudy withdraw``: a neutral reason, the
    allocation kept for the ITT analysis). ``NotAllowed`` for another site or role; a date in
    the future is refused (``BadInput``)."""
    if on > dt.date.today():
        raise BadInput(f"the withdrawal date {on} is in the future")
    with person_write(engine, viewer, pseudonym, f"dashboard: withdrawal ({reason})") as (
        session,
        study,
        person,
    ):
        withdraw(session, study, person, on, reason)

"""Test helper: group leaders with the training a course requires (education weekend)."""

from __future__ import annotations

import datetime as dt

from study.companionship.volunteers import record_training
from study.people import add_person

TRAINED_ON = dt.date(2024, 11, 2)


def add_trained_leader(session, study, pseudonym: str, site: str) -> str:
    """Register a group leader whose education weekend is recorded; returns the pseudonym."""
    person = add_person(session, study, pseudonym, "group_leader", site)
    record_training(session, study, person, "education_weekend", TRAINED_ON)
    return pseudonym

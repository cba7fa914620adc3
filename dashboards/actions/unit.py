"""The prologue every dashboard write shares: a unit of work as the viewer, on the viewer's study.

Each action checks the viewer's rights, then runs one unit of work with the viewer's login as
the audit actor: any error rolls everything back, so a refused or failed form writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dashboards.access import Viewer, viewer_study
from study.db import unit_of_work
from study.db.models import Person, Study
from study.people import person_by_pseudonym

__all__ = ["person_write", "study_write"]


@contextmanager
def study_write(
    engine: Engine, viewer: Viewer, reason: str, *, lock_at_start: bool = True
) -> Iterator[tuple[Session, Study]]:
    """``(session, study)``: one audited unit of work as the viewer on the viewer's study.

    ``reason`` goes to every audit event of the transaction (e.g. ``"dashboard: withdrawal"``);
    ``lock_at_start`` as for :func:`study.db.unit_of_work` (``False`` only for a write that
    re-checks under the lock what it read before, as randomisation does).
    """
    with unit_of_work(engine, viewer.login, reason=reason, lock_at_start=lock_at_start) as session:
        yield session, viewer_study(session, viewer)


@contextmanager
def person_write(
    engine: Engine, viewer: Viewer, pseudonym: str, reason: str
) -> Iterator[tuple[Session, Study, Person]]:
    """``(session, study, person)``: :func:`study_write` for a write about one person, whom
    the viewer must be allowed to edit (a coordinator of the person's site: ``NotAllowed``
    otherwise; ``NotFound`` for an unknown pseudonym)."""
    with study_write(engine, viewer, reason) as (session, study):
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_edit(person.site_id, f"person {pseudonym}")
        yield session, study, person

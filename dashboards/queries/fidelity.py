"""What the fidelity observation form of one group session shows (read only).

The form rates the components of the manual version the group runs (for RCT groups the locked
version, for pilot groups their recorded or the newest stored version), so the checklist is the
one :func:`study.fidelity.observations.record_observation` will check against.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from dashboards.access import Viewer, viewer_study
from dashboards.queries.groups import _group_row
from study.db import read_session
from study.db.models import FidelityObservation, GroupSession, Study
from study.errors import BadInput, NotFound
from study.fidelity.manual import Manual
from study.fidelity.versions import current_version, manual_of, stored_manual

__all__ = ["ObservationForm", "observation_form"]


@dataclass(frozen=True)
class ObservationForm:
    """The checklist of one session: ``components`` as (id, description, essential) of that
    week, ``competence`` as (id, description), the competence scale bounds, the session date,
    the manual version and whether the viewer already observed this session."""

    group: str
    week: int
    theme: str
    planned_minutes: int
    held_on: dt.date
    manual_version: str
    components: tuple[tuple[str, str, bool], ...]
    competence: tuple[tuple[str, str], ...]
    scale_min: int
    scale_max: int
    already_observed: bool


def _manual_for(session, study: Study, phase: str, version: str | None) -> Manual:
    """The manual a group's observations are scored against, without locking anything."""
    if phase == "rct":
        # The RCT runs the locked version, which is the newest one (saving locks it if not yet).
        latest = current_version(session, study)
        if latest is not None:
            return manual_of(latest)
    if version:
        return manual_of(stored_manual(session, study, version))
    row = current_version(session, study)
    if row is None:
        raise NotFound(
            "no version of the manual is stored: store one with `peerstudy fidelity manual update FILE`"
        )
    return manual_of(row)


def observation_form(engine: Engine, viewer: Viewer, group_code: str, week: int) -> ObservationForm:
    """The checklist for observing ``group_code``'s session of ``week``.

    Raises ``NotAllowed`` for a group of another site, ``NotFound`` for an unknown group or no
    stored manual, ``BadInput`` for a week without a held session.
    """
    with read_session(engine) as session:
        group = _group_row(session, viewer, group_code)
        study = viewer_study(session, viewer)
        row = session.scalar(
            select(GroupSession).where(GroupSession.group_id == group.id, GroupSession.week == int(week))
        )
        if row is None or row.cancelled:
            raise BadInput(f"group {group_code} has no held session in week {week}")
        manual = _manual_for(session, study, group.phase, group.manual_version)
        if not 1 <= int(week) <= manual.weeks:
            raise BadInput(f"week {week} is outside the course (weeks 1–{manual.weeks})")
        seen = session.scalar(
            select(FidelityObservation.id).where(
                FidelityObservation.session_id == row.id, FidelityObservation.observer == viewer.login
            )
        )
        ms = manual.session(int(week))
        return ObservationForm(
            group=group.code,
            week=int(week),
            theme=ms.theme,
            planned_minutes=ms.planned_minutes,
            held_on=row.held_on,
            manual_version=manual.version,
            components=tuple((c.id, c.description, c.essential) for c in ms.components),
            competence=tuple((i.id, i.description) for i in manual.competence.items),
            scale_min=manual.competence.scale.min,
            scale_max=manual.competence.scale.max,
            already_observed=seen is not None,
        )

"""Phases of a study (pilot → rct → analysis): forward-only, audited transitions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.codes import PHASE_ORDER, Phase
from study.db.models import Study, StudyPhase
from study.db.types import utcnow
from study.errors import BadInput, NotAllowed
from study.fidelity.versions import current_version, lock_manual
from study.phase_guard import require_phase

if TYPE_CHECKING:  # pandas is imported by phase_table only: phase checks run in quick commands
    import pandas as pd

__all__ = ["phase_table", "require_phase", "start_phase"]  # require_phase: see study.phase_guard


def start_phase(
    session: Session, study: Study, name: str, actor: str, at: dt.datetime | None = None
) -> StudyPhase:
    """Move the study into phase ``name``; only forward, only into a planned phase.

    The transition is an audited update of ``study.current_phase`` and of the phase's
    ``started_at``. ``at`` (UTC) defaults to now; the demo passes the planned date.
    """
    if name not in PHASE_ORDER:
        raise BadInput(f"unknown phase {name!r}; phases: {', '.join(PHASE_ORDER)}")
    phase = session.scalar(select(StudyPhase).where(StudyPhase.study_id == study.id, StudyPhase.name == name))
    if phase is None:
        raise BadInput(f"study {study.code} plans no {name} phase in its configuration")
    current = study.current_phase
    if current is not None and PHASE_ORDER.index(name) <= PHASE_ORDER.index(current):
        raise NotAllowed(
            f"study {study.code} is in the {current} phase; phases only move forward "
            f"({' → '.join(PHASE_ORDER)})"
        )
    phase.started_at = at or utcnow()
    phase.started_by = actor
    study.current_phase = name
    session.flush()
    # The manual is locked from the first day of the RCT: record the lock with the phase
    # change when a version is stored (otherwise the first stored version is locked).
    if name == Phase.RCT and current_version(session, study) is not None:
        lock_manual(session, study, actor, at=phase.started_at)
    return phase


def phase_table(session: Session, study: Study) -> pd.DataFrame:
    """Planned and actual phases: columns ``phase, planned_start, planned_end, started_at,
    started_by, current``."""
    import pandas as pd  # lazily: see the imports at the top

    rows = session.execute(
        select(
            StudyPhase.name,
            StudyPhase.planned_start,
            StudyPhase.planned_end,
            StudyPhase.started_at,
            StudyPhase.started_by,
        ).where(StudyPhase.study_id == study.id)
    ).all()
    df = pd.DataFrame(rows, columns=["phase", "planned_start", "planned_end", "started_at", "started_by"])
    df["current"] = df["phase"] == study.current_phase
    order = {p: i for i, p in enumerate(PHASE_ORDER)}
    return df.sort_values("phase", key=lambda s: s.map(order)).reset_index(drop=True)

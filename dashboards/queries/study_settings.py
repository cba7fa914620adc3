"""The admin's view of the study: its phases and the configuration it runs on (read only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pandas as pd
from sqlalchemy import Engine

from dashboards.access import Viewer
from study.db import read_session
from study.db.models import Study
from study.config.schema import PHASE_ORDER
from study.phases import phase_table

__all__ = ["StudySettings", "study_settings"]


@dataclass(frozen=True)
class StudySettings:
    """``phases`` (:func:`study.phases.phase_table`), the current phase, the next planned
    phase that may be started (``None`` when none is left) and the stored ``study.yaml``."""

    phases: pd.DataFrame
    current: Optional[str]
    next_phase: Optional[str]
    config_yaml: str


def study_settings(engine: Engine, viewer: Viewer) -> StudySettings:
    """The study's phases and configuration, for admins only (``NotAllowed`` otherwise)."""
    viewer.require_role("admin", action="the study settings")
    with read_session(engine) as session:
        study = session.get(Study, viewer.study_id)
        phases = phase_table(session, study)
        current = study.current_phase
        config_yaml = study.config_yaml
    planned = [p for p in PHASE_ORDER if p in set(phases["phase"])]
    later = planned[planned.index(current) + 1:] if current in planned else planned
    return StudySettings(phases, current, later[0] if later else None, config_yaml)

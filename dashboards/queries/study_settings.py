"""The admin's view of the study: its phases, the configuration it runs on and the statistical
analysis plan with its lock (read only)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboards.access import Viewer, viewer_study
from study.config.schema import PHASE_ORDER
from study.db import read_session
from study.phases import phase_table
from study.sap import latest_sap
from study.studies import config_of

__all__ = ["StudySettings", "study_settings"]


@dataclass(frozen=True)
class StudySettings:
    """``phases`` (:func:`study.phases.phase_table`), the current phase, the next planned
    phase that may be started (``None`` when none is left), the stored ``study.yaml``, and the
    analysis plan: ``sap_document`` (the locked version when locked, else the current plan),
    ``sap_sha256`` and ``sap_lock`` (``None`` while not locked, else version, who, when, why;
    ``sap_changed`` when the configuration's plan no longer matches the lock)."""

    phases: pd.DataFrame
    current: str | None
    next_phase: str | None
    config_yaml: str
    sap_document: str = ""
    sap_sha256: str = ""
    sap_lock: dict | None = None
    sap_changed: bool = False


def study_settings(engine: Engine, viewer: Viewer) -> StudySettings:
    """The study's phases and configuration, for admins only (``NotAllowed`` otherwise)."""
    from pipelines.sap import current_sap

    viewer.require_role("admin", action="the study settings")
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        phases = phase_table(session, study)
        current = study.current_phase
        config_yaml = study.config_yaml
        locked = latest_sap(session, study)
        config = config_of(study)
    planned = [p for p in PHASE_ORDER if p in set(phases["phase"])]
    later = planned[planned.index(current) + 1 :] if current in planned else planned
    try:
        plan = current_sap(config)
    except ValueError:
        plan = None
    document = locked.document if locked else (plan.document if plan else "")
    sha = locked.sha256 if locked else (plan.sha256 if plan else "")
    lock = None
    if locked is not None:
        lock = {
            "version": locked.version,
            "kind": locked.kind,
            "by": locked.recorded_by,
            "at": f"{locked.recorded_at:%Y-%m-%d %H:%M} UTC",
            "reason": locked.reason,
        }
    changed = locked is not None and plan is not None and plan.sha256 != locked.sha256
    return StudySettings(
        phases, current, later[0] if later else None, config_yaml, document, sha, lock, changed
    )

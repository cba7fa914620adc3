"""Admin writes about the study itself: starting a phase, amending the configuration."""

from __future__ import annotations

from sqlalchemy import Engine

from dashboards.access import Viewer
from dashboards.actions.unit import study_write
from study.amendments import Amendment, amend_config
from study.phases import start_phase

__all__ = ["amend_study_config", "start_study_phase"]


def start_study_phase(engine: Engine, viewer: Viewer, phase: str) -> None:
    """Start the next phase of the study (:func:`study.phases.start_phase`, forward only;
    starting the RCT locks the manual), as ``peerstudy phase start``; admins only."""
    viewer.require_role("admin", action="starting a study phase")
    with study_write(engine, viewer, f"dashboard: phase start {phase}") as (session, study):
        start_phase(session, study, phase, viewer.login)


def amend_study_config(engine: Engine, viewer: Viewer, config_yaml: str, reason: str) -> Amendment:
    """Amend the study's configuration (:func:`study.amendments.amend_config`, as
    ``peerstudy config amend``; audited with the reason); admins only. Returns the
    :class:`~study.amendments.Amendment`."""
    viewer.require_role("admin", action="amending the study configuration")
    with study_write(engine, viewer, f"config amendment: {reason}") as (session, study):
        return amend_config(session, study, config_yaml, reason)

"""Fidelity writes from the dashboard: a coordinator's observation of a group session."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from dashboards.access import Viewer
from dashboards.actions.unit import study_write
from study.errors import NotAllowed
from study.fidelity.observations import ObservationInput, record_observation

__all__ = ["save_fidelity_observation"]


def save_fidelity_observation(
    engine: Engine, viewer: Viewer, obs: ObservationInput, today: dt.date | None = None
) -> int:
    """Store a coordinator's observation of a session of their own site's group
    (:func:`study.fidelity.observations.record_observation`, restricted to the viewer's site,
    observer = the viewer's login); returns the new observation's id.

    Raises ``NotAllowed`` for a viewer who is not a coordinator or a group of another site,
    ``BadInput`` listing every problem of the form (a component not rated, a value out of range,
    the same observer twice); nothing is written then.
    """
    viewer.require_role("coordinator", action="logging fidelity observations")
    if obs.observer != viewer.login:
        raise NotAllowed(f"observations are logged under your own login ({viewer.login})")
    reason = f"dashboard: fidelity observation {obs.group} week {obs.week}"
    with study_write(engine, viewer, reason) as (session, study):
        row = record_observation(
            session, study, obs, viewer.login, restrict_to_site=viewer.site_code, today=today
        )
        return row.id

"""Data access of the dashboard: every function takes an engine and a :class:`Viewer` and
returns only what that viewer may see. Importable without Streamlit.

``QUERIES`` names the cacheable DataFrame queries (the Streamlit layer caches them with the
viewer's role, site and study in the key, see :mod:`dashboards.ui.data`).
"""

from collections.abc import Callable
from typing import Any

from dashboards.queries.allocation import allocation_frame
from dashboards.queries.analysis import analysis_view
from dashboards.queries.feedback import feedback_frame
from dashboards.queries.groups import attendance_frame, groups_frame, session_grid, sessions_of_group
from dashboards.queries.monitoring import (
    chase_list,
    fidelity_by_group,
    fidelity_observations,
    fidelity_thresholds,
    questionnaire_completion,
)
from dashboards.queries.people import people_frame
from dashboards.queries.quality import quality_status
from dashboards.queries.questionnaires import entry_participants, participant_schedule
from dashboards.queries.randomise import pending_frame
from dashboards.queries.rct import rct_overview
from dashboards.queries.recruitment import screening_frame, site_targets

__all__ = ["QUERIES"]

# Each query takes (engine, viewer, *args); most return a DataFrame, rct_overview a dataclass of them.
QUERIES: dict[str, Callable[..., Any]] = {
    "allocation": allocation_frame,
    "analysis": analysis_view,
    "attendance": attendance_frame,
    "chase_list": chase_list,
    "completion": questionnaire_completion,
    "entry_participants": entry_participants,
    "feedback": feedback_frame,
    "fidelity_groups": fidelity_by_group,
    "fidelity_observations": fidelity_observations,
    "fidelity_thresholds": fidelity_thresholds,
    "groups": groups_frame,
    "pending_randomisation": pending_frame,
    "participant_schedule": participant_schedule,
    "people": people_frame,
    "quality": quality_status,
    "rct_overview": rct_overview,
    "screening": screening_frame,
    "session_grid": session_grid,
    "sessions": sessions_of_group,
    "sites": site_targets,
}

"""The feedback log on the manual as the viewer may see it (own site for coordinators)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from dashboards.access import Viewer, viewer_study
from study.db import read_session
from study.manual_feedback import feedback_table

__all__ = ["feedback_frame"]


def feedback_frame(engine: Engine, viewer: Viewer, phase: str | None = None) -> pd.DataFrame:
    """:func:`study.manual_feedback.feedback_table` limited to the viewer's sites."""
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        return feedback_table(session, study, phase, site_id=None if viewer.all_sites else viewer.site_id)

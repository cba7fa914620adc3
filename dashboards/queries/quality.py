"""The data-quality status the analysis page shows: the latest run of the checks (read only)."""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Engine

from dashboards.access import Viewer
from pipelines.quality.history import QualityStatus, latest_quality_run
from study.db import read_session
from study.db.models import Study

__all__ = ["quality_status"]


def quality_status(engine: Engine, viewer: Viewer) -> Optional[QualityStatus]:
    """The latest data-quality run of the viewer's study (``None`` if the checks never ran);
    researchers and statisticians only (``NotAllowed`` otherwise). Its rows name pseudonyms
    and check descriptions, never identity fields or allocated arms."""
    viewer.require_role("researcher", "statistician", action="the data-quality status")
    with read_session(engine) as session:
        return latest_quality_run(session, session.get(Study, viewer.study_id))

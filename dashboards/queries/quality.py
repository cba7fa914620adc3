"""The data-quality status the analysis page shows: the latest run of the checks (read only)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine

from dashboards.access import Viewer, viewer_study
from dashboards.queries.people import viewer_is_blinded
from pipelines.quality.history import QualityStatus, latest_quality_run
from study.blinding import withhold_arm_revealing_examples
from study.db import read_session

__all__ = ["quality_status"]


def quality_status(engine: Engine, viewer: Viewer) -> QualityStatus | None:
    """The latest data-quality run of the viewer's study (``None`` if the checks never ran);
    researchers and statisticians only (``NotAllowed`` otherwise). Its rows name pseudonyms
    and check descriptions, never identity fields or allocated arms; until unblinding the
    example pseudonyms of the attendance checks are withheld (only intervention participants
    attend, so naming them would tell their arm)."""
    viewer.require_role("researcher", "statistician", action="the data-quality status")
    with read_session(engine) as session:
        status = latest_quality_run(session, viewer_study(session, viewer))
        blinded = viewer_is_blinded(session, viewer)
    if status is None or not blinded:
        return status
    return dataclasses.replace(status, results=withhold_arm_revealing_examples(status.results))

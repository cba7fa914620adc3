"""Running the data-quality checks from the dashboard (as ``peerstudy check``)."""

from __future__ import annotations

from sqlalchemy import Engine

from dashboards.access import Viewer, study_row

__all__ = ["run_quality_checks"]


def run_quality_checks(engine: Engine, viewer: Viewer) -> int:
    """Run the data-quality checks now and keep the run (the path of ``peerstudy check``:
    :func:`pipelines.quality.study_checks.check_study`, audited as the viewer); researchers
    and statisticians only. Returns the number of failed checks of severity ``error``."""
    # Lazy for start-up speed: Great Expectations takes seconds to import, and only this
    # button of one page needs it.
    from pipelines.quality.study_checks import check_study

    viewer.require_role("researcher", "statistician", action="running the data-quality checks")
    _, results = check_study(engine, study_row(engine, viewer).code, viewer.login)
    return int((~results["success"].astype(bool) & (results["severity"] == "error")).sum())

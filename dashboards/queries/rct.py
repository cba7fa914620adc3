"""Everything the RCT page shows, computed in one go so the page can cache it as a whole."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboards.access import Viewer
from dashboards.queries.allocation import allocation_balance_for
from dashboards.queries.recruitment import (
    recruitment_over_time,
    recruitment_summary,
    retention_summary,
    screening_frame,
    site_targets,
)

__all__ = ["RctOverview", "rct_overview"]


@dataclass(frozen=True)
class RctOverview:
    """The RCT page's tables (see the functions named for their columns).

    ``summary``: :func:`~dashboards.queries.recruitment.recruitment_summary`;
    ``over_time``: :func:`~dashboards.queries.recruitment.recruitment_over_time`;
    ``retention``: :func:`~dashboards.queries.recruitment.retention_summary`;
    ``balance``: :func:`~dashboards.queries.allocation.allocation_balance` (empty when nobody
    is allocated). ``screened`` is the number of screened RCT participants.
    """

    screened: int
    summary: pd.DataFrame
    over_time: pd.DataFrame
    retention: pd.DataFrame
    balance: pd.DataFrame


def rct_overview(engine: Engine, viewer: Viewer) -> RctOverview:
    """The RCT page's data for ``viewer`` (site-scoped, arms blinded as the viewer must see)."""
    screening = screening_frame(engine, viewer, "rct")
    targets = site_targets(engine, viewer)
    return RctOverview(
        screened=len(screening),
        summary=recruitment_summary(screening, targets),
        over_time=recruitment_over_time(screening, targets),
        retention=retention_summary(screening),
        balance=allocation_balance_for(engine, viewer),
    )

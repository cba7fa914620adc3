"""The data monitoring committee's interim comparison: outcomes and the ITT effect by *real*
arm before unblinding.

The only by-arm comparison on the real allocation before the study is unblinded, and only for
the ``dmc`` role. Opening it is a disclosure of the allocation: every call records an
``allocation_disclosure`` row (kind ``dmc_interim``, who, when, what was shown), so it is in
the audit trail like the statistician's ``allocation verify``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboards.access import Viewer, viewer_study
from study.db import unit_of_work
from study.db.models import AllocationDisclosure

__all__ = ["InterimView", "interim_view"]

#: Columns of :attr:`InterimView.outcomes`.
INTERIM_OUTCOME_COLUMNS = ["timepoint", "arm", "label", "n", "mean", "sd"]


@dataclass(frozen=True)
class InterimView:
    """``outcomes`` (:data:`INTERIM_OUTCOME_COLUMNS`, the primary outcome by real arm and
    timepoint), ``effects`` (the ITT ANCOVA rows, intervention − comparator), when it was
    opened (UTC) and by whom."""

    primary: str
    outcomes: pd.DataFrame
    effects: pd.DataFrame
    opened_at: object
    opened_by: str


def interim_view(engine: Engine, viewer: Viewer) -> InterimView:
    """Build the interim comparison for a DMC member and record the disclosure (audited).

    Raises
    ------
    NotAllowed
        The viewer is not in the data monitoring committee (role ``dmc``).
    """
    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.dataset import build_analysis_dataset
    from pipelines.sap import current_sap
    from pipelines.sources import load_sources
    from study.studies import config_of

    viewer.require_role("dmc", action="the interim comparison by arm")
    with unit_of_work(engine, viewer.login, reason="dmc interim comparison (unblinded)") as session:
        study = viewer_study(session, viewer)
        config = config_of(study)
        sources = load_sources(session, study)
        data = build_analysis_dataset(**sources.frames(), config=config, unblinded=True)
        plan = dataclasses.replace(current_sap(config).plan, secondary=(), exploratory=())
        record = AllocationDisclosure(
            study_id=study.id,
            kind="dmc_interim",
            actor=viewer.login,
            detail=json.dumps({"outcome": plan.primary, "allocated": int(data["pseudonym"].nunique())}),
        )
        session.add(record)
        session.flush()
        opened_at = record.disclosed_at
    labels = {a.code: a.label for a in config.arms}
    if plan.primary in data.columns:
        outcomes = (
            data.groupby(["timepoint", "arm"], sort=False)[plan.primary]
            .agg(n="count", mean="mean", sd="std")
            .reset_index()
            .round(2)
        )
        outcomes.insert(2, "label", outcomes["arm"].map(labels))
    else:
        outcomes = pd.DataFrame(columns=INTERIM_OUTCOME_COLUMNS)
    results = run_trial_analysis(data, plan, mice=False, summaries=False).results
    effects = results[(results["estimand"] == "itt") & (results["method"] == "ancova")].reset_index(drop=True)
    return InterimView(plan.primary, outcomes[INTERIM_OUTCOME_COLUMNS], effects, opened_at, viewer.login)

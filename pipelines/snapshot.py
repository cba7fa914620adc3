"""One consistent read of a study for the pipeline commands (analyse, export, check, report)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from pipelines.analysis.consort import consort_flow
from pipelines.analysis.plan import AnalysisPlan, analysis_plan
from pipelines.dataset import build_analysis_dataset
from pipelines.sources import StudySources, items_source, load_sources
from study.blinding import arm_display_map, is_unblinded
from study.config import StudyConfig
from study.db import read_session
from study.db.types import utcnow
from study.studies import config_of, get_study

__all__ = ["StudySnapshot", "take_snapshot"]


@dataclass
class StudySnapshot:
    """The study's sources and analysis dataset as read at ``taken_at`` (UTC)."""

    study_code: str
    study_name: str
    config: StudyConfig
    unblinded: bool
    taken_at: dt.datetime
    sources: StudySources
    dataset: pd.DataFrame
    items: pd.DataFrame | None = None

    def plan(self, **kwargs) -> AnalysisPlan:
        """The analysis plan (see :func:`pipelines.analysis.plan.analysis_plan`)."""
        return analysis_plan(self.config, self.unblinded, **kwargs)

    def consort(self) -> pd.DataFrame:
        """The CONSORT flow for the primary outcome at the first follow-up timepoint."""
        plan = self.plan()
        shown = arm_display_map(self.config, self.unblinded)
        return consort_flow(
            self.sources.participants,
            self.dataset,
            outcome=plan.primary,
            timepoint=plan.followups[0],
            arms=[shown[a] for a in self.config.arm_codes],
            intervention_arms=[shown[a] for a in self.config.arm_codes if a != self.config.control_arm],
            baseline=plan.baseline,
        )


def take_snapshot(engine: Engine, study_code: str | None = None, with_items: bool = False) -> StudySnapshot:
    """Read everything in one session, so the dataset and the flow describe the same moment."""
    with read_session(engine) as session:
        study = get_study(session, study_code)
        config = config_of(study)
        sources = load_sources(session, study)
        items = items_source(session, study) if with_items else None
        unblinded = is_unblinded(study)
        taken_at = utcnow()
        return StudySnapshot(
            study_code=study.code,
            study_name=study.name,
            config=config,
            unblinded=unblinded,
            taken_at=taken_at,
            sources=sources,
            dataset=build_analysis_dataset(**sources.frames(), config=config, unblinded=unblinded),
            items=items,
        )

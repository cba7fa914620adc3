"""One consistent read of a study for the pipeline commands (analyse, export, check, report)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from pipelines.analysis.consort import consort_flow
from pipelines.analysis.plan import AnalysisPlan, analysis_plan
from pipelines.dataset import build_analysis_dataset
from pipelines.dummy_allocation import watermark_text
from pipelines.sap import plan_from_json
from pipelines.sources import StudySources, items_source, load_sources
from study.blinding import dummy_allocation_seed, is_unblinded
from study.config import StudyConfig
from study.db import read_session
from study.db.types import utcnow
from study.sap import LockedSap, deviations_frame, latest_sap
from study.studies import config_of, get_study

__all__ = ["StudySnapshot", "take_snapshot"]


@dataclass
class StudySnapshot:
    """The study's sources and analysis dataset as read at ``taken_at`` (UTC).

    Until the study is unblinded, ``dataset`` (and so every analysis, export, CONSORT flow and
    report made from it) is built on the dummy allocation (:mod:`pipelines.dummy_allocation`);
    ``sources.allocations`` still holds the real arms and must not be shown."""

    study_code: str
    study_name: str
    config: StudyConfig
    unblinded: bool
    taken_at: dt.datetime
    sources: StudySources
    dataset: pd.DataFrame
    items: pd.DataFrame | None = None
    #: The latest locked version of the analysis plan (``None`` while not locked).
    sap: LockedSap | None = None
    #: Protocol deviations (:data:`study.sap.DEVIATION_COLUMNS`).
    deviations: pd.DataFrame | None = None

    def plan(self, imputations: int | None = None, include_exploratory: bool = False) -> AnalysisPlan:
        """The analysis plan: after unblinding the *locked* plan (:mod:`pipelines.sap`), before
        it the plan of the current configuration (:func:`pipelines.analysis.plan.analysis_plan`).
        ``imputations`` and ``include_exploratory`` override the plan (a departure from a
        locked plan that ``peerstudy analyse`` reports)."""
        if self.unblinded and self.sap is not None:
            locked, _ = plan_from_json(self.sap.plan_json)
            plan = dataclasses.replace(
                locked, include_exploratory=include_exploratory or locked.include_exploratory
            )
            return dataclasses.replace(plan, imputations=imputations) if imputations else plan
        return analysis_plan(
            self.config, self.unblinded, imputations=imputations, include_exploratory=include_exploratory
        )

    def consort(self) -> pd.DataFrame:
        """The CONSORT flow for the primary outcome at the first follow-up timepoint."""
        plan = self.plan()
        return consort_flow(
            self.sources.participants,
            self.dataset,
            outcome=plan.primary,
            timepoint=plan.followups[0],
            arms=list(self.config.arm_codes),
            intervention_arms=[a for a in self.config.arm_codes if a != self.config.control_arm],
            baseline=plan.baseline,
        )

    @property
    def dummy(self) -> bool:
        """Whether the dataset is built on the dummy allocation (study still blinded)."""
        return not self.unblinded

    def arm_labels(self, language: str = "en") -> dict[str, str]:
        """Arm code → label for tables and diagrams; on the dummy allocation every label
        carries the watermark in ``language``
        (:func:`pipelines.dummy_allocation.watermark_text`)."""
        if self.unblinded:
            return {a.code: a.label for a in self.config.arms}
        mark = watermark_text(language)
        return {a.code: f"{a.code} ({mark})" for a in self.config.arms}


def take_snapshot(engine: Engine, study_code: str | None = None, with_items: bool = False) -> StudySnapshot:
    """Read everything in one session, so the dataset and the flow describe the same moment."""
    with read_session(engine) as session:
        study = get_study(session, study_code)
        config = config_of(study)
        sources = load_sources(session, study)
        items = items_source(session, study) if with_items else None
        unblinded = is_unblinded(study)
        seed = dummy_allocation_seed(session, study)
        sap = latest_sap(session, study)
        deviations = deviations_frame(session, study)
        taken_at = utcnow()
        return StudySnapshot(
            study_code=study.code,
            study_name=study.name,
            config=config,
            unblinded=unblinded,
            taken_at=taken_at,
            sources=sources,
            dataset=build_analysis_dataset(
                **sources.frames(), config=config, unblinded=unblinded, dummy_seed=seed
            ),
            items=items,
            sap=sap,
            deviations=deviations,
        )

"""The analysis plan: what ``peerstudy analyse`` runs, derived from the study config."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from pydantic import Field

from study.config import StudyConfig
from study.config.base import ConfigModel

__all__ = ["AnalysisPlan", "OutcomesConfig", "PRIMARY_METHODS", "analysis_plan"]

#: Methods (``results.csv`` codes of the ITT estimand) that the SAP may name as primary.
PRIMARY_METHODS = ("ancova", "mixed_partially_nested", "mice_ancova")


class OutcomesConfig(ConfigModel):
    """The ``outcomes`` section of ``study.yaml`` (outcomes as ``instrument.scale``).

    ``primary_method``: the ITT method whose result is the trial's primary result (and whose
    p-values Holm adjusts): ``ancova``, ``mixed_partially_nested`` (for interventions
    delivered in groups) or ``mice_ancova``. ``missing_data``: ``sensitivity`` (MICE beside
    the primary method) or ``main`` (MICE is the primary handling: ``primary_method`` defaults
    to ``mice_ancova``). ``imputations``: MICE data sets (≥ 2; 50 by default). ``burn_in``:
    chained-equation cycles of each imputation chain.
    """

    primary: str
    secondary: list[str] = Field(default_factory=list)
    exploratory: list[str] = Field(default_factory=list)
    primary_method: Literal["ancova", "mixed_partially_nested", "mice_ancova"] = "ancova"
    missing_data: Literal["sensitivity", "main"] = "sensitivity"
    imputations: int = Field(default=50, ge=2)
    burn_in: int = Field(default=10, ge=1)
    seed: int = 20260101


@dataclass(frozen=True)
class AnalysisPlan:
    """Everything the trial analysis needs to know, fixed before the data are looked at.

    ``treatment``/``control`` are arm codes as they appear in the analysis dataset (the arm
    codes: of the dummy allocation until unblinding, then the real ones; see
    :mod:`pipelines.dummy_allocation`): estimates are always treatment − control.
    """

    primary: str
    secondary: tuple[str, ...]
    exploratory: tuple[str, ...]
    baseline: str
    followups: tuple[str, ...]
    treatment: str
    control: str
    covariates: tuple[str, ...]
    per_protocol_min_sessions: int
    primary_method: str = "ancova"
    missing_data: str = "sensitivity"
    imputations: int = 50
    burn_in: int = 10
    seed: int = 20260101
    include_exploratory: bool = False

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Outcomes analysed: primary, secondary (and exploratory when asked for)."""
        extra = self.exploratory if self.include_exploratory else ()
        return (self.primary, *self.secondary, *extra)


def analysis_plan(
    config: StudyConfig,
    unblinded: bool,
    imputations: Optional[int] = None,
    include_exploratory: bool = False,
) -> AnalysisPlan:
    """The plan for a study: outcomes from ``outcomes``, the first timepoint as baseline and
    every later one as follow-up, site and the stratification factors as covariates.

    ``unblinded`` no longer changes the plan (the dataset always holds arm codes, dummy ones
    until unblinding); it is kept so that callers need not change."""
    outcomes = OutcomesConfig.model_validate(config.outcomes or {"primary": "qpr15.total"})
    if len(config.timepoints) < 2:
        raise ValueError("the study needs a baseline and at least one follow-up timepoint")
    treatment = next(a for a in config.arm_codes if a != config.control_arm)
    return AnalysisPlan(
        primary=outcomes.primary,
        secondary=tuple(outcomes.secondary),
        exploratory=tuple(outcomes.exploratory),
        baseline=config.timepoints[0].code,
        followups=tuple(tp.code for tp in config.timepoints[1:]),
        treatment=treatment,
        control=config.control_arm,
        covariates=("site", *config.stratification),
        per_protocol_min_sessions=config.groups.per_protocol_min_sessions,
        primary_method=(
            outcomes.primary_method if "primary_method" in outcomes.model_fields_set or outcomes.missing_data != "main"
            else "mice_ancova"
        ),
        missing_data=outcomes.missing_data,
        imputations=imputations or outcomes.imputations,
        burn_in=outcomes.burn_in,
        seed=outcomes.seed,
        include_exploratory=include_exploratory,
    )

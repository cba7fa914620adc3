"""The analysis plan: what ``peerstudy analyse`` runs, derived from the study config."""

from __future__ import annotations

from dataclasses import dataclass

from study.config import StudyConfig
from study.config.outcomes import PRIMARY_METHODS, OutcomesConfig

__all__ = ["AnalysisPlan", "OutcomesConfig", "PRIMARY_METHODS", "analysis_plan"]


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
    imputations: int | None = None,
    include_exploratory: bool = False,
) -> AnalysisPlan:
    """The plan for a study: outcomes from ``outcomes``, the first timepoint as baseline and
    every later one as follow-up, site and the stratification factors as covariates.

    ``unblinded`` no longer changes the plan (the dataset always holds arm codes, dummy ones
    until unblinding); it is kept so that callers need not change."""
    outcomes = config.outcomes or OutcomesConfig(primary="qpr15.total")
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
            outcomes.primary_method
            if "primary_method" in outcomes.model_fields_set or outcomes.missing_data != "main"
            else "mice_ancova"
        ),
        missing_data=outcomes.missing_data,
        imputations=imputations or outcomes.imputations,
        burn_in=outcomes.burn_in,
        seed=outcomes.seed,
        include_exploratory=include_exploratory,
    )

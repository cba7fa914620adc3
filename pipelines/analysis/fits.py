"""The planned fits of the trial analysis: one (estimand, method, fit) row per model.

:data:`TIMEPOINT_FITS` run for every outcome × follow-up timepoint on an :class:`OutcomeData`,
:data:`OUTCOME_FITS` once per outcome over all follow-ups. Each fit is a plain function that
returns the model's frame with at least ``estimate, se, df, ci_low, ci_high, p, n,
n_treatment, n_control`` (one row per timepoint for outcome fits, with ``timepoint``); it
raises ``ValueError`` when the data cannot support the model. The runner
(:mod:`pipelines.analysis.trial`) isolates every call, so a failing fit costs only its own
rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pipelines.analysis.ancova import ancova
from pipelines.analysis.cace import cace_2sls
from pipelines.analysis.mice import mice_ancova
from pipelines.analysis.mixed import repeated_measures
from pipelines.analysis.moderation import fidelity_moderation
from pipelines.analysis.partially_nested import partially_nested
from pipelines.analysis.plan import AnalysisPlan

__all__ = [
    "OUTCOME_FITS",
    "TIMEPOINT_FITS",
    "OutcomeData",
    "OutcomeFit",
    "PlannedFit",
    "moderation_fit",
]


@dataclass(frozen=True)
class OutcomeData:
    """The data of one outcome at one follow-up timepoint, and how to model it.

    ``data`` has one row per allocated participant with the outcome at the timepoint, its
    baseline value (column ``baseline``, when there is one), the outcome at the other
    follow-ups (columns ``auxiliary``) and the dataset's participant-level columns.
    """

    outcome: str
    timepoint: str
    data: pd.DataFrame
    baseline: str | None
    covariates: tuple[str, ...]
    auxiliary: tuple[str, ...]
    plan: AnalysisPlan
    summaries: bool

    def model_arguments(self) -> dict:
        """Keyword arguments every model function takes."""
        return dict(
            outcome=self.outcome,
            arm="arm",
            treatment=self.plan.treatment,
            control=self.plan.control,
            baseline=self.baseline,
            covariates=list(self.covariates),
        )

    def require(self, column: str, what: str) -> pd.Series:
        """The column, or ``ValueError`` saying that ``what`` has not been recorded."""
        if column not in self.data or self.data[column].isna().all():
            raise ValueError(f"no {what} recorded")
        return self.data[column]


def itt_ancova(d: OutcomeData) -> pd.DataFrame:
    """ANCOVA of everyone with the outcome (and baseline) observed."""
    return ancova(d.data, **d.model_arguments(), summary=d.summaries)


def itt_partially_nested(d: OutcomeData) -> pd.DataFrame:
    """Partially nested mixed model: group effect in the intervention arm only."""
    d.require("group", "course groups")
    return partially_nested(d.data, **d.model_arguments(), cluster="group", summary=d.summaries)


def itt_mice(d: OutcomeData) -> pd.DataFrame:
    """ANCOVA on multiply imputed data (auxiliaries: the other follow-ups and dose)."""
    auxiliary = [c for c in (*d.auxiliary, "dose") if c in d.data]
    return mice_ancova(
        d.data,
        **d.model_arguments(),
        auxiliary=auxiliary,
        n_imputations=d.plan.imputations,
        n_burnin=d.plan.burn_in,
        seed=d.plan.seed,
        summary=d.summaries,
    )


def completers_ancova(d: OutcomeData) -> pd.DataFrame:
    """ANCOVA among completers (observed at every follow-up): listwise deletion."""
    completers = d.data.dropna(subset=[*d.auxiliary, d.outcome])
    return ancova(completers, **d.model_arguments(), summary=d.summaries)


def _per_protocol(d: OutcomeData) -> pd.Series:
    """Per-protocol receipt, or ``ValueError`` when no attendance was recorded at all."""
    received = d.require("per_protocol", "attendance").fillna(False).astype(bool)
    dose = d.require("dose", "attendance")
    if not (dose[d.data["arm"] == d.plan.treatment] > 0).any():
        raise ValueError("no attendance recorded (no intervention participant attended a session)")
    return received


def per_protocol_ancova(d: OutcomeData) -> pd.DataFrame:
    """ANCOVA of controls and intervention participants who attended the minimum."""
    received = _per_protocol(d)
    if not (received & (d.data["arm"] == d.plan.treatment)).any():
        raise ValueError(f"no intervention participant attended {d.plan.per_protocol_min_sessions} sessions")
    kept = d.data[(d.data["arm"] == d.plan.control) | received]
    return ancova(kept, **d.model_arguments(), summary=d.summaries)


def cace(d: OutcomeData) -> pd.DataFrame:
    """Complier average causal effect by 2SLS (receipt = per-protocol attendance)."""
    received = _per_protocol(d).astype(float)
    return cace_2sls(
        d.data.assign(_received=received), received="_received", **d.model_arguments(), summary=d.summaries
    )


@dataclass(frozen=True)
class PlannedFit:
    """One row of the analysis table: the estimand, the method's code in ``results.csv``, a
    label for messages, the fit, and whether it is multiple imputation (skipped by
    ``--no-mice``)."""

    estimand: str
    method: str
    label: str
    fit: Callable[[OutcomeData], pd.DataFrame]
    imputation: bool = False


#: The fits run for every outcome × follow-up, in the order of ``results.csv``.
TIMEPOINT_FITS: tuple[PlannedFit, ...] = (
    PlannedFit("itt", "ancova", "ITT ANCOVA", itt_ancova),
    PlannedFit("itt", "mixed_partially_nested", "partially nested mixed model", itt_partially_nested),
    PlannedFit("itt", "mice_ancova", "MICE ANCOVA", itt_mice, imputation=True),
    PlannedFit("itt", "complete_case", "complete-case ANCOVA (completers)", completers_ancova),
    PlannedFit("per_protocol", "ancova", "per-protocol ANCOVA", per_protocol_ancova),
    PlannedFit("cace", "2sls", "CACE (2SLS)", cace),
)


@dataclass(frozen=True)
class OutcomeFit:
    """A fit over all follow-ups of an outcome (one row per timepoint, column ``timepoint``)."""

    estimand: str
    method: str
    label: str
    fit: Callable[[pd.DataFrame, OutcomeData], pd.DataFrame]


def itt_repeated(long: pd.DataFrame, d: OutcomeData) -> pd.DataFrame:
    """Repeated-measures mixed model over every follow-up (random intercept per person)."""
    return repeated_measures(long, **d.model_arguments(), time="timepoint", summary=d.summaries)


#: The fits run once per outcome over all its follow-ups.
OUTCOME_FITS: tuple[OutcomeFit, ...] = (
    OutcomeFit("itt", "mixed_repeated", "repeated-measures mixed model", itt_repeated),
)


def moderation_fit(d: OutcomeData) -> pd.DataFrame:
    """Exploratory: group fidelity and the outcome in the intervention arm."""
    d.require("group_fidelity", "group fidelity")
    treated = d.data[d.data["arm"] == d.plan.treatment]
    return fidelity_moderation(treated, d.outcome, baseline=d.baseline, covariates=list(d.covariates))

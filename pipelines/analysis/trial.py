"""Run the whole trial analysis on the analysis dataset and collect tidy results.

The analysis is a table of planned fits (:mod:`pipelines.analysis.fits`: estimand, method,
fit) run for every outcome and follow-up timepoint. Every fit is isolated: one that cannot
run (no follow-up data, all values missing, no groups or attendance recorded, too few
participants, a numerical failure) becomes one line in ``TrialAnalysis.problems`` and its
rows are absent; the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.analysis.effect_size import hedges_g, pooled_sd
from pipelines.analysis.fits import OUTCOME_FITS, TIMEPOINT_FITS, OutcomeData, moderation_fit
from pipelines.analysis.multiplicity import holm
from pipelines.analysis.plan import AnalysisPlan

__all__ = ["RESULT_COLUMNS", "TrialAnalysis", "run_trial_analysis"]

#: Columns of ``results.csv`` (a contract). ``df`` is empty where the interval uses z.
RESULT_COLUMNS = [
    "outcome",
    "timepoint",
    "estimand",
    "method",
    "estimate",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "effect_size",
    "effect_size_ci_low",
    "effect_size_ci_high",
]
MULTIPLICITY_COLUMNS = ["outcome", "timepoint", "estimand", "method", "p", "p_holm"]
MODERATION_RESULT_COLUMNS = [
    "outcome",
    "timepoint",
    "moderator",
    "per",
    "estimate",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "n_clusters",
]
ICC_COLUMNS = [
    "outcome",
    "timepoint",
    "icc",
    "var_cluster",
    "var_residual",
    "n_clusters",
    "converged",
    "var_residual_control",
]
#: Order of the methods within an outcome × timepoint × estimand.
METHOD_ORDER = ["ancova", "mixed_partially_nested", "mixed_repeated", "mice_ancova", "complete_case", "2sls"]


@dataclass
class TrialAnalysis:
    """Everything ``peerstudy analyse`` writes.

    ``results`` has :data:`RESULT_COLUMNS`; ``summaries`` maps a model's name to its summary
    text; ``problems`` lists analyses that could not run, with the reason; ``notes`` lists
    decisions taken on the data (e.g. site adjustment omitted).
    """

    results: pd.DataFrame
    multiplicity: pd.DataFrame
    moderation: pd.DataFrame
    icc: pd.DataFrame
    summaries: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Collected:
    """Rows, texts and messages gathered while the fits run."""

    rows: list[dict] = field(default_factory=list)
    moderation: list[dict] = field(default_factory=list)
    icc: list[dict] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def isolated(self, what: str, fit: Callable, *args) -> pd.DataFrame | None:
        """``fit(*args)``, or None with one line in ``problems`` when it fails in any way."""
        try:
            return fit(*args)
        except (ValueError, np.linalg.LinAlgError) as exc:
            self.problems.append(f"{what} could not run: {exc}")
        except Exception as exc:  # a numerical failure in one model must not stop the others
            self.problems.append(f"{what} could not run: {type(exc).__name__}: {exc}")
        return None

    def add_rows(
        self, d: OutcomeData, estimand: str, method: str, fit: pd.DataFrame, sd: float | None
    ) -> None:
        """One result row per row of ``fit`` (per timepoint for outcome-level fits)."""
        for _, row in fit.iterrows():  # one or a few rows: the model's results, not data
            size = (
                hedges_g(
                    row["estimate"],
                    row["ci_low"],
                    row["ci_high"],
                    sd,
                    int(row["n_treatment"]),
                    int(row["n_control"]),
                )
                .iloc[0]
                .to_dict()
                if sd and row["n_treatment"] + row["n_control"] > 2
                else {}
            )
            self.rows.append(
                {
                    "outcome": d.outcome,
                    "timepoint": row.get("timepoint", d.timepoint),
                    "estimand": estimand,
                    "method": method,
                    **{c: row[c] for c in ("estimate", "se", "df", "ci_low", "ci_high", "p")},
                    "n": int(row["n"]),
                    **size,
                }
            )
        key = f"{d.outcome} | {d.timepoint} | {estimand} | {method}"
        if d.summaries and "summary" in fit.attrs:
            self.summaries[key] = fit.attrs["summary"]
        if "note" in fit.attrs:
            self.notes.append(f"{d.outcome} at {d.timepoint}: {fit.attrs['note']}")


def run_trial_analysis(
    dataset: pd.DataFrame,
    plan: AnalysisPlan,
    mice: bool = True,
    summaries: bool = True,
) -> TrialAnalysis:
    """Run every planned fit for every outcome and follow-up timepoint, each isolated.

    Parameters
    ----------
    dataset
        The analysis dataset (:func:`pipelines.dataset.build_analysis_dataset`).
    plan
        From :func:`pipelines.analysis.plan.analysis_plan`.
    mice
        Run multiple imputation (off for quick looks).
    summaries
        Keep the models' summary texts.

    Returns
    -------
    TrialAnalysis
        Results per outcome × timepoint × estimand × method (:data:`RESULT_COLUMNS`), Holm
        adjusted p-values of the secondary outcomes for the plan's primary method, fidelity
        moderation, ICCs, summaries and the problems met.
    """
    out = _Collected()
    allocated = (
        dataset[dataset["arm"].isin([plan.treatment, plan.control])]
        if "arm" in dataset
        else dataset.iloc[0:0]
    )
    if allocated.empty:
        out.problems.append("no analysis could run: there are no randomised (RCT) participants yet")
        return _finish(out, plan)
    covariates = []
    for c in (c for c in plan.covariates if c in allocated.columns):
        if allocated[c].nunique(dropna=False) < 2:
            out.notes.append(f"covariate {c!r} has a single value ({allocated[c].iloc[0]}): not adjusted for")
        else:
            covariates.append(c)
    for outcome in plan.outcomes:
        if outcome not in allocated.columns:
            out.problems.append(f"{outcome}: no analysis could run: the outcome has no scores in the dataset")
            continue
        _analyse_outcome(allocated, outcome, tuple(covariates), plan, mice, summaries, out)
    return _finish(out, plan)


def _analyse_outcome(
    allocated: pd.DataFrame,
    outcome: str,
    covariates: tuple[str, ...],
    plan: AnalysisPlan,
    mice: bool,
    summaries: bool,
    out: _Collected,
) -> None:
    """Every planned fit of one outcome: per follow-up, then over all follow-ups."""
    baseline_rows = allocated[allocated["timepoint"] == plan.baseline].set_index("pseudonym")
    base_col = f"{outcome}@baseline"
    use_baseline = bool(baseline_rows[outcome].notna().any())
    if not use_baseline:
        out.notes.append(f"{outcome}: no baseline values, analysed without baseline adjustment")
    sd = (
        out.isolated(
            f"{outcome}: the baseline SD for effect sizes",
            pooled_sd,
            baseline_rows.reset_index(),
            outcome,
            "arm",
        )
        if use_baseline
        else None
    )
    # The outcome at every follow-up side by side: auxiliaries of the imputation and the
    # definition of a completer.
    followups = allocated[allocated["timepoint"].isin(plan.followups)].pivot(
        index="pseudonym", columns="timepoint", values=outcome
    )
    aux = {tp: f"aux:{tp}" for tp in plan.followups}
    per_tp: dict[str, OutcomeData] = {}
    for tp in plan.followups:
        data = allocated[allocated["timepoint"] == tp].join(
            baseline_rows[outcome].rename(base_col), on="pseudonym"
        )
        others = [t for t in plan.followups if t != tp]
        data = data.join(followups.reindex(columns=others).rename(columns=aux), on="pseudonym")
        d = OutcomeData(
            outcome=outcome,
            timepoint=tp,
            data=data,
            baseline=base_col if use_baseline else None,
            covariates=covariates,
            auxiliary=tuple(aux[t] for t in others),
            plan=plan,
            summaries=summaries,
        )
        per_tp[tp] = d
        what = f"{outcome} at {tp}"
        if data[outcome].notna().sum() == 0:
            out.problems.append(f"{what}: no analysis could run: no follow-up values (all missing)")
            continue
        for planned in TIMEPOINT_FITS:
            if planned.imputation and not mice:
                continue
            fit = out.isolated(f"{what}: {planned.label}", planned.fit, d)
            if fit is None:
                continue
            out.add_rows(d, planned.estimand, planned.method, fit, sd)
            if planned.method == "mixed_partially_nested":
                out.icc.append(
                    {"outcome": outcome, "timepoint": tp, **fit.iloc[0][ICC_COLUMNS[2:]].to_dict()}
                )
        moderated = out.isolated(f"{what}: fidelity moderation (exploratory)", moderation_fit, d)
        if moderated is not None:
            out.moderation.append(
                {
                    "outcome": outcome,
                    "timepoint": tp,
                    "moderator": "group_fidelity",
                    **moderated.iloc[0].to_dict(),
                }
            )
    long = pd.concat([d.data for d in per_tp.values()], ignore_index=True)
    if not long[outcome].notna().any():
        return
    first = next(iter(per_tp.values()))
    for outcome_fit in OUTCOME_FITS:
        fit = out.isolated(f"{outcome}: {outcome_fit.label}", outcome_fit.fit, long, first)
        if fit is not None:
            out.add_rows(
                OutcomeData(**{**first.__dict__, "timepoint": "all follow-ups"}),
                outcome_fit.estimand,
                outcome_fit.method,
                fit,
                sd,
            )


def _finish(out: _Collected, plan: AnalysisPlan) -> TrialAnalysis:
    results = pd.DataFrame(out.rows, columns=RESULT_COLUMNS)
    order = {m: i for i, m in enumerate(METHOD_ORDER)}
    if not results.empty:
        results = (
            results.assign(
                _o=results["outcome"].map({o: i for i, o in enumerate(plan.outcomes)}),
                _t=results["timepoint"].map({t: i for i, t in enumerate(plan.followups)}),
                _e=results["estimand"].map({"itt": 0, "per_protocol": 1, "cace": 2}),
                _m=results["method"].map(order),
            )
            .sort_values(["_o", "_t", "_e", "_m"], kind="stable")
            .drop(columns=["_o", "_t", "_e", "_m"])
            .reset_index(drop=True)
        )
    # Holm across the secondary outcomes, per timepoint, for the primary ITT method
    family = results[
        results["outcome"].isin(plan.secondary)
        & (results["estimand"] == "itt")
        & (results["method"] == plan.primary_method)
    ]
    adjusted = [
        part.assign(p_holm=holm(part["p"].to_numpy())) for _, part in family.groupby("timepoint", sort=False)
    ]
    multiplicity = (
        pd.concat(adjusted)[MULTIPLICITY_COLUMNS] if adjusted else pd.DataFrame(columns=MULTIPLICITY_COLUMNS)
    )
    return TrialAnalysis(
        results=results,
        multiplicity=multiplicity.reset_index(drop=True),
        moderation=pd.DataFrame(out.moderation, columns=MODERATION_RESULT_COLUMNS).astype(
            {"n": "int64", "n_clusters": "int64"}
        ),
        icc=pd.DataFrame(out.icc, columns=ICC_COLUMNS),
        summaries=out.summaries,
        problems=out.problems,
        notes=out.notes,
    )

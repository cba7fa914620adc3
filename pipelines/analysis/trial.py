"""Run the whole trial analysis on the analysis dataset and collect tidy results.

Every model runs inside :func:`_attempt`: a model that cannot run (no follow-up data, all
values missing, too few groups) is reported with the reason in ``TrialAnalysis.problems``,
and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipelines.analysis.ancova import ancova
from pipelines.analysis.cace import cace_2sls
from pipelines.analysis.effect_size import hedges_g, pooled_sd
from pipelines.analysis.mice import mice_ancova
from pipelines.analysis.mixed import partially_nested, repeated_measures
from pipelines.analysis.moderation import fidelity_moderation
from pipelines.analysis.multiplicity import holm
from pipelines.analysis.plan import AnalysisPlan

__all__ = ["RESULT_COLUMNS", "TrialAnalysis", "run_trial_analysis"]

#: Columns of ``results.csv`` (a contract).
RESULT_COLUMNS = [
    "outcome", "timepoint", "estimand", "method", "estimate", "ci_low", "ci_high", "p", "n",
    "effect_size", "effect_size_ci_low", "effect_size_ci_high",
]
MULTIPLICITY_COLUMNS = ["outcome", "timepoint", "estimand", "method", "p", "p_holm"]
MODERATION_RESULT_COLUMNS = [
    "outcome", "timepoint", "moderator", "per", "estimate", "ci_low", "ci_high", "p", "n", "n_clusters",
]
ICC_COLUMNS = ["outcome", "timepoint", "icc", "var_cluster", "var_residual", "n_clusters", "converged"]


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


def _attempt(problems: list[str], what: str, fn: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
    try:
        return fn()
    except (ValueError, np.linalg.LinAlgError) as exc:
        problems.append(f"{what} could not run: {exc}")
    except Exception as exc:  # a numerical failure in one model must not stop the others
        problems.append(f"{what} could not run: {type(exc).__name__}: {exc}")
    return None


def run_trial_analysis(
    dataset: pd.DataFrame,
    plan: AnalysisPlan,
    mice: bool = True,
    summaries: bool = True,
) -> TrialAnalysis:
    """Run every planned analysis for every outcome and follow-up timepoint.

    Parameters
    ----------
    dataset
        The analysis dataset (:func:`pipelines.dataset.build_analysis_dataset`).
    plan
        From :func:`pipelines.analysis.plan.analysis_plan`.
    mice
        Run multiple imputation (the slowest part; off for quick looks).
    summaries
        Keep the models' summary texts.

    Returns
    -------
    TrialAnalysis
        Results per outcome × timepoint × estimand × method (:data:`RESULT_COLUMNS`), Holm
        adjusted p-values of the secondary outcomes, fidelity moderation, ICCs, summaries and
        the problems met.
    """
    problems: list[str] = []
    notes: list[str] = []
    rows: list[dict] = []
    moderation_rows: list[dict] = []
    icc_rows: list[dict] = []
    texts: dict[str, str] = {}

    allocated = dataset[dataset["arm"].isin([plan.treatment, plan.control])] if "arm" in dataset else dataset.iloc[0:0]
    if allocated.empty:
        problems.append("no analysis could run: there are no randomised (RCT) participants yet")
        return _finish(rows, moderation_rows, icc_rows, texts, problems, notes, plan)
    covariates = [c for c in plan.covariates if c in allocated.columns]
    for c in covariates:
        if allocated[c].nunique(dropna=False) < 2:
            notes.append(f"covariate {c!r} has a single value ({allocated[c].iloc[0]}): not adjusted for")
    covariates = [c for c in covariates if allocated[c].nunique(dropna=False) >= 2]

    baseline_rows = allocated[allocated["timepoint"] == plan.baseline].set_index("pseudonym")
    for outcome in plan.outcomes:
        if outcome not in allocated.columns:
            problems.append(f"{outcome}: no analysis could run: the outcome has no scores in the dataset")
            continue
        base_col = f"{outcome}@baseline"
        baseline_values = baseline_rows[outcome].rename(base_col)
        use_baseline = baseline_values.notna().any()
        if not use_baseline:
            notes.append(f"{outcome}: no baseline values, analysed without baseline adjustment")
        wide = {
            tp: allocated[allocated["timepoint"] == tp].join(baseline_values, on="pseudonym")
            for tp in plan.followups
        }
        sd = _attempt(problems, f"{outcome}: the baseline SD for effect sizes",
                      lambda: pooled_sd(baseline_rows.reset_index(), outcome, "arm")) if use_baseline else None
        baseline = base_col if use_baseline else None
        common = dict(outcome=outcome, arm="arm", treatment=plan.treatment, control=plan.control,
                      baseline=baseline, covariates=covariates)
        # Values of the outcome at every follow-up, side by side: auxiliaries for imputation
        # and the definition of a completer.
        all_followups = pd.concat(
            [wide[tp].set_index("pseudonym")[outcome].rename(f"aux:{tp}") for tp in plan.followups], axis=1
        )
        for tp in plan.followups:
            data = wide[tp]
            what = f"{outcome} at {tp}"
            if data[outcome].notna().sum() == 0:
                problems.append(f"{what}: no analysis could run: no follow-up values (all missing)")
                continue

            def add(estimand: str, method: str, fit: pd.DataFrame | None, key: str) -> None:
                if fit is None:
                    return
                row = fit.iloc[0]
                n_t = int(row.get("n_treatment", np.nan)) if "n_treatment" in fit else None
                n_c = int(row.get("n_control", np.nan)) if "n_control" in fit else None
                if n_t is None:
                    n_t = n_c = int(row["n"]) // 2
                es = (hedges_g(row["estimate"], row["ci_low"], row["ci_high"], sd, n_t, n_c).iloc[0]
                      if sd else pd.Series(np.nan, index=["effect_size", "effect_size_ci_low", "effect_size_ci_high"]))
                rows.append({
                    "outcome": outcome, "timepoint": tp, "estimand": estimand, "method": method,
                    "estimate": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                    "p": row["p"], "n": int(row["n"]), **es.to_dict(),
                })
                if summaries and "summary" in fit.attrs:
                    texts[key] = fit.attrs["summary"]

            key = f"{outcome} | {tp}"
            add("itt", "ancova", _attempt(problems, f"{what}: ITT ANCOVA",
                lambda: ancova(data, **common, summary=summaries)), f"{key} | itt | ancova")
            nested = _attempt(problems, f"{what}: partially nested mixed model",
                              lambda: partially_nested(data, **common, cluster="group", summary=summaries))
            if nested is not None:
                if "note" in nested.attrs:
                    notes.append(f"{what}: {nested.attrs['note']}")
                icc_rows.append({"outcome": outcome, "timepoint": tp, **nested.iloc[0][ICC_COLUMNS[2:]].to_dict()})
                # n per arm from the data the model used, for the effect size correction
                nested = nested.assign(n_treatment=int((data["arm"] == plan.treatment).sum()),
                                       n_control=int((data["arm"] == plan.control).sum()))
            add("itt", "mixed_partially_nested", nested, f"{key} | itt | mixed_partially_nested")
            aux_cols = [c for c in all_followups.columns if c != f"aux:{tp}"]
            with_aux = data.join(all_followups[aux_cols], on="pseudonym")
            if mice:
                imputed = _attempt(problems, f"{what}: MICE ANCOVA", lambda: mice_ancova(
                    with_aux, **common, auxiliary=aux_cols + ["dose"], n_imputations=plan.imputations, n_burnin=plan.burn_in,
                    seed=plan.seed, summary=summaries))
                if imputed is not None:
                    imputed = imputed.assign(n_treatment=int((data["arm"] == plan.treatment).sum()),
                                             n_control=int((data["arm"] == plan.control).sum()))
                add("itt", "mice_ancova", imputed, f"{key} | itt | mice_ancova")
            # Completers: observed at every follow-up (the listwise-deletion counterpart of MICE).
            completers = with_aux.dropna(subset=aux_cols + [outcome])
            add("itt", "complete_case", _attempt(problems, f"{what}: complete-case ANCOVA (completers)",
                lambda: ancova(completers, **common, summary=summaries)), f"{key} | itt | complete_case")
            per_protocol = data[(data["arm"] == plan.control) | data["per_protocol"].astype(bool)]
            add("per_protocol", "ancova", _attempt(problems, f"{what}: per-protocol ANCOVA",
                lambda: ancova(per_protocol, **common, summary=summaries)), f"{key} | per_protocol | ancova")
            add("cace", "2sls", _attempt(problems, f"{what}: CACE (2SLS)",
                lambda: cace_2sls(data.assign(_received=data["per_protocol"].astype(float)), received="_received",
                                  **common, summary=summaries)).pipe(
                    lambda f: None if f is None else f.assign(
                        n_treatment=int((data["arm"] == plan.treatment).sum()),
                        n_control=int((data["arm"] == plan.control).sum()))),
                f"{key} | cace | 2sls")
            moderated = _attempt(problems, f"{what}: fidelity moderation (exploratory)", lambda: fidelity_moderation(
                data[data["arm"] == plan.treatment], outcome, baseline=baseline, covariates=covariates))
            if moderated is not None:
                moderation_rows.append({"outcome": outcome, "timepoint": tp, "moderator": "group_fidelity",
                                        **moderated.iloc[0].to_dict()})

        # One repeated-measures model per outcome over all follow-up timepoints
        long = pd.concat(wide.values(), ignore_index=True)
        if long[outcome].notna().any():
            repeated = _attempt(problems, f"{outcome}: repeated-measures mixed model",
                                lambda: repeated_measures(long, **common, time="timepoint", summary=summaries))
            if repeated is not None:
                if summaries and "summary" in repeated.attrs:
                    texts[f"{outcome} | all follow-ups | itt | mixed_repeated"] = repeated.attrs["summary"]
                for _, r in repeated.iterrows():
                    data = wide[r["timepoint"]]
                    n_t = int((data["arm"] == plan.treatment).sum())
                    n_c = int((data["arm"] == plan.control).sum())
                    es = (hedges_g(r["estimate"], r["ci_low"], r["ci_high"], sd, n_t, n_c).iloc[0].to_dict()
                          if sd else {})
                    rows.append({"outcome": outcome, "timepoint": r["timepoint"], "estimand": "itt",
                                 "method": "mixed_repeated", "estimate": r["estimate"], "ci_low": r["ci_low"],
                                 "ci_high": r["ci_high"], "p": r["p"], "n": int(r["n"]), **es})
    return _finish(rows, moderation_rows, icc_rows, texts, problems, notes, plan)


def _finish(rows, moderation_rows, icc_rows, texts, problems, notes, plan: AnalysisPlan) -> TrialAnalysis:
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    order = {m: i for i, m in enumerate(
        ["ancova", "mixed_partially_nested", "mixed_repeated", "mice_ancova", "complete_case", "2sls"])}
    if not results.empty:
        results = (
            results.assign(
                _o=results["outcome"].map({o: i for i, o in enumerate(plan.outcomes)}),
                _t=results["timepoint"].map({t: i for i, t in enumerate(plan.followups)}),
                _e=results["estimand"].map({"itt": 0, "per_protocol": 1, "cace": 2}),
                _m=results["method"].map(order),
            )
            .sort_values(["_o", "_t", "_e", "_m"])
            .drop(columns=["_o", "_t", "_e", "_m"])
            .reset_index(drop=True)
        )
    # Holm across the secondary outcomes, per timepoint, for the primary ITT method
    family = results[
        results["outcome"].isin(plan.secondary) & (results["estimand"] == "itt")
        & (results["method"] == ("mice_ancova" if plan.missing_data == "main" else "ancova"))
    ]
    adjusted = []
    for _, part in family.groupby("timepoint", sort=False):
        adjusted.append(part.assign(p_holm=holm(part["p"].to_numpy())))
    multiplicity = (pd.concat(adjusted)[MULTIPLICITY_COLUMNS] if adjusted
                    else pd.DataFrame(columns=MULTIPLICITY_COLUMNS))
    return TrialAnalysis(
        results=results,
        multiplicity=multiplicity.reset_index(drop=True),
        moderation=pd.DataFrame(moderation_rows, columns=MODERATION_RESULT_COLUMNS).astype(
            {"n": "int64", "n_clusters": "int64"}),
        icc=pd.DataFrame(icc_rows, columns=ICC_COLUMNS),
        summaries=texts,
        problems=problems,
        notes=notes,
    )

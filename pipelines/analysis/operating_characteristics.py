"""Operating characteristics of the ITT methods in simulated partially nested trials: bias,
95 % CI coverage and type-I error, fitted in batches (thousands of trials in seconds).

Used by ``tests/test_partially_nested_simulation.py`` (the coverage of the primary method)
and ``benchmarks/analysis_simulation.py`` (the full table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.analysis.partially_nested import fit_partially_nested
from pipelines.simulate import SimulatedBatch, simulate_outcome_batch

__all__ = ["OC_COLUMNS", "Scenario", "batched_ancova", "operating_characteristics"]

#: Columns of :func:`operating_characteristics`.
OC_COLUMNS = [
    "icc",
    "sd_ratio",
    "effect",
    "method",
    "replicates",
    "bias",
    "bias_mcse",
    "coverage",
    "coverage_mcse",
    "rejection",
    "rejection_mcse",
]


@dataclass(frozen=True)
class Scenario:
    """One simulated design: the reference trial's size by default (296 randomised, 18
    groups of about 8, 12 % of follow-ups missing completely at random)."""

    icc: float
    sd_ratio: float = 1.0
    effect: float = 5.1
    n: int = 296
    n_groups: int = 18
    missing: float = 0.12
    sd: float = 11.9


def batched_ancova(batch: SimulatedBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OLS treatment effect, SE and residual df of every trial in the batch (observed rows)."""
    w = batch.observed.astype(float)
    X, y = batch.X, np.where(batch.observed, batch.y, 0.0)
    xtx = np.einsum("rni,rnj->rij", X * w[..., None], X)
    inverse = np.linalg.inv(xtx)
    beta = np.einsum("rij,rnj,rn->ri", inverse, X, w * y)
    resid = (y - np.einsum("rni,ri->rn", X, beta)) * w
    df = w.sum(axis=1) - X.shape[2]
    se = np.sqrt(np.sum(resid**2, axis=1) / df * inverse[:, 1, 1])
    return beta[:, 1], se, df


def _summarise(scenario: Scenario, method: str, estimate, se, df, effect: float) -> dict:
    from scipy import stats

    crit = stats.t.ppf(0.975, df) if df is not None else stats.norm.ppf(0.975)
    covered = np.abs(estimate - effect) <= crit * se
    rejected = np.abs(estimate) > crit * se  # H0: effect = 0 (type-I error when it is 0, else power)
    r = len(estimate)
    rate, rejection = covered.mean(), rejected.mean()
    return {
        "icc": scenario.icc,
        "sd_ratio": scenario.sd_ratio,
        "effect": effect,
        "method": method,
        "replicates": r,
        "bias": float(estimate.mean() - effect),
        "bias_mcse": float(estimate.std(ddof=1) / np.sqrt(r)),
        "coverage": float(rate),
        "coverage_mcse": float(np.sqrt(rate * (1 - rate) / r)),
        "rejection": float(rejection),
        "rejection_mcse": float(np.sqrt(rejection * (1 - rejection) / r)),
    }


def operating_characteristics(
    scenario: Scenario,
    replicates: int,
    rng: np.random.Generator,
    effect: float | None = None,
    chunk: int = 1000,
) -> pd.DataFrame:
    """Bias, coverage and rejection rate of three ITT analyses over simulated trials.

    Parameters
    ----------
    scenario
        The design (:class:`Scenario`).
    replicates
        Simulated trials.
    rng
        Random generator.
    effect
        True effect (default: the scenario's; 0 gives the type-I error as ``rejection``).
    chunk
        Trials fitted per batch (memory: chunk × n × 5 floats).

    Returns
    -------
    pandas.DataFrame
        :data:`OC_COLUMNS`, one row per method: ``mixed_partially_nested`` (REML, t on
        Satterthwaite df: the primary method), ``mixed_partially_nested_z`` (the same fit with
        a Wald z) and ``ancova`` (OLS ignoring the groups).
    """
    truth = scenario.effect if effect is None else effect
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("pn_est", "pn_se", "pn_df", "ols_est", "ols_se", "ols_df")
    }
    done = 0
    while done < replicates:
        size = min(chunk, replicates - done)
        batch = simulate_outcome_batch(
            size,
            scenario.n,
            truth,
            rng,
            n_groups=scenario.n_groups,
            sd=scenario.sd,
            icc=scenario.icc,
            sd_ratio=scenario.sd_ratio,
            missing=scenario.missing,
        )
        fit = fit_partially_nested(batch.y, batch.X, batch.treated, batch.cluster, batch.observed)
        parts["pn_est"].append(fit.params[:, 1])
        parts["pn_se"].append(np.sqrt(fit.cov_params[:, 1, 1]))
        parts["pn_df"].append(fit.df)
        for key, value in zip(("ols_est", "ols_se", "ols_df"), batched_ancova(batch)):
            parts[key].append(value)
        done += size
    v = {k: np.concatenate(p) for k, p in parts.items()}
    rows = [
        _summarise(scenario, "mixed_partially_nested", v["pn_est"], v["pn_se"], v["pn_df"], truth),
        _summarise(scenario, "mixed_partially_nested_z", v["pn_est"], v["pn_se"], None, truth),
        _summarise(scenario, "ancova", v["ols_est"], v["ols_se"], v["ols_df"], truth),
    ]
    return pd.DataFrame(rows, columns=OC_COLUMNS)

"""Standardised mean differences: Hedges' g scaled by the pooled baseline SD."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["hedges_correction", "hedges_g", "pooled_sd"]


def pooled_sd(data: pd.DataFrame, value: str, arm: str = "arm") -> float:
    """Pooled within-arm standard deviation of ``value`` (e.g. the baseline score).

    ``sqrt(Σ (n_a − 1) s_a² / Σ (n_a − 1))`` over the arms present, ignoring missing values.
    Raises ``ValueError`` when fewer than two observed values per arm are available.
    """
    if value not in data.columns or arm not in data.columns:
        raise ValueError(f"columns {value!r} and {arm!r} are needed")
    frame = data[[arm, value]].dropna()
    stats = frame.groupby(arm)[value].agg(["count", "var"])
    stats = stats[stats["count"] >= 2]
    if stats.empty:
        raise ValueError(f"{value}: fewer than two observed values in every arm")
    dof = (stats["count"] - 1).sum()
    return float(np.sqrt(((stats["count"] - 1) * stats["var"]).sum() / dof))


def hedges_correction(dof: float) -> float:
    """Small-sample correction J = 1 − 3 / (4·dof − 1) (Hedges 1981), dof = n₁ + n₂ − 2."""
    if dof <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {dof}")
    return 1.0 - 3.0 / (4.0 * dof - 1.0)


def hedges_g(
    estimate: float, ci_low: float, ci_high: float, sd: float, n_treatment: int, n_control: int
) -> pd.DataFrame:
    """Hedges' g of a (model-adjusted) mean difference, with its confidence interval.

    Parameters
    ----------
    estimate, ci_low, ci_high
        The mean difference treatment − control and its interval, in outcome units (from an
        ANCOVA, mixed model, multiple imputation or 2SLS).
    sd
        The standardiser: the pooled baseline SD of the outcome (:func:`pooled_sd`), which is
        the same for every analysis of an outcome and is not affected by the intervention.
    n_treatment, n_control
        Participants per arm (for the small-sample correction).

    Returns
    -------
    pandas.DataFrame
        One row: ``effect_size`` (g), ``effect_size_ci_low``, ``effect_size_ci_high``.

    Notes
    -----
    g = J · estimate / sd with J = 1 − 3/(4(n₁+n₂−2) − 1). The interval is the model's interval
    of the difference on the same scale (J / sd treated as fixed), so that it carries the
    model's own uncertainty (clustering, imputation, instrumenting), as recommended for
    adjusted SMDs in trials.

    References
    ----------
    Hedges LV. Distribution theory for Glass's estimator of effect size and related
    estimators. J Educ Stat 1981;6:107–128. Morris SB. Estimating effect sizes from
    pretest-posttest-control group designs. Organ Res Methods 2008;11:364–386.
    """
    if not sd > 0:
        raise ValueError(f"the standardising SD must be positive, got {sd}")
    factor = hedges_correction(n_treatment + n_control - 2) / sd
    return pd.DataFrame(
        [
            {
                "effect_size": estimate * factor,
                "effect_size_ci_low": ci_low * factor,
                "effect_size_ci_high": ci_high * factor,
            }
        ]
    )

"""The repeated-measures mixed model over all follow-up timepoints, and the vectorised REML
fit of a random-intercept model it uses.

The partially nested model (groups in the intervention arm only) is in
:mod:`pipelines.analysis.partially_nested`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.analysis.design import require_columns, result_row, treatment_indicator, trial_design

__all__ = ["REPEATED_COLUMNS", "RandomInterceptFit", "random_intercept_reml", "repeated_measures"]

REPEATED_COLUMNS = [
    "timepoint",
    "estimate",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "n_treatment",
    "n_control",
    "n_subjects",
    "converged",
]


@dataclass(frozen=True)
class RandomInterceptFit:
    """REML fit of a linear model with one random intercept per subject."""

    params: pd.Series
    cov_params: pd.DataFrame
    var_subject: float
    var_residual: float
    converged: bool
    n_obs: int
    n_subjects: int

    def summary(self, title: str) -> str:
        """A plain-text table of the fixed effects and variance components."""
        se = np.sqrt(np.diag(self.cov_params.to_numpy()))
        lines = [
            title,
            f"REML, random intercept per subject; {self.n_obs} observations, "
            f"{self.n_subjects} subjects; converged: {self.converged}",
            f"{'term':<40}{'coef':>12}{'se':>12}",
        ]
        lines += [
            f"{name:<40}{coef:>12.4f}{err:>12.4f}"
            for name, coef, err in zip(self.params.index, self.params, se)
        ]
        lines += [
            f"{'subject variance':<40}{self.var_subject:>12.4f}",
            f"{'residual variance':<40}{self.var_residual:>12.4f}",
        ]
        return "\n".join(lines)


def random_intercept_reml(
    y: np.ndarray, X: pd.DataFrame, groups: np.ndarray, random: np.ndarray | None = None
) -> RandomInterceptFit:
    """REML fit of y = Xβ + b_subject + e, b ~ N(0, τ²), e ~ N(0, σ²), vectorised over subjects.

    ``random`` (boolean per row, default all true) marks the rows whose group carries the
    random intercept; groups of other rows have none (the partially nested design: controls
    are independent, λ_i = 0 for their groups).

    Notes
    -----
    With λ = τ²/σ² and V* = I + λZZ' (Z the subject indicators), V*⁻¹ = I − Z·diag(λ/(1 + n_iλ))·Z',
    so X'V*⁻¹X = X'X − S'DS with S = Z'X the subject sums: no per-subject loop. σ² is
    profiled out (σ² = r'V*⁻¹r / (N − p)) and the restricted log-likelihood
    −2ℓ = (N − p)·log σ² + Σ log(1 + n_iλ) + log|X'V*⁻¹X| is minimised over log λ (bounded, so a
    zero subject variance is reached at the boundary). Cov(β̂) = σ²(X'V*⁻¹X)⁻¹. Gives the same
    estimates as statsmodels ``MixedLM`` (checked in the tests) in a fraction of the time
    (statsmodels iterates over subjects in Python: minutes for 10,000 participants).
    """
    from scipy.optimize import minimize_scalar

    design = X.to_numpy(dtype=float)
    codes, _ = pd.factorize(groups)
    n_sub = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=n_sub).astype(float)
    with_effect = np.ones(n_sub, dtype=bool)
    if random is not None:
        with_effect = np.bincount(codes, weights=np.asarray(random, dtype=float), minlength=n_sub) > 0
    sums_x = np.zeros((n_sub, design.shape[1]))
    np.add.at(sums_x, codes, design)
    sums_y = np.bincount(codes, weights=y, minlength=n_sub)
    xtx, xty = design.T @ design, design.T @ y
    n, p = design.shape

    def solve(log_lambda: float):
        lam = np.exp(log_lambda)
        d = np.where(with_effect, lam / (1 + sizes * lam), 0.0)
        a = xtx - sums_x.T @ (sums_x * d[:, None])
        beta = np.linalg.solve(a, xty - sums_x.T @ (d * sums_y))
        r = y - design @ beta
        quad = r @ r - np.sum(d * np.bincount(codes, weights=r, minlength=n_sub) ** 2)
        sigma2 = quad / (n - p)
        sign, logdet = np.linalg.slogdet(a)
        objective = (n - p) * np.log(sigma2) + np.sum(np.log1p(sizes * lam)[with_effect]) + logdet
        return objective, beta, sigma2, a, lam

    found = minimize_scalar(
        lambda v: solve(v)[0], bounds=(-20.0, 8.0), method="bounded", options={"xatol": 1e-8}
    )
    _, beta, sigma2, a, lam = solve(found.x)
    cov = sigma2 * np.linalg.inv(a)
    return RandomInterceptFit(
        params=pd.Series(beta, index=X.columns),
        cov_params=pd.DataFrame(cov, index=X.columns, columns=X.columns),
        var_subject=float(lam * sigma2),
        var_residual=float(sigma2),
        converged=bool(found.success),
        n_obs=n,
        n_subjects=int(with_effect.sum()),
    )


def repeated_measures(
    data: pd.DataFrame,
    outcome: str,
    time: str = "timepoint",
    subject: str = "pseudonym",
    arm: str = "arm",
    treatment: str = "INT",
    control: str = "CTL",
    baseline: str | None = None,
    covariates: Sequence[str] = (),
    ci: float = 0.95,
    summary: bool = False,
) -> pd.DataFrame:
    """Arm difference at every follow-up timepoint from one mixed model over all of them.

    Parameters
    ----------
    data
        Long: one row per participant × follow-up timepoint (not the baseline), with the
        outcome, its baseline value, the arm and covariates.
    outcome, time, subject, arm, baseline
        Column names.
    treatment, control, covariates, ci, summary
        As in :func:`pipelines.analysis.ancova.ancova`.

    Returns
    -------
    pandas.DataFrame
        One row per timepoint (in order of first appearance): ``timepoint``, ``estimate``
        (treatment − control at that timepoint), ``se``, ``df`` (empty: Wald z), ``ci_low``,
        ``ci_high``, ``p``, ``n`` (observations at the timepoint), ``n_treatment``,
        ``n_control``, ``n_subjects`` (in the model), ``converged``.

    Notes
    -----
    y_it = β₀ + α_t + β·T_i + δ_t·T_i + λ·baseline_i + γ'x_i + b_i + e_it with a random
    intercept b_i per participant (REML). The effect at timepoint t is β + δ_t, its variance
    from the fixed-effects covariance. Uses every observed follow-up value (valid under
    missing at random given the model's variables).
    """
    # Check the data
    require_columns(data, [outcome, time, subject, arm, baseline, *covariates])
    frame = data.assign(_treat=treatment_indicator(data[arm], treatment, control))
    frame = frame.dropna(subset=["_treat", outcome] + ([baseline] if baseline else []))
    times = list(pd.unique(frame[time]))
    if len(times) < 1 or frame.empty:
        raise ValueError(f"{outcome}: no follow-up observations")
    if frame[subject].nunique() < 3:
        raise ValueError(f"{outcome}: too few participants for a mixed model")

    # Compute: time dummies (first timepoint as reference), their interactions with T
    time_dummies = pd.DataFrame(
        {f"time={t}": (frame[time] == t).astype(float) for t in times[1:]}, index=frame.index
    )
    interactions = time_dummies.mul(frame["_treat"], axis=0).add_prefix("treat:")
    X = trial_design(
        frame,
        pd.concat([time_dummies, frame["_treat"].rename("treat"), interactions], axis=1),
        baseline,
        covariates,
    )
    fit = random_intercept_reml(frame[outcome].to_numpy(dtype=float), X, frame[subject].to_numpy())
    converged = fit.converged
    params, cov = fit.params, fit.cov_params

    # Build the output frame: effect at t = treat + treat:time=t
    rows = []
    for t in times:
        weights = pd.Series(0.0, index=params.index)
        weights["treat"] = 1.0
        if f"treat:time={t}" in weights.index:
            weights[f"treat:time={t}"] = 1.0
        estimate = float(weights @ params)
        se = float(np.sqrt(weights @ cov @ weights))
        at_t = frame[time] == t
        rows.append(
            {
                "timepoint": t,
                **result_row(estimate, se, None, ci),
                "n": int(at_t.sum()),
                "n_treatment": int((at_t & (frame["_treat"] == 1)).sum()),
                "n_control": int((at_t & (frame["_treat"] == 0)).sum()),
                "n_subjects": int(frame[subject].nunique()),
                "converged": converged,
            }
        )
    result = pd.DataFrame(rows, columns=REPEATED_COLUMNS)
    if summary:
        result.attrs["summary"] = fit.summary(f"Repeated-measures mixed model of {outcome}")
    return result

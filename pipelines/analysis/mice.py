"""Multiple imputation by chained equations (statsmodels MICE) for the ANCOVA, with Rubin's
rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np
import pandas as pd

from pipelines.analysis.design import covariate_matrix, require_columns, treatment_indicator

__all__ = ["MICE_COLUMNS", "mice_ancova", "rubin_pool"]

MICE_COLUMNS = [
    "estimate", "se", "ci_low", "ci_high", "p", "df", "n", "n_observed", "fmi", "n_imputations",
]


def rubin_pool(estimates: Sequence[float], variances: Sequence[float]) -> dict[str, float]:
    """Pool one parameter over m imputations by Rubin's rules.

    Returns ``estimate`` (mean Q̄), ``se`` (√T with T = Ū + (1 + 1/m)·B), ``df`` (Rubin 1987:
    (m − 1)(1 + 1/r)², r = (1 + 1/m)·B/Ū) and ``fmi`` ((1 + 1/m)·B / T, the fraction of
    missing information in its simple form).

    References
    ----------
    Rubin DB. Multiple Imputation for Nonresponse in Surveys. Wiley, 1987.
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = len(q)
    if m < 2 or len(u) != m:
        raise ValueError("Rubin's rules need at least 2 imputations with one variance each")
    u_bar, b = u.mean(), q.var(ddof=1)
    total = u_bar + (1 + 1 / m) * b
    r = (1 + 1 / m) * b / u_bar if u_bar > 0 else np.inf
    df = (m - 1) * (1 + 1 / r) ** 2 if r > 0 else np.inf
    return {
        "estimate": float(q.mean()),
        "se": float(np.sqrt(total)),
        "df": float(df),
        "fmi": float((1 + 1 / m) * b / total) if total > 0 else 0.0,
    }


def mice_ancova(
    data: pd.DataFrame,
    outcome: str,
    arm: str = "arm",
    treatment: str = "INT",
    control: str = "CTL",
    baseline: Optional[str] = None,
    covariates: Sequence[str] = (),
    auxiliary: Sequence[str] = (),
    n_imputations: int = 20,
    n_burnin: int = 10,
    n_skip: int = 1,
    seed: Optional[int] = None,
    ci: float = 0.95,
    summary: bool = False,
) -> pd.DataFrame:
    """ANCOVA on multiply imputed data (MICE, predictive mean matching), pooled by Rubin.

    Parameters
    ----------
    data
        One row per randomised participant (wide), the outcome possibly missing.
    outcome, arm, baseline, covariates
        As in :func:`pipelines.analysis.ancova.ancova`. Missing baseline values are imputed
        too; covariates are never missing (missing categories are a level of their own).
    auxiliary
        Numeric columns that help to predict the missing values but are not in the analysis
        model (e.g. the outcome at the other follow-up timepoints, dose).
    n_imputations
        Imputed data sets (≥ 20 recommended when a sizeable share is missing; White et al.
        2011 suggest at least the percentage of incomplete cases).
    n_burnin
        Chained-equation cycles before the first imputation.
    n_skip
        Extra cycles between two kept imputations (statsmodels' default is 3; 1 halves the
        run time, and each kept data set is still drawn after re-drawing every imputation
        model's parameters).
    seed
        Seed of the imputations (the same seed gives the same result).
    ci, summary
        Confidence level (t with Rubin's df); attach the pooled summary text.

    Returns
    -------
    pandas.DataFrame
        One row: ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p``, ``df`` (Rubin),
        ``n`` (participants analysed, observed or imputed), ``n_observed`` (with observed
        outcome), ``fmi`` (fraction of missing information), ``n_imputations``.

    Notes
    -----
    Each variable with missing values is imputed from all other columns by predictive mean
    matching (statsmodels ``MICEData``); the arm is in every imputation model, so the
    imputations respect the comparison. The estimate is pooled by :func:`rubin_pool` from the
    fits statsmodels keeps (``MICE.results_list``).

    References
    ----------
    van Buuren S, Groothuis-Oudshoorn K. mice: Multivariate imputation by chained equations
    in R. J Stat Softw 2011;45(3). White IR, Royston P, Wood AM. Multiple imputation using
    chained equations: issues and guidance for practice. Stat Med 2011;30:377–399.
    """
    import statsmodels.api as sm
    from scipy import stats
    from statsmodels.imputation import mice

    # Check the data
    if n_imputations < 2:
        raise ValueError(f"n_imputations must be at least 2, got {n_imputations}")
    require_columns(data, [outcome, arm, baseline, *covariates, *auxiliary])
    frame = data.assign(_treat=treatment_indicator(data[arm], treatment, control))
    frame = frame.dropna(subset=["_treat"])
    n_observed = int(frame[outcome].notna().sum())
    if n_observed == 0:
        raise ValueError(f"{outcome}: all outcome values are missing, nothing to impute from")
    for code, flag in ((treatment, 1), (control, 0)):
        if frame.loc[frame["_treat"] == flag, outcome].notna().sum() < 2:
            raise ValueError(f"{outcome}: fewer than 2 observed outcomes in arm {code!r}")

    # Compute: a numeric frame with formula-safe names
    covs = covariate_matrix(frame, covariates)
    numeric = pd.DataFrame(
        {
            "y": frame[outcome].astype(float),
            "treat": frame["_treat"],
            **({"y0": frame[baseline].astype(float)} if baseline else {}),
            **{f"c{i}": covs[c] for i, c in enumerate(covs.columns)},
            **{f"aux{i}": frame[a].astype(float) for i, a in enumerate(auxiliary)},
        }
    ).reset_index(drop=True)
    # An auxiliary column that is entirely missing cannot be imputed or used.
    numeric = numeric.loc[:, numeric.notna().any()]
    formula = "y ~ " + " + ".join(
        ["treat"] + (["y0"] if baseline else []) + [c for c in numeric.columns if c.startswith("c")]
    )
    imp_data = mice.MICEData(numeric, rng=np.random.default_rng(seed))
    engine = mice.MICE(formula, sm.OLS, imp_data, n_skip=n_skip)
    pooled = engine.fit(n_burnin=n_burnin, n_imputations=n_imputations)
    fits = engine.results_list
    pooled_treat = rubin_pool(
        [f.params["treat"] for f in fits], [f.bse["treat"] ** 2 for f in fits]
    )
    est, se, df = pooled_treat["estimate"], pooled_treat["se"], pooled_treat["df"]
    t_crit = stats.t.ppf(0.5 + ci / 2, df)

    # Build the output frame
    result = pd.DataFrame(
        [{
            "estimate": est,
            "se": se,
            "ci_low": est - t_crit * se,
            "ci_high": est + t_crit * se,
            "p": float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else np.nan,
            "df": df,
            "n": int(len(numeric)),
            "n_observed": n_observed,
            "fmi": pooled_treat["fmi"],
            "n_imputations": n_imputations,
        }],
        columns=MICE_COLUMNS,
    )
    if summary:
        result.attrs["summary"] = str(pooled.summary(title=f"MICE ANCOVA of {outcome}"))
    return result

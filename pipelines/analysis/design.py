"""Design matrices and result rows shared by the trial models.

The analysis functions accept arbitrary column names (``qpr15.total`` has a dot, which a
formula would misread), so they build their numeric design here rather than through patsy:
:func:`trial_design` is the one place where "constant, effect(s), baseline, covariates" is
assembled, and :func:`result_row` the one place where an estimate and its standard error
become an interval and a p-value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "RESULT_ROW_KEYS",
    "covariate_matrix",
    "require_columns",
    "result_row",
    "treatment_indicator",
    "trial_design",
]

#: Keys of :func:`result_row`, in order.
RESULT_ROW_KEYS = ["estimate", "se", "df", "ci_low", "ci_high", "p"]


def require_columns(data: pd.DataFrame, columns: Sequence[str | None]) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` missing from ``data``."""
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise ValueError(f"column(s) not in the data: {', '.join(missing)}")


def treatment_indicator(arms: pd.Series, treatment: str, control: str) -> pd.Series:
    """1.0 for ``treatment``, 0.0 for ``control``, NaN for anything else (e.g. unallocated).

    Raises ``ValueError`` when either arm has no row, because a comparison is then impossible.
    """
    indicator = pd.Series(np.nan, index=arms.index, dtype=float)
    indicator[arms == treatment] = 1.0
    indicator[arms == control] = 0.0
    for code in (treatment, control):
        if not (arms == code).any():
            raise ValueError(f"no participant in arm {code!r}")
    return indicator


def covariate_matrix(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Numeric columns for ``covariates``: numbers as they are, categories as dummies.

    Categorical (text, boolean, category) covariates are dummy coded with the first level
    (sorted) as reference; a covariate with a single level carries no information and is
    dropped (e.g. ``site`` in a single-site study). Missing category values form their own
    level ``(missing)`` so that no participant is dropped for a missing stratum.
    """
    parts: list[pd.DataFrame] = []
    for name in covariates:
        column = data[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            parts.append(column.astype(float).to_frame(f"cov[{name}]"))
            continue
        values = column.to_numpy(dtype=object)
        values = np.where(pd.isna(values), "(missing)", values.astype(str))
        levels = np.unique(values)
        if len(levels) > 1:
            parts.append(
                pd.DataFrame(
                    (values[:, None] == levels[None, 1:]).astype(float),
                    index=data.index,
                    columns=[f"cov[{name}]={level}" for level in levels[1:]],
                )
            )
    if not parts:
        return pd.DataFrame(index=data.index)
    return pd.concat(parts, axis=1)


def trial_design(
    frame: pd.DataFrame,
    effects: pd.Series | pd.DataFrame,
    baseline: str | None = None,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """The design matrix ``const, <effects>, baseline, <covariates>`` of a trial model.

    Parameters
    ----------
    frame
        The rows the model uses (already free of missing values in the model's columns).
    effects
        The column(s) of interest, placed right after the constant under their own names:
        the treatment indicator ``treat`` (ANCOVA, mixed models), the received treatment
        (2SLS), the allocation (its instrument), a moderator, or time dummies and
        interactions (repeated measures).
    baseline
        Column of the baseline value of the outcome, entered as ``baseline``; ``None`` for an
        unadjusted model.
    covariates
        Adjustment columns, coded by :func:`covariate_matrix`.

    Returns
    -------
    pandas.DataFrame
        Float columns on ``frame``'s index.
    """
    parts = [pd.Series(1.0, index=frame.index, name="const"), effects]
    if baseline:
        parts.append(frame[baseline].astype(float).rename("baseline"))
    parts.append(covariate_matrix(frame, covariates))
    return pd.concat(parts, axis=1).astype(float)


def result_row(estimate: float, se: float, df: float | None = None, ci: float = 0.95) -> dict[str, float]:
    """Confidence interval and two-sided p-value of an estimate from its standard error.

    Parameters
    ----------
    estimate, se
        The estimate and its standard error (same units).
    df
        Degrees of freedom of a t reference distribution; ``None`` (or infinite) for the
        standard normal (Wald z). Reported as NaN when z is used, so that every interval in
        ``results.csv`` can be recomputed from ``estimate``, ``se`` and ``df``.
    ci
        Confidence level in (0, 1).

    Returns
    -------
    dict
        :data:`RESULT_ROW_KEYS`: ``estimate``, ``se``, ``df``, ``ci_low``, ``ci_high``, ``p``
        (NaN when ``se`` is not positive).
    """
    from scipy import stats

    if not 0 < ci < 1:
        raise ValueError(f"ci must lie between 0 and 1, got {ci}")
    use_t = df is not None and np.isfinite(df)
    reference = stats.t(df) if use_t else stats.norm()
    crit = float(reference.ppf(0.5 + ci / 2))
    return {
        "estimate": float(estimate),
        "se": float(se),
        "df": float(df) if use_t and df is not None else np.nan,
        "ci_low": float(estimate - crit * se),
        "ci_high": float(estimate + crit * se),
        "p": float(2 * reference.sf(abs(estimate / se))) if se > 0 else np.nan,
    }

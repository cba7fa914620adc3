"""Exploratory moderation: does group fidelity go with larger effects in the intervention arm?"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.analysis.design import require_columns, result_row, trial_design

__all__ = ["MODERATION_COLUMNS", "fidelity_moderation"]

MODERATION_COLUMNS = ["estimate", "se", "ci_low", "ci_high", "p", "n", "n_clusters", "per"]


def fidelity_moderation(
    data: pd.DataFrame,
    outcome: str,
    moderator: str = "group_fidelity",
    cluster: str = "group",
    baseline: str | None = None,
    covariates: Sequence[str] = (),
    per: float = 10.0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Association of a group-level moderator with the outcome among intervention participants.

    Parameters
    ----------
    data
        Intervention-arm participants only (one row each), with their group's fidelity.
    outcome, moderator, cluster, baseline, covariates
        Column names; ``moderator`` is e.g. the group's mean adherence in %.
    per
        Report the slope per this many units of the moderator (default: per 10 points of
        adherence).
    ci
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row: ``estimate`` (difference in adjusted outcome per ``per`` units of the
        moderator), ``se``, ``ci_low``, ``ci_high``, ``p``, ``n``, ``n_clusters``, ``per``.

    Notes
    -----
    OLS of outcome on moderator + baseline + covariates with cluster-robust (CR1) standard
    errors by group, because fidelity varies only between groups. Exploratory and
    non-randomised: fidelity is not allocated, so an association is not a causal moderation.
    """
    import statsmodels.api as sm

    require_columns(data, [outcome, moderator, cluster, baseline, *covariates])
    frame = data.dropna(subset=[outcome, moderator, cluster] + ([baseline] if baseline else []))
    n_clusters = int(frame[cluster].nunique())
    if n_clusters < 3:
        raise ValueError(
            f"{outcome}: fidelity moderation needs at least 3 groups with fidelity ratings and "
            f"outcomes, found {n_clusters}"
        )
    if frame[moderator].nunique() < 2:
        raise ValueError(f"{outcome}: {moderator} does not vary between groups")
    X = trial_design(frame, (frame[moderator].astype(float) / per).rename("moderator"), baseline, covariates)
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise ValueError(f"{outcome}: {moderator} is collinear with the covariates (too few groups per site)")
    codes = pd.factorize(frame[cluster])[0]
    fit = sm.OLS(frame[outcome].astype(float), X).fit(cov_type="cluster", cov_kwds={"groups": codes})
    # Cluster-robust inference: t with (clusters − 1) degrees of freedom.
    row = result_row(float(fit.params["moderator"]), float(fit.bse["moderator"]), n_clusters - 1, ci)
    return pd.DataFrame(
        [{**row, "n": int(len(frame)), "n_clusters": n_clusters, "per": per}],
        columns=MODERATION_COLUMNS,
    )

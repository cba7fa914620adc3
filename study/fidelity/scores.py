"""Fidelity scores, pure pandas: adherence and competence per observation, classification,
and summaries per group, leader pair, site and week (drift).

Adherence of one observed session = Σ weight × points / Σ weight × 2 over the components the
observer found applicable, in percent (0–100). Competence = mean of the competence ratings
(1–5). A session scored by two observers (double coding) counts once in the summaries: its
observers' scores are averaged first, so double coding does not give a session more weight.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from study.config.fidelity import FidelityThresholds

__all__ = [
    "CLASSES",
    "adherence",
    "classify",
    "competence",
    "drift_slopes",
    "session_means",
    "summarise",
]

#: Classification labels, best first.
CLASSES: tuple[str, ...] = ("high", "moderate", "low")
MAX_POINTS = 2


def adherence(
    ratings: pd.DataFrame,
    observation: str = "observation",
    score: str = "score",
    weight: str = "weight",
) -> pd.DataFrame:
    """Weighted adherence per observation.

    Parameters
    ----------
    ratings
        Long format: one row per observation × component; ``score`` 2 (fully), 1
        (partially), 0 (not) or missing (not applicable); ``weight`` > 0 from the manual.
    observation, score, weight
        Column names.

    Returns
    -------
    pandas.DataFrame
        One row per observation:

        - ``observation``;
        - ``points``: Σ weight × score over applicable components;
        - ``max_points``: Σ weight × 2 over applicable components;
        - ``n_applicable``, ``n_not_applicable``: component counts;
        - ``adherence_pct``: 100 × points / max_points (``nan`` when nothing was applicable).

    Examples
    --------
    >>> r = pd.DataFrame({"observation": [1, 1, 1], "score": [2, 1, None], "weight": [2, 1, 1]})
    >>> adherence(r)["adherence_pct"].round(1).tolist()
    [83.3]
    """
    for col in (observation, score, weight):
        if col not in ratings.columns:
            raise ValueError(f"column {col!r} not in ratings")
    scores = pd.to_numeric(ratings[score], errors="coerce")
    bad = scores.notna() & ~scores.isin([0, 1, 2])
    if bad.any():
        raise ValueError(f"component scores must be 0, 1, 2 or missing; found {scores[bad].iloc[0]}")
    weights = pd.to_numeric(ratings[weight], errors="coerce")
    if weights.isna().any() or (weights <= 0).any():
        raise ValueError("every component needs a positive weight")
    applicable = scores.notna()
    frame = pd.DataFrame(
        {
            "observation": ratings[observation],
            "points": (weights * scores).where(applicable, 0.0),
            "max_points": (weights * MAX_POINTS).where(applicable, 0.0),
            "n_applicable": applicable.astype(int),
            "n_not_applicable": (~applicable).astype(int),
        }
    )
    out = frame.groupby("observation", sort=True).sum().reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * out["points"] / out["max_points"]
    out["adherence_pct"] = pct.where(out["max_points"] > 0)
    return out


def competence(ratings: pd.DataFrame, observation: str = "observation", score: str = "score") -> pd.DataFrame:
    """Mean competence rating per observation: ``observation, n_items, competence``.

    Examples
    --------
    >>> competence(pd.DataFrame({"observation": [1, 1], "score": [4, 5]}))["competence"].tolist()
    [4.5]
    """
    for col in (observation, score):
        if col not in ratings.columns:
            raise ValueError(f"column {col!r} not in ratings")
    grouped = ratings.assign(_s=pd.to_numeric(ratings[score], errors="coerce")).groupby(
        observation, sort=True
    )["_s"]
    return (
        pd.DataFrame({"n_items": grouped.count(), "competence": grouped.mean()})
        .reset_index()
        .rename(columns={observation: "observation"})
    )


def classify(pct: pd.Series | float, thresholds: FidelityThresholds | None = None) -> pd.Series:
    """Classify adherence percentages: ``high`` (≥ high), ``moderate`` (≥ moderate), ``low``.

    Missing percentages stay missing. Defaults: high ≥ 80 %, moderate 50–79 %, low < 50 %.

    Examples
    --------
    >>> classify(pd.Series([80, 79.9, 50, 49.9, None])).tolist()
    ['high', 'moderate', 'moderate', 'low', None]
    """
    t = thresholds or FidelityThresholds()
    pct = pd.Series(pct, dtype=float) if not isinstance(pct, pd.Series) else pct.astype(float)
    labels = np.select([pct >= t.high, pct >= t.moderate, pct.notna()], list(CLASSES), default="")
    return pd.Series(labels, index=pct.index, dtype=object).replace("", None)


def session_means(scores: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Average the observers of each session: one row per ``keys`` (e.g. group, week) with
    ``n_observers, adherence_pct, competence`` (means over that session's observers)."""
    return (
        scores.groupby(keys, sort=True)
        .agg(
            n_observers=("adherence_pct", "size"),
            adherence_pct=("adherence_pct", "mean"),
            competence=("competence", "mean"),
        )
        .reset_index()
    )


def summarise(
    scores: pd.DataFrame,
    by: list[str],
    thresholds: FidelityThresholds | None = None,
    session_keys: tuple[str, ...] = ("group", "week"),
) -> pd.DataFrame:
    """Fidelity per ``by`` (e.g. ``["group"]``, ``["site"]``, ``["leader_pair"]``).

    Parameters
    ----------
    scores
        One row per observation with the ``by`` columns, the session keys (``group``,
        ``week``), ``adherence_pct`` and ``competence``.
    by
        Grouping columns of the summary.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns and ``n_observations``, ``n_sessions`` (distinct sessions
        observed), ``mean_adherence_pct``, ``min_adherence_pct``, ``mean_competence`` (means
        over sessions, observers averaged first) and ``classification`` of the mean.
    """
    keys = list(dict.fromkeys([*by, *session_keys]))
    if scores.empty:
        return pd.DataFrame(
            columns=[
                *by,
                "n_observations",
                "n_sessions",
                "mean_adherence_pct",
                "min_adherence_pct",
                "mean_competence",
                "classification",
            ]
        )
    sessions = session_means(scores, keys)
    out = (
        sessions.groupby(by, sort=True)
        .agg(
            n_observations=("n_observers", "sum"),
            n_sessions=("n_observers", "size"),
            mean_adherence_pct=("adherence_pct", "mean"),
            min_adherence_pct=("adherence_pct", "min"),
            mean_competence=("competence", "mean"),
        )
        .reset_index()
    )
    out["classification"] = classify(out["mean_adherence_pct"], thresholds)
    return out


def drift_slopes(scores: pd.DataFrame, by: str = "group", week: str = "week") -> pd.DataFrame:
    """Least-squares slope of session adherence over the weeks, per ``by``.

    Returns ``by, drift_pct_per_week`` (percentage points per week; negative = drifting away
    from the manual), ``nan`` where fewer than two different weeks were observed.

    Examples
    --------
    >>> s = pd.DataFrame({"group": ["A"] * 3, "week": [1, 2, 3],
    ...                   "adherence_pct": [90.0, 80.0, 70.0], "competence": [4, 4, 4]})
    >>> drift_slopes(s)["drift_pct_per_week"].round(6).tolist()
    [-10.0]
    """
    if scores.empty:
        return pd.DataFrame(columns=[by, "drift_pct_per_week"])
    sessions = session_means(scores, [by, week])
    x = sessions[week].astype(float)
    y = sessions["adherence_pct"].astype(float)
    ok = y.notna()
    # slope = cov(x, y) / var(x) per group, vectorised through group means
    d = pd.DataFrame({by: sessions[by], "x": x, "y": y})[ok]
    d["xm"] = d.groupby(by)["x"].transform("mean")
    d["ym"] = d.groupby(by)["y"].transform("mean")
    d["sxy"] = (d["x"] - d["xm"]) * (d["y"] - d["ym"])
    d["sxx"] = (d["x"] - d["xm"]) ** 2
    sums = d.groupby(by, sort=True)[["sxy", "sxx"]].sum()
    slope = (sums["sxy"] / sums["sxx"]).where(sums["sxx"] > 0)
    return slope.rename("drift_pct_per_week").reset_index()

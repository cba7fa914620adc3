"""Balance of allocations: counts per arm and imbalance overall, per stratum and per factor
level (what minimisation balances, and what a DSMB looks at)."""

from __future__ import annotations

__all__ = ["balance_table", "final_imbalance"]

from collections.abc import Mapping, Sequence

import pandas as pd


def balance_table(
    allocations: pd.DataFrame,
    factors: Sequence[str],
    ratios: Mapping[str, int],
    arm: str = "arm",
    stratum: str = "stratum",
) -> pd.DataFrame:
    """Counts per arm and imbalance overall, per stratum and per factor level.

    Parameters
    ----------
    allocations
        One row per allocated participant with columns ``arm``, ``stratum`` and one column per
        factor in ``factors`` (``site`` and the configured factors).
    factors
        Factor columns to report marginally.
    ratios
        Arm code → ratio share; arms absent from the data are reported with 0.

    Returns
    -------
    DataFrame
        One row per (factor, level), first ``all``, then ``stratum``, then each factor:

        * ``factor`` – ``all``, ``stratum`` or the factor name;
        * ``level`` – the stratum key or the factor level (``all`` for the overall row);
        * one column per arm code – participants allocated to it;
        * ``total`` – all participants of the row;
        * ``imbalance`` – max − min over arms of count ÷ ratio share (for 1:1, the absolute
          difference between the arms).
    """
    missing = [c for c in [arm, stratum, *factors] if c not in allocations.columns]
    if missing:
        raise ValueError(f"allocations lack column(s) {', '.join(missing)}")
    unknown = sorted(set(allocations[arm]) - set(ratios))
    if unknown:
        raise ValueError(f"unknown arm(s) {', '.join(map(str, unknown))}")
    arms = list(ratios)
    frames = [allocations.assign(_factor="all", _level="all")]
    frames.append(allocations.assign(_factor="stratum", _level=allocations[stratum].astype(str)))
    frames += [allocations.assign(_factor=f, _level=allocations[f].astype(str)) for f in factors]
    long = pd.concat(frames, ignore_index=True)
    order = {name: i for i, name in enumerate(["all", "stratum", *factors])}
    wide = (
        pd.crosstab([long["_factor"], long["_level"]], long[arm])
        .reindex(columns=arms, fill_value=0)
        .rename_axis(index=["factor", "level"], columns=None)
        .reset_index()
    )
    if wide.empty:
        wide = pd.DataFrame([["all", "all", *[0] * len(arms)]], columns=["factor", "level", *arms])
    scaled = wide[arms] / pd.Series(ratios)[arms]
    wide["total"] = wide[arms].sum(axis=1)
    wide["imbalance"] = scaled.max(axis=1) - scaled.min(axis=1)
    wide = wide.sort_values(["factor", "level"], key=lambda s: s.map(order) if s.name == "factor" else s)
    return wide.reset_index(drop=True)


def final_imbalance(arms: pd.Series, ratios: Mapping[str, int]) -> float:
    """max − min over arms of count ÷ ratio share for one set of allocations."""
    counts = arms.value_counts().reindex(list(ratios), fill_value=0)
    scaled = counts / pd.Series(ratios)[counts.index]
    return float(scaled.max() - scaled.min())

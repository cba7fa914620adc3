"""Adjustment of p-values for multiple secondary outcomes (Holm 1979)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["holm"]


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given (NaN stays NaN).

    p_(i) adjusted = max over j ≤ i of min(1, (m − j + 1) · p_(j)) for the sorted p-values,
    m = number of non-missing p-values. Controls the family-wise error rate under any
    dependence. Checked against ``statsmodels.stats.multitest.multipletests(method="holm")``.

    References
    ----------
    Holm S. A simple sequentially rejective multiple test procedure. Scand J Stat
    1979;6:65–70.
    """
    p = np.asarray(pvalues, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie between 0 and 1")
    out = np.full_like(p, np.nan)
    observed = ~np.isnan(p)
    m = int(observed.sum())
    if m == 0:
        return out
    order = np.argsort(p[observed])
    ranked = p[observed][order] * (m - np.arange(m))
    adjusted = np.minimum(1.0, np.maximum.accumulate(ranked))
    values = np.empty(m)
    values[order] = adjusted
    out[observed] = values
    return out

"""Design matrices for the trial models: treatment indicator, baseline and covariates.

The analysis functions accept arbitrary column names (``qpr15.total`` has a dot, which a
formula would misread), so they build their numeric design here rather than through patsy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["covariate_matrix", "require_columns", "treatment_indicator"]


def require_columns(data: pd.DataFrame, columns: Sequence[str | None]) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` missing from ``data``."""
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise ValueError(f"column(s) not in the data: {', '.join(missing)}")


def treatment_indicator(
    arms: pd.Series, treatment: str, control: str
) -> pd.Series:
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

"""Table 1: baseline characteristics by arm."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["table_one"]


def table_one(
    dataset: pd.DataFrame,
    baseline: str,
    arms: Sequence[str],
    categorical: Sequence[str] = ("site",),
    continuous: Sequence[str] = ("age",),
    decimals: int = 1,
) -> pd.DataFrame:
    """Baseline characteristics per arm and overall, as CONSORT item 15 asks (no p-values:
    differences at baseline in a randomised trial are chance by construction).

    Parameters
    ----------
    dataset
        The analysis dataset (rows at ``baseline`` are used).
    arms
        Arm codes as displayed, in column order.
    categorical
        Columns summarised as n (%) per level, % of the arm's participants with a value.
    continuous
        Columns summarised as mean (SD) and the number observed.

    Returns
    -------
    pandas.DataFrame
        ``characteristic``, ``level`` and one column per arm plus ``Overall`` holding formatted
        text (``"52 (48.1 %)"``, ``"38.2 (11.9)"``); the first row gives the N per column.
    """
    base = dataset[dataset["timepoint"] == baseline]
    groups = {arm: base[base["arm"] == arm] for arm in arms}
    groups["Overall"] = base[base["arm"].isin(arms)]
    rows = [{"characteristic": "Participants", "level": "N", **{k: str(len(g)) for k, g in groups.items()}}]
    for column in categorical:
        if column not in base:
            continue
        levels = sorted(base[column].dropna().astype(str).unique())
        for level in levels:
            row = {"characteristic": column, "level": level}
            for key, g in groups.items():
                observed = g[column].notna().sum()
                n = int((g[column].astype(str) == level).sum())
                row[key] = f"{n} ({100 * n / observed:.{decimals}f} %)" if observed else "–"
            rows.append(row)
    for column in continuous:
        if column not in base:
            continue
        row = {"characteristic": column, "level": "mean (SD)"}
        for key, g in groups.items():
            values = pd.to_numeric(g[column], errors="coerce").dropna()
            row[key] = (
                f"{values.mean():.{decimals}f} ({values.std(ddof=1):.{decimals}f}); n = {len(values)}"
                if len(values) > 1 else "–"
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=["characteristic", "level", *groups])

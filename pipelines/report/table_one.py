"""Table 1: baseline characteristics by arm."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dashboards.i18n import catalogue, translate
from dashboards.i18n.formats import format_number

__all__ = ["table_one"]


def table_one(
    dataset: pd.DataFrame,
    baseline: str,
    arms: Sequence[str],
    categorical: Sequence[str] = ("site",),
    continuous: Sequence[str] = ("age",),
    decimals: int = 1,
    language: str = "en",
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
    language
        Words and decimal mark of the text (``en``; ``da``: "Deltagere", "Samlet",
        ``48,1 %``, characteristic names from the catalogue's ``column.<name>``).

    Returns
    -------
    pandas.DataFrame
        ``characteristic``, ``level`` and one column per arm plus ``Overall`` holding formatted
        text (``"52 (48.1 %)"``, ``"38.2 (11.9)"``); the first row gives the N per column.
    """
    words = catalogue(language)

    def num(value: float) -> str:
        return format_number(value, decimals, language)

    def name(column: str) -> str:
        # English keeps the dataset's column names (a long-standing contract of the report).
        return column if language == "en" else words.get(f"column.{column}", column)

    base = dataset[dataset["timepoint"] == baseline]
    groups = {arm: base[base["arm"] == arm] for arm in arms}
    groups[translate("report.overall", language)] = base[base["arm"].isin(arms)]
    rows = [
        {
            "characteristic": translate("report.participants", language),
            "level": "N",
            **{k: str(len(g)) for k, g in groups.items()},
        }
    ]
    for column in categorical:
        if column not in base:
            continue
        levels = sorted(base[column].dropna().astype(str).unique())
        for level in levels:
            row = {"characteristic": name(column), "level": level}
            for key, g in groups.items():
                observed = g[column].notna().sum()
                n = int((g[column].astype(str) == level).sum())
                row[key] = f"{n} ({num(100 * n / observed)} %)" if observed else "–"
            rows.append(row)
    for column in continuous:
        if column not in base:
            continue
        row = {"characteristic": name(column), "level": translate("report.mean_sd", language)}
        for key, g in groups.items():
            values = pd.to_numeric(g[column], errors="coerce").dropna()
            row[key] = (
                f"{num(values.mean())} ({num(values.std(ddof=1))}); n = {len(values)}"
                if len(values) > 1
                else "–"
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=["characteristic", "level", *groups])

"""Uploaded allocation tables (REDCap style): one row per slot, stratum values and the arm.

The file has a column ``site``, one column per configured stratification factor and a column
``arm`` (REDCap's ``redcap_randomization_group`` is accepted as a synonym). Within a stratum,
slots are used in file order. Validation is pure: a DataFrame in, the slots or every problem
out.
"""

from __future__ import annotations

__all__ = ["TABLE_SLOT_COLUMNS", "table_slots"]

from collections.abc import Sequence

import pandas as pd

from study.errors import RowErrors, RowProblem
from study.randomisation.strata import STRATUM_SEPARATOR

#: Columns of :func:`table_slots`' result.
TABLE_SLOT_COLUMNS = ["stratum", "position", "arm"]
_ARM_SYNONYMS = ("arm", "redcap_randomization_group")


def table_slots(
    table: pd.DataFrame,
    sites: Sequence[str],
    factors: Sequence[str],
    arms: Sequence[str],
    source: str = "allocation table",
) -> pd.DataFrame:
    """Validate an allocation table and number its slots per stratum.

    Parameters
    ----------
    table
        The file as read with every column as text (``dtype=str, keep_default_na=False``).
    sites, factors, arms
        Site codes, stratification factors and arm codes of the study.

    Returns
    -------
    DataFrame
        * ``stratum`` – stratum key (``CPH|female``);
        * ``position`` – 1-based slot within the stratum, in file order;
        * ``arm`` – arm code.

    Raises
    ------
    RowErrors
        Every bad cell (row numbers as in the file: the header is row 1).
    """
    arm_column = next((c for c in _ARM_SYNONYMS if c in table.columns), None)
    needed = ["site", *factors]
    problems = [
        RowProblem(1, col, "", "required column is missing")
        for col in needed + ([] if arm_column else ["arm"])
        if col not in table.columns
    ]
    if problems:
        raise RowErrors(source, problems)
    # cannot be None here: a missing arm column was reported as a problem just above
    assert arm_column is not None
    if table.empty:
        raise RowErrors(source, [RowProblem(1, "arm", "", "the table has no slots")])
    data = table[needed + [arm_column]].astype(str).apply(lambda s: s.str.strip())
    row = pd.Series(range(2, len(data) + 2), index=data.index)
    checks = [("site", ~data["site"].isin(list(sites)), f"not a site ({', '.join(sites)})")]
    checks.append((arm_column, ~data[arm_column].isin(list(arms)), f"not an arm ({', '.join(arms)})"))
    for col in needed:
        checks.append((col, data[col] == "", "empty"))
        checks.append(
            (col, data[col].str.contains(STRATUM_SEPARATOR, regex=False), f"contains {STRATUM_SEPARATOR!r}")
        )
    for col, bad, reason in checks:
        problems += [RowProblem(int(row[i]), col, data.at[i, col], reason) for i in data.index[bad]]
    if problems:
        raise RowErrors(source, sorted(problems, key=lambda p: (p.row, p.column)))
    stratum = data[needed].agg(STRATUM_SEPARATOR.join, axis=1)
    return pd.DataFrame(
        {
            "stratum": stratum.to_numpy(),
            "position": (stratum.groupby(stratum).cumcount() + 1).to_numpy(),
            "arm": data[arm_column].to_numpy(),
        },
        columns=TABLE_SLOT_COLUMNS,
    )

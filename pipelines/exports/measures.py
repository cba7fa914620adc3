"""Measurement levels of exported variables, as SPSS (and PSPP) record them.

SPSS treats a variable by its measurement level: scores, ages, dose and dates are *scale*
(means, regressions), codes are *nominal* (site, arm, group, yes/no) or *ordinal* (ordered
codes: timepoints, the fidelity class, the answers to a questionnaire item). Written without
levels, every variable opens as Nominal. Stata files carry no such attribute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

import pandas as pd

__all__ = ["MEASURES", "ORDINAL_CODES", "measure_levels"]

#: The levels SPSS knows (``pyreadstat.write_sav(variable_measure=...)``).
MEASURES = ("nominal", "ordinal", "scale")
#: Coded variables whose codes are ordered (baseline < post < follow-up; low < moderate < high).
ORDINAL_CODES = frozenset({"timepoint", "group_fidelity_class"})


def _is_item(column: str, instruments: Collection[str]) -> bool:
    """``<instrument>_<item>``: an item answer (instrument ids may hold underscores)."""
    return any(column.startswith(f"{inst}_") and len(column) > len(inst) + 1 for inst in instruments)


def measure_levels(
    frame: pd.DataFrame, coded: Mapping[str, object], instruments: Collection[str] = ()
) -> dict[str, str]:
    """The measurement level of each column of an export (by its original name).

    Parameters
    ----------
    frame
        The table as exported (original column names: scores ``<instrument>.<scale>``,
        items ``<instrument>_<item>``).
    coded
        The columns written as integer codes with value labels (arm, site, timepoint, ...).
    instruments
        Instrument ids, to recognise item columns.

    Returns
    -------
    dict
        Column → ``nominal``, ``ordinal`` or ``scale``:

        - codes: ``ordinal`` for :data:`ORDINAL_CODES`, else ``nominal``; booleans ``nominal``
        - item answers (``who5_3``): ``ordinal`` (a response scale; missing codes are
          declared user-missing separately)
        - scores (``qpr15.total``), other numbers (age, dose, hours) and dates: ``scale``
        - text (pseudonym, group code) and empty columns: ``nominal`` (SPSS allows only
          nominal or ordinal for strings)

    Examples
    --------
    >>> df = pd.DataFrame({"site": ["CPH"], "age": [40], "qpr15.total": [31.0], "who5_1": [3.0],
    ...                    "timepoint": ["post"], "allocated_on": [dt.date(2026, 1, 5)]})
    >>> measure_levels(df, coded={"site": {}, "timepoint": {}}, instruments=["who5", "qpr15"])
    {'site': 'nominal', 'age': 'scale', 'qpr15.total': 'scale', 'who5_1': 'ordinal', 'timepoint': 'ordinal', 'allocated_on': 'scale'}
    """
    levels: dict[str, str] = {}
    for column in frame.columns:
        series = frame[column]
        values = series.dropna()
        if column in coded:
            levels[column] = "ordinal" if column in ORDINAL_CODES else "nominal"
        elif pd.api.types.is_bool_dtype(series):
            levels[column] = "nominal"
        elif pd.api.types.is_numeric_dtype(series):
            levels[column] = "ordinal" if _is_item(column, instruments) and "." not in column else "scale"
        elif len(values) and (
            pd.api.types.is_datetime64_any_dtype(series) or values.map(lambda v: isinstance(v, dt.date)).all()
        ):
            levels[column] = "scale"
        else:
            levels[column] = "nominal"
    return levels

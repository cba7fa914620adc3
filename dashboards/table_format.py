"""Tables formatted for people: labelled headers, fixed decimals per kind of column,
percentages with %, p values as ``<0.001``, and empty cells instead of ``None``.

Pure pandas (no Streamlit): the page shows :func:`format_table` of a query's frame and offers
the raw frame as the CSV download, so numbers stay numbers for whoever analyses them.
Headers come from the catalogue (``column.<name>``), else the snake_case name made readable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["column_kind", "format_number", "format_p", "format_table", "readable_name"]

#: Decimals per kind of numeric column.
DECIMALS = {"percent": 1, "score": 2, "count": 0}


def readable_name(name: str) -> str:
    """``mean_adherence_pct`` → ``Mean adherence pct``: the fallback header of a column."""
    text = name.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def column_kind(name: str, series: pd.Series) -> str:
    """How a column is shown: ``p`` (p values), ``percent`` (``*_pct``, ``percent``),
    ``count`` (whole numbers), ``score`` (other numbers), ``bool`` or ``text``."""
    if name == "p" or name.startswith("p_") or name.endswith("_p"):
        return "p"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if not pd.api.types.is_numeric_dtype(series):
        return "text"
    if name.endswith("_pct") or name in ("percent", "pct"):
        return "percent"
    values = series.dropna().to_numpy(dtype=float)
    if pd.api.types.is_integer_dtype(series) or (len(values) and np.all(values == np.round(values))):
        return "count"
    return "score"


def format_number(value: object, decimals: int, language: str = "en") -> str:
    """A number with fixed ``decimals`` (decimal comma in Danish); empty for a missing value.

    >>> format_number(80.04, 1, "da"), format_number(None, 1), format_number(1234.5, 0)
    ('80,0', '', '1234')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = f"{float(value):.{decimals}f}"
    return text.replace(".", ",") if language == "da" else text


def format_p(value: object, language: str = "en") -> str:
    """A p value as journals print it: ``<0.001`` below 0.001, else three decimals.

    >>> format_p(0.00002), format_p(0.0312), format_p(0.0312, "da"), format_p(float("nan"))
    ('<0.001', '0.031', '0,031', '')
    """
    text = format_number(value, 3, language)
    if text and float(value) < 0.001:
        return "<0,001" if language == "da" else "<0.001"
    return text


def format_table(
    frame: pd.DataFrame,
    language: str = "en",
    label: Optional[Callable[[str], Optional[str]]] = None,
    yes_no: tuple[str, str] = ("yes", "no"),
) -> pd.DataFrame:
    """A copy of ``frame`` for display: every cell a string, headers labelled.

    Parameters
    ----------
    frame
        A query's result (raw values, snake_case columns).
    language
        ``en`` or ``da`` (decimal comma).
    label
        Column name → header (e.g. the catalogue's ``column.<name>``), ``None`` for
        "no label": then :func:`readable_name`.
    yes_no
        How booleans read.

    Returns
    -------
    pandas.DataFrame
        The same rows; percentages with one decimal and `` %``, p values via
        :func:`format_p`, whole numbers without decimals, other numbers with two;
        ``None``/NaN as an empty cell.

    Examples
    --------
    >>> df = pd.DataFrame({"group": ["CPH-R01", None], "mean_adherence_pct": [80.04, None],
    ...                    "mean_competence": [2.3456, 3.0], "flagged": [True, False]})
    >>> format_table(df, "da").to_dict("list")
    {'Group': ['CPH-R01', ''], 'Mean adherence pct': ['80,0 %', ''], 'Mean competence': ['2,35', '3,00'], 'Flagged': ['yes', 'no']}
    """
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        series = frame[name]
        kind = column_kind(name, series)
        if kind == "p":
            shown = series.map(lambda v: format_p(v, language))
        elif kind == "percent":
            shown = series.map(lambda v: (lambda s: f"{s} %" if s else "")(format_number(v, 1, language)))
        elif kind in DECIMALS:
            shown = series.map(lambda v, d=DECIMALS[kind]: format_number(v, d, language))
        elif kind == "bool":
            shown = series.map(lambda v: "" if pd.isna(v) else (yes_no[0] if v else yes_no[1]))
        else:
            shown = series.astype(object).where(series.notna(), "").astype(str)
        header = (label(name) if label else None) or readable_name(name)
        out[header] = shown.to_numpy(dtype=object)
    return out

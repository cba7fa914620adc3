"""Tables formatted for people: labelled headers, fixed decimals per kind of column,
percentages with %, p values as ``<0.001``, dates as ``5. mar. 2025`` in Danish, codes in
words, and empty cells instead of ``None``.

Pure pandas (no Streamlit): the page shows :func:`format_table` of a query's frame and offers
the raw frame as the CSV download, so numbers stay numbers for whoever analyses them.
Headers come from the catalogue (``column.<name>``), else the snake_case name made readable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from dashboards.i18n.formats import format_date, format_datetime, format_number, format_p, format_percent

__all__ = [
    "NUMERIC_KINDS",
    "by_value",
    "column_kind",
    "format_number",
    "format_p",
    "format_table",
    "numeric_columns",
    "readable_name",
]

#: Decimals per kind of numeric column.
DECIMALS = {"percent": 1, "score": 2, "count": 0}
#: Kinds of column (:func:`column_kind`) that hold numbers: shown right-aligned, so that
#: digits line up, although :func:`format_table` makes them text.
NUMERIC_KINDS = frozenset({"p", "percent", "count", "score"})


def readable_name(name: str) -> str:
    """``mean_adherence_pct`` → ``Mean adherence pct``: the fallback header of a column."""
    text = name.replace("_", " ").replace(".", " ").strip()
    return text[:1].upper() + text[1:]


def column_kind(name: str, series: pd.Series) -> str:
    """How a column is shown: ``p`` (p values), ``percent`` (``*_pct``, ``*_percent``,
    ``percent_*``, ``percent``), ``count`` (whole numbers), ``score`` (other numbers), ``bool``, ``date``,
    ``datetime`` or ``text``."""
    if name == "p" or name.startswith("p_") or name.endswith("_p"):
        return "p"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if not pd.api.types.is_numeric_dtype(series):
        present = series.dropna()
        first = present.iloc[0] if len(present) else None
        if isinstance(first, (dt.datetime, pd.Timestamp)):
            return "datetime"
        if isinstance(first, dt.date):
            return "date"
        if (
            isinstance(first, (bool, np.bool_))
            and present.map(lambda v: isinstance(v, (bool, np.bool_))).all()
        ):
            return "bool"
        return "text"
    if (
        name.endswith("_pct")
        or name.endswith("_percent")
        or name.startswith("percent_")
        or name in ("percent", "pct")
    ):
        return "percent"
    values = series.dropna().to_numpy(dtype=float)
    if pd.api.types.is_integer_dtype(series) or (len(values) and np.all(values == np.round(values))):
        return "count"
    return "score"


def numeric_columns(frame: pd.DataFrame) -> list[bool]:
    """For each column of ``frame`` (in order), whether it holds numbers (:data:`NUMERIC_KINDS`).

    Examples
    --------
    >>> numeric_columns(pd.DataFrame({"group": ["A"], "n": [3], "mean": [2.5], "p": [0.04]}))
    [False, True, True, True]
    """
    return [column_kind(name, frame[name]) in NUMERIC_KINDS for name in frame.columns]


def format_table(
    frame: pd.DataFrame,
    language: str = "en",
    label: Callable[[str], str | None] | None = None,
    yes_no: tuple[str, str] = ("yes", "no"),
    code: Callable[[str, str], str | None] | None = None,
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
    code
        (column name, value) → the value in words (e.g. the catalogue's
        ``code.<column>.<value>``: ``baseline`` → ``Baseline``), ``None`` to show the value
        as it is (pseudonyms, group codes).

    Returns
    -------
    pandas.DataFrame
        The same rows; percentages with one decimal and `` %``, p values via
        :func:`format_p`, whole numbers without decimals, other numbers with two, dates via
        :func:`dashboards.i18n.formats.format_date`; ``None``/NaN as an empty cell.

    Examples
    --------
    >>> df = pd.DataFrame({"group": ["CPH-R01", None], "mean_adherence_pct": [80.04, None],
    ...                    "mean_competence": [2.3456, 3.0], "flagged": [True, False]})
    >>> format_table(df, "da").to_dict("list")
    {'Group': ['CPH-R01', ''], 'Mean adherence pct': ['80,0 %', ''], 'Mean competence': ['2,35', '3,00'], 'Flagged': ['yes', 'no']}
    """
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        header = (label(name) if label else None) or readable_name(name)
        out[header] = _shown(frame[name], name, language, yes_no, code)
    return out


def _shown(
    series: pd.Series,
    name: str,
    language: str,
    yes_no: tuple[str, str],
    code: Callable[[str, str], str | None] | None,
) -> np.ndarray:
    """One column of :func:`format_table`: its cells as text, by its :func:`column_kind`."""
    kind = column_kind(name, series)
    if kind == "p":
        return by_value(series, lambda v: format_p(v, language))
    if kind == "percent":
        return by_value(series, lambda v: format_percent(v, 1, language))
    if kind == "date":
        return by_value(series, lambda v: format_date(v, language))
    if kind == "datetime":
        return by_value(series, lambda v: format_datetime(v, language))
    if kind in DECIMALS:
        return by_value(series, lambda v: format_number(v, DECIMALS[kind], language))
    if kind == "bool":
        return by_value(series, lambda v: "" if pd.isna(v) else (yes_no[0] if v else yes_no[1]))
    text = series.astype(object).where(series.notna(), "").astype(str)
    if code is None:
        return text.to_numpy(dtype=object)
    return by_value(text, lambda v: (code(name, str(v)) if v else None) or str(v))


def by_value(series: pd.Series, show: Callable[[object], str]) -> np.ndarray:
    """``show`` of every cell of ``series`` as an object array, calling ``show`` once per
    distinct value (and once for the missing ones) rather than once per row.

    A column of a big table holds few distinct values (codes, dates, counts), so a table of
    10,000 people formats in a few hundred calls: the dashboard formats its tables on every
    page run. Values pandas cannot tell apart by hashing (lists, dicts) are shown one by one.

    Examples
    --------
    >>> by_value(pd.Series([1.0, None, 1.0]), lambda v: "empty" if pd.isna(v) else f"{v:g}").tolist()
    ['1', 'empty', '1']
    """
    try:
        codes, distinct = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable cells
        return series.map(show).to_numpy(dtype=object)
    missing = series[codes == -1].iloc[0] if (codes == -1).any() else None
    # The missing value's text goes last, where code -1 points.
    texts = np.array([*(show(value) for value in distinct), show(missing)], dtype=object)
    return texts[codes]

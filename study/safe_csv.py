"""Writing CSV files that a spreadsheet opens without running anything in them.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd``): an
imported note or pseudonym could run a command or leak data when a researcher opens an
export. Following the OWASP advice on CSV injection, such a text cell is written with a
leading single quote (``'=HYPERLINK(...)``), which spreadsheets show as text. Numbers stay
numbers: numeric columns and text cells holding a plain number (``-9``, ``-0.5``) are written
unchanged. Every CSV peerstudy writes (exports, dashboard downloads, templates, scores,
analysis tables) goes through :func:`to_csv`.

References
----------
OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, overload

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise_cell", "neutralise_formulas", "to_csv"]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula;
    anything else (numbers, dates, ``None``, plain numbers written as text) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as formulas (numeric columns untouched).

    Parameters
    ----------
    frame
        Any table about to be written as CSV.

    Returns
    -------
    DataFrame
        Same shape, index and dtypes; text cells of object and string columns passed through
        :func:`neutralise_cell`.
    """
    out = frame.copy()
    for column in out.columns[[isinstance(dtype, pd.CategoricalDtype) for dtype in out.dtypes]]:
        out[column] = out[column].cat.rename_categories(neutralise_cell)
    for column in out.columns[
        [pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype) for dtype in out.dtypes]
    ]:
        values = out[column]
        risky = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if risky.any():
            out[column] = values.where(~risky, values[risky].map(neutralise_cell))
    return out


@overload
def to_csv(frame: pd.DataFrame, path: None = None, **kwargs: Any) -> str: ...
@overload
def to_csv(frame: pd.DataFrame, path: str | Path, **kwargs: Any) -> None: ...
def to_csv(frame: pd.DataFrame, path: str | Path | None = None, **kwargs: Any) -> str | None:
    """:meth:`pandas.DataFrame.to_csv` of :func:`neutralise_formulas` (``index=False`` unless
    given); returns the text when ``path`` is ``None``."""
    kwargs.setdefault("index", False)
    return neutralise_formulas(frame).to_csv(path, **kwargs)

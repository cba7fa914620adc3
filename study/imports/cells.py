"""Strict parsing of dates and whole numbers written in CSV cells.

Python and pandas accept far more than a person means to write: ``dt.date.fromisoformat``
takes ``20251020`` and ``2025-W43-1``, ``float`` takes ``1e0``, ``+2`` and ``0_3``, and
``pd.to_datetime(format="%Y-%m-%d")`` takes ``2026-2-3``. A cell here is a date only when it
has exactly the shape ``YYYY-MM-DD`` (or, when the study's configuration says so, the Danish
``DD-MM-YYYY``) and a whole number only when it is digits with an optional leading ``-``.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

__all__ = ["DATE_FORMATS", "date_hint", "parse_date", "parse_dates", "parse_int", "parse_ints"]

#: Date formats a study may accept (``imports.date_format`` in study.yaml): the pattern of the
#: cell and the ``strptime`` format that reads it.
DATE_FORMATS: dict[str, tuple[tuple[str, str], ...]] = {
    "iso": ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"),),
    "iso_or_danish": ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{2}-\d{2}-\d{4}", "%d-%m-%Y")),
}
_INT = re.compile(r"-?[0-9]+")
_INT_PATTERN = r"-?[0-9]+"


def date_hint(date_format: str = "iso") -> str:
    """The accepted shapes, for messages: ``YYYY-MM-DD`` (or ``YYYY-MM-DD or DD-MM-YYYY``)."""
    return "YYYY-MM-DD" if date_format == "iso" else "YYYY-MM-DD or DD-MM-YYYY"


def parse_date(text: str, date_format: str = "iso") -> dt.date | None:
    """A date written as ``YYYY-MM-DD`` (or ``DD-MM-YYYY`` when ``date_format`` is
    ``iso_or_danish``), else ``None`` (also for impossible dates such as 2025-02-30)."""
    if not isinstance(text, str):
        return None
    for pattern, fmt in DATE_FORMATS[date_format]:
        if re.fullmatch(pattern, text, flags=re.ASCII):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                return None
    return None


def parse_dates(values: pd.Series, date_format: str = "iso") -> pd.Series:
    """Vectorised :func:`parse_date`: ``datetime64`` with ``NaT`` for empty and bad cells."""
    text = values.astype(str)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    for pattern, fmt in DATE_FORMATS[date_format]:
        shaped = text.str.fullmatch(pattern) & out.isna()
        if shaped.any():
            out[shaped] = pd.to_datetime(text[shaped], format=fmt, errors="coerce")
    return out


def parse_int(text: str) -> int | None:
    """A whole number written as digits with an optional leading ``-`` (``03`` is 3), else
    ``None`` (``1e0``, ``+2``, ``3.0``, ``0_3``, ``٣`` are not whole numbers here)."""
    if not isinstance(text, str) or not _INT.fullmatch(text) or len(text) > 18:
        return None
    return int(text)


def parse_ints(values: pd.Series) -> pd.Series:
    """Vectorised :func:`parse_int`: nullable ``Int64`` with ``<NA>`` for empty and bad cells."""
    text = values.astype(str)
    good = text.str.fullmatch(_INT_PATTERN, flags=re.ASCII) & (text.str.len() <= 18)
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    if good.any():
        out[good] = text[good].astype("int64")
    return out

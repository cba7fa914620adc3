"""Numbers, percentages, p values and dates as people read them in English or Danish.

Pure Python (no Streamlit, no OS locale: a server's locale says nothing about its reader), so
the dashboard and the HTML report format alike. Danish follows Dansk Sprognævn's conventions:
decimal comma (``80,0 %``, with a space before the sign as in English here), dates as
``d. MMM yyyy`` with Danish abbreviated month names (``5. mar. 2025``); English dates read
``5 Mar 2025``.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = [
    "MONTHS",
    "format_date",
    "format_datetime",
    "format_number",
    "format_p",
    "format_percent",
]

#: Abbreviated month names, January first (Danish: Retskrivningsordbogen's abbreviations;
#: "maj", "juni" and "juli" are short already and take no full stop).
MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "da": ("jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec."),
}


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def format_number(value: object, decimals: int, language: str = "en") -> str:
    """A number with fixed ``decimals`` (decimal comma in Danish); empty for a missing value.

    >>> format_number(80.04, 1, "da"), format_number(None, 1), format_number(1234.5, 0)
    ('80,0', '', '1234')
    """
    if _missing(value):
        return ""
    text = f"{float(value):.{decimals}f}"  # type: ignore[arg-type]  # a number: missing ones returned above
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # "-0.0" reads as a sign error
    return text.replace(".", ",") if language == "da" else text


def format_percent(value: object, decimals: int = 1, language: str = "en") -> str:
    """A percentage (0–100 scale) with `` %``: ``80,0 %`` in Danish; empty when missing.

    >>> format_percent(80, language="da"), format_percent(12.345), format_percent(None)
    ('80,0 %', '12.3 %', '')
    """
    text = format_number(value, decimals, language)
    return f"{text} %" if text else ""


def format_p(value: object, language: str = "en") -> str:
    """A p value as journals print it: ``<0.001`` below 0.001, else three decimals.

    >>> format_p(0.00002), format_p(0.0312), format_p(0.0312, "da"), format_p(float("nan"))
    ('<0.001', '0.031', '0,031', '')
    """
    if isinstance(value, str):  # formatted already (e.g. "<0.001"): only the decimal mark
        return value.replace(".", ",") if language == "da" else value
    text = format_number(value, 3, language)
    if text and float(value) < 0.001:  # type: ignore[arg-type]  # format_number took it as a number
        return "<0,001" if language == "da" else "<0.001"
    return text


def format_date(value: object, language: str = "en") -> str:
    """A date as ``5 Mar 2025`` (English) or ``5. mar. 2025`` (Danish); empty when missing.

    Accepts ``datetime.date``/``datetime``, pandas timestamps and ISO strings.

    >>> import datetime as dt
    >>> format_date(dt.date(2025, 3, 5), "da"), format_date("2025-05-17", "da"), format_date(None)
    ('5. mar. 2025', '17. maj 2025', '')
    >>> format_date(dt.date(2025, 3, 5))
    '5 Mar 2025'
    """
    if _missing(value):
        return ""
    day = pd.Timestamp(value)
    month = MONTHS.get(language, MONTHS["en"])[day.month - 1]
    if language == "da":
        return f"{day.day}. {month} {day.year}"
    return f"{day.day} {month} {day.year}"


def format_datetime(value: object, language: str = "en") -> str:
    """A moment as its date (:func:`format_date`) and ``HH:MM`` in UTC; empty when missing.

    >>> format_datetime(pd.Timestamp("2026-01-05 14:03:59", tz="UTC"), "da")
    '5. jan. 2026 14:03'
    """
    if _missing(value):
        return ""
    moment = pd.Timestamp(value)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC")
    return f"{format_date(moment, language)} {moment:%H:%M}"

"""Pseudonyms as peerstudy stores them: trimmed and upper-case.

``p0001`` and `` P0001 `` are the person ``P0001``: pseudonyms are compared and stored
case-insensitively, so a typed or spreadsheet-lowered pseudonym never creates a second person.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["normalise_pseudonym", "normalise_pseudonyms"]


def normalise_pseudonym(text: str) -> str:
    """``text`` trimmed and upper-cased (``" p0001 "`` → ``"P0001"``)."""
    return (text or "").strip().upper()


def normalise_pseudonyms(values: pd.Series) -> pd.Series:
    """Vectorised :func:`normalise_pseudonym`."""
    return values.fillna("").astype(str).str.strip().str.upper()

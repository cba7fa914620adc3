"""The guard every export passes: identity fields can never leave the database."""

from __future__ import annotations

import re

import pandas as pd

from study.db.models import PersonIdentity

__all__ = ["IDENTITY_COLUMNS", "require_pseudonymised"]

#: Columns of the identity table, and names that identify people wherever they appear.
IDENTITY_COLUMNS: frozenset[str] = frozenset(
    c.name for c in PersonIdentity.__table__.columns if c.name not in ("person_id", "study_id")
) | {
    "name",
    "first_name",
    "last_name",
    "surname",
    "e_mail",
    "mail",
    "telephone",
    "mobile",
    "cpr",
    "cpr_number",
    "ssn",
    "date_of_birth",
    "dob",
    "street",
    "postcode",
    "zip",
}

_NORMALISE = re.compile(r"[^a-z0-9]+")


def require_pseudonymised(frame: pd.DataFrame, what: str = "export") -> pd.DataFrame:
    """Return ``frame`` unchanged, or raise ``ValueError`` when a column is an identity field.

    Column names are compared after lower-casing and replacing separators by ``_`` (so
    ``Birth-Date`` and ``e.mail`` are caught), also as the last part of a dotted name.
    """
    bad = []
    for column in frame.columns:
        key = _NORMALISE.sub("_", str(column).lower()).strip("_")
        if key in IDENTITY_COLUMNS or key.rsplit("_", 1)[-1] in {"email", "phone", "cpr"}:
            bad.append(str(column))
    if bad:
        raise ValueError(f"{what} refused: identity field(s) {', '.join(bad)} must never be exported")
    return frame

"""Eligibility of a person for a role, from the rules declared in ``study.yaml``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from study.config.eligibility import EligibilityRules

__all__ = ["REASON_CATEGORIES", "age_on", "ineligibility_reasons", "reason_categories"]


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Age in completed years on date ``on`` (a birthday on ``on`` counts)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def ineligibility_reasons(
    rules: EligibilityRules,
    age: int | None,
    municipality: str | None,
    site_municipalities: Iterable[str],
    exclusions: Iterable[str] = (),
) -> list[str]:
    """Every rule a person fails, as short reasons (empty list: eligible).

    Parameters
    ----------
    rules
        The role's eligibility rules.
    age
        Whole years at screening; ``None`` when unknown (fails any age rule).
    municipality
        Municipality of residence; compared case-insensitively with ``site_municipalities``.
    exclusions
        Exclusion flags recorded for the person; only those the rules name exclude.
    """
    reasons: list[str] = []
    if rules.min_age is not None or rules.max_age is not None:
        if age is None:
            reasons.append("age unknown")
        elif rules.min_age is not None and age < rules.min_age:
            reasons.append(f"age {age} below minimum {rules.min_age}")
        elif rules.max_age is not None and age > rules.max_age:
            reasons.append(f"age {age} above maximum {rules.max_age}")
    if rules.residence_required:
        allowed = {m.casefold() for m in site_municipalities}
        if not municipality or municipality.casefold() not in allowed:
            reasons.append(f"lives outside the site's municipalities ({municipality or 'unknown'})")
    flagged = sorted(set(exclusions) & set(rules.exclusions))
    reasons += [f"exclusion: {flag}" for flag in flagged]
    return reasons


#: How :func:`ineligibility_reasons`'s messages group in a CONSORT diagram: the person's own
#: age or municipality is detail for the record, not a category of the flow.
REASON_CATEGORIES: tuple[tuple[str, str], ...] = (
    (r"^age \d+ below minimum (\d+)$", r"age below the minimum of \1"),
    (r"^age \d+ above maximum (\d+)$", r"age above the maximum of \1"),
    (r"^lives outside the site's municipalities \(.*\)$", "lives outside the site's municipalities"),
)


def reason_categories(reasons: pd.Series) -> pd.Series:
    """Ineligibility reasons (a Series of :func:`ineligibility_reasons` messages) as their
    CONSORT categories (:data:`REASON_CATEGORIES`; other reasons stay as they are).

    >>> import pandas as pd
    >>> reason_categories(pd.Series(["age 16 below minimum 18", "lives outside the site's municipalities (Vejle)",
    ...                              "exclusion: violence_conviction"])).tolist()
    ['age below the minimum of 18', "lives outside the site's municipalities", 'exclusion: violence_conviction']
    """
    out = reasons.astype(str)
    for pattern, replacement in REASON_CATEGORIES:
        out = out.str.replace(pattern, replacement, regex=True)
    return out

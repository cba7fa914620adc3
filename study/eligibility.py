"""Eligibility of a person for a role, from the rules declared in ``study.yaml``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Optional

from study.config.eligibility import EligibilityRules

__all__ = ["age_on", "ineligibility_reasons"]


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Age in completed years on date ``on`` (a birthday on ``on`` counts)."""
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def ineligibility_reasons(
    rules: EligibilityRules,
    age: Optional[int],
    municipality: Optional[str],
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

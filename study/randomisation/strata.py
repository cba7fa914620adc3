"""Strata: the site and the configured factors of a participant, as one key."""

from __future__ import annotations

__all__ = ["STRATUM_SEPARATOR", "parse_stratum", "stratum_key"]

from collections.abc import Mapping, Sequence

STRATUM_SEPARATOR = "|"


def stratum_key(site: str, factors: Sequence[str], levels: Mapping[str, str]) -> str:
    """The stratum of a participant: site and factor levels joined by ``|``.

    Examples
    --------
    >>> stratum_key("CPH", ["gender"], {"gender": "female"})
    'CPH|female'
    """
    missing = [f for f in factors if not levels.get(f)]
    if missing:
        raise ValueError(f"no value for stratification factor(s) {', '.join(missing)}")
    parts = [site, *(str(levels[f]) for f in factors)]
    bad = [p for p in parts if STRATUM_SEPARATOR in p]
    if bad:
        raise ValueError(f"stratum values must not contain {STRATUM_SEPARATOR!r}: {bad}")
    return STRATUM_SEPARATOR.join(parts)


def parse_stratum(key: str, factors: Sequence[str]) -> dict[str, str]:
    """Inverse of :func:`stratum_key`: ``{"site": ..., factor: level, ...}``.

    Examples
    --------
    >>> parse_stratum("CPH|female", ["gender"])
    {'site': 'CPH', 'gender': 'female'}
    """
    parts = key.split(STRATUM_SEPARATOR)
    names = ["site", *factors]
    if len(parts) != len(names):
        raise ValueError(f"stratum {key!r} does not have the levels of {', '.join(names)}")
    return dict(zip(names, parts))

"""Scoring and ranking peer buddies for a recipient (pure pandas, no database).

A buddy is *eligible* for a recipient only when every hard constraint holds; the hard
constraints are never traded against the score:

- same site (each site's coordinator matches their own people);
- at least one shared availability slot;
- the buddy has room: active matches below their maximum;
- home visits: never a pair where one side needs meetings at home (``wanted``) and the other
  rules them out (``no``);
- the buddy has the required training and, when configured, an accepted interview;
- the buddy's commitment has not ended;
- same diagnosis, when the recipient requires it (otherwise diagnosis is never used);
- the pair was not matched before (a match that ended is not suggested again).

Among eligible buddies the score (0–100) is a weighted mean of four parts in [0, 1] (weights
from ``companionship.weights``, default 40/25/20/15):

- wishes: share of the recipient's wishes the buddy offers;
- availability: share of the recipient's availability slots the buddy shares;
- area: 1 for the same area, 0.5 for the same municipality, 0 otherwise;
- preferences: share of the stated age and gender preferences of both sides that are met
  (1 when nobody stated any).

Ties are broken by fewer active matches, then the buddy waiting longest, then pseudonym.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np
import pandas as pd

from study.config.companionship import MatchingWeights

__all__ = ["SUGGESTION_COLUMNS", "rank_buddies", "score_buddies"]

#: Columns of :func:`score_buddies` (and :func:`rank_buddies`), in this order.
SUGGESTION_COLUMNS: list[str] = [
    "buddy",
    "score",
    "eligible",
    "reasons",
    "excluded_because",
    "wishes_part",
    "availability_part",
    "area_part",
    "preferences_part",
    "active_matches",
    "capacity",
    "waiting_since",
]

_BUDDY_DEFAULTS: dict[str, object] = {
    "municipality": None,
    "home_visits": "ok",
    "gender": None,
    "age": np.nan,
    "preferred_genders": (),
    "preferred_age_min": np.nan,
    "preferred_age_max": np.nan,
    "diagnosis": None,
    "trained": True,
    "accepted": True,
    "available_until": None,
    "previously_matched": False,
    "waiting_since": None,
}
_BUDDY_REQUIRED = ("pseudonym", "site", "area", "wishes", "availability", "active_matches", "max_matches")


def _multi_hot(lists: pd.Series, vocabulary: Sequence[str]) -> pd.DataFrame:
    """Boolean matrix: row i, column v is True when ``v`` is in ``lists[i]``."""
    exploded = lists.explode()
    exploded = exploded[exploded.isin(list(vocabulary))]
    hot = pd.crosstab(exploded.index, exploded).astype(bool)
    return hot.reindex(index=lists.index, columns=list(vocabulary), fill_value=False)


def _joined(hot: pd.DataFrame, sep: str = ", ") -> pd.Series:
    """Per row, the names of the True columns joined by ``sep`` (empty string when none)."""
    stacked = hot.stack()
    names = stacked[stacked].reset_index(level=1).iloc[:, 0]
    return names.groupby(level=0).agg(sep.join).reindex(hot.index, fill_value="")


def _in_range(values: pd.Series, low, high) -> pd.Series:
    low = -np.inf if low is None or pd.isna(low) else low
    high = np.inf if high is None or pd.isna(high) else high
    values = pd.to_numeric(values, errors="coerce").astype(float)
    return (values >= low) & (values <= high)


def score_buddies(
    recipient: Mapping[str, object],
    buddies: pd.DataFrame,
    weights: Optional[MatchingWeights | Mapping[str, float]] = None,
    today: Optional[dt.date] = None,
) -> pd.DataFrame:
    """Score every buddy for one recipient and say why, and which hard constraints fail.

    Parameters
    ----------
    recipient
        The recipient's profile: ``site``, ``area``, ``wishes`` (list), ``availability``
        (list of slots); optional ``municipality``, ``home_visits`` (``wanted``/``ok``/``no``),
        ``gender``, ``age`` (years), ``preferred_genders`` (list), ``preferred_age_min``,
        ``preferred_age_max``, ``same_diagnosis_required``, ``diagnosis``.
    buddies
        One row per buddy with columns ``pseudonym, site, area, wishes, availability,
        active_matches, max_matches`` and optionally ``municipality, home_visits, gender,
        age, preferred_genders, preferred_age_min, preferred_age_max, diagnosis, trained,
        accepted, available_until, previously_matched, waiting_since`` (defaults: trained and
        accepted, never matched with this recipient, no limits).
    weights
        Weights of the parts (``wishes, availability, area, preferences``); default 40/25/20/15.
    today
        Reference date for ended commitments (default: today).

    Returns
    -------
    DataFrame
        One row per buddy, in the order given, with columns :data:`SUGGESTION_COLUMNS`:

        - ``buddy``: pseudonym
        - ``score``: weighted score 0–100 (one decimal), computed for every buddy
        - ``eligible``: every hard constraint holds
        - ``reasons``: the parts of the score in words (shared wishes, slots, area, preferences)
        - ``excluded_because``: the hard constraints that fail, ``; ``-separated (empty if eligible)
        - ``wishes_part``, ``availability_part``, ``area_part``, ``preferences_part``: in [0, 1]
        - ``active_matches``, ``capacity``: the buddy's active matches and maximum
        - ``waiting_since``: the buddy's waiting date (for tie-breaking), may be empty

    Examples
    --------
    >>> buddies = pd.DataFrame({"pseudonym": ["B1", "B2"], "site": ["CPH", "CPH"],
    ...     "area": ["Nørrebro", "Valby"], "wishes": [["walks", "talks"], ["walks"]],
    ...     "availability": [["mon_pm"], ["tue_am"]], "active_matches": [0, 0],
    ...     "max_matches": [1, 1]})
    >>> recipient = {"site": "CPH", "area": "Nørrebro", "wishes": ["walks", "talks"],
    ...     "availability": ["mon_pm", "tue_am"]}
    >>> score_buddies(recipient, buddies)[["buddy", "score", "eligible"]].to_dict("records")
    [{'buddy': 'B1', 'score': 87.5, 'eligible': True}, {'buddy': 'B2', 'score': 47.5, 'eligible': True}]
    """
    missing = [c for c in _BUDDY_REQUIRED if c not in buddies.columns]
    if missing:
        raise ValueError(f"buddies lack column(s) {', '.join(missing)}")
    for key in ("site", "area", "wishes", "availability"):
        if key not in recipient:
            raise ValueError(f"recipient lacks {key!r}")
    if isinstance(weights, Mapping):
        weights = MatchingWeights(**weights)
    weights = weights or MatchingWeights()
    today = today or dt.date.today()

    b = buddies.reset_index(drop=True).copy()
    if b.empty:
        return pd.DataFrame(columns=SUGGESTION_COLUMNS)
    for column, default in _BUDDY_DEFAULTS.items():
        if column not in b.columns:
            b[column] = [default] * len(b)
    r = dict(recipient)
    r_wishes = list(dict.fromkeys(r.get("wishes") or []))
    r_slots = list(dict.fromkeys(r.get("availability") or []))
    r_genders = set(r.get("preferred_genders") or [])
    r_age = r.get("age")
    r_age = np.nan if r_age is None or pd.isna(r_age) else float(r_age)

    # 1. The parts of the score.
    wish_hot = _multi_hot(b["wishes"], r_wishes)
    slot_hot = _multi_hot(b["availability"], r_slots)
    n_wishes = wish_hot.sum(axis=1).astype(int)
    n_slots = slot_hot.sum(axis=1).astype(int)
    wishes_part = n_wishes / len(r_wishes) if r_wishes else pd.Series(0.0, index=b.index)
    availability_part = n_slots / len(r_slots) if r_slots else pd.Series(0.0, index=b.index)
    same_area = b["area"].astype(str).str.casefold() == str(r["area"]).casefold()
    r_municipality = r.get("municipality")
    same_municipality = (
        b["municipality"].eq(r_municipality) if r_municipality else pd.Series(False, index=b.index)
    )
    area_part = pd.Series(np.select([same_area, same_municipality], [1.0, 0.5], 0.0), index=b.index)

    # Preferences of both sides: stated (True/False) and met, four checks per pair.
    b_genders = b["preferred_genders"].map(lambda g: set(g) if isinstance(g, (list, tuple, set)) else set())
    checks = pd.DataFrame(
        {
            "r_gender_stated": bool(r_genders),
            "r_gender_met": b["gender"].isin(r_genders),
            "r_age_stated": r.get("preferred_age_min") is not None or r.get("preferred_age_max") is not None,
            "r_age_met": _in_range(b["age"], r.get("preferred_age_min"), r.get("preferred_age_max")),
            "b_gender_stated": b_genders.map(bool),
            "b_gender_met": b_genders.map(lambda g: r.get("gender") in g),
            "b_age_stated": b["preferred_age_min"].notna() | b["preferred_age_max"].notna(),
            "b_age_met": (r_age >= pd.to_numeric(b["preferred_age_min"]).astype(float).fillna(-np.inf))
            & (r_age <= pd.to_numeric(b["preferred_age_max"]).astype(float).fillna(np.inf)),
        },
        index=b.index,
    )
    # Unknown ages or genders (missing values) count as not met.
    checks = checks.astype("boolean").fillna(False).astype(bool)
    stated = checks.filter(like="_stated").to_numpy()
    met = checks.filter(like="_met").to_numpy() & stated
    n_stated, n_met = stated.sum(axis=1), met.sum(axis=1)
    preferences_part = pd.Series(
        np.where(n_stated > 0, n_met / np.maximum(n_stated, 1), 1.0), index=b.index
    )

    w = np.array([weights.wishes, weights.availability, weights.area, weights.preferences])
    parts = np.column_stack([wishes_part, availability_part, area_part, preferences_part]).astype(float)
    score = np.round(100 * parts @ w / w.sum(), 1)

    # 2. Hard constraints, each with the words saying why it fails.
    capacity = pd.to_numeric(b["max_matches"]).astype(int)
    active = pd.to_numeric(b["active_matches"]).astype(int)
    r_home = r.get("home_visits", "ok")
    until = pd.to_datetime(b["available_until"])
    r_dx = (r.get("diagnosis") or "").strip().casefold()
    failures = {
        "other site": b["site"] != r["site"],
        "no shared availability": n_slots == 0,
        "at capacity": active >= capacity,
        "home visits needed by one, ruled out by the other": (
            ((b["home_visits"] == "no") & (r_home == "wanted"))
            | ((b["home_visits"] == "wanted") & (r_home == "no"))
        ),
        "required training missing": ~b["trained"].astype(bool),
        "no accepted interview": ~b["accepted"].astype(bool),
        "commitment ended": until.notna() & (until < pd.Timestamp(today)),
        "same diagnosis required, not shared": (
            pd.Series(bool(r.get("same_diagnosis_required")), index=b.index)
            & (b["diagnosis"].fillna("").astype(str).str.strip().str.casefold() != r_dx)
        ),
        "matched before": b["previously_matched"].astype(bool),
    }
    failed = pd.DataFrame(failures, index=b.index)
    excluded_because = _joined(failed, sep="; ")
    # Say how full a full buddy is.
    full_text = "at capacity (" + active.astype(str) + " of " + capacity.astype(str) + " active)"
    excluded_because = excluded_because.str.replace("at capacity", "", regex=False)
    excluded_because = (
        (full_text.where(failed["at capacity"], "") + "; " + excluded_because)
        .str.replace(r"^(; )+|(; )+$", "", regex=True)
        .str.replace(r"(; ){2,}", "; ", regex=True)
    )

    # 3. The reasons for the score in words.
    shared_wishes = _joined(wish_hot)
    shared_slots = _joined(slot_hot)
    wish_text = (
        n_wishes.astype(str) + f" of {len(r_wishes)} wishes shared (" + shared_wishes + ")"
    ).where(n_wishes > 0, "no shared wishes" if r_wishes else "no wishes stated")
    slot_text = (
        n_slots.astype(str) + f" of {len(r_slots)} slots shared (" + shared_slots + ")"
    ).where(n_slots > 0, "no shared slots")
    area_text = pd.Series(
        np.select(
            [same_area, same_municipality],
            ["same area (" + b["area"].astype(str) + ")", "same municipality, other area (" + b["area"].astype(str) + ")"],
            "other area (" + b["area"].astype(str) + ")",
        ),
        index=b.index,
    )
    pref_text = pd.Series(
        np.where(
            n_stated == 0,
            "no preferences stated",
            np.where(n_met == n_stated, "preferences met", [f"{m} of {s} preferences met" for m, s in zip(n_met, n_stated)]),
        ),
        index=b.index,
    )
    reasons = wish_text + "; " + slot_text + "; " + area_text + "; " + pref_text

    return pd.DataFrame(
        {
            "buddy": b["pseudonym"],
            "score": score,
            "eligible": ~failed.any(axis=1),
            "reasons": reasons,
            "excluded_because": excluded_because,
            "wishes_part": wishes_part.astype(float).round(4),
            "availability_part": availability_part.astype(float).round(4),
            "area_part": area_part,
            "preferences_part": preferences_part.round(4),
            "active_matches": active,
            "capacity": capacity,
            "waiting_since": b["waiting_since"],
        }
    )[SUGGESTION_COLUMNS]


def rank_buddies(
    scored: pd.DataFrame, include_excluded: bool = False, top: Optional[int] = None
) -> pd.DataFrame:
    """Order scored buddies for the coordinator: eligible first, best score first.

    Ties: fewer active matches first, then the buddy waiting longest, then pseudonym. Without
    ``include_excluded`` only eligible buddies are returned. ``top`` keeps the first rows.
    Adds a column ``rank`` (1, 2, …) in front.
    """
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    ranked = scored if include_excluded else scored[scored["eligible"]]
    waiting = pd.to_datetime(ranked["waiting_since"])
    ranked = (
        ranked.assign(_waiting=waiting)
        .sort_values(
            ["eligible", "score", "active_matches", "_waiting", "buddy"],
            ascending=[False, False, True, True, True],
            na_position="last",
        )
        .drop(columns="_waiting")
        .reset_index(drop=True)
    )
    if top is not None:
        ranked = ranked.head(top)
    ranked.insert(0, "rank", range(1, len(ranked) + 1))
    return ranked

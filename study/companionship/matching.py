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
- the pair was not matched before (a match that ended is not suggested again);
- the buddy has not withdrawn from the study.

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
from typing import Any

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
    "withdrawn": False,
    "waiting_since": None,
}
_BUDDY_REQUIRED = ("pseudonym", "site", "area", "wishes", "availability", "active_matches", "max_matches")


def _multi_hot(lists: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> np.ndarray:
    """Boolean matrix: row i, column j is True when ``vocabulary[j]`` is in ``lists[i]``."""
    lengths = np.fromiter((len(items) for items in lists), dtype=int, count=len(lists))
    flat = [item for items in lists for item in items]
    hot = np.zeros((len(lists), len(vocabulary)), dtype=bool)
    if flat and len(vocabulary):
        codes = pd.Index(list(vocabulary)).get_indexer(flat)  # -1: not in the vocabulary
        rows = np.repeat(np.arange(len(lists)), lengths)
        keep = codes >= 0
        hot[rows[keep], codes[keep]] = True
    return hot


def _joined(hot: np.ndarray, names: Sequence[str], sep: str = ", ") -> list[str]:
    """Per row, the names of the True columns joined by ``sep`` (empty string when none)."""
    labels = np.array(list(names), dtype=object)
    return [sep.join(labels[row]) for row in hot]


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers as floats, missing (or not numeric) as NaN."""
    return pd.to_numeric(values, errors="coerce").astype(float).to_numpy()


def _bound(value, missing: float) -> float:
    return missing if value is None or pd.isna(value) else float(value)


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple, set, np.ndarray)) else []


def score_buddies(
    recipient: Mapping[str, Any],  # a profile's fields of mixed types (see below)
    buddies: pd.DataFrame,
    weights: MatchingWeights | Mapping[str, float] | None = None,
    today: dt.date | None = None,
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
        accepted, available_until, previously_matched, withdrawn, waiting_since`` (defaults:
        trained and accepted, never matched with this recipient, not withdrawn, no limits).
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
    r_age = _bound(r.get("age"), np.nan)
    n = len(b)
    area = b["area"].astype(str).to_numpy(dtype=object)

    # 1. The parts of the score, as arrays over buddies.
    wish_hot = _multi_hot([_as_list(w) for w in b["wishes"]], r_wishes)
    slot_hot = _multi_hot([_as_list(a) for a in b["availability"]], r_slots)
    n_wishes, n_slots = wish_hot.sum(axis=1), slot_hot.sum(axis=1)
    wishes_part = n_wishes / len(r_wishes) if r_wishes else np.zeros(n)
    availability_part = n_slots / len(r_slots) if r_slots else np.zeros(n)
    same_area = np.array([a.casefold() == str(r["area"]).casefold() for a in area], dtype=bool)
    r_municipality = r.get("municipality")
    same_municipality = (
        b["municipality"].eq(r_municipality).fillna(False).to_numpy(dtype=bool)
        if r_municipality
        else np.zeros(n, dtype=bool)
    )
    area_part = np.select([same_area, same_municipality], [1.0, 0.5], 0.0)

    # Preferences of both sides: four checks per pair, each stated or not, and met or not.
    # Unknown ages or genders count as not met (comparisons with NaN are False).
    b_age = _numbers(b["age"])
    b_genders = [set(_as_list(g)) for g in b["preferred_genders"]]
    b_age_min = np.nan_to_num(_numbers(b["preferred_age_min"]), nan=-np.inf)
    b_age_max = np.nan_to_num(_numbers(b["preferred_age_max"]), nan=np.inf)
    r_min = _bound(r.get("preferred_age_min"), -np.inf)
    r_max = _bound(r.get("preferred_age_max"), np.inf)
    stated = np.column_stack(
        [
            np.full(n, bool(r_genders)),
            np.full(n, r.get("preferred_age_min") is not None or r.get("preferred_age_max") is not None),
            np.array([bool(g) for g in b_genders], dtype=bool),
            np.isfinite(b_age_min) | np.isfinite(b_age_max),
        ]
    )
    met = (
        np.column_stack(
            [
                b["gender"].isin(r_genders).to_numpy(dtype=bool),
                (b_age >= r_min) & (b_age <= r_max),
                np.array([r.get("gender") in g for g in b_genders], dtype=bool),
                (r_age >= b_age_min) & (r_age <= b_age_max),
            ]
        )
        & stated
    )
    n_stated, n_met = stated.sum(axis=1), met.sum(axis=1)
    preferences_part = np.where(n_stated > 0, n_met / np.maximum(n_stated, 1), 1.0)

    w = np.array([weights.wishes, weights.availability, weights.area, weights.preferences])
    parts = np.column_stack([wishes_part, availability_part, area_part, preferences_part]).astype(float)
    score = np.round(100 * parts @ w / w.sum(), 1)

    # 2. Hard constraints, each with the words saying why it fails.
    capacity = _numbers(b["max_matches"]).astype(int)
    active = _numbers(b["active_matches"]).astype(int)
    r_home = r.get("home_visits", "ok")
    home = b["home_visits"].to_numpy(dtype=object)
    until = pd.to_datetime(b["available_until"])
    r_dx = (r.get("diagnosis") or "").strip().casefold()
    dx = [("" if d is None or pd.isna(d) else str(d)).strip().casefold() for d in b["diagnosis"]]
    failures = {
        "other site": (b["site"] != r["site"]).to_numpy(dtype=bool),
        "no shared availability": n_slots == 0,
        "at capacity": active >= capacity,
        "home visits needed by one, ruled out by the other": (
            ((home == "no") & (r_home == "wanted")) | ((home == "wanted") & (r_home == "no"))
        ),
        "required training missing": ~b["trained"].astype(bool).to_numpy(),
        "no accepted interview": ~b["accepted"].astype(bool).to_numpy(),
        "commitment ended": (until.notna() & (until < pd.Timestamp(today))).to_numpy(dtype=bool),
        "same diagnosis required, not shared": (
            np.array([d != r_dx for d in dx], dtype=bool) & bool(r.get("same_diagnosis_required"))
        ),
        "matched before": b["previously_matched"].astype(bool).to_numpy(),
        "withdrawn from the study": b["withdrawn"].astype(bool).to_numpy(),
    }
    failed = np.column_stack(list(failures.values()))
    labels = list(failures)
    labels[labels.index("at capacity")] = "{capacity}"
    excluded_because = [
        text.format(capacity=f"at capacity ({a} of {c} active)")
        for text, a, c in zip(_joined(failed, labels, sep="; "), active, capacity)
    ]

    # 3. The reasons for the score in words.
    shared_wishes, shared_slots = _joined(wish_hot, r_wishes), _joined(slot_hot, r_slots)
    no_wishes = "no shared wishes" if r_wishes else "no wishes stated"
    reasons = []
    for i in range(n):
        wish_text = (
            f"{n_wishes[i]} of {len(r_wishes)} wishes shared ({shared_wishes[i]})"
            if n_wishes[i]
            else no_wishes
        )
        slot_text = (
            f"{n_slots[i]} of {len(r_slots)} slots shared ({shared_slots[i]})"
            if n_slots[i]
            else "no shared slots"
        )
        if same_area[i]:
            area_text = f"same area ({area[i]})"
        elif same_municipality[i]:
            area_text = f"same municipality, other area ({area[i]})"
        else:
            area_text = f"other area ({area[i]})"
        if n_stated[i] == 0:
            pref_text = "no preferences stated"
        elif n_met[i] == n_stated[i]:
            pref_text = "preferences met"
        else:
            pref_text = f"{n_met[i]} of {n_stated[i]} preferences met"
        reasons.append("; ".join((wish_text, slot_text, area_text, pref_text)))

    return pd.DataFrame(
        {
            "buddy": b["pseudonym"].to_numpy(dtype=object),
            "score": score,
            "eligible": ~failed.any(axis=1),
            "reasons": reasons,
            "excluded_because": excluded_because,
            "wishes_part": np.round(wishes_part.astype(float), 4),
            "availability_part": np.round(availability_part.astype(float), 4),
            "area_part": area_part,
            "preferences_part": np.round(preferences_part, 4),
            "active_matches": active,
            "capacity": capacity,
            "waiting_since": b["waiting_since"].to_numpy(dtype=object),
        }
    )[SUGGESTION_COLUMNS]


def rank_buddies(
    scored: pd.DataFrame, include_excluded: bool = False, top: int | None = None
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

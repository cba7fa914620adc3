"""Synthetic names, addresses and phone numbers for demo identities (never real people)."""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_identity_fields"]

_FIRST = [
    "Anna",
    "Mette",
    "Sofie",
    "Ida",
    "Maja",
    "Laura",
    "Emma",
    "Freja",
    "Karen",
    "Line",
    "Mads",
    "Jonas",
    "Lars",
    "Søren",
    "Rasmus",
    "Mikkel",
    "Frederik",
    "Oliver",
    "Noah",
    "Kim",
    "Alex",
    "Sam",
    "Nour",
    "Ali",
    "Sara",
    "Yasmin",
    "Helle",
    "Birgitte",
    "Niels",
    "Jens",
]
_LAST = [
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Poulsen",
    "Johansen",
    "Møller",
    "Mortensen",
    "Holm",
]
_ASCII = str.maketrans({"ø": "oe", "æ": "ae", "å": "aa"})
_STREETS = ["Demovej", "Prøvegade", "Eksempelallé", "Testvænget", "Fiktivstræde"]


def synthetic_identity_fields(rng: np.random.Generator, n: int) -> dict[str, list[str]]:
    """``n`` synthetic names, addresses, phone numbers and e-mail addresses.

    Phone numbers use the 99 prefix and e-mail the reserved ``example.org`` domain, so no
    value can reach a real person.
    """
    first = rng.choice(_FIRST, n)
    last = rng.choice(_LAST, n)
    names = [f"{f} {l} (demo)" for f, l in zip(first, last)]
    streets = rng.choice(_STREETS, n)
    numbers = rng.integers(1, 120, n)
    phones = [f"99 {a:02d} {b:02d} {c:02d}" for a, b, c in rng.integers(0, 100, (n, 3))]
    ascii_first = [f.lower().translate(_ASCII) for f in first]
    emails = [f"{f}.{i}@example.org" for i, f in enumerate(ascii_first)]
    return {
        "full_name": names,
        "address": [f"{s} {k}" for s, k in zip(streets, numbers)],
        "phone": phones,
        "email": emails,
    }

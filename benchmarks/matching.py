"""Benchmark: scoring and ranking peer buddies for recipients (pure pandas/numpy, no database).

Prints the time to score every buddy for one recipient, for growing numbers of buddies, and
checks on the way that no suggestion ever breaks a hard constraint.

    python benchmarks/matching.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from study.companionship.matching import rank_buddies, score_buddies
from study.companionship.profiles import AVAILABILITY_SLOTS
from study.config.companionship import CompanionshipConfig

WISHES = CompanionshipConfig().wishes
TODAY = dt.date(2026, 4, 15)


def _buddies(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pseudonym": [f"B{i:05d}" for i in range(n)],
            "site": rng.choice(["CPH", "HEL", "FRE"], n),
            "area": rng.choice(["Nørrebro", "Valby", "Amager", "Vesterbro"], n),
            "municipality": "København",
            "wishes": [list(rng.choice(WISHES, rng.integers(1, 6), replace=False)) for _ in range(n)],
            "availability": [
                list(rng.choice(AVAILABILITY_SLOTS, rng.integers(1, 8), replace=False)) for _ in range(n)
            ],
            "home_visits": rng.choice(["wanted", "ok", "no"], n, p=[0.05, 0.65, 0.3]),
            "gender": rng.choice(["female", "male"], n),
            "age": rng.integers(20, 51, n),
            "active_matches": rng.integers(0, 2, n),
            "max_matches": 1,
            "trained": rng.random(n) < 0.9,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (for CI smoke runs)")
    args = parser.parse_args()
    sizes = [20, 200, 2_000] if args.quick else [20, 200, 2_000, 20_000]
    rng = np.random.default_rng(1)
    recipient = {
        "site": "CPH",
        "area": "Nørrebro",
        "municipality": "København",
        "wishes": ["walks", "appointments", "networks"],
        "availability": ["mon_pm", "wed_pm", "thu_eve"],
        "home_visits": "wanted",
        "gender": "female",
        "age": 35,
        "preferred_genders": ["female"],
    }
    print(f"{'buddies':>8} {'ms per recipient':>17} {'eligible':>9} {'violations':>11}")
    for n in sizes:
        buddies = _buddies(rng, n)
        repeats = 5
        start = time.perf_counter()
        for _ in range(repeats):
            ranked = rank_buddies(score_buddies(recipient, buddies, today=TODAY))
        ms = (time.perf_counter() - start) / repeats * 1000
        chosen = buddies.set_index("pseudonym").loc[ranked["buddy"]]
        violations = int(
            (chosen["site"] != "CPH").sum()
            + (chosen["active_matches"] >= chosen["max_matches"]).sum()
            + (chosen["home_visits"] == "no").sum()
            + (~chosen["trained"]).sum()
            + (~chosen["availability"].map(lambda a: bool(set(a) & set(recipient["availability"])))).sum()
        )
        print(f"{n:>8} {ms:>17.1f} {len(ranked):>9} {violations:>11}")


if __name__ == "__main__":
    main()

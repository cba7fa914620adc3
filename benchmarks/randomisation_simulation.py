"""Simulated trials: the final imbalance of simple randomisation, stratified permuted blocks
and Pocock–Simon minimisation.

Each trial has 120 participants over 3 sites (shares 40/27/33 %, the reference study's
recruitment targets) with gender (60/37/3 %) as the second factor, allocated 1:1. Blocks are
stratified by site × gender with sizes 2, 4, 6; minimisation balances site and gender with
p = 0.8. Printed per method: the distribution of the final overall imbalance |INT − CTL| and of
the largest marginal imbalance over the sites and genders.

    python benchmarks/randomisation_simulation.py [--trials 10000] [--quick]

It uses the production algorithms (``study.randomisation``) with a NumPy stream instead of the
concealed HMAC stream (same interface, faster).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's packages first

from study.randomisation.minimisation import MinimisationState
from study.randomisation.sequence import block_sequence
from study.randomisation.stream import NumpyStream

RATIOS = {"INT": 1, "CTL": 1}
SITES, SITE_P = ["CPH", "HEL", "FRE"], [0.40, 0.27, 0.33]
GENDERS, GENDER_P = ["female", "male", "other"], [0.60, 0.37, 0.03]


def _people(rng: np.random.Generator, trials: int, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial": np.repeat(np.arange(trials), n),
            "site": rng.choice(SITES, trials * n, p=SITE_P),
            "gender": rng.choice(GENDERS, trials * n, p=GENDER_P),
        }
    )


def _simple(people: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(["INT", "CTL"], len(people))


def _blocks(people: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    stream = NumpyStream(rng)
    arms = np.empty(len(people), dtype=object)
    for _, part in people.groupby(["trial", "site", "gender"], sort=False):
        seq = block_sequence(stream, RATIOS, [2, 4, 6], len(part))
        arms[part.index.to_numpy()] = seq["arm"].to_numpy()
    return arms


def _minimisation(people: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    stream = NumpyStream(rng)
    arms = []
    for _, trial in people.groupby("trial", sort=True):
        state = MinimisationState(RATIOS, ["site", "gender"], preferred_probability=0.8)
        for levels in trial[["site", "gender"]].to_dict("records"):
            arm = state.choose(levels, stream)
            state.add(levels, arm)
            arms.append(arm)
    return np.array(arms, dtype=object)


def _imbalances(people: pd.DataFrame, arms: np.ndarray) -> pd.DataFrame:
    df = people.assign(d=np.where(arms == "INT", 1, -1))
    overall = df.groupby("trial")["d"].sum().abs()
    marginal = pd.concat(
        [df.groupby(["trial", f])["d"].sum().abs().groupby(level="trial").max() for f in ("site", "gender")],
        axis=1,
    ).max(axis=1)
    return pd.DataFrame({"overall": overall, "marginal": marginal})


def _summary(values: pd.Series) -> dict[str, float]:
    return {
        "mean": values.mean(),
        "median": values.median(),
        "p95": values.quantile(0.95),
        "max": values.max(),
        "P(>=10)": (values >= 10).mean(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--participants", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="500 trials")
    args = parser.parse_args()
    trials = 500 if args.quick else args.trials
    rng = np.random.default_rng(args.seed)
    people = _people(rng, trials, args.participants)
    print(f"{trials} trials of {args.participants} participants over {len(SITES)} sites, 1:1")
    rows = []
    for name, method in (("simple", _simple), ("blocks", _blocks), ("minimisation", _minimisation)):
        start = time.perf_counter()
        arms = method(people, rng)
        seconds = time.perf_counter() - start
        imb = _imbalances(people, arms)
        for kind in ("overall", "marginal"):
            rows.append({"method": name, "imbalance": kind, **_summary(imb[kind]), "seconds": seconds})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()

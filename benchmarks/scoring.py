"""Benchmark: the vectorised scoring engine against a naive row-by-row implementation.

Scores N responses of a 15-item instrument (QPR-15, 0-4, prorating up to 3 missing items,
with empty items and missing codes) both ways in the same run, checks that the scores agree
and prints the times and their ratio.

    python benchmarks/scoring.py            # 1,000,000 responses
    python benchmarks/scoring.py --quick    # 50,000 responses
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from questionnaires.definitions import Instrument, shipped_instruments  # noqa: E402
from questionnaires.scoring import score_instrument  # noqa: E402


def make_items(inst: Instrument, n: int, seed: int = 1) -> pd.DataFrame:
    """n responses: answers 0-4, 3 % empty items, 1 % missing code -9."""
    rng = np.random.default_rng(seed)
    k = len(inst.items)
    values = rng.integers(inst.response_scale.min, inst.response_scale.max + 1, (n, k)).astype(float)
    values[rng.random((n, k)) < 0.03] = np.nan
    values[rng.random((n, k)) < 0.01] = -9
    df = pd.DataFrame(values, columns=inst.columns)
    df.insert(0, "response", np.arange(n))
    return df


def naive_scores(inst: Instrument, items: pd.DataFrame) -> list[float]:
    """The same rules, one response at a time in plain Python (the way a spreadsheet macro or
    a quick script would do it): the comparison baseline."""
    scale = inst.scales["total"]
    members = inst.scale_items("total")
    limit = inst.scale_max_missing("total")
    codes = set(inst.missing_codes)
    lo, hi = inst.response_scale.min, inst.response_scale.max
    out = []
    for _, row in items.iterrows():
        answered = []
        for item_id in members:
            v = row[inst.column(item_id)]
            if v is None or (isinstance(v, float) and math.isnan(v)) or v in codes:
                continue
            answered.append(lo + hi - v if item_id in inst.reverse else v)
        n_missing = len(members) - len(answered)
        if n_missing > limit or not answered:
            out.append(math.nan)
        elif scale.method == "sum":
            out.append(sum(answered) if n_missing == 0 else sum(answered) / len(answered) * len(members))
        else:
            out.append(sum(answered) / len(answered))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 responses instead of 1,000,000")
    parser.add_argument("-n", type=int, default=None, help="number of responses")
    args = parser.parse_args()
    n = args.n or (50_000 if args.quick else 1_000_000)
    inst = shipped_instruments()["qpr15"]
    items = make_items(inst, n)
    print(f"scoring {n:,} responses of {inst.id} ({len(inst.items)} items)")

    start = time.perf_counter()
    scored = score_instrument(inst, items, id_columns=["response"])
    vectorised = time.perf_counter() - start
    print(f"  vectorised engine: {vectorised:8.3f} s  ({n / vectorised:,.0f} responses/s)")

    start = time.perf_counter()
    naive = naive_scores(inst, items)
    row_by_row = time.perf_counter() - start
    print(f"  naive row by row : {row_by_row:8.3f} s  ({n / row_by_row:,.0f} responses/s)")

    np.testing.assert_allclose(scored["score"].to_numpy(), np.array(naive), equal_nan=True)
    missing = scored["score"].isna().mean()
    print(f"  scores agree ({missing:.1%} missing: too many missing items)")
    print(f"  speed-up: {row_by_row / vectorised:,.0f}x")


if __name__ == "__main__":
    main()

"""Benchmark: the scoring engine beside a row-by-row loop and a raw NumPy sum, same run.

Scores N responses of a 15-item instrument (QPR-15, 0-4, prorating up to 3 missing items,
with empty items and missing codes) and prints, beside the goals of issue 16:

- the engine's time (goal: ≤ 0.5 s for 1,000,000 responses),
- a naive row-by-row loop of the same rules (timed on a sample of at most 20,000 responses
  and scaled linearly: the loop's cost per response is constant), goal: engine ≥ 50× faster,
- a raw NumPy ``nansum`` over the same item matrix (the floor: no rules, no output frame),
  goal: engine ≤ 3× its time.

The engine's scores are checked against the loop on the sample. Times are the best of three.

    python benchmarks/scoring.py            # 1,000,000 responses
    python benchmarks/scoring.py --quick    # 200,000 responses
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

from questionnaires.definitions import Instrument, shipped_instruments
from questionnaires.scoring import score_instrument


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


def best_of(runs: int, func) -> tuple[float, object]:
    """The shortest of ``runs`` timings (seconds) and the last result."""
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 responses instead of 1,000,000")
    parser.add_argument("-n", type=int, default=None, help="number of responses")
    args = parser.parse_args()
    n = args.n or (200_000 if args.quick else 1_000_000)
    inst = shipped_instruments()["qpr15"]
    items = make_items(inst, n)
    print(f"scoring {n:,} responses of {inst.id} ({len(inst.items)} items)")

    engine, scored = best_of(3, lambda: score_instrument(inst, items, id_columns=["response"]))
    numpy_sum, _ = best_of(3, lambda: np.nansum(items[inst.columns].to_numpy(dtype=float), axis=1))
    sample = items.iloc[: min(n, 20_000)]
    loop, naive = best_of(1, lambda: naive_scores(inst, sample))
    loop_total = loop * n / len(sample)
    np.testing.assert_allclose(scored["score"].to_numpy()[: len(sample)], np.array(naive), equal_nan=True)

    goal_time = 0.5 * n / 1_000_000
    print(f"  {'':30s} {'seconds':>9s}  {'goal':>18s}")
    print(
        f"  {'engine (score_instrument)':30s} {engine:9.3f}  {f'<= {goal_time:.2f} s':>18s}  {'met' if engine <= goal_time else 'NOT met'}"
    )
    print(
        f"  {'row-by-row loop (scaled)':30s} {loop_total:9.3f}  {'engine >= 50x faster':>18s}  "
        f"{loop_total / engine:,.0f}x {'met' if loop_total / engine >= 50 else 'NOT met'}"
    )
    print(
        f"  {'raw numpy nansum':30s} {numpy_sum:9.3f}  {'engine <= 3x':>18s}  "
        f"{engine / numpy_sum:.1f}x {'met' if engine / numpy_sum <= 3 else 'NOT met'}"
    )
    missing = scored["score"].isna().mean()
    print(
        f"  scores agree with the loop on {len(sample):,} responses ({missing:.1%} missing: too many missing items)"
    )


if __name__ == "__main__":
    main()

"""Long simulation of the trial analysis: bias, 95 % CI coverage and type-I error.

The CI test (tests/test_analysis_simulation.py) runs 400 replicates of one design; this script
runs more replicates over several designs, including group clustering in the intervention arm
(where the plain ANCOVA ignores the clustering and the partially nested model accounts for it).
Prints one line per design × method with the Monte-Carlo standard error of each figure.

    python benchmarks/analysis_simulation.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.analysis.ancova import ancova  # noqa: E402
from pipelines.analysis.partially_nested import partially_nested  # noqa: E402
from pipelines.simulate import simulate_outcomes  # noqa: E402

METHODS = {
    "ancova": lambda d: ancova(d, "y", baseline="y0", covariates=["site", "gender"]),
    "mixed_partially_nested": lambda d: partially_nested(d, "y", baseline="y0", covariates=["site", "gender"]),
}


def run(design: dict, methods: list[str], replicates: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    fits = {m: [] for m in methods}
    start = time.perf_counter()
    for _ in range(replicates):
        trial = simulate_outcomes(design["n"], design["effect"], rng, icc=design["icc"], group_size=10)
        for m in methods:
            fits[m].append(METHODS[m](trial).iloc[0])
    seconds = time.perf_counter() - start
    rows = []
    for m, results in fits.items():
        frame = pd.DataFrame(results)
        covered = ((frame.ci_low <= design["effect"]) & (design["effect"] <= frame.ci_high)).mean()
        rejected = (frame.p < 0.05).mean()
        rows.append({
            **design, "method": m, "replicates": replicates,
            "bias": frame.estimate.mean() - design["effect"],
            "bias_mcse": frame.estimate.std(ddof=1) / np.sqrt(replicates),
            "coverage": covered, "coverage_mcse": np.sqrt(covered * (1 - covered) / replicates),
            "rejection": rejected, "rejection_mcse": np.sqrt(rejected * (1 - rejected) / replicates),
            "seconds": seconds,
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer replicates and designs")
    parser.add_argument("--replicates", type=int, default=0)
    args = parser.parse_args()
    replicates = args.replicates or (200 if args.quick else 2000)
    designs = [
        {"n": 80, "effect": 5.0, "icc": 0.0},
        {"n": 80, "effect": 0.0, "icc": 0.0},
        {"n": 296, "effect": 5.0, "icc": 0.05},
        {"n": 296, "effect": 0.0, "icc": 0.05},
    ]
    if args.quick:
        designs = designs[:2] + designs[3:]
    rows = []
    for k, design in enumerate(designs):
        methods = ["ancova"] if design["icc"] == 0 else ["ancova", "mixed_partially_nested"]
        reps = replicates if design["icc"] == 0 else max(50, replicates // 4)
        rows += run(design, methods, reps, seed=100 + k)
        print(f"design {k + 1}/{len(designs)} done ({reps} replicates)", flush=True)
    print(pd.DataFrame(rows).round(4).to_string(index=False))
    print("\nrejection = type-I error where effect = 0, power otherwise; nominal coverage 0.95")


if __name__ == "__main__":
    main()

"""Benchmark: build the analysis dataset and run the whole trial analysis.

Full run: 10,000 participants × 3 timepoints, every primary and secondary outcome, MICE with
20 imputations. ``--quick``: 10,000 participants × 3 timepoints for the dataset, the ITT
ANCOVA and the mixed models of the primary outcome, MICE with 5 imputations on 2,000
participants. Prints seconds per step.

    python benchmarks/analysis.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.analysis.plan import analysis_plan  # noqa: E402
from pipelines.analysis.trial import run_trial_analysis  # noqa: E402
from pipelines.dataset import build_analysis_dataset  # noqa: E402
from pipelines.simulate import simulate_trial  # noqa: E402
from study.config import example_config_path, load_config  # noqa: E402


def timed(label: str, fn):
    start = time.perf_counter()
    value = fn()
    print(f"{label:<58} {time.perf_counter() - start:8.2f} s", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="primary outcome only, short MICE")
    parser.add_argument("--participants", type=int, default=10_000)
    args = parser.parse_args()
    config = load_config(example_config_path())
    n = args.participants
    print(f"peerstudy analysis benchmark: {n} participants × {len(config.timepoints)} timepoints"
          f"{' (quick)' if args.quick else ''}")
    sources = timed("simulate the sources", lambda: simulate_trial(config, n=n, seed=1))
    dataset = timed("build the analysis dataset", lambda: build_analysis_dataset(**sources, config=config, unblinded=True))
    print(f"  dataset: {len(dataset):,} rows × {dataset.shape[1]} columns; scores: {len(sources['scores']):,} rows")
    plan = analysis_plan(config, unblinded=True)
    if args.quick:
        primary_only = replace(plan, secondary=())
        result = timed("whole analysis of the primary outcome without MICE",
                       lambda: run_trial_analysis(dataset, primary_only, mice=False, summaries=False))
        small = dataset[dataset["pseudonym"].isin(dataset["pseudonym"].unique()[:2000])]
        timed("MICE ANCOVA, primary outcome, 2,000 participants, 5 imputations",
              lambda: run_trial_analysis(small, replace(primary_only, imputations=5, followups=plan.followups[:1]),
                                         mice=True, summaries=False))
    else:
        result = timed(f"whole analysis: {len(plan.outcomes)} outcomes × {len(plan.followups)} follow-ups, MICE ×{plan.imputations}",
                       lambda: run_trial_analysis(dataset, plan, mice=True, summaries=True))
    print(f"  result rows: {len(result.results)}; problems: {len(result.problems)}")
    for problem in result.problems:
        print(f"  could not run: {problem}")
    primary = result.results[(result.results.method == "ancova") & (result.results.estimand == "itt")]
    print(primary[["outcome", "timepoint", "estimate", "ci_low", "ci_high", "effect_size"]].round(3).to_string(index=False))


if __name__ == "__main__":
    main()

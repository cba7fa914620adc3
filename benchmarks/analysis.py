"""Benchmark: the whole trial analysis, with and without multiple imputation.

1. The demo's size (296 randomised × 3 timepoints; ``--demo-db URL`` reads a demo database
   built by ``peerstudy demo`` instead of simulating it): the full plan without MICE, then
   with MICE at 50 imputations. Target: with MICE < 3 × without.
2. 10,000 participants × 3 timepoints: the full plan with MICE at 50 imputations.
   Target: < 60 s on one core. The same plan without MICE is the baseline measured beside it.

``--quick`` runs step 1 and step 2 with 2,000 participants (unless ``--participants`` is
given) and without the baseline, a smoke run for ``benchmarks/all.py --quick``. Prints
seconds per step.

    python benchmarks/analysis.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.analysis.plan import analysis_plan
from pipelines.analysis.trial import run_trial_analysis
from pipelines.dataset import build_analysis_dataset
from pipelines.simulate import simulate_trial
from study.config import example_config_path, load_config


def timed(label: str, fn):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    print(f"{label:<66} {seconds:8.2f} s", flush=True)
    return value, seconds


def demo_dataset(url: str | None, config):
    if url:
        from pipelines.snapshot import take_snapshot
        from study.db import make_engine

        snap = take_snapshot(make_engine(url))
        return snap.dataset, snap.plan()
    sources = simulate_trial(config, n=296, seed=1)
    return build_analysis_dataset(**sources, config=config, unblinded=True), analysis_plan(
        config, unblinded=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2,000 participants in step 2, without its baseline"
    )
    parser.add_argument("--participants", type=int, default=None, help="step 2's size [10,000]")
    parser.add_argument(
        "--demo-db", default=None, help="a demo database (default: a simulated 296-person trial)"
    )
    args = parser.parse_args()
    config = load_config(example_config_path())

    dataset, plan = demo_dataset(args.demo_db, config)
    print(
        f"1. demo size: {dataset['pseudonym'].nunique()} participants, {len(plan.outcomes)} outcomes × "
        f"{len(plan.followups)} follow-ups, primary method {plan.primary_method}"
    )
    _, without = timed("   full plan without MICE", lambda: run_trial_analysis(dataset, plan, mice=False))
    result, with_mice = timed(
        f"   full plan with MICE ×{plan.imputations}", lambda: run_trial_analysis(dataset, plan)
    )
    print(f"   ratio {with_mice / without:.2f} (target < 3); problems: {len(result.problems)}")

    n = args.participants or (2_000 if args.quick else 10_000)
    sources, _ = timed(f"2. simulate {n:,} participants", lambda: simulate_trial(config, n=n, seed=1))
    big, _ = timed(
        "   build the analysis dataset",
        lambda: build_analysis_dataset(**sources, config=config, unblinded=True),
    )
    big_plan = analysis_plan(config, unblinded=True)
    if not args.quick:
        timed("   full plan without MICE (baseline)", lambda: run_trial_analysis(big, big_plan, mice=False))
    result, seconds = timed(
        f"   full plan with MICE ×{big_plan.imputations} ({len(big_plan.outcomes)} outcomes × "
        f"{len(big_plan.followups)} follow-ups)",
        lambda: run_trial_analysis(big, big_plan),
    )
    target = "target < 60 s" if n == 10_000 else "target < 60 s at 10,000 participants"
    print(
        f"   {seconds:.1f} s ({target}); result rows {len(result.results)}; problems {len(result.problems)}"
    )
    for problem in result.problems:
        print(f"   could not run: {problem}")
    primary = result.results[
        (result.results.method == big_plan.primary_method) & (result.results.estimand == "itt")
    ]
    print(
        primary[["outcome", "timepoint", "estimate", "se", "df", "ci_low", "ci_high"]]
        .round(3)
        .to_string(index=False)
    )


if __name__ == "__main__":
    main()

"""Simulation: the ITT ANCOVA is unbiased, its 95 % CI covers the truth at the nominal rate,
and without an effect it rejects in about 5 % of trials.

400 replicates per scenario; tolerances are 4 binomial (or Monte-Carlo) standard errors, so a
correct method fails by chance with probability < 1e-4 while a real defect (e.g. a CI built
from z instead of t at n = 80, a biased estimator, a wrong SE) is detected. The long version
with more replicates and designs is ``benchmarks/analysis_simulation.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.analysis.ancova import ancova
from pipelines.simulate import simulate_outcomes

REPLICATES = 400


def _replicate(effect: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fits = []
    for _ in range(REPLICATES):
        trial = simulate_outcomes(80, effect, rng, icc=0.0)
        fits.append(ancova(trial, "y", baseline="y0", covariates=["site", "gender"]))
    return pd.concat(fits, ignore_index=True)


@pytest.fixture(scope="module")
def with_effect() -> pd.DataFrame:
    return _replicate(effect=5.0, seed=11)


@pytest.fixture(scope="module")
def without_effect() -> pd.DataFrame:
    return _replicate(effect=0.0, seed=12)


def test_ancova_is_unbiased(with_effect):
    mc_se = with_effect["estimate"].std(ddof=1) / np.sqrt(REPLICATES)
    assert abs(with_effect["estimate"].mean() - 5.0) < 4 * mc_se


def test_ancova_ci_covers_at_nominal_rate(with_effect):
    covered = ((with_effect["ci_low"] <= 5.0) & (with_effect["ci_high"] >= 5.0)).mean()
    binomial_se = np.sqrt(0.95 * 0.05 / REPLICATES)
    assert abs(covered - 0.95) < 4 * binomial_se


def test_ancova_standard_error_matches_spread(with_effect):
    # The model SE must describe the real sampling spread of the estimate (ratio ≈ 1).
    ratio = with_effect["se"].mean() / with_effect["estimate"].std(ddof=1)
    assert 0.85 < ratio < 1.15


def test_type_one_error_is_nominal(without_effect):
    rejected = (without_effect["p"] < 0.05).mean()
    binomial_se = np.sqrt(0.05 * 0.95 / REPLICATES)
    assert abs(rejected - 0.05) < 4 * binomial_se
    # p-values are uniform under the null: the share below 0.5 is about a half too.
    assert abs((without_effect["p"] < 0.5).mean() - 0.5) < 4 * np.sqrt(0.25 / REPLICATES)

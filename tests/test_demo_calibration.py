"""The demo's generator is calibrated to the reference trial: QPR-15 total SD ≈ 11.9 and a
planted difference of 5.1 points (d ≈ 0.43), with a dose-response on expected attendance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from questionnaires.definitions import shipped_instruments
from study.demo.questionnaires import (
    GROUP_VARIANCE,
    PLANTED_EFFECTS,
    PLANTED_QPR15_POINTS,
    _answers,
    _dose_factor,
    _group_effects,
    attendance_propensity,
)

N = 100_000


def _totals(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """QPR-15 totals of simulated answer sets (prorated over answered items, as scored)."""
    cells = _answers(rng, shipped_instruments()["qpr15"], z)
    values = np.where(np.isin(cells, ["", "-7", "-8", "-9"]), np.nan, cells).astype(float)
    answered = np.isfinite(values).sum(axis=1) > 0
    return (np.nanmean(values[answered], axis=1) * 15), answered


def test_qpr15_sd_and_planted_difference_are_the_reference_trials():
    rng = np.random.default_rng(1)
    z = rng.normal(size=N)
    control, kept = _totals(z, rng)
    treated, kept_t = _totals(z + PLANTED_EFFECTS["post"]["qpr15"], rng)
    sd = control.std()
    difference = treated.mean() - control.mean()
    assert sd == pytest.approx(11.9, abs=0.3)
    assert difference == pytest.approx(PLANTED_QPR15_POINTS, abs=0.15)
    assert difference / sd == pytest.approx(0.43, abs=0.015)


def test_dose_response_averages_to_the_itt_effect():
    rng = np.random.default_rng(2)
    members = [f"P{i:04d}" for i in range(150)]
    plan = attendance_propensity(rng, members)
    people = pd.Series(members + [f"C{i:04d}" for i in range(150)])
    intervention = np.r_[np.ones(150, bool), np.zeros(150, bool)]
    factor = _dose_factor(people, intervention, plan)
    assert factor[intervention].mean() == pytest.approx(1.0)
    assert (factor[~intervention] == 0).all()
    share = plan["propensity"] * np.minimum(plan["stops_after"], 10) / 10
    # Linear in the expected share of sessions attended: full attenders gain most
    assert np.corrcoef(share, factor[intervention])[0, 1] == pytest.approx(1.0)
    assert factor[intervention].max() < 1.6


def test_members_of_a_group_share_its_effect_and_controls_have_none():
    rng = np.random.default_rng(3)
    groups = pd.Series(["G1"] * 300 + ["G2"] * 300 + [None] * 300)
    effect = _group_effects(rng, groups)
    assert (effect[600:] == 0).all()
    assert effect[0] == effect[299] and effect[300] == effect[599] and effect[0] != effect[300]
    many = _group_effects(rng, pd.Series([f"G{i}" for i in range(20_000)]))
    assert many.var() == pytest.approx(GROUP_VARIANCE, rel=0.05)

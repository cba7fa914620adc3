"""The partially nested model (group effect in the intervention arm only, residual variance
per arm) agrees with independent fits: statsmodels MixedLM with variance components, and a
brute-force REML on the full covariance matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.optimize import minimize

from pipelines.analysis.partially_nested import fit_partially_nested, partially_nested
from pipelines.simulate import simulate_outcome_batch, simulate_outcomes


def _trial(sd_ratio: float, icc: float = 0.08, seed: int = 3, n: int = 240) -> pd.DataFrame:
    data = simulate_outcomes(n, 4.0, np.random.default_rng(seed), icc=icc, group_size=8, sd_ratio=sd_ratio)
    return data.assign(treat=(data["arm"] == "INT").astype(float), ctrl=(data["arm"] == "CTL").astype(float))


def test_equals_statsmodels_mixedlm_with_variance_components():
    """With σ²_C ≥ σ²_T the model is a MixedLM: every participant in a cluster (their group, or
    themselves for controls), a variance component on ``treat`` (the group effect) and one on
    ``ctrl`` (the controls' extra residual variance σ²_C − σ²_T)."""
    trial = _trial(sd_ratio=0.7)
    ours = partially_nested(trial, "y", baseline="y0", covariates=["site"]).iloc[0]
    clusters = np.where(trial["arm"] == "INT", trial["group"].astype(str), trial["pseudonym"])
    ref = smf.mixedlm(
        "y ~ treat + y0 + C(site)",
        trial,
        groups=clusters,
        re_formula="0",
        vc_formula={"c": "0 + ctrl", "g": "0 + treat"},
    ).fit(reml=True)
    extra_control, group = ref.vcomp
    assert ours["estimate"] == pytest.approx(ref.fe_params["treat"], abs=1e-4)
    assert ours["se"] == pytest.approx(ref.bse_fe["treat"], rel=1e-3)
    assert ours["var_cluster"] == pytest.approx(group, rel=1e-3)
    assert ours["var_residual"] == pytest.approx(ref.scale, rel=1e-3)
    assert ours["var_residual_control"] == pytest.approx(ref.scale + extra_control, rel=1e-3)
    assert ours["var_residual_control"] > ours["var_residual"]  # not one common variance
    assert ours["n_clusters"] == trial.loc[trial.arm == "INT", "group"].nunique()


def _dense_reml(y, X, treated, cluster):
    """−2ℓ_R on the full N × N covariance matrix, minimised by Nelder–Mead (no algebra shared)."""
    same_group = (cluster[:, None] == cluster[None, :]) & treated[:, None] & treated[None, :]

    def criterion(log_var):
        var_c, var_t, tau2 = np.exp(log_var)
        V = np.diag(np.where(treated, var_t, var_c)) + tau2 * same_group
        Vi = np.linalg.inv(V)
        A = X.T @ Vi @ X
        beta = np.linalg.solve(A, X.T @ Vi @ y)
        r = y - X @ beta
        return np.linalg.slogdet(V)[1] + np.linalg.slogdet(A)[1] + r @ Vi @ r

    found = minimize(
        criterion,
        np.log([1.0, 1.0, 0.3]),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000},
    )
    var_c, var_t, tau2 = np.exp(found.x)
    V = np.diag(np.where(treated, var_t, var_c)) + tau2 * same_group
    Vi = np.linalg.inv(V)
    cov = np.linalg.inv(X.T @ Vi @ X)
    return {
        "beta": cov @ X.T @ Vi @ y,
        "cov": cov,
        "variances": (var_c, var_t, tau2),
        "criterion": criterion,
        "log_var": found.x,
    }


def test_equals_brute_force_reml_when_the_intervention_arm_varies_more():
    rng = np.random.default_rng(11)
    n, groups = 90, 6
    treated = np.arange(n) % 2 == 0
    cluster = np.where(treated, (np.arange(n) // 2) % groups, -1)
    x = rng.normal(size=n)
    u = rng.normal(size=groups)
    y = (
        1
        + 2 * treated
        + 0.5 * x
        + np.where(treated, u[cluster], 0)
        + rng.normal(size=n) * np.where(treated, 1.6, 1.0)
    )
    X = np.column_stack([np.ones(n), treated.astype(float), x])
    ours = fit_partially_nested(y, X, treated, cluster)
    ref = _dense_reml(y, X, treated, cluster)
    assert ours.params[0] == pytest.approx(ref["beta"], abs=1e-5)
    assert ours.cov_params[0] == pytest.approx(ref["cov"], rel=1e-4)
    assert (ours.var_residual_control[0], ours.var_residual[0], ours.var_cluster[0]) == pytest.approx(
        ref["variances"], rel=1e-4
    )
    # Satterthwaite df, computed independently on the dense matrices with numdifftools-free
    # central differences in (log σ²_C, log σ²_T, log τ²): ν = 2φ² / (∇φ' 2H⁻¹ ∇φ).
    theta, h = ref["log_var"], 1e-4

    def phi(t):
        var_c, var_t, tau2 = np.exp(t)
        same = (cluster[:, None] == cluster[None, :]) & treated[:, None] & treated[None, :]
        V = np.diag(np.where(treated, var_t, var_c)) + tau2 * same
        return np.linalg.inv(X.T @ np.linalg.inv(V) @ X)[1, 1]

    eye = np.eye(3) * h
    grad = np.array([(phi(theta + e) - phi(theta - e)) / (2 * h) for e in eye])
    f = ref["criterion"]
    hess = np.array(
        [
            [
                (f(theta + a + b) - f(theta + a - b) - f(theta - a + b) + f(theta - a - b)) / (4 * h * h)
                for b in eye
            ]
            for a in eye
        ]
    )
    df = 2 * phi(theta) ** 2 / (grad @ (2 * np.linalg.inv(hess)) @ grad)
    assert ours.df[0] == pytest.approx(df, rel=0.02)
    assert 1 < ours.df[0] < groups + 5  # few groups: far from the residual df


def test_boundary_group_variance_and_the_t_interval():
    trial = _trial(sd_ratio=1.0, icc=0.0, seed=8, n=200)
    fit = partially_nested(trial, "y", baseline="y0", summary=True)
    row = fit.iloc[0]
    assert row["var_cluster"] == 0 and row["icc"] == 0  # reached exactly, not 1e-9
    assert "boundary" in fit.attrs["note"]
    # The interval is the t interval on the reported df: recomputable from estimate, se, df
    half = stats.t.ppf(0.975, row["df"]) * row["se"]
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((row["estimate"] - half, row["estimate"] + half))
    assert "residual variance, control arm" in fit.attrs["summary"]


def test_a_batch_equals_one_fit_at_a_time():
    batch = simulate_outcome_batch(5, 120, 3.0, np.random.default_rng(2), n_groups=8, icc=0.1, missing=0.1)
    together = fit_partially_nested(batch.y, batch.X, batch.treated, batch.cluster, batch.observed)
    for r in range(5):
        keep = batch.observed[r]
        alone = fit_partially_nested(
            batch.y[r, keep], batch.X[r, keep], batch.treated[r, keep], batch.cluster[r, keep]
        )
        assert alone.params[0] == pytest.approx(together.params[r], rel=1e-6)
        assert alone.df[0] == pytest.approx(together.df[r], rel=1e-4)


def test_refuses_one_group():
    trial = _trial(sd_ratio=1.0).assign(group=lambda d: np.where(d["arm"] == "INT", "G1", None))
    with pytest.raises(ValueError, match="1 group"):
        partially_nested(trial, "y", baseline="y0")

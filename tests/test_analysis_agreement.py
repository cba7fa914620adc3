"""The analysis functions agree with independent computations on the same data: plain
statsmodels formula fits, scipy and numpy written out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from pipelines.analysis.ancova import ancova
from pipelines.analysis.cace import cace_2sls
from pipelines.analysis.effect_size import hedges_correction, hedges_g, pooled_sd
from pipelines.analysis.mice import mice_ancova
from pipelines.analysis.mixed import repeated_measures
from pipelines.analysis.moderation import fidelity_moderation
from pipelines.analysis.multiplicity import holm
from pipelines.simulate import simulate_outcomes


@pytest.fixture(scope="module")
def trial() -> pd.DataFrame:
    data = simulate_outcomes(240, 4.0, np.random.default_rng(3), icc=0.08, group_size=8)
    data["treat"] = (data["arm"] == "INT").astype(float)
    # A column name with a dot, as in the analysis dataset (qpr15.total)
    return data.rename(columns={"y": "qpr15.total"})


def test_ancova_equals_statsmodels_formula_ols(trial):
    ours = ancova(trial, "qpr15.total", baseline="y0", covariates=["site", "gender"]).iloc[0]
    # Independent: statsmodels formula OLS with treatment coding
    ref = smf.ols("Q('qpr15.total') ~ treat + y0 + C(site) + C(gender)", data=trial).fit()
    low, high = ref.conf_int().loc["treat"]
    assert ours["estimate"] == pytest.approx(ref.params["treat"], rel=1e-9)
    assert ours["se"] == pytest.approx(ref.bse["treat"], rel=1e-9)
    assert ours["p"] == pytest.approx(ref.pvalues["treat"], rel=1e-7)
    assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((low, high), rel=1e-9)
    assert ours["n"] == len(trial) and ours["df"] == ref.df_resid


def test_unadjusted_ancova_is_the_welch_free_t_test(trial):
    ours = ancova(trial, "qpr15.total").iloc[0]
    # scipy: the pooled-variance two-sample t test is OLS on the arm alone
    t = stats.ttest_ind(
        trial.loc[trial.arm == "INT", "qpr15.total"], trial.loc[trial.arm == "CTL", "qpr15.total"]
    )
    diff = (
        trial.loc[trial.arm == "INT", "qpr15.total"].mean()
        - trial.loc[trial.arm == "CTL", "qpr15.total"].mean()
    )
    assert ours["estimate"] == pytest.approx(diff, rel=1e-10)
    assert ours["p"] == pytest.approx(t.pvalue, rel=1e-8)


def test_repeated_measures_equals_formula_mixedlm(trial):
    rng = np.random.default_rng(5)
    long = pd.concat(
        [
            trial.assign(timepoint="post"),
            trial.assign(
                timepoint="followup", **{"qpr15.total": trial["qpr15.total"] + rng.normal(0, 3, len(trial))}
            ),
        ],
        ignore_index=True,
    )
    ours = repeated_measures(long, "qpr15.total", baseline="y0").set_index("timepoint")
    long["fu"] = (long["timepoint"] == "followup").astype(float)
    ref = smf.mixedlm("Q('qpr15.total') ~ fu * treat + y0", long, groups=long["pseudonym"]).fit(
        reml=True, method="bfgs"
    )
    assert ours.loc["post", "estimate"] == pytest.approx(ref.fe_params["treat"], abs=1e-4)
    w = pd.Series(0.0, index=ref.fe_params.index)
    w[["treat", "fu:treat"]] = 1.0
    cov = ref.cov_params().loc[w.index, w.index]
    assert ours.loc["followup", "estimate"] == pytest.approx(w @ ref.fe_params, abs=1e-4)
    assert ours.loc["followup", "se"] == pytest.approx(np.sqrt(w @ cov @ w), rel=1e-3)


def test_cace_equals_hand_computed_2sls(trial):
    rng = np.random.default_rng(9)
    data = trial.assign(received=((trial["arm"] == "INT") & (rng.random(len(trial)) < 0.7)).astype(float))
    ours = cace_2sls(data, "qpr15.total", received="received", baseline="y0").iloc[0]
    # Independent: 2SLS by hand. Stage 1 fits D on Z; the structural residuals use the observed D.
    y = data["qpr15.total"].to_numpy()
    X = np.column_stack([np.ones(len(y)), data["received"], data["y0"]])
    Z = np.column_stack([np.ones(len(y)), data["treat"], data["y0"]])
    X_hat = Z @ np.linalg.lstsq(Z, X, rcond=None)[0]
    beta = np.linalg.solve(X_hat.T @ X_hat, X_hat.T @ y)
    resid = y - X @ beta
    sigma2 = resid @ resid / (len(y) - X.shape[1])
    se = np.sqrt(sigma2 * np.linalg.inv(X_hat.T @ X_hat)[1, 1])
    assert ours["estimate"] == pytest.approx(beta[1], rel=1e-9)
    assert ours["se"] == pytest.approx(se, rel=1e-9)
    # With no covariates the 2SLS estimate is the Wald ratio ITT / compliance
    plain = cace_2sls(data, "qpr15.total", received="received").iloc[0]
    itt = data.loc[data.treat == 1, "qpr15.total"].mean() - data.loc[data.treat == 0, "qpr15.total"].mean()
    assert plain["estimate"] == pytest.approx(itt / plain["compliance"], rel=1e-9)


def test_cace_refuses_when_nobody_received(trial):
    with pytest.raises(ValueError, match="not identified"):
        cace_2sls(trial.assign(received=0.0), "qpr15.total", received="received")


def test_mice_counts_and_fraction_of_missing_information(trial):
    data = trial.copy()
    data.loc[np.random.default_rng(1).random(len(data)) < 0.3, "qpr15.total"] = np.nan
    ours = mice_ancova(data, "qpr15.total", baseline="y0", n_imputations=5, seed=4).iloc[0]
    assert ours["n"] == len(data) and ours["n_observed"] == data["qpr15.total"].notna().sum()
    assert 0 < ours["fmi"] < 1


def test_mice_with_nothing_missing_equals_ancova(trial):
    ours = mice_ancova(trial, "qpr15.total", baseline="y0", n_imputations=3, seed=1).iloc[0]
    plain = ancova(trial, "qpr15.total", baseline="y0").iloc[0]
    assert ours["estimate"] == pytest.approx(plain["estimate"], rel=1e-9)
    assert ours["se"] == pytest.approx(plain["se"], rel=1e-9)


def test_holm_equals_statsmodels():
    p = [0.01, 0.04, 0.03, 0.2, np.nan, 0.005]
    ours = holm(p)
    observed = [x for x in p if not np.isnan(x)]
    ref = multipletests(observed, method="holm")[1]
    assert np.isnan(ours[4])
    assert np.allclose(np.delete(ours, 4), ref)


def test_hedges_g_and_pooled_sd_by_hand(trial):
    sd = pooled_sd(trial, "y0", "arm")
    a, b = trial.loc[trial.arm == "INT", "y0"], trial.loc[trial.arm == "CTL", "y0"]
    by_hand = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    assert sd == pytest.approx(by_hand)
    g = hedges_g(5.0, 2.0, 8.0, 10.0, 50, 50).iloc[0]
    j = 1 - 3 / (4 * 98 - 1)
    assert hedges_correction(98) == pytest.approx(j)
    assert (g["effect_size"], g["effect_size_ci_low"], g["effect_size_ci_high"]) == pytest.approx(
        (0.5 * j, 0.2 * j, 0.8 * j)
    )


def test_fidelity_moderation_equals_cluster_robust_ols(trial):
    int_arm = trial[trial.arm == "INT"].copy()
    fid = {g: 60 + 3 * i for i, g in enumerate(sorted(int_arm["group"].unique()))}
    int_arm["group_fidelity"] = int_arm["group"].map(fid)
    ours = fidelity_moderation(int_arm, "qpr15.total", baseline="y0").iloc[0]
    ref = smf.ols("Q('qpr15.total') ~ I(group_fidelity / 10) + y0", int_arm).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(int_arm["group"])[0]}
    )
    assert ours["estimate"] == pytest.approx(ref.params.iloc[1], rel=1e-9)
    assert ours["se"] == pytest.approx(ref.bse.iloc[1], rel=1e-9)


def test_bad_input_is_a_clear_value_error(trial):
    with pytest.raises(ValueError, match="no participant in arm 'CTL'"):
        ancova(trial[trial.arm == "INT"], "qpr15.total")
    with pytest.raises(ValueError, match="not in the data"):
        ancova(trial, "who5.total")
    with pytest.raises(ValueError, match="no participant with an observed outcome"):
        ancova(trial.assign(**{"qpr15.total": np.nan}), "qpr15.total", baseline="y0")
    with pytest.raises(ValueError, match="all outcome values are missing"):
        mice_ancova(trial.assign(**{"qpr15.total": np.nan}), "qpr15.total")

"""The analysis dataset and the trial analysis run end to end on a simulated trial."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipelines.analysis.plan import analysis_plan
from pipelines.analysis.trial import RESULT_COLUMNS, run_trial_analysis
from pipelines.dataset import SCORE_COLUMNS, build_analysis_dataset, empty_frame
from pipelines.simulate import simulate_trial
from study.config import example_config_path, load_config


@pytest.fixture(scope="module")
def config():
    return load_config(example_config_path())


@pytest.fixture(scope="module")
def sources(config):
    return simulate_trial(config, n=160, seed=5)


def test_dataset_is_one_row_per_participant_and_timepoint(config, sources):
    unblinded = build_analysis_dataset(**sources, config=config, unblinded=True)
    assert len(unblinded) == 160 * 3
    assert not unblinded.duplicated(["pseudonym", "timepoint"]).any()
    assert list(unblinded.columns[:4]) == ["pseudonym", "site", "gender", "age"]
    assert unblinded["timepoint"].iloc[:3].tolist() == ["baseline", "post", "followup"]
    assert "qpr15.total" in unblinded and "mansa.total" in unblinded
    # Until unblinding: the dummy allocation, watermarked, same shape and arm codes
    ds = build_analysis_dataset(**sources, config=config, unblinded=False)
    assert (ds["dummy_allocation"] == "DUMMY ALLOCATION: not the trial result").all()
    assert list(ds.columns[1:]) == list(unblinded.columns) and len(ds) == len(unblinded)
    assert set(ds["arm"]) == set(unblinded["arm"]) == {"INT", "CTL"}
    # Dose and fidelity only in the intervention arm; per protocol = dose ≥ 6
    ctl = unblinded[unblinded.arm == "CTL"]
    assert (ctl["dose"] == 0).all() and ctl["group"].isna().all() and ctl["group_fidelity"].isna().all()
    assert (unblinded["per_protocol"] == (unblinded["dose"] >= 6)).all()
    # A score equals its source row
    row = sources["scores"].query("instrument == 'qpr15' and timepoint == 'post'").iloc[0]
    got = unblinded.set_index(["pseudonym", "timepoint"]).loc[(row.pseudonym, "post"), "qpr15.total"]
    assert got == row.score


def test_dataset_without_scores_keeps_configured_outcome_columns(config, sources):
    ds = build_analysis_dataset(
        **{**sources, "scores": empty_frame(SCORE_COLUMNS)}, config=config, unblinded=False
    )
    assert ds["qpr15.total"].isna().all() and len(ds) == 160 * 3


def test_dataset_refuses_a_double_allocation(config, sources):
    doubled = pd.concat([sources["allocations"], sources["allocations"].head(1)])
    with pytest.raises(ValueError, match="more than once"):
        build_analysis_dataset(**{**sources, "allocations": doubled}, config=config, unblinded=False)


def test_trial_analysis_finds_the_planted_effect(config, sources):
    ds = build_analysis_dataset(**sources, config=config, unblinded=True)
    plan = analysis_plan(config, unblinded=True, imputations=2)
    assert (plan.treatment, plan.control) == ("INT", "CTL")
    reference = analysis_plan(config, unblinded=True)
    assert reference.imputations == 50 and reference.primary_method == "mixed_partially_nested"
    # Two outcomes and short chains keep the test quick
    plan = replace(plan, secondary=plan.secondary[:2], burn_in=2)
    result = run_trial_analysis(ds, plan, summaries=False)
    res = result.results
    assert list(res.columns) == RESULT_COLUMNS
    assert not result.problems, result.problems
    assert set(res.outcome) == {"qpr15.total", "who5.total", "state_hope.total"}
    primary = res[(res.outcome == "qpr15.total") & (res.timepoint == "post")].set_index(
        ["estimand", "method"]
    )
    assert set(primary.index) == {
        ("itt", "ancova"),
        ("itt", "mixed_partially_nested"),
        ("itt", "mixed_repeated"),
        ("itt", "mice_ancova"),
        ("itt", "complete_case"),
        ("per_protocol", "ancova"),
        ("cace", "2sls"),
    }
    # The planted effect is 0.45 SD (≈ 4.5 points): the primary ITT CI excludes 0
    itt = primary.loc[("itt", "ancova")]
    assert itt["ci_low"] > 0 and 0.1 < itt["effect_size"] < 1.0
    # CACE exceeds ITT when compliance < 1 (effect grows with dose)
    assert primary.loc[("cace", "2sls"), "estimate"] > itt["estimate"]
    assert set(result.multiplicity["outcome"]) == set(plan.secondary)
    assert (result.multiplicity["p_holm"] >= result.multiplicity["p"]).all()
    assert len(result.moderation) == len(plan.outcomes) * 2


def test_bad_input_names_what_could_not_run(config, sources):
    plan = analysis_plan(config, unblinded=True, imputations=2)
    ds = build_analysis_dataset(**sources, config=config, unblinded=True)
    # No RCT participants
    nobody = run_trial_analysis(ds.iloc[0:0], plan)
    assert nobody.results.empty and "no randomised (RCT) participants" in nobody.problems[0]
    # An outcome with no follow-up values and one that is all missing: the others still run
    ds2 = ds.copy()
    ds2.loc[ds2.timepoint != "baseline", "who5.total"] = np.nan
    ds2["wsas.total"] = np.nan
    result = run_trial_analysis(ds2, plan, mice=False, summaries=False)
    assert any("who5.total at post: no analysis could run" in p for p in result.problems)
    assert not (result.results.outcome == "who5.total").any()
    assert (result.results.outcome == "qpr15.total").any()
    assert any(p.startswith("wsas.total") for p in result.problems)
    # A single site: the site adjustment is dropped with a note, the analyses run
    single = ds[ds.site == "CPH"]
    result = run_trial_analysis(single, plan, mice=False, summaries=False)
    assert any("'site' has a single value" in n for n in result.notes)
    assert (result.results.method == "ancova").any()

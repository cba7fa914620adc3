"""Scores (pure pandas) and inter-rater reliability against known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.config.fidelity import FidelityThresholds
from study.fidelity.dose import dose_table
from study.fidelity.reliability import agreement, cohen_kappa, icc
from study.fidelity.scores import adherence, classify, drift_slopes, summarise

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def sf_long() -> pd.DataFrame:
    return pd.DataFrame(
        [(f"t{t}", f"judge{r}", s) for t, row in enumerate(SHROUT_FLEISS) for r, s in enumerate(row)],
        columns=["target", "rater", "score"],
    )


def test_icc_matches_shrout_and_fleiss_worked_example():
    out = icc(sf_long()).set_index("form")
    assert out.index.tolist() == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    # Published values, Shrout & Fleiss (1979), Table 4 (two decimals).
    published = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
    for form, value in published.items():
        assert out.loc[form, "icc"] == pytest.approx(value, abs=0.005), form
    # F tests: one-way F(5, 18) = 1.79; two-way F(5, 15) = 11.03 (Shrout & Fleiss, Table 3
    # mean squares: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02).
    assert out.loc["ICC1", ["f", "df1", "df2"]].tolist() == pytest.approx([1.7947, 5, 18], abs=1e-3)
    assert out.loc["ICC3", ["f", "df1", "df2"]].tolist() == pytest.approx([11.027, 5, 15], abs=1e-3)
    # 95 % intervals as printed by R psych::ICC(sf) (McGraw & Wong 1996 formulas).
    psych = {
        "ICC1": (-0.133, 0.723),
        "ICC2": (0.019, 0.761),
        "ICC3": (0.342, 0.946),
        "ICC1k": (-0.884, 0.912),
        "ICC2k": (0.071, 0.927),
        "ICC3k": (0.676, 0.986),
    }
    for form, (low, high) in psych.items():
        assert out.loc[form, "ci_low"] == pytest.approx(low, abs=0.002), form
        assert out.loc[form, "ci_high"] == pytest.approx(high, abs=0.002), form


def test_icc_one_way_equals_anova_computed_independently():
    # ICC(1,1) from the one-way ANOVA done by hand with numpy (independent of icc's code).
    x = np.array(SHROUT_FLEISS, dtype=float)
    n, k = x.shape
    bms = k * ((x.mean(1) - x.mean()) ** 2).sum() / (n - 1)
    wms = ((x - x.mean(1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    expected = (bms - wms) / (bms + (k - 1) * wms)
    assert icc(sf_long()).set_index("form").loc["ICC1", "icc"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "data, message",
    [
        (sf_long().drop(index=3), "balanced design"),
        (sf_long().rename(columns={"score": "value"}), r"column\(s\) not in data: score="),
        (pd.concat([sf_long(), sf_long().iloc[[0]]]), "rated twice"),
        (sf_long().assign(score=lambda d: d["score"].astype(str).replace("9", "nine")), "not numbers"),
        (sf_long().query("target == 't0'"), "at least 2 targets"),
    ],
)
def test_icc_bad_data_raises_value_error(data, message):
    with pytest.raises(ValueError, match=message):
        icc(data)


def test_icc_omit_drops_incomplete_targets():
    out = icc(sf_long().drop(index=3), nan_policy="omit")
    assert out.attrs["n_targets"] == 5


def test_weighted_kappa_against_hand_computed_values():
    a = [0, 1, 2, 2, 1, 0]
    b = [0, 2, 2, 1, 1, 0]
    # By hand: both raters' margins are 1/3 per category. Quadratic weights ((i-j)/2)^2:
    # observed weighted disagreement (0.25 + 0.25)/6 = 1/12, expected (1/9)(4·0.25 + 2·1) = 1/3,
    # so kappa = 1 - (1/12)/(1/3) = 0.75. Linear: 1 - (1/6)/(4/9) = 0.625.
    # Unweighted: p_o = 4/6, p_e = 1/3, kappa = (2/3 - 1/3)/(2/3) = 0.5.
    assert cohen_kappa(a, b) == pytest.approx(0.75)
    assert cohen_kappa(a, b, weights="linear") == pytest.approx(0.625)
    assert cohen_kappa(a, b, weights=None) == pytest.approx(0.5)
    # Perfect agreement is 1; an unused category changes the weights only through `categories`.
    assert cohen_kappa([0, 1, 2], [0, 1, 2]) == 1
    assert np.isnan(cohen_kappa([2, 2], [2, 2], categories=[0, 1, 2]))
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa([0, 1], [0])
    with pytest.raises(ValueError, match="not among the categories"):
        cohen_kappa([0, 3], [0, 1], categories=[0, 1, 2])


def test_agreement_per_item_and_pooled():
    rows = []
    for target, (x, y) in enumerate([(0, 0), (1, 2), (2, 2), (2, 1), (1, 1), (0, 0)]):
        rows += [("c1", target, "A", x), ("c1", target, "B", y)]
    rows += [("c2", 0, "A", 2), ("c2", 0, "B", None), ("c2", 1, "A", 2), ("c2", 1, "B", 2)]
    out = agreement(pd.DataFrame(rows, columns=["item", "target", "rater", "score"]), categories=[0, 1, 2])
    out = out.set_index("item")
    assert out.loc["c1", "n_pairs"] == 6 and out.loc["c1", "pct_agreement"] == pytest.approx(400 / 6)
    assert out.loc["c1", "kappa"] == pytest.approx(0.75)  # the hand-computed value above
    assert out.loc["c2", "n_pairs"] == 1  # the NA pair is left out
    assert out.loc["(all)", "n_pairs"] == 7


def test_adherence_weights_and_not_applicable():
    ratings = pd.DataFrame(
        {
            "observation": [1, 1, 1, 1, 2, 2],
            "score": [2, 1, 0, None, None, None],
            "weight": [2, 2, 1, 1, 1, 1],
        }
    )
    out = adherence(ratings).set_index("observation")
    # points 2·2 + 2·1 + 1·0 = 6 of (2 + 2 + 1)·2 = 10 → 60 %; the NA component is left out.
    assert out.loc[1, "adherence_pct"] == pytest.approx(60)
    assert out.loc[1, "n_not_applicable"] == 1
    assert np.isnan(out.loc[2, "adherence_pct"])  # nothing applicable
    with pytest.raises(ValueError, match="0, 1, 2"):
        adherence(ratings.assign(score=[3, 1, 0, None, None, None]))
    with pytest.raises(ValueError, match="positive weight"):
        adherence(ratings.assign(weight=0))


def test_classification_boundaries_and_configurable_thresholds():
    assert classify(pd.Series([100, 80, 79.99, 50, 49.99, 0])).tolist() == [
        "high",
        "high",
        "moderate",
        "moderate",
        "low",
        "low",
    ]
    strict = FidelityThresholds(high=90, moderate=70)
    assert classify(pd.Series([85, 69]), strict).tolist() == ["moderate", "low"]
    with pytest.raises(ValueError):
        FidelityThresholds(high=50, moderate=60)


def test_summaries_average_double_coded_sessions_first_and_show_drift():
    scores = pd.DataFrame(
        {
            "group": ["A", "A", "A", "B", "B", "B"],
            "site": ["CPH"] * 3 + ["HEL"] * 3,
            "week": [1, 1, 5, 2, 6, 10],
            "adherence_pct": [100.0, 80.0, 90.0, 90.0, 60.0, 30.0],
            "competence": [5, 4, 4, 4, 3, 2],
        }
    )
    out = summarise(scores, ["group"]).set_index("group")
    # Group A: week 1 double coded (100, 80 → 90), week 5 90 → mean 90 over 2 sessions.
    assert out.loc["A", ["n_observations", "n_sessions"]].tolist() == [3, 2]
    assert out.loc["A", "mean_adherence_pct"] == pytest.approx(90)
    assert out.loc["A", "classification"] == "high"
    assert out.loc["B", "mean_adherence_pct"] == pytest.approx(60)
    assert out.loc["B", "classification"] == "moderate"
    slopes = drift_slopes(scores).set_index("group")["drift_pct_per_week"]
    # B: least-squares slope of (2, 90), (6, 60), (10, 30) = -7.5 points per week.
    assert slopes["B"] == pytest.approx(-7.5)
    assert slopes["A"] == pytest.approx(0)


def test_dose_counts_held_sessions_and_per_protocol():
    members = pd.DataFrame({"pseudonym": ["P1", "P2", "P3"], "group": ["G", "G", "G"]})
    sessions = pd.DataFrame(
        {
            "group": ["G"] * 10,
            "week": range(1, 11),
            "cancelled": [False] * 9 + [True],
            "recorded": [True] * 8 + [False, False],
        }
    )
    attendance = pd.DataFrame(
        [("P1", "G", w, "present") for w in range(1, 7)]
        + [("P2", "G", w, "present" if w < 6 else "absent") for w in range(1, 9)],
        columns=["pseudonym", "group", "week", "status"],
    )
    out = dose_table(members, sessions, attendance, 6).set_index("pseudonym")
    assert out["sessions_held"].tolist() == [8, 8, 8]
    assert out["sessions_attended"].tolist() == [6, 5, 0]
    assert out["per_protocol"].tolist() == [True, False, False]


def test_icc_perfect_agreement_is_one_without_error():
    data = pd.DataFrame({"target": [1, 1, 2, 2, 3, 3], "rater": ["a", "b"] * 3, "score": [1, 1, 2, 2, 3, 3]})
    out = icc(data).set_index("form")
    assert (out["icc"] == 1).all() and np.isinf(out.loc["ICC1", "f"])

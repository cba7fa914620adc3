"""The allocation algorithms, without a database: streams, permuted blocks, minimisation,
allocation tables and the balance table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rct_fixtures import study_yaml
from scipy import stats

from study.config import ConfigError, parse_config
from study.errors import RowErrors
from study.randomisation.balance import balance_table, final_imbalance
from study.randomisation.minimisation import MinimisationState, minimisation_stream
from study.randomisation.sequence import block_sequence, blocks_stream
from study.randomisation.stream import HmacStream, NumpyStream
from study.randomisation.table import table_slots

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
ONE_TO_ONE = {"INT": 1, "CTL": 1}


def test_hmac_stream_is_reproducible_keyed_and_uniform():
    draws = [HmacStream(SECRET, "blocks|CPH").randbelow(6) for _ in range(3)]
    assert len(set(draws)) == 1  # a fresh stream starts at the same place
    a, b = HmacStream(SECRET, "x"), HmacStream(SECRET, "x")
    assert [a.randbelow(1000) for _ in range(50)] == [b.randbelow(1000) for _ in range(50)]
    c, d = HmacStream(SECRET, "x"), HmacStream(SECRET, "y")
    assert [c.randbelow(1000) for _ in range(50)] != [d.randbelow(1000) for _ in range(50)]
    e = HmacStream(OTHER_SECRET, "x")
    assert [e.randbelow(1000) for _ in range(50)] != [
        HmacStream(SECRET, "x").randbelow(1000) for _ in range(50)
    ]
    # Uniformity: chi-square goodness of fit over 6 cells (scipy.stats.chisquare); the stream
    # is deterministic, so this cannot flake, and a biased mapping (e.g. modulo of a small
    # range) would fail it.
    s = HmacStream(SECRET, "uniformity")
    counts = np.bincount([s.randbelow(6) for _ in range(12_000)], minlength=6)
    assert stats.chisquare(counts).pvalue > 0.001
    floats = np.array([s.random() for _ in range(5000)])
    assert floats.min() >= 0 and floats.max() < 1
    assert stats.kstest(floats, "uniform").pvalue > 0.001
    with pytest.raises(ValueError):
        HmacStream(b"short", "x")
    with pytest.raises(ValueError):
        s.randbelow(0)


@pytest.mark.parametrize(("ratios", "sizes"), [(ONE_TO_ONE, [2, 4, 6]), ({"INT": 2, "CTL": 1}, [3, 6, 9])])
def test_blocks_are_balanced_within_every_completed_block(ratios, sizes):
    seq = block_sequence(blocks_stream(SECRET, "CPH|female"), ratios, sizes, 600, complete_blocks=True)
    total = sum(ratios.values())
    assert set(seq["block_size"]) == set(sizes)  # every size is used
    for _, block in seq.groupby("block"):
        size = block["block_size"].iloc[0]
        assert len(block) == size
        assert block["arm"].value_counts().to_dict() == {a: r * size // total for a, r in ratios.items()}
    # Between blocks the running imbalance is bounded by half the largest block.
    running = (seq["arm"] == "INT").cumsum() / ratios["INT"] - (seq["arm"] == "CTL").cumsum() / ratios["CTL"]
    assert running.abs().max() <= max(sizes) / total
    # Not a fixed pattern: blocks of the same size differ in order.
    fours = seq[seq["block_size"] == sizes[1]].groupby("block")["arm"].agg("".join)
    assert fours.nunique() > 1


def test_block_list_is_reproducible_from_the_seed_and_prefix_stable():
    first = block_sequence(blocks_stream(SECRET, "HEL|male"), ONE_TO_ONE, [2, 4, 6], 50)
    again = block_sequence(blocks_stream(SECRET, "HEL|male"), ONE_TO_ONE, [2, 4, 6], 50)
    pd.testing.assert_frame_equal(first, again)
    short = block_sequence(blocks_stream(SECRET, "HEL|male"), ONE_TO_ONE, [2, 4, 6], 7)
    pd.testing.assert_frame_equal(short, first.head(7))  # slot k does not depend on length
    other_stratum = block_sequence(blocks_stream(SECRET, "HEL|female"), ONE_TO_ONE, [2, 4, 6], 50)
    other_secret = block_sequence(blocks_stream(OTHER_SECRET, "HEL|male"), ONE_TO_ONE, [2, 4, 6], 50)
    assert not first["arm"].equals(other_stratum["arm"])
    assert not first["arm"].equals(other_secret["arm"])
    assert list(first.columns) == ["position", "arm", "block", "block_size", "position_in_block"]


def test_block_sizes_must_be_multiples_of_the_ratio_sum():
    with pytest.raises(ValueError, match="multiples"):
        block_sequence(blocks_stream(SECRET, "x"), ONE_TO_ONE, [3], 4)
    with pytest.raises(ConfigError, match="not multiples of the arms' ratio sum 2"):
        parse_config(study_yaml(block_sizes=[2, 3]))
    with pytest.raises(ConfigError, match="factor_weights"):
        parse_config(study_yaml(factor_weights={"age": 2}))


def test_minimisation_scores_match_a_hand_worked_example():
    # Pocock-Simon with the range: allocated (CPH, female, INT), (CPH, male, CTL),
    # (HEL, female, INT). A new CPH woman: to INT → site |2-1| + gender |3-0| = 4;
    # to CTL → site |1-2| + gender |2-1| = 2, so CTL is preferred.
    state = MinimisationState(ONE_TO_ONE, ["site", "gender"], preferred_probability=1.0)
    for site, gender, arm in [("CPH", "female", "INT"), ("CPH", "male", "CTL"), ("HEL", "female", "INT")]:
        state.add({"site": site, "gender": gender}, arm)
    new = {"site": "CPH", "gender": "female"}
    assert state.imbalance(new) == {"INT": 4.0, "CTL": 2.0}
    assert all(state.choose(new, HmacStream(SECRET, f"t{i}")) == "CTL" for i in range(20))
    # A weight of 3 on site does not change the preference here; weights multiply.
    weighted = MinimisationState(ONE_TO_ONE, ["site", "gender"], weights={"site": 3})
    for site, gender, arm in [("CPH", "female", "INT"), ("CPH", "male", "CTL"), ("HEL", "female", "INT")]:
        weighted.add({"site": site, "gender": gender}, arm)
    assert weighted.imbalance(new) == {"INT": 6.0, "CTL": 4.0}
    # With p = 0.8 the preferred arm comes about 80 % of the time (binomial test).
    random_state = MinimisationState(ONE_TO_ONE, ["site", "gender"], preferred_probability=0.8)
    for site, gender, arm in [("CPH", "female", "INT"), ("CPH", "male", "CTL"), ("HEL", "female", "INT")]:
        random_state.add({"site": site, "gender": gender}, arm)
    picks = [random_state.choose(new, minimisation_stream(SECRET, k)) for k in range(2000)]
    assert stats.binomtest(picks.count("CTL"), 2000, 0.8).pvalue > 0.001
    with pytest.raises(ValueError):
        MinimisationState(ONE_TO_ONE, ["site"], preferred_probability=0.5)


def _worst_marginal_imbalance(frame: pd.DataFrame, arm: str) -> pd.Series:
    """Per trial, the largest |INT − CTL| over the levels of site and gender."""
    worst = []
    for factor in ("site", "gender"):
        counts = pd.crosstab([frame["trial"], frame[factor]], frame[arm])
        worst.append((counts["INT"] - counts["CTL"]).abs().groupby(level="trial").max())
    return pd.concat(worst, axis=1).max(axis=1)


def test_minimisation_keeps_marginal_imbalance_small_compared_with_simple_randomisation():
    rng = np.random.default_rng(20251125)
    trials, n = 60, 120
    people = pd.DataFrame(
        {
            "trial": np.repeat(np.arange(trials), n),
            "site": rng.choice(["CPH", "HEL", "FRE"], trials * n, p=[0.4, 0.27, 0.33]),
            "gender": rng.choice(["female", "male", "other"], trials * n, p=[0.6, 0.37, 0.03]),
        }
    )
    stream = NumpyStream(rng)
    arms = []
    for _, trial in people.groupby("trial"):
        state = MinimisationState(ONE_TO_ONE, ["site", "gender"], preferred_probability=0.8)
        for levels in trial[["site", "gender"]].to_dict("records"):
            arm = state.choose(levels, stream)
            state.add(levels, arm)
            arms.append(arm)
    people["minimised"] = arms
    people["simple"] = rng.choice(["INT", "CTL"], trials * n)
    worst_min = _worst_marginal_imbalance(people, "minimised")
    worst_simple = _worst_marginal_imbalance(people, "simple")
    # Simple randomisation of ~72 women has an SD of the difference of about 8.5; minimisation
    # keeps every margin within a few participants.
    assert worst_min.median() <= 3 and worst_min.quantile(0.95) <= 5
    assert worst_min.mean() < worst_simple.mean() / 3


def test_allocation_table_slots_are_numbered_per_stratum_and_checked():
    table = pd.DataFrame(
        {
            "site": ["CPH", "CPH", "HEL", "CPH"],
            "gender": ["female", "female", "male", "male"],
            "arm": ["INT", "CTL", "CTL", "INT"],
        }
    )
    slots = table_slots(table, ["CPH", "HEL", "FRE"], ["gender"], ["INT", "CTL"])
    assert slots.to_dict("records") == [
        {"stratum": "CPH|female", "position": 1, "arm": "INT"},
        {"stratum": "CPH|female", "position": 2, "arm": "CTL"},
        {"stratum": "HEL|male", "position": 1, "arm": "CTL"},
        {"stratum": "CPH|male", "position": 1, "arm": "INT"},
    ]
    redcap = table.rename(columns={"arm": "redcap_randomization_group"})
    assert len(table_slots(redcap, ["CPH", "HEL"], ["gender"], ["INT", "CTL"])) == 4
    bad = pd.DataFrame({"site": ["XXX", "CPH"], "gender": ["female", ""], "arm": ["INT", "PLACEBO"]})
    with pytest.raises(RowErrors) as err:
        table_slots(bad, ["CPH"], ["gender"], ["INT", "CTL"])
    got = {(p.row, p.column, p.value) for p in err.value.problems}
    assert got == {(2, "site", "XXX"), (3, "gender", ""), (3, "arm", "PLACEBO")}
    with pytest.raises(RowErrors, match="required column is missing"):
        table_slots(table.drop(columns="gender"), ["CPH"], ["gender"], ["INT", "CTL"])


def test_balance_table_counts_and_imbalance():
    frame = pd.DataFrame(
        {
            "site": ["CPH", "CPH", "CPH", "HEL"],
            "gender": ["female", "female", "male", "male"],
            "arm": ["INT", "INT", "CTL", "CTL"],
        }
    )
    frame["stratum"] = frame["site"] + "|" + frame["gender"]
    table = balance_table(frame, ["site", "gender"], {"INT": 1, "CTL": 1})
    rows = {(r.factor, r.level): (r.INT, r.CTL, r.total, r.imbalance) for r in table.itertuples()}
    assert rows[("all", "all")] == (2, 2, 4, 0)
    assert rows[("stratum", "CPH|female")] == (2, 0, 2, 2)
    assert rows[("site", "CPH")] == (2, 1, 3, 1)
    assert rows[("site", "HEL")] == (0, 1, 1, 1)
    assert rows[("gender", "male")] == (0, 2, 2, 2)
    assert list(table["factor"].unique()) == ["all", "stratum", "site", "gender"]
    # 2:1: counts divided by the ratio share before taking the range.
    assert final_imbalance(pd.Series(["INT", "INT", "CTL"]), {"INT": 2, "CTL": 1}) == 0
    empty = balance_table(frame.iloc[:0], ["site"], {"INT": 1, "CTL": 1})
    assert empty["total"].tolist() == [0]


@settings(max_examples=40, deadline=None)
@given(
    ratios=st.lists(st.integers(1, 3), min_size=2, max_size=3),
    multiples=st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True),
    length=st.integers(0, 60),
    label=st.text(min_size=1, max_size=12),
)
def test_property_every_completed_block_holds_the_ratio(ratios, multiples, length, label):
    arms = {f"ARM{i}": r for i, r in enumerate(ratios)}
    total = sum(ratios)
    sizes = [m * total for m in multiples]
    seq = block_sequence(blocks_stream(SECRET, label), arms, sizes, length, complete_blocks=True)
    assert len(seq) >= length and seq["position"].tolist() == list(range(1, len(seq) + 1))
    for _, block in seq.groupby("block"):
        size = int(block["block_size"].iloc[0])
        counts = block["arm"].value_counts().reindex(list(arms), fill_value=0)
        assert counts.tolist() == [r * size // total for r in arms.values()]


def test_block_arms_kept_per_process_equal_the_regenerated_list():
    """BlockArms (what randomise keeps between allocations) gives slot k the arm of the list
    regenerated from slot 1, whatever order the slots are asked in."""
    from study.randomisation.sequence import BlockArms

    ratios, sizes = {"INT": 2, "CTL": 1}, [3, 6]
    expected = block_sequence(blocks_stream(SECRET, "FRE|male"), ratios, sizes, 200)["arm"].tolist()
    kept = BlockArms(blocks_stream(SECRET, "FRE|male"), ratios, sizes)
    asked = [5, 1, 199, 200, 17, 2, 100]
    assert [kept.arm(k) for k in asked] == [expected[k - 1] for k in asked]
    assert [kept.arm(k) for k in range(1, 201)] == expected
    with pytest.raises(ValueError, match="start at 1"):
        kept.arm(0)

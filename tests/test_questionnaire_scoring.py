"""Instrument definitions and the scoring engine, checked against hand-worked examples.

Every expected value below is worked out by hand from the instrument's published scoring rule
(see the comment on each test and /work/shared/reference/instruments.md), not from the engine.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires.definitions import (
    DefinitionError,
    instrument_from_dict,
    instruments_dir,
    load_instrument,
    shipped_instruments,
)
from questionnaires.scoring import NOT_ANSWERED, reverse_key, score_instrument, score_wide

NAN = np.nan
I = shipped_instruments()


def scores(instrument_id: str, *rows) -> pd.DataFrame:
    """Score rows of item values (in item order) and return a frame indexed by (row, scale)."""
    inst = I[instrument_id]
    df = pd.DataFrame([list(r) for r in rows], columns=inst.columns, dtype=float)
    df.insert(0, "row", range(len(rows)))
    return score_instrument(inst, df).set_index(["row", "scale"])


def score_of(instrument_id: str, values, scale: str = "total") -> float:
    return scores(instrument_id, values).loc[(0, scale), "score"]


def test_all_nine_instruments_are_shipped_with_a_total():
    assert sorted(I) == sorted(
        ["who5", "qpr15", "state_hope", "adult_hope", "herth_hope", "ucla3", "gse", "wsas", "mansa"]
    )
    for inst in I.values():
        assert "total" in inst.scales
    # Only WHO-5 may reproduce its wording.
    worded = {i for i, inst in I.items() if any(item.wording for item in inst.items)}
    assert worded == {"who5"}


# --- WHO-5: raw = sum of 5 items (0-5), total = raw x 4 (Topp et al. 2015) -----------------
def test_who5_raw_percentage_and_bands():
    s = scores("who5", [5, 4, 3, 2, 1], [0, 0, 0, 0, 0], [5, 5, 5, 5, 5], [2, 2, 1, 1, 1], [2, 3, 2, 3, NAN])
    assert s.loc[(0, "raw"), "score"] == 15 and s.loc[(0, "total"), "score"] == 60
    assert s.loc[(0, "total"), "band"] == "adequate well-being"
    assert s.loc[(1, "total"), "score"] == 0 and s.loc[(1, "total"), "band"] == "likely depression"
    assert s.loc[(2, "raw"), "score"] == 25 and s.loc[(2, "total"), "score"] == 100
    # raw 7 -> 28: at the depression cut-off (<= 28)
    assert s.loc[(3, "total"), "score"] == 28 and s.loc[(3, "total"), "band"] == "likely depression"
    # one missing, prorated: 10 / 4 x 5 = 12.5 -> 50, still "poor" (<= 50)
    assert s.loc[(4, "raw"), "score"] == 12.5 and s.loc[(4, "total"), "score"] == 50
    assert s.loc[(4, "total"), "band"] == "poor well-being"
    assert s["missing_reason"].isna().all()


def test_who5_prorating_at_and_over_the_limit_and_missing_codes():
    s = scores(
        "who5",
        [3, 3, 3, 3, -9],  # code counts as missing: 12 / 4 x 5 = 15 -> 60
        [3, 3, 3, NAN, NAN],  # 2 missing > 1 allowed
        [-9, -9, -9, -9, -9],  # refused throughout
        [NAN] * 5,  # nothing answered
        [-8, -9, NAN, NAN, NAN],  # mixed
    )
    assert s.loc[(0, "raw"), "score"] == 15 and s.loc[(0, "total"), "score"] == 60
    assert np.isnan(s.loc[(1, "total"), "score"])
    assert s.loc[(1, "total"), "missing_reason"] == "too many missing items (2 of 5)"
    assert pd.isna(s.loc[(1, "total"), "band"])
    assert s.loc[(2, "total"), "missing_reason"] == "refused"
    assert s.loc[(3, "total"), "missing_reason"] == NOT_ANSWERED
    assert s.loc[(4, "total"), "missing_reason"] == "too many missing items (5 of 5)"


# --- QPR-15: sum of 15 items on 0-4, 0-60; prorate up to 3 missing -------------------------
def test_qpr15_sum_extremes_and_prorating():
    assert score_of("qpr15", [4] * 15) == 60
    assert score_of("qpr15", [0] * 15) == 0
    assert score_of("qpr15", list(range(5)) * 3) == 30  # (0+1+2+3+4) x 3
    # 3 missing (the limit): 12 items of 2 -> 24 / 12 x 15 = 30
    assert score_of("qpr15", [2] * 12 + [NAN] * 3) == 30
    over = scores("qpr15", [2] * 11 + [NAN] * 4).loc[(0, "total")]
    assert np.isnan(over["score"]) and over["missing_reason"] == "too many missing items (4 of 15)"


# --- Adult Hope Scale: pathways 1,4,6,8; agency 2,9,10,12; fillers 3,5,7,11 (Snyder 1991) --
def test_adult_hope_subscales_ignore_fillers():
    #        1  2  3  4  5  6  7  8  9 10 11 12
    values = [8, 1, 8, 8, 8, 8, 8, 8, 1, 1, 8, 1]
    s = scores("adult_hope", values)
    assert s.loc[(0, "pathways"), "score"] == 32
    assert s.loc[(0, "agency"), "score"] == 4
    assert s.loc[(0, "total"), "score"] == 36  # would be 68 (> 64) with the fillers
    # fillers left empty change nothing
    no_fillers = [v if i not in (3, 5, 7, 11) else NAN for i, v in enumerate(values, start=1)]
    assert scores("adult_hope", no_fillers)["score"].tolist() == [32, 4, 36]
    assert score_of("adult_hope", [8] * 12) == 64 and score_of("adult_hope", [1] * 12) == 8


def test_adult_hope_missing_item_prorates_total_not_subscale():
    #        1    2  3  4  5  6  7  8  9 10 11 12
    values = [NAN, 5, 1, 6, 1, 6, 1, 6, 5, 5, 1, 5]
    s = scores("adult_hope", values)
    assert np.isnan(s.loc[(0, "pathways"), "score"])
    assert s.loc[(0, "pathways"), "missing_reason"] == "too many missing items (1 of 4)"
    assert s.loc[(0, "agency"), "score"] == 20
    # total: 7 answered items sum 38 -> 38 / 7 x 8
    assert s.loc[(0, "total"), "score"] == pytest.approx(38 / 7 * 8)


# --- State Hope Scale: agency 2,4,6; pathways 1,3,5; total 6-48 (Snyder 1996) --------------
def test_state_hope_subscales():
    s = scores("state_hope", [1, 2, 3, 4, 5, 6])
    assert s.loc[(0, "pathways"), "score"] == 1 + 3 + 5
    assert s.loc[(0, "agency"), "score"] == 2 + 4 + 6
    assert s.loc[(0, "total"), "score"] == 21
    assert score_of("state_hope", [8] * 6) == 48 and score_of("state_hope", [1] * 6) == 6


# --- Herth Hope Index: 12 items 1-4, items 3 and 6 reversed, 12-48 (Herth 1992) ------------
def test_herth_reverse_items():
    assert score_of("herth_hope", [4] * 12) == 10 * 4 + 2 * 1  # 3 and 6 count as 1
    assert score_of("herth_hope", [1] * 12) == 10 * 1 + 2 * 4
    highest = [4, 4, 1, 4, 4, 1, 4, 4, 4, 4, 4, 4]
    lowest = [1, 1, 4, 1, 1, 4, 1, 1, 1, 1, 1, 1]
    assert score_of("herth_hope", highest) == 48 and score_of("herth_hope", lowest) == 12
    # prorating with a reversed item missing: 11 items answered; the reversed 6 (=2 -> 3)
    values = [3, 3, NAN, 3, 3, 2, 3, 3, 3, 3, 3, 3]
    assert score_of("herth_hope", values) == pytest.approx(33 / 11 * 12)


# --- UCLA 3-item, GSE, WSAS, MANSA ------------------------------------------------------------
def test_ucla3_gse_wsas():
    assert score_of("ucla3", [1, 2, 3]) == 6
    assert score_of("ucla3", [3, 3, 3]) == 9 and score_of("ucla3", [1, 1, 1]) == 3
    assert np.isnan(score_of("ucla3", [1, NAN, 3]))  # no prorating of 3 items
    assert score_of("gse", [3] * 10) == 30 and score_of("gse", [4] * 10) == 40
    assert score_of("gse", [3] * 7 + [NAN] * 3) == 30  # at the limit (3 missing)
    assert np.isnan(score_of("gse", [3] * 6 + [NAN] * 4))
    w = scores("wsas", [8, 8, 8, 8, 8], [-7, 2, 2, 2, 2], [1, 1, 1, 1, 5], [4, 4, 4, 4, 4], [0] * 5)
    assert w.loc[(0, "total"), "score"] == 40
    assert w.loc[(0, "total"), "band"] == "moderately severe or worse"
    # "not asked" work item prorated: 8 / 4 x 5 = 10 (Mundt: 10-20 significant impairment)
    assert w.loc[(1, "total"), "score"] == 10
    assert w.loc[(1, "total"), "band"] == "significant impairment"
    assert w.loc[(2, "total"), "score"] == 9 and w.loc[(2, "total"), "band"] == "subclinical"
    assert w.loc[(3, "total"), "score"] == 20 and w.loc[(3, "total"), "band"] == "significant impairment"
    assert w.loc[(4, "total"), "score"] == 0


def test_mansa_mean_of_satisfaction_items_only():
    satisfaction = [1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3]
    assert score_of("mansa", satisfaction + [1, 1, 0, 0]) == pytest.approx(53 / 12)
    assert score_of("mansa", [7] * 12 + [0] * 4) == 7 and score_of("mansa", [1] * 12 + [1] * 4) == 1
    # two missing (the limit): the mean of the ten answered
    assert score_of("mansa", [4] * 10 + [NAN, NAN] + [NAN] * 4) == 4
    assert np.isnan(score_of("mansa", [4] * 9 + [NAN] * 3 + [1] * 4))


def test_values_off_the_scale_are_refused():
    with pytest.raises(ValueError, match="neither on the response scale"):
        scores("mansa", [0] * 16)  # 0 is a valid yes/no answer but not a satisfaction rating
    with pytest.raises(ValueError, match="who5_1"):
        scores("who5", [6, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="neither"):
        scores("who5", [2.5, 1, 1, 1, 1])


def test_many_responses_score_block_by_block_as_each_alone():
    # 40,000 responses: the engine works through blocks of 16,384, the last one partial.
    # WHO-5 by hand: 5+4+3+2+1 = 15 -> 60 (adequate); 3+3+3+3 with one refused: 12 / 4 x 5
    # = 15 -> 60; 2+3+2+3 with one empty: 10 / 4 x 5 = 12.5 -> 50 (poor); refused throughout.
    a, b, c, refused = [5, 4, 3, 2, 1], [3, 3, 3, 3, -9], [2, 3, 2, 3, NAN], [-9] * 5
    pattern = [a, b, c, a, b, c, a, b, c, refused]  # one response in ten unscored
    out = scores("who5", *(pattern * 4_000)).xs("total", level="scale")
    assert len(out) == 40_000
    expected = np.tile([60.0, 60.0, 50.0] * 3 + [NAN], 4_000)
    np.testing.assert_array_equal(out["score"].to_numpy(), expected)
    assert (out["band"].iloc[:3].tolist()) == ["adequate well-being"] * 2 + ["poor well-being"]
    reasons = out["missing_reason"]
    assert str(reasons.dtype) == "str"
    assert reasons.iloc[9::10].eq("refused").all() and reasons.iloc[9::10].size == 4_000
    assert reasons.drop(index=reasons.index[9::10]).isna().all()


def test_a_value_off_the_scale_in_a_later_block_is_named_by_row():
    inst = I["who5"]
    df = pd.DataFrame(np.full((40_000, 5), 3.0), columns=inst.columns)
    df.loc[35_001, "who5_2"] = 7  # third block
    df.loc[39_999, "who5_5"] = 2.5
    with pytest.raises(ValueError, match=r"^2 item value\(s\) .* e\.g\. 7 in who5_2 \(row 35001\)$"):
        score_instrument(inst, df, id_columns=[])


def test_lookup_transform_rounds_prorated_raw_half_up():
    data = {
        "id": "toy",
        "name": "Toy",
        "version": "1",
        "construct": "x",
        "response_scale": {"min": 1, "max": 2},
        "max_missing": 1,
        "items": [{"id": "1", "label": "a"}, {"id": "2", "label": "b"}],
        "scales": {
            "total": {"label": "t", "transform": {"type": "lookup", "table": {2: 10.0, 3: 15.5, 4: 20.0}}}
        },
    }
    toy = instrument_from_dict(data)
    df = pd.DataFrame({"toy_1": [1, 2, 1, 2], "toy_2": [1, 2, 2, NAN]})
    out = score_instrument(toy, df, id_columns=[])
    # raw 2 -> 10; 4 -> 20; 3 -> 15.5; prorated 2/1 x 2 = 4 -> 20
    assert out["score"].tolist() == [10.0, 20.0, 15.5, 20.0]
    assert toy.score_range("total") == (10.0, 20.0)


def test_score_wide_skips_instruments_not_answered():
    wide = pd.DataFrame(
        {
            "pseudonym": ["P1", "P2"],
            "ucla3_1": ["1", ""],
            "ucla3_2": ["2", ""],
            "ucla3_3": ["3", ""],
        }
    ).replace("", np.nan)
    out = score_wide(I, wide, id_columns=["pseudonym"])
    assert out[["pseudonym", "instrument", "score"]].values.tolist() == [["P1", "ucla3", 6.0]]


# --- definitions are validated on load, errors name the file and the key ---------------------
def _write_variant(tmp_path, instrument_id, mutate):
    data = yaml.safe_load((instruments_dir() / f"{instrument_id}.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / f"{instrument_id}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("instrument_id", "mutate", "key", "reason"),
    [
        (
            "adult_hope",
            lambda d: d["scales"]["pathways"]["items"].append("13"),
            "scales.pathways.items",
            "'13' is not an item",
        ),
        ("herth_hope", lambda d: d["reverse"].append("99"), "reverse[2]", "'99' is not an item"),
        (
            "who5",
            lambda d: d["scales"]["total"]["bands"].append({"label": "x", "max": 120}),
            "scales.total.bands[3]",
            "outside the score range 0..100",
        ),
        ("who5", lambda d: d["missing_codes"].update({3: "odd"}), "missing_codes.3", "valid answer"),
        (
            "ucla3",
            lambda d: d["scales"].pop("total") and d["scales"].update({"sum": {"label": "s"}}),
            "scales",
            "'total'",
        ),
        ("gse", lambda d: d.update({"colour": "blue"}), "colour", "not a known key"),
        ("qpr15", lambda d: d["response_scale"].update({"max": 0}), "response_scale", "must be above"),
    ],
)
def test_bad_definitions_name_file_and_key(tmp_path, instrument_id, mutate, key, reason):
    path = _write_variant(tmp_path, instrument_id, mutate)
    with pytest.raises(DefinitionError) as err:
        load_instrument(path)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert f": {key}:" in message and reason in message, message


# --- properties -------------------------------------------------------------------------------
@st.composite
def responses(draw, instrument_id):
    inst = I[instrument_id]
    n = draw(st.integers(1, 20))
    columns = {}
    for item_id in inst.item_ids:
        s = inst.item_scale(item_id)
        cell = st.one_of(
            st.integers(s.min, s.max).map(float),
            st.just(NAN),
            st.sampled_from(sorted(inst.missing_codes)).map(float),
        )
        columns[inst.column(item_id)] = draw(st.lists(cell, min_size=n, max_size=n))
    return pd.DataFrame(columns)


@pytest.mark.parametrize("instrument_id", sorted(I))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_scores_stay_in_range(instrument_id, data):
    inst = I[instrument_id]
    df = data.draw(responses(instrument_id))
    out = score_instrument(inst, df, id_columns=[])
    for name in inst.scales:
        lo, hi = inst.score_range(name)
        got = out.loc[out["scale"] == name]
        scored = got["score"].dropna()
        assert ((scored >= lo - 1e-9) & (scored <= hi + 1e-9)).all()
        # a score is missing exactly when a reason says why
        assert (got["score"].isna() == got["missing_reason"].notna()).all()


@settings(max_examples=100, deadline=None)
@given(
    low=st.integers(-3, 3),
    width=st.integers(1, 10),
    values=st.lists(st.integers(0, 10), min_size=1, max_size=30),
)
def test_reverse_keying_twice_is_identity(low, width, values):
    high = low + width
    x = np.array([low + v % (width + 1) for v in values], dtype=float)
    once = reverse_key(x, low, high)
    assert ((once >= low) & (once <= high)).all()
    np.testing.assert_array_equal(reverse_key(once, low, high), x)


def test_reversing_a_reversed_item_twice_in_a_definition_gives_the_original_score():
    # Herth with items 3 and 6 reverse-keyed once more in the data = unreversed scoring.
    unreversed = copy.deepcopy(I["herth_hope"].model_dump(mode="json"))
    unreversed["reverse"] = []
    plain = instrument_from_dict(unreversed)
    values = np.array([[1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]], dtype=float)
    turned = values.copy()
    turned[:, [2, 5]] = reverse_key(turned[:, [2, 5]], 1, 4)
    a = score_instrument(I["herth_hope"], pd.DataFrame(turned, columns=plain.columns), id_columns=[])
    b = score_instrument(plain, pd.DataFrame(values, columns=plain.columns), id_columns=[])
    assert a["score"].tolist() == b["score"].tolist() == [30.0]

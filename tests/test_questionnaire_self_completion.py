"""Self-completion rules (pure): which timepoint a survey link offers, its progress, and which
answers a participant filling in alone may give."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from questionnaires.definitions import (
    DefinitionError,
    definition_hash,
    instrument_from_dict,
    shipped_instruments,
)
from questionnaires.self_completion import answer_options, check_self_reported, survey_offer
from study.errors import BadInput

D = dt.date


def _schedule(rows: list[tuple[str, str, dt.date, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["timepoint", "instrument", "due_on", "status"])


#: A randomised participant (randomised 2026-01-10): baseline never answered (overdue), post due
#: with one of four instruments answered, follow-up not yet due.
RANDOMISED = _schedule(
    [
        ("baseline", "qpr15", D(2026, 1, 2), "overdue"),
        ("baseline", "who5", D(2026, 1, 2), "overdue"),
        ("post", "qpr15", D(2026, 4, 10), "complete"),
        ("post", "who5", D(2026, 4, 10), "due"),
        ("post", "ucla3", D(2026, 4, 10), "due"),
        ("post", "gse", D(2026, 4, 10), "due"),
        ("followup", "qpr15", D(2026, 10, 9), "not_yet_due"),
    ]
)


def test_the_current_timepoint_is_offered_with_its_progress_and_never_the_old_baseline():
    offer = survey_offer(RANDOMISED, randomised_on=D(2026, 1, 10))
    assert offer.timepoint == "post"
    assert list(offer.open["instrument"]) == ["who5", "ucla3", "gse"]
    assert (offer.position, offer.total) == (2, 4)  # "Questionnaire 2 of 4"


def test_a_baseline_is_never_offered_after_randomisation_even_when_the_link_names_it():
    only_baseline = RANDOMISED[RANDOMISED["timepoint"] == "baseline"]
    assert survey_offer(only_baseline, randomised_on=D(2026, 1, 10)).timepoint is None
    offer = survey_offer(RANDOMISED, randomised_on=D(2026, 1, 10), link_timepoint="baseline")
    assert offer.timepoint is None and offer.open.empty
    # Before randomisation the same baseline is what the link offers.
    before = survey_offer(only_baseline, randomised_on=None)
    assert before.timepoint == "baseline" and list(before.open["instrument"]) == ["qpr15", "who5"]
    assert (before.position, before.total) == (1, 2)


def test_an_earlier_timepoint_left_open_is_not_offered_once_a_later_one_has_come():
    later_done = _schedule(
        [
            ("post", "qpr15", D(2026, 4, 10), "overdue"),
            ("followup", "qpr15", D(2026, 10, 9), "complete"),
        ]
    )
    assert survey_offer(later_done, randomised_on=D(2026, 1, 10)).timepoint is None
    # ...unless the coordinator sends a link for exactly that timepoint.
    assert survey_offer(later_done, D(2026, 1, 10), link_timepoint="post").timepoint == "post"


def test_a_link_for_a_timepoint_not_yet_due_offers_nothing():
    offer = survey_offer(RANDOMISED, D(2026, 1, 10), link_timepoint="followup")
    assert offer.timepoint is None and offer.total == 0


def _with_prefer_not(**setting) -> dict:
    data = shipped_instruments()["mansa"].model_dump(mode="json")
    data["version"] = "test-pnta"
    data["prefer_not_to_answer"] = setting
    return data


def test_interviewer_missing_codes_are_never_self_completion_answers():
    who5 = shipped_instruments()["who5"]
    assert set(who5.missing_codes) == {-9, -8, -7}  # what an interviewer may record
    assert answer_options(who5, "1") == [0, 1, 2, 3, 4, 5]
    for code in who5.missing_codes:
        with pytest.raises(BadInput, match="who5 item 1"):
            check_self_reported(who5, "1", code)
    check_self_reported(who5, "1", 3)
    check_self_reported(who5, "1", None)


def test_prefer_not_to_answer_only_where_the_instrument_allows_it():
    mansa = instrument_from_dict(_with_prefer_not(code=-9, items=["9", "16"]))
    assert answer_options(mansa, "9") == [1, 2, 3, 4, 5, 6, 7, -9]
    assert answer_options(mansa, "16") == [0, 1, -9]
    assert answer_options(mansa, "1") == [1, 2, 3, 4, 5, 6, 7]
    check_self_reported(mansa, "9", -9)
    with pytest.raises(BadInput):
        check_self_reported(mansa, "1", -9)
    with pytest.raises(BadInput):
        check_self_reported(mansa, "9", -8)  # "don't know" stays an interviewer code
    everywhere = instrument_from_dict(_with_prefer_not(code=-9))
    assert all(-9 in answer_options(everywhere, i) for i in everywhere.item_ids)


def test_prefer_not_to_answer_must_be_a_declared_missing_code_of_existing_items():
    with pytest.raises(DefinitionError, match="prefer_not_to_answer.code"):
        instrument_from_dict(_with_prefer_not(code=-5))
    with pytest.raises(DefinitionError, match="prefer_not_to_answer.items"):
        instrument_from_dict(_with_prefer_not(code=-9, items=["99"]))


def test_definitions_without_the_setting_keep_the_hash_already_stored_with_data():
    # The SHA-256 of who5 1.0 before prefer_not_to_answer existed: stored in every study that
    # has WHO-5 data, so it must not change (a changed hash refuses new data).
    assert definition_hash(shipped_instruments()["who5"]) == (
        "905323bd8b9e09a0c43052cf1c4fedaf74c50fdc2ef7453c9693eb7ea9bddeda"
    )
    assert definition_hash(instrument_from_dict(_with_prefer_not(code=-9))) != definition_hash(
        instrument_from_dict({**_with_prefer_not(code=-9), "prefer_not_to_answer": None})
    )

"""Questionnaire capture and storage on SQLite and PostgreSQL: import, corrections, versions."""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from questionnaires.capture import import_questionnaires, read_questionnaire_csv, record_response
from questionnaires.definitions import instrument_from_dict, shipped_instruments
from questionnaires.store import ITEM_COLUMNS, SCORE_COLUMNS, load_items, load_scores
from study.audit import person_history, verify_chain
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, QuestionnaireResponse
from study.errors import NotAllowed, RowErrors
from study.people import add_person, enrol, person_by_pseudonym
from study.studies import get_study

ACTOR = "test"
CONSENT = dt.date(2025, 9, 1)
TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def people_db(study_db):
    """The reference study with participants P1..P3 (consented 2025-09-01) and a leader L1."""
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        for p in ("P1", "P2", "P3"):
            person = add_person(s, study, p, "participant", "CPH")
            enrol(s, study, person, CONSENT, "København", consent_on=CONSENT, phase="rct")
        add_person(s, study, "L1", "group_leader", "CPH")
    return study_db


def _csv(text: str) -> pd.DataFrame:
    return read_questionnaire_csv(io.StringIO(text))


GOOD = """pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5,ucla3_1,ucla3_2,ucla3_3
P1,baseline,2025-09-03,5,4,3,2,1,1,2,3
P2,baseline,2025-09-04,3,3,3,3,-9,,,
P1,post,2025-12-10,5,5,5,5,5,1,1,1
"""


def _import(engine, frame, source="q.csv", reason=None):
    with unit_of_work(engine, ACTOR, reason=reason) as s:
        return import_questionnaires(s, get_study(s), frame, source=source, today=TODAY)


def test_import_stores_items_and_scores(people_db):
    summary = _import(people_db, _csv(GOOD))
    assert (summary.responses_created, summary.responses_corrected) == (5, 0)
    with read_session(people_db) as s:
        study = get_study(s)
        items = load_items(s, study)
        scores = load_scores(s, study)
    assert list(items.columns) == ITEM_COLUMNS and list(scores.columns) == SCORE_COLUMNS
    # P2 baseline: the missing code -9 is stored as given
    p2 = items[(items.pseudonym == "P2") & (items.instrument == "who5")]
    assert p2["value"].tolist() == [3, 3, 3, 3, -9]
    assert (items["version"] == "1.0").all()
    s = scores.set_index(["pseudonym", "timepoint", "instrument", "scale"])
    assert s.loc[("P1", "baseline", "who5", "total"), "score"] == 60
    assert s.loc[("P1", "baseline", "ucla3", "total"), "score"] == 6
    assert s.loc[("P2", "baseline", "who5", "raw"), "score"] == 15  # prorated 12 / 4 x 5
    assert s.loc[("P1", "post", "who5", "total"), "band"] == "adequate well-being"
    assert ("P2", "baseline", "ucla3", "total") not in s.index  # no ucla3 answer at all
    assert s.loc[("P1", "post", "who5", "total"), "completed_on"] == dt.date(2025, 12, 10)


def test_reimport_is_a_no_op_and_a_change_is_an_audited_correction(people_db):
    _import(people_db, _csv(GOOD))
    with read_session(people_db) as s:
        events_before = s.scalar(select(func.count()).select_from(AuditEvent))
    again = _import(people_db, _csv(GOOD))
    assert (again.responses_created, again.responses_corrected, again.responses_unchanged) == (0, 0, 5)
    with read_session(people_db) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events_before

    changed = GOOD.replace("P2,baseline,2025-09-04,3,3,3,3,-9", "P2,baseline,2025-09-04,3,3,3,3,4")
    summary = _import(people_db, _csv(changed), reason="typo in paper form")
    assert (summary.responses_corrected, summary.values_changed) == (1, 1)
    with read_session(people_db) as s:
        study = get_study(s)
        history = person_history(s, person_by_pseudonym(s, study, "P2"))
        update = history[(history.action == "update") & (history.table_name == "questionnaire_response")]
        assert update[["field", "reason"]].values.tolist() == [["item_values", "typo in paper form"]]
        old, new = json.loads(update["old_value"].iloc[0]), json.loads(update["new_value"].iloc[0])
        assert (old["5"], new["5"]) == (-9, 4) and {k: v for k, v in old.items() if k != "5"} == {
            k: v for k, v in new.items() if k != "5"
        }
        assert s.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 5
    assert verify_chain(people_db).intact


def test_every_bad_cell_is_reported_and_nothing_written(people_db):
    bad = """pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5,adult_hope_1,xyz_1,who5_9
P1,baseline,2025-09-03,6,4,3,2,1,,,
P9,baseline,2025-09-03,1,1,1,1,1,,,
P2,later,2025-09-03,1,1,1,1,1,,,
P3,baseline,2025-08-01,1,x,1.5,1,1,,,
P1,baseline,2025-09-05,1,1,1,1,1,,,
P2,followup,2026-05-01,1,1,1,1,1,3,,
L1,baseline,03/09/2025,1,1,1,1,1,,,
P3,post,2027-01-01,1,1,1,1,1,,,
"""
    with pytest.raises(RowErrors) as err:
        _import(people_db, _csv(bad))
    problems = {(p.row, p.column, p.value): p.reason for p in err.value.problems}
    assert "unknown instrument column" in problems[(1, "xyz_1", "xyz_1")]
    assert "no item '9'" in problems[(1, "who5_9", "who5_9")]
    assert "outside the scale 0..5" in problems[(2, "who5_1", "6")]
    assert "unknown pseudonym" in problems[(3, "pseudonym", "P9")]
    assert "unknown timepoint" in problems[(4, "timepoint", "later")]
    assert "before the participant's consent (2025-09-01)" in problems[(5, "completed_on", "2025-08-01")]
    assert problems[(5, "who5_2", "x")] == "not a number"
    assert problems[(5, "who5_3", "1.5")] == "not a whole number"
    assert "duplicate of row 2" in problems[(6, "pseudonym", "P1")]
    assert "adult_hope is not scheduled at timepoint followup" in problems[(7, "adult_hope_1", "3")]
    assert "not a participant" in problems[(8, "pseudonym", "L1")]
    assert "not a date" in problems[(8, "completed_on", "03/09/2025")]
    assert "in the future" in problems[(9, "completed_on", "2027-01-01")]
    assert "nothing was imported" in str(err.value)
    with read_session(people_db) as s:
        assert s.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 0


def test_empty_template_rows_are_skipped(people_db):
    text = GOOD + "P3,post,,,,,,,,,\n"
    summary = _import(people_db, _csv(text))
    assert summary.skipped_rows == 1 and summary.responses_created == 5


def test_single_response_api_validates_and_corrects(people_db):
    with unit_of_work(people_db, ACTOR) as s:
        study = get_study(s)
        response = record_response(
            s,
            study,
            "P3",
            "baseline",
            "gse",
            dt.date(2025, 9, 2),
            {str(i): 3 for i in range(1, 11)},
            today=TODAY,
        )
        assert response.version == "1.0" and json.loads(response.item_values) == {
            str(i): 3 for i in range(1, 11)
        }
    with pytest.raises(RowErrors) as err:
        with unit_of_work(people_db, ACTOR) as s:
            record_response(
                s, get_study(s), "P3", "baseline", "gse", dt.date(2025, 9, 2), {"1": 9}, today=TODAY
            )
    assert err.value.problems[0].column == "gse_1"
    with unit_of_work(people_db, ACTOR, reason="participant corrected item 1") as s:
        record_response(
            s,
            get_study(s),
            "P3",
            "baseline",
            "gse",
            dt.date(2025, 9, 2),
            {**{str(i): 3 for i in range(1, 11)}, "1": 4},
            today=TODAY,
        )
    with read_session(people_db) as s:
        scores = load_scores(s, get_study(s), instrument="gse")
    assert scores["score"].tolist() == [31.0]


def test_a_definition_with_data_is_versioned_not_changed(people_db):
    _import(people_db, _csv(GOOD))
    changed = shipped_instruments()["who5"].model_dump(mode="json")
    changed["max_missing"] = 0  # a different rule under the same version
    frame = _csv(GOOD)
    with pytest.raises(NotAllowed, match="new version"):
        with unit_of_work(people_db, ACTOR) as s:
            import_questionnaires(
                s, get_study(s), frame, today=TODAY, instruments={"who5": instrument_from_dict(changed)}
            )
    # With a new version, new responses are stored with it; old ones keep version 1.0.
    changed["version"] = "1.1"
    new_def = instrument_from_dict(changed)
    extra = _csv(
        "pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5\n"
        "P3,baseline,2025-09-05,3,3,3,3,-9\n"
    )
    with unit_of_work(people_db, ACTOR) as s:
        import_questionnaires(s, get_study(s), extra, today=TODAY, instruments={"who5": new_def})
    with read_session(people_db) as s:
        scores = load_scores(s, get_study(s), instrument="who5")
    raw = scores[scores.scale == "raw"].set_index(["pseudonym", "timepoint"])
    # P2 (version 1.0, prorating allowed) scored; P3 (version 1.1, no prorating) missing.
    assert raw.loc[("P2", "baseline"), "version"] == "1.0" and raw.loc[("P2", "baseline"), "score"] == 15
    assert raw.loc[("P3", "baseline"), "version"] == "1.1" and np.isnan(raw.loc[("P3", "baseline"), "score"])


@pytest.mark.parametrize(
    ("instrument", "values", "message"),
    [
        ("eq5d", {"1": 1}, "unknown instrument 'eq5d'"),
        ("ucla3", {"4": 1}, "ucla3 has no item(s) 4"),
        ("ucla3", {"1": None, "2": None}, "no item of ucla3 was answered"),
    ],
)
def test_single_response_api_bad_input(people_db, instrument, values, message):
    from study.errors import BadInput

    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        with unit_of_work(people_db, ACTOR) as s:
            record_response(s, get_study(s), "P1", "baseline", instrument, dt.date(2025, 9, 2), values)
    with read_session(people_db) as s:
        assert s.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 0

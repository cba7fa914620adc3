"""Observations of sessions: the Python API and the CSV import, with every bad input."""

from __future__ import annotations

import io

import pytest
from fidelity_helpers import ACTOR, MANUAL, TODAY, counts, full_ratings, observation, pilot_with_groups
from sqlalchemy import select

from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, CompetenceRating, ComponentRating, FidelityObservation
from study.errors import BadInput, NotAllowed, RowErrors
from study.fidelity.observation_import import FIDELITY_COLUMNS, fidelity_template, import_observations
from study.fidelity.observations import record_observation
from study.fidelity.report import observation_scores
from study.studies import get_study

TABLES = (FidelityObservation, ComponentRating, CompetenceRating)


@pytest.fixture
def pilot(study_db):
    pilot_with_groups(study_db)
    return study_db


def record(engine, obs, site=None):
    with unit_of_work(engine, ACTOR) as s:
        return record_observation(s, get_study(s), obs, ACTOR, restrict_to_site=site, today=TODAY).id


def test_observation_is_stored_scored_and_double_coding_allowed(pilot):
    ratings = full_ratings(2)
    ratings["w02_check_in"] = None  # not applicable
    ratings["w02_leader_story"] = 1
    record(pilot, observation(components=ratings))
    record(pilot, observation(observer="E01", score=2))  # a second observer: double coding
    assert counts(pilot, *TABLES) == (2, 2 * 5, 2 * 5)
    with read_session(pilot) as s:
        scores = observation_scores(s, get_study(s)).set_index("observer")
    # Week 2: weights check_in 1 (NA), leader_story 2 (1 point), three others 2+2+1 fully.
    # points = 2*1 + 2*2 + 2*2 + 1*2 = 12, max = (2+2+2+1)*2 = 14 → 85.7 %
    assert scores.loc["K01", "adherence_pct"] == pytest.approx(100 * 12 / 14)
    assert scores.loc["E01", "adherence_pct"] == 100
    assert scores.loc["K01", "competence"] == 4
    assert scores.loc["K01", "classification"] == "high"


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (dict(week=11), "week", "must be a week of the course, 1–10"),
        (dict(week=0), "week", "must be a week of the course"),
        (dict(competence={"non_directive": 6}), "competence:non_directive", "from 1 to 5"),
        (dict(competence={"non_directive": 0}), "competence:non_directive", "from 1 to 5"),
        (dict(competence={"charisma": 3}), "competence:charisma", "not a competence item"),
        (
            dict(components=full_ratings(2) | {"w02_leader_story": 3}),
            "component:w02_leader_story",
            "must be 2",
        ),
        (
            dict(components=full_ratings(2) | {"w03_small_steps": 2}),
            "component:w03_small_steps",
            "belongs to week 3",
        ),
        (dict(components=full_ratings(2) | {"w99_magic": 2}), "component:w99_magic", "not a component"),
        (
            dict(components={k: v for k, v in full_ratings(2).items() if k != "w02_leader_story"}),
            "component:w02_leader_story",
            "is not rated",
        ),
        (dict(group="XXX-P9"), "group", "no group"),
        (dict(minutes=-5), "minutes", "whole number of minutes"),
        (dict(participants_present=40), "participants_present", "0 to 12"),
        (dict(observer="  "), "observer", "required"),
        (dict(observed_on=TODAY.replace(year=2030)), "observed_on", "in the future"),
    ],
)
def test_bad_observation_is_refused_and_nothing_written(pilot, changes, field, message):
    with pytest.raises(BadInput) as err:
        record(pilot, observation(**changes))
    assert field in str(err.value) and message in str(err.value)
    assert counts(pilot, *TABLES) == (0, 0, 0)


def test_same_observer_twice_is_refused(pilot):
    record(pilot, observation())
    events = counts(pilot, AuditEvent)
    with pytest.raises(BadInput, match="K01 already observed the week-2 session of CPH-P1"):
        record(pilot, observation(score=1))
    assert counts(pilot, *TABLES) == (1, 5, 5) and counts(pilot, AuditEvent) == events


def test_coordinator_restricted_to_own_site(pilot):
    with pytest.raises(NotAllowed, match="group HEL-P1 is at site HEL; you may observe only groups at CPH"):
        record(pilot, observation(group="HEL-P1"), site="CPH")
    assert counts(pilot, *TABLES) == (0, 0, 0)
    record(pilot, observation(group="CPH-P1"), site="CPH")
    assert counts(pilot, FidelityObservation) == (1,)


def test_cancelled_session_cannot_be_observed(pilot):
    with unit_of_work(pilot, ACTOR) as s:
        from study.db.models import GroupSession

        gs = s.scalars(select(GroupSession).where(GroupSession.week == 2)).first()
        gs.cancelled = True
        code_group = gs.group_id
    with pytest.raises(BadInput, match="was cancelled"):
        record(pilot, observation(group="CPH-P1" if code_group == 1 else "HEL-P1"))


def _csv(*observations) -> str:
    rows = []
    for obs in observations:
        base = [obs.group, obs.week, obs.observer, obs.observed_on.isoformat()]
        rows += [base + ["component", c, "NA" if v is None else v] for c, v in obs.components.items()]
        rows += [base + ["competence", c, v] for c, v in obs.competence.items()]
        rows += [
            base + ["session", "minutes", obs.minutes],
            base + ["session", "participants_present", obs.participants_present],
            base + ["session", "notes", "good, calm session"],
        ]
    import pandas as pd

    return pd.DataFrame(rows, columns=list(FIDELITY_COLUMNS)).to_csv(index=False)


def _import(engine, text, site=None):
    with unit_of_work(engine, ACTOR) as s:
        return import_observations(
            s, get_study(s), io.StringIO(text), ACTOR, restrict_to_site=site, today=TODAY
        )


def test_csv_import_is_transactional_and_idempotent(pilot):
    text = _csv(observation(), observation(observer="E01", score=1), observation(group="HEL-P1", week=5))
    summary = _import(pilot, text)
    assert (summary.created, summary.corrected, summary.unchanged) == (3, 0, 0)
    assert counts(pilot, FidelityObservation) == (3,)
    events = counts(pilot, AuditEvent)
    # The same file again changes nothing, not even the audit trail.
    summary = _import(pilot, text)
    assert (summary.created, summary.corrected, summary.unchanged) == (0, 0, 3)
    assert counts(pilot, AuditEvent) == events
    # A changed value is an audited correction.
    changed = text.replace(
        "CPH-P1,2,E01,2025-02-10,component,w02_leader_story,1",
        "CPH-P1,2,E01,2025-02-10,component,w02_leader_story,2",
    )
    assert changed != text
    summary = _import(pilot, changed)
    assert (summary.created, summary.corrected, summary.unchanged) == (0, 1, 2)
    with read_session(pilot) as s:
        updates = s.scalars(
            select(AuditEvent).where(
                AuditEvent.table_name == "component_rating", AuditEvent.action == "update"
            )
        ).all()
        assert [(e.field, e.old_value, e.new_value) for e in updates] == [("score", "1", "2")]


def test_csv_bad_rows_are_all_reported_and_nothing_written(pilot):
    text = _csv(observation(), observation(group="HEL-P1", week=5))
    lines = text.splitlines()
    # row numbers as in a spreadsheet: header is row 1
    lines[1] = lines[1].replace(",2,K01,", ",2,K01,").replace("w02_check_in,2", "w02_check_in,7")
    lines[3] = lines[3].replace("w02_hope_reflection", "w03_small_steps")
    lines[7] = lines[7].replace(",4", ",9")  # competence rating out of scale
    lines.append("HEL-P1,12,K02,2025-03-03,component,w10_farewell,2")
    lines.append("CPH-P1,2,K01,2025-02-11,component,w02_check_in,2")  # same observer, other date
    with pytest.raises(RowErrors) as err:
        _import(pilot, "\n".join(lines) + "\n")
    problems = {(p.row, p.column): p for p in err.value.problems}
    assert "must be 2 (fully)" in problems[(2, "value")].reason
    assert "belongs to week 3" in problems[(4, "item")].reason
    assert "from 1 to 5" in problems[(8, "value")].reason
    week_problem = [p for p in err.value.problems if p.column == "week"][0]
    assert "1–10" in week_problem.reason and week_problem.value == "12"
    assert any("one date" in p.reason for p in err.value.problems)
    assert counts(pilot, *TABLES) == (0, 0, 0)


def test_csv_site_restriction_and_missing_columns(pilot):
    with pytest.raises(RowErrors) as err:
        _import(pilot, _csv(observation(group="HEL-P1", week=5)), site="CPH")
    assert "you may observe only groups at CPH" in str(err.value)
    with pytest.raises(RowErrors, match="column 'kind'.*required column is missing"):
        _import(pilot, "group,week,observer,observed_on,item,value\n")
    assert counts(pilot, *TABLES) == (0, 0, 0)


def test_template_lists_every_item_of_the_week():
    frame = fidelity_template(MANUAL, week=3, group="CPH-P1", observer="K01")
    assert list(frame.columns) == list(FIDELITY_COLUMNS)
    assert frame.loc[frame["kind"] == "component", "item"].tolist() == [
        c.id for c in MANUAL.session(3).components
    ]
    assert frame.loc[frame["kind"] == "competence", "item"].tolist() == MANUAL.competence_ids
    assert (frame["value"] == "").all()


def test_csv_same_item_twice_in_one_observation_is_reported(pilot):
    text = _csv(observation())
    first_component = text.splitlines()[1]
    with pytest.raises(RowErrors) as err:
        _import(pilot, text + first_component + "\n")
    [problem] = err.value.problems
    assert problem.column == "item" and "already given in row 2" in problem.reason
    assert counts(pilot, *TABLES) == (0, 0, 0)

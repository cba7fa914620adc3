"""The manual as data: validation on load, versions in the pilot, the lock from the RCT."""

from __future__ import annotations

import pytest
from fidelity_helpers import ACTOR, MANUAL, MANUAL_TEXT, pilot_with_groups
from leaders import add_trained_leader
from sqlalchemy import select

from study.config import ConfigError, parse_config
from study.config.loader import example_config_path
from study.db import read_session, unit_of_work
from study.db.models import ManualVersion
from study.errors import BadInput, NotAllowed
from study.fidelity.manual import ManualError, parse_manual
from study.fidelity.versions import (
    current_version,
    group_manual,
    group_version_problems,
    lock_manual,
    manual_history,
    store_manual_version,
)
from study.groups import create_group, group_by_code
from study.phases import start_phase
from study.studies import get_study


def test_shipped_manual_has_ten_sessions_and_the_competence_items():
    assert MANUAL.id == "hope_course" and MANUAL.weeks == 10
    assert all(s.planned_minutes == 120 for s in MANUAL.sessions)
    assert {"shares_experience", "equal_relation", "non_directive", "meets_people", "co_leading"} == set(
        MANUAL.competence_ids
    )
    frame = MANUAL.components_frame()
    assert frame["component"].is_unique
    # Essential components carry more weight than optional ones in this manual.
    assert frame.loc[frame["essential"], "weight"].min() > frame.loc[~frame["essential"], "weight"].max()
    themes = " ".join(s.theme.lower() for s in MANUAL.sessions)
    for theme in ("hope", "goals", "everyday", "network", "boundaries", "setbacks", "lived experience"):
        assert theme in themes


@pytest.mark.parametrize(
    "change, key, reason",
    [
        (("weight: 2", "weight: 0", 1), "sessions[0].components[0].weight", "greater than 0"),
        (("week: 2\n", "week: 3\n", 1), "sessions", "weeks must run 1, 2"),
        (("id: w01_agreements", "id: w01_welcome", 1), "sessions", "duplicate component id 'w01_welcome'"),
        (("planned_minutes: 120", "planned_minuts: 120", 1), "sessions[0].planned_minuts", "not a known key"),
        (("{min: 1, max: 5}", "{min: 4, max: 3}", 1), "competence.scale", "must be above min"),
    ],
)
def test_bad_manual_names_file_and_key(change, key, reason):
    old, new, count = change
    text = MANUAL_TEXT.replace(old, new, count)
    with pytest.raises(ManualError) as err:
        parse_manual(text, source="my_manual.yaml")
    assert f"my_manual.yaml: {key}: " in str(err.value) and reason in str(err.value)


def test_fidelity_config_is_typed_and_validated():
    config = parse_config(example_config_path().read_text(encoding="utf-8"))
    assert config.fidelity.manual == "hope_course"
    assert (config.fidelity.thresholds.high, config.fidelity.thresholds.moderate) == (80, 50)
    assert config.groups.per_protocol_min_sessions == 6
    bad = (
        example_config_path()
        .read_text(encoding="utf-8")
        .replace("thresholds: {high: 80, moderate: 50}", "thresholds: {high: 50, moderate: 80}")
    )
    with pytest.raises(ConfigError, match="fidelity.thresholds: moderate .* must be below high"):
        parse_config(bad)


def test_pilot_versions_then_locked_from_the_rct(study_db):
    db = study_db
    pilot_with_groups(db)
    v11 = MANUAL_TEXT.replace('version: "1.0"', 'version: "1.1"').replace(
        "Check-in round on the week since last time", "Check-in round: how was the week?"
    )
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        # The same file again is recognised and changes nothing.
        row, created = store_manual_version(s, study, MANUAL_TEXT, ACTOR)
        assert not created and row.version == "1.0"
        # A changed manual needs a note ...
        with pytest.raises(BadInput, match="change note"):
            store_manual_version(s, study, v11, ACTOR)
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        # ... and a new version number.
        with pytest.raises(BadInput, match="already stored with other content"):
            store_manual_version(s, study, v11.replace('version: "1.1"', 'version: "1.0"'), ACTOR, note="x")
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        row, created = store_manual_version(s, study, v11, ACTOR, note="friendlier check-in")
        assert created and row.locked_at is None
        start_phase(s, study, "rct", ACTOR)
    # From the start of the RCT a changed manual is refused, and nothing is written.
    v12 = v11.replace('version: "1.1"', 'version: "1.2"').replace("friendlier", "other")
    with pytest.raises(NotAllowed, match="locked at version 1.1"):
        with unit_of_work(db, ACTOR) as s:
            store_manual_version(s, get_study(s), v12, ACTOR, note="late change")
    with read_session(db) as s:
        study = get_study(s)
        history = manual_history(s, study)
        assert history["version"].tolist() == ["1.0", "1.1"]
        assert history["change_note"].tolist() == ["first version", "friendlier check-in"]
    # RCT groups run the locked version: locking gives it to groups without one.
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        leaders = [add_trained_leader(s, study, f"L-R{i}", "CPH") for i in (1, 2, 3, 4)]
        create_group(s, study, "CPH-R01", "CPH", START_RCT, leaders[:2], phase="rct")
        create_group(s, study, "CPH-R02", "CPH", START_RCT, leaders[2:], phase="rct", manual_version="1.0")
        locked = lock_manual(s, study, ACTOR)
        assert locked.version == "1.1" and locked.locked_by == ACTOR
        assert group_by_code(s, study, "CPH-R01").manual_version == "1.1"
        problems = group_version_problems(s, study)
        assert problems[["group", "manual_version", "problem"]].values.tolist() == [
            ["CPH-R02", "1.0", "runs another version"]
        ]
        # A group recorded with another version cannot be scored against the RCT manual.
        with pytest.raises(NotAllowed, match="CPH-R02 is recorded with manual version 1.0"):
            group_manual(s, study, group_by_code(s, study, "CPH-R02"), ACTOR)
    with read_session(db) as s:
        assert current_version(s, get_study(s)).locked_at is not None


START_RCT = __import__("datetime").date(2025, 9, 1)


def test_first_version_stored_in_the_rct_is_locked_at_once(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        start_phase(s, study, "pilot", ACTOR)
        start_phase(s, study, "rct", ACTOR)
        row, created = store_manual_version(s, study, MANUAL_TEXT, ACTOR)
        assert created and row.locked_at is not None


def test_manual_must_fit_the_study(study_db):
    with pytest.raises(BadInput, match="not the study's manual"):
        with unit_of_work(study_db, ACTOR) as s:
            store_manual_version(s, get_study(s), MANUAL_TEXT.replace("id: hope_course", "id: other"), ACTOR)
    nine_weeks = (
        MANUAL_TEXT[: MANUAL_TEXT.index("  - week: 10")] + MANUAL_TEXT[MANUAL_TEXT.index("competence:") :]
    )
    with pytest.raises(BadInput, match="9 sessions but the study's course has 10"):
        with unit_of_work(study_db, ACTOR) as s:
            store_manual_version(s, get_study(s), nine_weeks, ACTOR)
    with read_session(study_db) as s:
        assert s.scalars(select(ManualVersion)).all() == []


def test_starting_the_rct_locks_the_stored_manual(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        start_phase(s, study, "pilot", ACTOR)
        store_manual_version(s, study, MANUAL_TEXT, ACTOR, note="first version")
        assert current_version(s, study).locked_at is None
        start_phase(s, study, "rct", "coordinator.cph")
        locked = current_version(s, study)
        assert locked.locked_at is not None and locked.locked_by == "coordinator.cph"

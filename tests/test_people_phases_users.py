"""People, phases and users: validation, nothing written on bad input, audited transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from rct_fixtures import lock_current_sap
from sqlalchemy import func, select

from study.config.eligibility import EligibilityRules
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, Person
from study.db.types import utcnow
from study.eligibility import age_on, ineligibility_reasons
from study.errors import BadInput, NotAllowed, NotFound
from study.login_throttle import FREE_FAILURES, LOGIN_DELAY_CAP
from study.people import Identity, add_person
from study.phases import phase_table, require_phase, start_phase
from study.studies import get_study
from study.users import add_user, authenticate


def _count(engine, model) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(pseudonym="P0001", role="participant", site="XXX"), "unknown site code 'XXX'"),
        (dict(pseudonym="P0001", role="wizard", site="CPH"), "unknown role 'wizard'"),
        (
            dict(
                pseudonym="P0002",
                role="participant",
                site="CPH",
                identity=Identity(birth_date=dt.date(2099, 1, 1)),
            ),
            "in the future",
        ),
        (dict(pseudonym="P0001", role="participant", site="HEL"), "already used"),
    ],
)
def test_bad_person_is_refused_and_nothing_written(study_db, kwargs, message):
    with unit_of_work(study_db, "test") as s:
        add_person(s, get_study(s), "P0001", "participant", "CPH")
    people, events = _count(study_db, Person), _count(study_db, AuditEvent)
    with pytest.raises(BadInput, match=message):
        with unit_of_work(study_db, "test") as s:
            add_person(s, get_study(s), "P9999", "participant", "CPH")  # written, then rolled back
            add_person(s, get_study(s), **kwargs)
    assert (_count(study_db, Person), _count(study_db, AuditEvent)) == (people, events)


def test_phases_move_forward_only_and_are_audited(study_db):
    with unit_of_work(study_db, "admin") as s:
        study = get_study(s)
        with pytest.raises(NotAllowed, match="only in the rct"):
            require_phase(study, "rct", action="randomisation")
        start_phase(s, study, "pilot", "admin")
        start_phase(s, study, "rct", "admin")
        require_phase(study, "rct", action="randomisation")
    with pytest.raises(NotAllowed, match="only move forward"):
        with unit_of_work(study_db, "admin") as s:
            start_phase(s, get_study(s), "pilot", "admin")
    with pytest.raises(BadInput, match="unknown phase"):
        with unit_of_work(study_db, "admin") as s:
            start_phase(s, get_study(s), "party", "admin")
    with read_session(study_db) as s:
        study = get_study(s)
        assert study.current_phase == "rct"
        table = phase_table(s, study)
        assert list(table["phase"]) == ["pilot", "rct", "analysis"]
        assert list(table["current"]) == [False, True, False]
        changes = s.scalars(
            select(AuditEvent.new_value)
            .where(AuditEvent.table_name == "study", AuditEvent.field == "current_phase")
            .order_by(AuditEvent.seq)
        ).all()
    assert changes == ["pilot", "rct"]


def test_age_on_counts_completed_years():
    assert age_on(dt.date(2000, 3, 15), dt.date(2018, 3, 14)) == 17
    assert age_on(dt.date(2000, 3, 15), dt.date(2018, 3, 15)) == 18
    assert age_on(dt.date(2000, 2, 29), dt.date(2018, 2, 28)) == 17


def test_ineligibility_reasons_lists_every_failed_rule():
    rules = EligibilityRules(
        min_age=18, max_age=40, residence_required=True, exclusions=["violence_conviction"]
    )
    assert ineligibility_reasons(rules, 30, "København", ["København"]) == []
    reasons = ineligibility_reasons(
        rules, 41, "Vejle", ["København"], ["violence_conviction", "unrelated_flag"]
    )
    assert reasons == [
        "age 41 above maximum 40",
        "lives outside the site's municipalities (Vejle)",
        "exclusion: violence_conviction",
    ]
    assert ineligibility_reasons(rules, 17, "københavn", ["København"]) == ["age 17 below minimum 18"]


def test_users_hash_passwords_and_throttle_guessing(study_db):
    with unit_of_work(study_db, "admin") as s:
        study = get_study(s)
        user = add_user(s, "kim.cph", "coordinator", "correct horse", study=study, site="CPH")
        assert user.password_hash.startswith("$argon2id$")
        with pytest.raises(BadInput, match="coordinator needs a site"):
            add_user(s, "no.site", "coordinator", "long enough", study=study)
        with pytest.raises(BadInput, match="already exists"):
            add_user(s, "kim.cph", "researcher", "long enough", study=study)
    assert authenticate(study_db, "kim.cph", "correct horse").login == "kim.cph"
    assert authenticate(study_db, "kim.cph", "wrong") is None
    assert authenticate(study_db, "nobody", "wrong") is None
    # Repeated failures slow the login down (a growing delay), they never lock it: once the
    # delay has passed, the right password works again.
    now = utcnow()
    for _ in range(FREE_FAILURES + 2):
        assert authenticate(study_db, "kim.cph", "guess", client="elsewhere", now=now) is None
    assert authenticate(study_db, "kim.cph", "correct horse", client="mine", now=now) is None
    later = now + LOGIN_DELAY_CAP + dt.timedelta(seconds=1)
    assert authenticate(study_db, "kim.cph", "correct horse", client="mine", now=later).login == "kim.cph"
    with read_session(study_db) as s:
        events = s.scalars(select(AuditEvent.new_value).where(AuditEvent.table_name == "app_user")).all()
    assert all("correct horse" not in (v or "") and "$argon2" not in (v or "") for v in events)


def test_study_lookup(study_db):
    with read_session(study_db) as s:
        assert get_study(s, "HOPE").code == "HOPE"
        with pytest.raises(NotFound, match="no study 'NOPE'"):
            get_study(s, "NOPE")


def test_unblinding_only_in_analysis_and_once(study_db):
    import pandas as pd

    from study.blinding import code_mapping, display_arms, is_unblinded, unblind
    from study.studies import config_of

    with unit_of_work(study_db, "stat") as s:
        study = get_study(s)
        config = config_of(study)
        arms = pd.Series(["INT", "CTL", None])
        blinded = display_arms(arms, config, is_unblinded(study), code_mapping(s, study)).tolist()
        assert sorted(blinded[:2]) == ["A", "B"]
        start_phase(s, study, "pilot", "admin")
        start_phase(s, study, "rct", "admin")
        with pytest.raises(NotAllowed, match="only in the analysis"):
            unblind(s, study, "stat")
        start_phase(s, study, "analysis", "admin")
        with pytest.raises(NotAllowed, match="locked statistical analysis plan"):
            unblind(s, study, "stat")
        lock_current_sap(s, study)
        unblind(s, study, "stat")
        assert display_arms(arms, config, is_unblinded(study)).tolist()[:2] == ["INT", "CTL"]
        with pytest.raises(NotAllowed, match="already unblinded"):
            unblind(s, study, "stat")
    with read_session(study_db) as s:
        fields = s.scalars(select(AuditEvent.field).where(AuditEvent.table_name == "study")).all()
    assert "unblinded_at" in fields

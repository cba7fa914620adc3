"""Stratification factors: declared levels, synonyms mapped to codes, required for
participants, in the participants import and the enrolment form alike."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml
from sqlalchemy import select

from dashboards.actions import enrol_person
from study.config import ConfigError, example_config_path, load_config, parse_config
from study.db import read_session
from study.db.models import Person, PersonAttribute
from study.enrolment_import import participant_problems
from study.errors import BadInput
from study.stratification import normalise_attributes, normalise_levels
from tests.test_dashboard_access import _form, viewer_of


@pytest.fixture(scope="module")
def config():
    return load_config(example_config_path())


def test_synonyms_and_case_map_to_the_code_and_typos_are_refused(config):
    values = pd.Series(["female", " Female ", "KVINDE", "mand", "Other", "", "femal", "fe male"])
    coded = normalise_levels(values, "gender", config)
    assert coded.iloc[:6].tolist() == ["female", "female", "female", "male", "other", ""]
    assert coded.iloc[6:].isna().all()
    assert normalise_attributes({"gender": "Kvinde"}, "participant", config) == {"gender": "female"}
    with pytest.raises(BadInput, match="allowed: female, male, other"):
        normalise_attributes({"gender": "femal"}, "participant", config)
    with pytest.raises(BadInput, match="gender is required for participants"):
        normalise_attributes({}, "participant", config)
    assert normalise_attributes({}, "peer_buddy", config) == {}  # volunteers are not stratified


def test_levels_are_validated_on_load():
    data = yaml.safe_load(example_config_path().read_text(encoding="utf-8"))
    data["factor_levels"]["gender"][1]["synonyms"].append("kvinde")  # names female and male
    with pytest.raises(ConfigError, match="names both"):
        parse_config(yaml.safe_dump(data, allow_unicode=True))
    data = yaml.safe_load(example_config_path().read_text(encoding="utf-8"))
    data["factor_levels"]["age_band"] = [{"code": "young", "label": "ung"}]
    with pytest.raises(ConfigError, match="not declared under stratification"):
        parse_config(yaml.safe_dump(data, allow_unicode=True))


def test_import_refuses_an_undeclared_level_naming_row_column_and_levels(config):
    rows = pd.DataFrame(
        {
            "pseudonym": ["P1", "P2", "P3"],
            "site": "CPH",
            "role": "participant",
            "birth_date": "1990-01-01",
            "municipality": "København",
            "screened_on": "2025-09-01",
            "consent_on": "2025-09-02",
            "exclusions": "",
            "gender": ["Female", "femal", ""],
        }
    )
    problems = participant_problems(rows, config, today=dt.date(2026, 1, 1))
    described = [(p.row, p.column, p.value) for p in problems]
    assert described == [(3, "gender", "femal"), (4, "gender", "")]
    assert "allowed: female, male, other" in problems[0].reason and "required" in problems[1].reason


def test_enrol_form_codes_the_level_and_refuses_a_missing_factor(dashboard_db):
    cph = viewer_of(dashboard_db, "cph.coordinator")
    enrol_person(dashboard_db, cph, _form("W-STRAT-1", attributes={"gender": "Kvinde"}))
    with read_session(dashboard_db) as s:
        stored = s.scalar(
            select(PersonAttribute.value)
            .join(Person, Person.id == PersonAttribute.person_id)
            .where(Person.pseudonym == "W-STRAT-1", PersonAttribute.name == "gender")
        )
    assert stored == "female"
    with pytest.raises(BadInput, match="gender is required"):
        enrol_person(dashboard_db, cph, _form("W-STRAT-2", attributes={}))
    with pytest.raises(BadInput, match="not a declared level"):
        enrol_person(dashboard_db, cph, _form("W-STRAT-3", attributes={"gender": "femal"}))
    with read_session(dashboard_db) as s:
        assert not s.query(Person).filter(Person.pseudonym.in_(["W-STRAT-2", "W-STRAT-3"])).count()


def test_changed_facts_lists_each_change_and_redacts_the_birth_date():
    from study.corrections import changed_facts

    stored = pd.DataFrame(
        {
            "pseudonym": ["P1", "P2"],
            "birth_date": ["1990-01-01", "1980-01-01"],
            "consent_on": ["2025-09-02", ""],
            "gender": ["female", "male"],
        }
    )
    incoming = pd.DataFrame(
        {
            "pseudonym": ["P2", "P1", "P9"],
            "birth_date": ["1980-01-01", "1991-01-01", "2000-01-01"],
            "consent_on": ["2025-09-05", "2025-09-02", ""],
            "gender": ["other", "female", "male"],
        }
    )
    changes = changed_facts(stored, incoming, ["birth_date", "consent_on", "gender"])
    assert changes.values.tolist() == [
        ["P2", "consent_on", "", "2025-09-05"],
        ["P2", "gender", "male", "other"],
        ["P1", "birth_date", "<redacted>", "<redacted>"],
    ]

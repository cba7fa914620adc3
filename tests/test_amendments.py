"""Amending a running study's configuration: what may change, what the data lock, and that
nothing is half written; through the domain function and `peerstudy config amend`."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from rct_fixtures import ACTOR, add_participants, make_rct_study, study_yaml
from sqlalchemy import select
from typer.testing import CliRunner

from study.amendments import amend_config
from study.cli import app
from study.config import ConfigError
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, Site, Study, StudyPhase
from study.errors import BadInput, NotAllowed
from study.randomisation import randomise
from study.studies import config_of, get_study


def _yaml(**changes) -> str:
    data = yaml.safe_load(study_yaml())
    for key, change in changes.items():
        data[key] = change(data[key]) if callable(change) else change
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _amend(engine, text: str, reason: str = "protocol amendment 2"):
    with unit_of_work(engine, ACTOR, reason=reason) as s:
        return amend_config(s, get_study(s), text, reason)


def _stored(engine) -> str:
    with read_session(engine) as s:
        return get_study(s).config_yaml


def _add_site(sites):
    return sites + [{"code": "ODE", "name": "Odense", "municipalities": ["Odense"], "recruitment_target": 40}]


def _retarget(sites):
    return [
        {**s, "recruitment_target": s["recruitment_target"] + 10} if s["code"] == "CPH" else s for s in sites
    ]


def test_a_new_site_and_a_new_target_apply_to_the_tables_and_are_audited(db):
    make_rct_study(db, phase="pilot")
    done = _amend(db, _yaml(sites=lambda s: _retarget(_add_site(s))))
    assert done.sections == ("sites",) and done.sites_added == ("ODE",)
    with read_session(db) as s:
        study = get_study(s)
        targets = dict(
            s.execute(select(Site.code, Site.recruitment_target).where(Site.study_id == study.id)).all()
        )
        assert "ODE" in {x.code for x in config_of(study).sites}
        event = s.scalar(
            select(AuditEvent).where(AuditEvent.table_name == "study", AuditEvent.field == "config_yaml")
        )
    old_cph = next(x for x in yaml.safe_load(study_yaml())["sites"] if x["code"] == "CPH")[
        "recruitment_target"
    ]
    assert targets["ODE"] == 40 and targets["CPH"] == old_cph + 10
    assert (
        event.reason == "protocol amendment 2" and "ODE" in event.new_value and "ODE" not in event.old_value
    )


def test_planned_dates_move_and_a_phase_that_started_cannot_be_removed(db):
    make_rct_study(db, phase="pilot")
    later = dt.date(2027, 12, 31)
    _amend(db, _yaml(phases=lambda ps: [{**p, "end": later} if p["name"] == "analysis" else p for p in ps]))
    with read_session(db) as s:
        assert s.scalar(select(StudyPhase.planned_end).where(StudyPhase.name == "analysis")) == later
    before = _stored(db)
    with pytest.raises((NotAllowed, ConfigError)):
        _amend(db, _yaml(phases=lambda ps: [p for p in ps if p["name"] != "pilot"]))
    assert _stored(db) == before


def test_randomisation_and_arms_are_locked_from_the_first_allocation(db):
    make_rct_study(db)
    add_participants(db, [{"pseudonym": "P1"}])
    _amend(db, _yaml(randomisation=lambda r: {**r, "block_sizes": [4, 6, 8]}), "before anyone is allocated")
    with unit_of_work(db, ACTOR) as s:
        randomise(s, get_study(s), "P1", ACTOR)
    before = _stored(db)
    with pytest.raises(NotAllowed, match="randomisation: fixed since the first allocation"):
        _amend(db, _yaml(randomisation=lambda r: {**r, "block_sizes": [2, 4]}))
    with pytest.raises(NotAllowed, match="arms"):
        _amend(
            db,
            _yaml(
                arms=lambda arms: [{**a, "ratio": 2} if a["code"] == "INT" else a for a in arms],
                randomisation=lambda r: {**r, "block_sizes": [3, 6]},
            ),
        )
    # Factor levels: synonyms may be added, a level in use not removed
    same = lambda r: {**r, "block_sizes": [4, 6, 8]}  # noqa: E731  (as amended above)
    with pytest.raises(NotAllowed, match="factor_levels: level.s. other of gender are in use"):
        _amend(db, _yaml(factor_levels=lambda f: {"gender": f["gender"][:2]}, randomisation=same))
    assert _stored(db) == before
    more = _yaml(
        factor_levels=lambda f: {
            "gender": [
                {**f["gender"][0], "synonyms": [*f["gender"][0]["synonyms"], "kvinna"]},
                *f["gender"][1:],
            ]
        },
        randomisation=same,
    )
    assert _amend(db, more).sections == ("factor_levels",)


def test_outcomes_are_fixed_from_the_rct_and_sites_with_people_stay(db):
    make_rct_study(db)
    add_participants(db, [{"pseudonym": "P1", "site": "HEL"}])
    with pytest.raises(NotAllowed, match="outcomes: pre-specified"):
        _amend(db, _yaml(outcomes=lambda o: {**o, "primary": "who5.total"}))
    with pytest.raises(NotAllowed, match="site HEL has 1 people"):
        _amend(db, _yaml(sites=lambda sites: [x for x in sites if x["code"] != "HEL"]))


def test_bad_amendments_say_why_and_write_nothing(db):
    make_rct_study(db, phase="pilot")
    before = _stored(db)
    with pytest.raises(BadInput, match="reason"):
        _amend(db, _yaml(), reason=" ")
    with pytest.raises(BadInput, match="changes nothing"):
        _amend(db, study_yaml())
    with pytest.raises(ConfigError, match="amended study.yaml: sites"):
        _amend(db, _yaml(sites=[]))
    with pytest.raises(NotAllowed, match="study code"):
        _amend(db, _yaml(study=lambda st: {**st, "code": "OTHER"}))
    assert _stored(db) == before


def test_cli_config_show_and_amend(db, tmp_path):
    make_rct_study(db, phase="pilot")
    url = db.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(app, ["config", "show", "--db", url])
    assert shown.exit_code == 0 and yaml.safe_load(shown.output) == yaml.safe_load(study_yaml())
    amended = tmp_path / "study.yaml"
    amended.write_text(_yaml(sites=_add_site), encoding="utf-8")
    refused = CliRunner().invoke(app, ["config", "amend", str(amended), "--db", url, "--reason", ""])
    assert refused.exit_code == 2 and "reason" in refused.output
    result = CliRunner().invoke(
        app, ["config", "amend", str(amended), "--db", url, "--reason", "Odense joins"]
    )
    assert result.exit_code == 0, result.output
    assert "sites changed" in result.output and "sites added: ODE" in result.output
    with read_session(db) as s:
        assert s.scalar(select(Site).where(Site.code == "ODE")) is not None
        assert s.scalar(select(Study.config_yaml)) == amended.read_text(encoding="utf-8")

"""Helpers for the randomisation tests: a study in its RCT phase with screened participants."""

from __future__ import annotations

import datetime as dt

import yaml
from leaders import add_trained_leader
from sqlalchemy import func, select

from study.config import example_config_path, parse_config
from study.db import read_session, unit_of_work
from study.groups import create_group
from study.people import Identity, add_person, enrol
from study.phases import start_phase
from study.studies import create_study, get_study

ACTOR = "test"
PILOT_START = dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)
RCT_START = dt.datetime(2025, 8, 1, 9, tzinfo=dt.UTC)
SCREENED = dt.date(2025, 8, 10)
CONSENTED = dt.date(2025, 8, 12)
ON = dt.date(2025, 9, 1)


def study_yaml(**randomisation) -> str:
    """The reference study's YAML with the randomisation section overridden."""
    data = yaml.safe_load(example_config_path().read_text(encoding="utf-8"))
    data["randomisation"].update(randomisation)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def make_rct_study(engine, phase: str = "rct", **randomisation) -> None:
    """Create the reference study (randomisation overridden) and start phases up to ``phase``."""
    text = study_yaml(**randomisation)
    with unit_of_work(engine, ACTOR) as s:
        study = create_study(s, parse_config(text), text)
        start_phase(s, study, "pilot", ACTOR, at=PILOT_START)
        if phase in ("rct", "analysis"):
            start_phase(s, study, "rct", ACTOR, at=RCT_START)


def add_participant(
    s,
    pseudonym: str,
    site: str = "CPH",
    gender: str | None = "female",
    age: int = 35,
    consent: bool = True,
    phase: str = "rct",
    municipality: str | None = None,
    role: str = "participant",
):
    study = get_study(s)
    municipality = municipality or {"CPH": "København", "HEL": "Helsingør", "FRE": "Fredericia"}[site]
    person = add_person(
        s,
        study,
        pseudonym,
        role,
        site,
        identity=Identity(birth_date=dt.date(SCREENED.year - age, 1, 1)),
        attributes={"gender": gender} if gender else None,
    )
    enrol(s, study, person, SCREENED, municipality, consent_on=CONSENTED if consent else None, phase=phase)
    return person


def add_participants(engine, specs: list[dict]) -> None:
    with unit_of_work(engine, ACTOR) as s:
        for spec in specs:
            add_participant(s, **spec)


def add_groups(engine, site: str, starts: list[dt.date]) -> list[str]:
    """Groups at ``site`` with two fresh leaders each; returns their codes."""
    codes = []
    with unit_of_work(engine, ACTOR) as s:
        study = get_study(s)
        for k, start in enumerate(starts, start=1):
            leaders = []
            for j in (1, 2):
                leaders.append(add_trained_leader(s, study, f"L-{site}-{k}-{j}", site))
            code = f"{site}-R{k:02d}"
            create_group(s, study, code, site, start, leaders, phase="rct")
            codes.append(code)
    return codes


def count(engine, model) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def lock_current_sap(session, study, actor: str = "stat"):
    """Lock the study's current analysis plan (unblinding needs it)."""
    from pipelines.sap import current_sap
    from study.sap import lock_sap
    from study.studies import config_of

    sap = current_sap(config_of(study))
    return lock_sap(session, study, sap.document, sap.sha256, sap.plan_json, actor, "locked for the test")

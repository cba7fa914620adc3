"""Registering people: pseudonym, role and site in study data; identity kept apart."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.codes import ROLE_CODES
from study.db.models import Enrolment, Person, PersonAttribute, PersonIdentity, Study
from study.eligibility import age_on, ineligibility_reasons
from study.errors import BadInput, NotFound
from study.imports.pseudonyms import normalise_pseudonym
from study.studies import config_of, site_by_code

__all__ = ["Identity", "add_person", "enrol", "people_by_pseudonym", "person_by_pseudonym"]


@dataclass(frozen=True)
class Identity:
    """Identifying data of a person (synthetic in every demo and test)."""

    full_name: str | None = None
    birth_date: dt.date | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None


def add_person(
    session: Session,
    study: Study,
    pseudonym: str,
    role: str,
    site: str,
    identity: Identity | None = None,
    attributes: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> Person:
    """Register a person in ``study``; raises ``BadInput`` for a duplicate pseudonym, an
    unknown role or site, or a birth date in the future. Nothing is written on error (the
    caller's unit of work rolls back). The pseudonym is stored trimmed and upper-case
    (``p0001`` is ``P0001``)."""
    pseudonym = normalise_pseudonym(pseudonym)
    if not pseudonym:
        raise BadInput("a pseudonym is required")
    if role not in ROLE_CODES:
        raise BadInput(f"unknown role {role!r}; roles: {', '.join(ROLE_CODES)}")
    site_row = site_by_code(session, study, site)
    identity = identity or Identity()
    today = today or dt.date.today()
    if identity.birth_date is not None and identity.birth_date > today:
        raise BadInput(f"birth date {identity.birth_date} of {pseudonym} is in the future")
    duplicate = session.scalar(
        select(Person.id).where(Person.study_id == study.id, Person.pseudonym == pseudonym)
    )
    if duplicate is not None:
        raise BadInput(f"pseudonym {pseudonym!r} is already used in study {study.code}")
    person = Person(study_id=study.id, pseudonym=pseudonym, role=role, site_id=site_row.id)
    session.add(person)
    session.flush()
    session.add(PersonIdentity(person_id=person.id, study_id=study.id, **identity.__dict__))
    for name, value in (attributes or {}).items():
        session.add(PersonAttribute(study_id=study.id, person_id=person.id, name=name, value=value))
    session.flush()
    return person


def person_by_pseudonym(session: Session, study: Study, pseudonym: str) -> Person:
    """The person with this pseudonym (in any case, e.g. ``p0001``) in ``study``, or ``NotFound``."""
    person = session.scalar(
        select(Person).where(Person.study_id == study.id, Person.pseudonym == normalise_pseudonym(pseudonym))
    )
    if person is None:
        raise NotFound(f"unknown pseudonym {pseudonym!r} in study {study.code}")
    return person


def people_by_pseudonym(session: Session, study: Study, pseudonyms) -> dict[str, Person]:
    """The study's people among ``pseudonyms``, keyed by pseudonym (unknown ones are absent,
    for an import to report per row), in one query. Pass normalised pseudonyms
    (:func:`study.imports.normalise_pseudonyms`): the keys are the stored, upper-case ones."""
    wanted = sorted({normalise_pseudonym(p) for p in pseudonyms})
    return {
        p.pseudonym: p
        for p in session.scalars(
            select(Person).where(Person.study_id == study.id, Person.pseudonym.in_(wanted))
        )
    }


def enrol(
    session: Session,
    study: Study,
    person: Person,
    screened_on: dt.date,
    municipality: str | None,
    consent_on: dt.date | None = None,
    exclusions: tuple[str, ...] = (),
    phase: str | None = None,
) -> Enrolment:
    """Screen a person against their role's eligibility rules and record the result.

    Ineligible people are kept as screened with every reason they failed. ``phase`` defaults
    to the study's current phase.
    """
    config = config_of(study)
    identity = session.get(PersonIdentity, person.id)
    birth = identity.birth_date if identity else None
    age = age_on(birth, screened_on) if birth else None
    site_code = next(s.code for s in study.sites if s.id == person.site_id)
    role = config.roles.get(person.role)
    reasons = (
        ineligibility_reasons(
            role.eligibility, age, municipality, config.site(site_code).municipalities, exclusions
        )
        if role
        else []
    )
    if consent_on is not None and consent_on < screened_on:
        raise BadInput(f"{person.pseudonym}: consent ({consent_on}) before screening ({screened_on})")
    enrolment = Enrolment(
        study_id=study.id,
        person_id=person.id,
        phase=phase or study.current_phase or "pilot",
        screened_on=screened_on,
        age_at_screening=age,
        municipality=municipality,
        eligible=not reasons,
        ineligibility_reasons=json.dumps(reasons, ensure_ascii=False),
        consent_on=consent_on,
    )
    session.add(enrolment)
    session.flush()
    return enrolment

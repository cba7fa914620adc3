"""Enrolment from the dashboard: register and screen a person at the coordinator's own site."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from dashboards.access import Viewer
from dashboards.actions.unit import study_write
from study.codes import Phase
from study.db.models import Site
from study.errors import BadInput
from study.people import Identity, add_person, enrol
from study.phase_guard import require_phase
from study.stratification import normalise_attributes
from study.studies import config_of

__all__ = ["EARLIEST_BIRTH", "EnrolmentForm", "EnrolmentResult", "enrol_person"]

#: Oldest plausible birth date and youngest age a form accepts (a typo guard, not eligibility).
EARLIEST_BIRTH = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class EnrolmentForm:
    """The screening form of a new person (one of the coordinator's own site).

    ``exclusions`` are flags such as ``violence_conviction``; ``attributes`` the stratification
    attributes (e.g. ``{"gender": "female"}``).
    """

    pseudonym: str
    role: str
    birth_date: dt.date
    municipality: str
    screened_on: dt.date
    consent_on: dt.date | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    exclusions: tuple[str, ...] = ()
    identity: Identity = field(default_factory=Identity)


@dataclass(frozen=True)
class EnrolmentResult:
    """What screening found: the pseudonym, eligibility and every reason for ineligibility."""

    pseudonym: str
    eligible: bool
    reasons: tuple[str, ...]


def _check_dates(form: EnrolmentForm, today: dt.date) -> None:
    problems = []
    if form.birth_date < EARLIEST_BIRTH or form.birth_date > today:
        problems.append(f"birth date {form.birth_date} must lie between {EARLIEST_BIRTH} and today")
    if form.screened_on > today:
        problems.append(f"screening date {form.screened_on} is in the future")
    if form.consent_on is not None and form.consent_on > today:
        problems.append(f"consent date {form.consent_on} is in the future")
    if problems:
        raise BadInput("; ".join(problems))


def enrol_person(
    engine: Engine, viewer: Viewer, form: EnrolmentForm, today: dt.date | None = None
) -> EnrolmentResult:
    """Register and screen a person at the coordinator's own site (one audited transaction).

    Raises
    ------
    NotAllowed
        The viewer is not a coordinator, or the study is in no phase that enrols.
    BadInput
        A duplicate pseudonym (also a double submit of the same form), a date out of range,
        consent before screening, an unknown role, a participant without a stratification
        factor or with a level the study does not declare (:mod:`study.stratification`).
    """
    today = today or dt.date.today()
    _check_dates(form, today)
    with study_write(engine, viewer, "dashboard: screen and enrol") as (session, study):
        site = session.scalar(select(Site).where(Site.id == viewer.site_id))
        viewer.require_edit(site.id if site else -1, "enrolment")
        assert site is not None  # require_edit refused a viewer without a site
        require_phase(study, Phase.PILOT, Phase.RCT, action="enrolment")
        identity = Identity(**{**form.identity.__dict__, "birth_date": form.birth_date})
        attributes = normalise_attributes(form.attributes, form.role, config_of(study))
        person = add_person(
            session,
            study,
            form.pseudonym,
            form.role,
            site.code,
            identity=identity,
            attributes=attributes,
            today=today,
        )
        enrolment = enrol(
            session,
            study,
            person,
            form.screened_on,
            form.municipality,
            consent_on=form.consent_on,
            exclusions=form.exclusions,
        )
        reasons = tuple(json.loads(enrolment.ineligibility_reasons))
        return EnrolmentResult(person.pseudonym, enrolment.eligible, reasons)

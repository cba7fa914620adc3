"""People lists and the person page, with site scoping, identity and blinding rules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer, viewer_study
from dashboards.queries.scope import site_clause
from study.audit import person_history
from study.blinding import BLINDED_VALUE, blind_person_history, is_unblinded
from study.db import read_session
from study.db.models import (
    Allocation,
    CourseGroup,
    Enrolment,
    GroupMember,
    Person,
    PersonAttribute,
    PersonIdentity,
    Site,
)
from study.people import person_by_pseudonym

__all__ = [
    "IDENTITY_FIELDS",
    "PEOPLE_COLUMNS",
    "PersonView",
    "people_frame",
    "person_view",
    "viewer_is_blinded",
]

#: Columns of the identity table; they never appear in a table, an export or a CSV download.
IDENTITY_FIELDS = ("full_name", "birth_date", "phone", "email", "address")
PEOPLE_COLUMNS = [
    "pseudonym",
    "role",
    "site",
    "phase",
    "screened_on",
    "eligible",
    "consent_on",
    "withdrawn_on",
    "group",
]


def people_frame(engine: Engine, viewer: Viewer, role: str | None = None) -> pd.DataFrame:
    """Everyone at the viewer's sites (pseudonymised; never identity fields).

    Returns
    -------
    DataFrame
        ``pseudonym, role, site, phase, screened_on, eligible, consent_on, withdrawn_on,
        group`` sorted by pseudonym; enrolment columns are missing for people never screened.
        A blinded viewer sees ``group`` of participants as ``<blinded>`` (only intervention
        participants have a course group).
    """
    stmt = (
        select(
            Person.pseudonym,
            Person.role,
            Site.code,
            Enrolment.phase,
            Enrolment.screened_on,
            Enrolment.eligible,
            Enrolment.consent_on,
            Enrolment.withdrawn_on,
            CourseGroup.code,
        )
        .join(Site, Site.id == Person.site_id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(GroupMember, GroupMember.person_id == Person.id)
        .outerjoin(CourseGroup, CourseGroup.id == GroupMember.group_id)
        .where(Person.study_id == viewer.study_id, site_clause(viewer, Person.site_id))
        .order_by(Person.pseudonym)
    )
    if role is not None:
        stmt = stmt.where(Person.role == role)
    with read_session(engine) as session:
        rows = session.execute(stmt).all()
        blinded = viewer_is_blinded(session, viewer)
    frame = pd.DataFrame(rows, columns=PEOPLE_COLUMNS)
    if blinded:
        frame.loc[frame["role"] == "participant", "group"] = BLINDED_VALUE
    return frame


def viewer_is_blinded(session, viewer: Viewer) -> bool:
    """Whether ``viewer`` must not learn any participant's arm (researchers, statisticians
    and admins until unblinding; coordinators know the arms of their site)."""
    return not viewer.sees_arm_labels(is_unblinded(viewer_study(session, viewer)))


@dataclass(frozen=True)
class PersonView:
    """What one viewer may see of one person.

    ``identity`` is ``None`` unless the viewer is the coordinator of the person's site.
    ``arm`` is the real arm for a viewer who may see it, ``<blinded>`` for a blinded viewer
    (a participant's code next to their pseudonym would let outcomes be compared by code),
    ``None`` when not allocated; ``group`` likewise. ``history`` is the person's audit trail
    (identity values redacted; for blinded viewers allocation values blinded and the events of
    course groups, attendance and companionship left out: :func:`study.blinding.blind_person_history`).
    """

    pseudonym: str
    role: str
    site: str
    enrolment: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    group: str | None = None
    arm: str | None = None
    identity: dict | None = None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)


def person_view(engine: Engine, viewer: Viewer, pseudonym: str) -> PersonView:
    """One person as ``viewer`` may see them.

    Raises
    ------
    NotFound
        No such pseudonym in the viewer's study.
    NotAllowed
        The person belongs to a site the viewer may not see (a coordinator of another site).
    """
    pseudonym = (pseudonym or "").strip()
    with read_session(engine) as session:
        person = person_by_pseudonym(session, viewer_study(session, viewer), pseudonym)
        viewer.require_site(person.site_id, f"person {pseudonym}")
        site = session.get_one(Site, person.site_id).code
        enrolment = session.scalar(select(Enrolment).where(Enrolment.person_id == person.id))
        enrolment_dict = {}
        if enrolment is not None:
            enrolment_dict = {
                "phase": enrolment.phase,
                "screened_on": enrolment.screened_on,
                "age_at_screening": enrolment.age_at_screening,
                "municipality": enrolment.municipality,
                "eligible": enrolment.eligible,
                "ineligibility_reasons": ", ".join(json.loads(enrolment.ineligibility_reasons)),
                "consent_on": enrolment.consent_on,
                "withdrawn_on": enrolment.withdrawn_on,
                "withdrawal_reason": enrolment.withdrawal_reason,
            }
        attributes = dict(
            session.execute(
                select(PersonAttribute.name, PersonAttribute.value).where(
                    PersonAttribute.person_id == person.id
                )
            ).all()
        )
        group = session.scalar(
            select(CourseGroup.code)
            .join(GroupMember, GroupMember.group_id == CourseGroup.id)
            .where(GroupMember.person_id == person.id)
        )
        stored_arm = session.scalar(select(Allocation.arm).where(Allocation.person_id == person.id))
        identity = None
        if viewer.may_see_identity(person.site_id):
            row = session.get(PersonIdentity, person.id)
            identity = {f: getattr(row, f) if row else None for f in IDENTITY_FIELDS}
        history = person_history(session, person)
        role = person.role
        blinded = viewer_is_blinded(session, viewer)
    arm = stored_arm
    if blinded and role == "participant":  # neither the page nor its audit trail may tell the arm
        arm = BLINDED_VALUE if stored_arm is not None else None
        group = BLINDED_VALUE
        history = blind_person_history(history)
    return PersonView(pseudonym, role, site, enrolment_dict, attributes, group, arm, identity, history)

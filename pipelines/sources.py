"""Read the inputs of the analysis dataset from the database (thin; no statistics here).

One function per source. Sources whose tables belong to other capabilities are read through
their own loaders: questionnaire scores and items (``questionnaires.store``), dose of the
group course (``study.fidelity.dose``), group fidelity (``study.fidelity.report``) and 1:1
companionship (``study.companionship.dose``). Identity fields
(:class:`study.db.models.PersonIdentity`) are never read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.dataset import (
    ALLOCATION_COLUMNS,
    COMPANIONSHIP_COLUMNS,
    DOSE_COLUMNS,
    GROUP_FIDELITY_COLUMNS,
    PARTICIPANT_COLUMNS,
    SCORE_COLUMNS,
    build_analysis_dataset,
)
from study.blinding import dummy_allocation_seed, is_unblinded
from study.codes import Phase, Role
from study.db.models import (
    Allocation,
    Attendance,
    CourseGroup,
    Enrolment,
    GroupMember,
    GroupSession,
    Person,
    PersonAttribute,
    Site,
    Study,
)
from study.studies import config_of

__all__ = [
    "ATTENDANCE_COLUMNS",
    "ITEM_COLUMNS",
    "attendance_source",
    "StudySources",
    "allocations_source",
    "companionship_source",
    "dose_source",
    "group_fidelity_source",
    "items_source",
    "load_analysis_dataset",
    "load_sources",
    "participants_source",
    "scores_source",
]

#: Columns of :func:`attendance_source`.
ATTENDANCE_COLUMNS = [
    "pseudonym",
    "group",
    "week",
    "status",
    "session_exists",
    "session_held",
    "member_of_group",
]
#: Columns of the long item-level frame (``questionnaires.store.load_items``).
ITEM_COLUMNS = ["pseudonym", "timepoint", "instrument", "version", "item", "value", "completed_on"]


def participants_source(session: Session, study: Study) -> pd.DataFrame:
    """Every screened RCT-phase participant: :data:`pipelines.dataset.PARTICIPANT_COLUMNS`
    plus one column per stratification factor (from person attributes)."""
    config = config_of(study)
    rows = session.execute(
        select(
            Person.id,
            Person.pseudonym,
            Site.code,
            Enrolment.phase,
            Enrolment.age_at_screening,
            Enrolment.screened_on,
            Enrolment.eligible,
            Enrolment.ineligibility_reasons,
            Enrolment.consent_on,
            Enrolment.withdrawn_on,
            Enrolment.withdrawal_reason,
        )
        .join(Site, Site.id == Person.site_id)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Person.study_id == study.id, Person.role == Role.PARTICIPANT, Enrolment.phase == Phase.RCT)
        .order_by(Person.pseudonym)
    ).all()
    frame = pd.DataFrame(rows, columns=["person_id", *PARTICIPANT_COLUMNS]).rename(columns={})
    frame["ineligibility_reasons"] = frame["ineligibility_reasons"].map(
        lambda text: json.loads(text) if text else []
    )
    factors = list(config.stratification)
    if factors:
        attrs = pd.DataFrame(
            session.execute(
                select(PersonAttribute.person_id, PersonAttribute.name, PersonAttribute.value).where(
                    PersonAttribute.study_id == study.id, PersonAttribute.name.in_(factors)
                )
            ).all(),
            columns=["person_id", "name", "value"],
        )
        wide = (
            attrs.pivot(index="person_id", columns="name", values="value")
            if not attrs.empty
            else pd.DataFrame()
        )
        for factor in factors:
            frame[factor] = frame["person_id"].map(wide[factor]) if factor in wide else None
    return frame.drop(columns="person_id")


def allocations_source(session: Session, study: Study) -> pd.DataFrame:
    """:data:`pipelines.dataset.ALLOCATION_COLUMNS`, true arm codes (blinding is applied when
    the dataset is built)."""
    rows = session.execute(
        select(Person.pseudonym, Allocation.arm, Allocation.stratum, Allocation.allocated_on)
        .join(Person, Person.id == Allocation.person_id)
        .where(Allocation.study_id == study.id)
        .order_by(Person.pseudonym)
    ).all()
    return pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)


def dose_source(session: Session, study: Study) -> pd.DataFrame:
    """Sessions held and attended per group member (:data:`pipelines.dataset.DOSE_COLUMNS`),
    as the fidelity capability counts them (:func:`study.fidelity.dose.attendance_dose`)."""
    from study.fidelity.dose import attendance_dose

    return attendance_dose(session, study)[DOSE_COLUMNS]


def attendance_source(session: Session, study: Study) -> pd.DataFrame:
    """Every attendance record with what the checks need: does its session exist, was it
    held (not cancelled), is the person a member of that group (:data:`ATTENDANCE_COLUMNS`)."""
    rows = session.execute(
        select(
            Person.pseudonym,
            CourseGroup.code,
            GroupSession.week,
            Attendance.status,
            GroupSession.id,
            GroupSession.cancelled,
            GroupMember.id,
        )
        .join(Person, Person.id == Attendance.person_id)
        .outerjoin(GroupSession, GroupSession.id == Attendance.session_id)
        .outerjoin(CourseGroup, CourseGroup.id == GroupSession.group_id)
        .outerjoin(
            GroupMember,
            (GroupMember.person_id == Attendance.person_id) & (GroupMember.group_id == GroupSession.group_id),
        )
        .where(Attendance.study_id == study.id)
    ).all()
    frame = pd.DataFrame(
        rows, columns=["pseudonym", "group", "week", "status", "session_id", "cancelled", "member_id"]
    )
    frame["session_exists"] = frame["session_id"].notna()
    frame["session_held"] = frame["session_exists"] & ~frame["cancelled"].fillna(False).astype(bool)
    frame["member_of_group"] = frame["member_id"].notna()
    return frame[ATTENDANCE_COLUMNS]


def scores_source(session: Session, study: Study) -> pd.DataFrame:
    """Long questionnaire scores (:data:`pipelines.dataset.SCORE_COLUMNS`)."""
    from questionnaires.store import load_scores

    return load_scores(session, study)[SCORE_COLUMNS]


def items_source(session: Session, study: Study) -> pd.DataFrame:
    """Long item-level answers (:data:`ITEM_COLUMNS`)."""
    from questionnaires.store import load_items

    return load_items(session, study)[ITEM_COLUMNS]


def group_fidelity_source(session: Session, study: Study) -> pd.DataFrame:
    """Fidelity per RCT group (:data:`pipelines.dataset.GROUP_FIDELITY_COLUMNS`); pilot groups
    ran a manual that was still changing and are not part of the trial's fidelity."""
    from study.fidelity.report import group_fidelity

    groups = group_fidelity(session, study)
    return groups.loc[groups["phase"] == "rct", GROUP_FIDELITY_COLUMNS].reset_index(drop=True)


def companionship_source(session: Session, study: Study) -> pd.DataFrame:
    """1:1 companionship received (:data:`pipelines.dataset.COMPANIONSHIP_COLUMNS`)."""
    from study.companionship.dose import companionship_dose

    return companionship_dose(session, study)[COMPANIONSHIP_COLUMNS]


@dataclass
class StudySources:
    """The inputs of the analysis dataset as read from one database snapshot."""

    participants: pd.DataFrame
    allocations: pd.DataFrame
    scores: pd.DataFrame
    dose: pd.DataFrame
    group_fidelity: pd.DataFrame
    companionship: pd.DataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames as keyword arguments of :func:`build_analysis_dataset`."""
        return dict(self.__dict__)


def load_sources(session: Session, study: Study) -> StudySources:
    """Read every source of the analysis dataset in one session (one snapshot)."""
    return StudySources(
        participants=participants_source(session, study),
        allocations=allocations_source(session, study),
        scores=scores_source(session, study),
        dose=dose_source(session, study),
        group_fidelity=group_fidelity_source(session, study),
        companionship=companionship_source(session, study),
    )


def load_analysis_dataset(session: Session, study: Study) -> pd.DataFrame:
    """The analysis dataset of ``study`` as the current database holds it (on the dummy
    allocation until the study is unblinded: :mod:`pipelines.dummy_allocation`)."""
    sources = load_sources(session, study)
    return build_analysis_dataset(
        **sources.frames(),
        config=config_of(study),
        unblinded=is_unblinded(study),
        dummy_seed=dummy_allocation_seed(session, study),
    )

"""Counts of people per site, role, phase and arm (``peerstudy status``)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.blinding import arm_display_map, code_mapping, is_unblinded
from study.db.models import Allocation, Enrolment, Person, Site, Study
from study.studies import config_of

__all__ = ["status_counts"]


def status_counts(session: Session, study: Study) -> pd.DataFrame:
    """People of a study counted by site, role, enrolment phase, eligibility and arm.

    Returns a DataFrame with columns ``site, role, phase, eligible, consented, arm, n``;
    ``phase`` is ``-`` for people who were never screened (most volunteers and staff), ``arm``
    is ``-`` for people not randomised and otherwise the blinded code (``A``/``B``) until the
    study is unblinded, then the arm code.
    """
    rows = session.execute(
        select(
            Site.code.label("site"),
            Person.role,
            Enrolment.phase,
            Enrolment.eligible,
            Enrolment.consent_on,
            Allocation.arm,
        )
        .join(Site, Site.id == Person.site_id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(Allocation, Allocation.person_id == Person.id)
        .where(Person.study_id == study.id)
    ).all()
    df = pd.DataFrame(rows, columns=["site", "role", "phase", "eligible", "consent_on", "arm"])
    df["phase"] = df["phase"].fillna("-")
    df["consented"] = df["consent_on"].notna()
    df["eligible"] = df["eligible"].astype("boolean")
    shown = arm_display_map(config_of(study), is_unblinded(study), code_mapping(session, study))
    df["arm"] = df["arm"].map(shown).fillna("-")
    return (
        df.groupby(["site", "role", "phase", "eligible", "consented", "arm"], dropna=False)
        .size()
        .rename("n")
        .reset_index()
    )

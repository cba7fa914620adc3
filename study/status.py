"""Counts of people per site, role, phase and arm (``peerstudy status``)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Enrolment, Person, Site, Study

__all__ = ["status_counts"]


def status_counts(session: Session, study: Study) -> pd.DataFrame:
    """People of a study counted by site, role, enrolment phase and eligibility.

    Returns a DataFrame with columns ``site, role, phase, eligible, consented, n``; ``phase``
    is ``-`` for people who were never screened (most volunteers and staff).
    """
    rows = session.execute(
        select(
            Site.code.label("site"),
            Person.role,
            Enrolment.phase,
            Enrolment.eligible,
            Enrolment.consent_on,
        )
        .join(Site, Site.id == Person.site_id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .where(Person.study_id == study.id)
    ).all()
    df = pd.DataFrame(rows, columns=["site", "role", "phase", "eligible", "consent_on"])
    df["phase"] = df["phase"].fillna("-")
    df["consented"] = df["consent_on"].notna()
    df["eligible"] = df["eligible"].astype("boolean")
    return (
        df.groupby(["site", "role", "phase", "eligible", "consented"], dropna=False)
        .size()
        .rename("n")
        .reset_index()
    )

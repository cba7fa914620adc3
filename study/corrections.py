"""Corrections of a randomised participant's facts: protocol deviations, never silent.

Once a participant is randomised, their consent date, the facts their eligibility rests on
(birth date, municipality, screening date) and their stratification factors are part of the
allocation's justification. A later correction (by import) is refused unless it comes with a
reason; with one it is applied (audited as usual), and each changed fact is recorded as a
``correction_after_allocation`` protocol deviation (:func:`study.sap.record_deviation`),
listed by ``peerstudy check`` and in the report. The allocation itself never changes.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.config import StudyConfig
from study.db.models import Allocation, Enrolment, Person, PersonAttribute, PersonIdentity, Study

__all__ = ["CORRECTION_COLUMNS", "IDENTITY_FACTS", "WATCHED_FACTS", "changed_facts", "stored_facts"]

#: Facts of a randomised participant whose correction is a protocol deviation (plus the
#: stratification factors).
WATCHED_FACTS = ["birth_date", "municipality", "screened_on", "consent_on"]
#: Watched facts that are identity fields (their values never enter a deviation).
IDENTITY_FACTS = ["birth_date"]
#: Columns of :func:`changed_facts`.
CORRECTION_COLUMNS = ["pseudonym", "column", "old", "new"]


def stored_facts(session: Session, study: Study, pseudonyms: list[str], config: StudyConfig) -> pd.DataFrame:
    """The stored facts of the *randomised* people among ``pseudonyms``, as text
    (``pseudonym`` + :data:`WATCHED_FACTS` + stratification factors; ``""`` for none)."""
    rows = session.execute(
        select(
            Person.id,
            Person.pseudonym,
            PersonIdentity.birth_date,
            Enrolment.municipality,
            Enrolment.screened_on,
            Enrolment.consent_on,
        )
        .join(Allocation, Allocation.person_id == Person.id)
        .outerjoin(PersonIdentity, PersonIdentity.person_id == Person.id)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .where(Person.study_id == study.id)
    ).all()
    # Filtered here, not by an IN list of every pseudonym (SQLite's parameter limit).
    frame = pd.DataFrame(rows, columns=["person_id", "pseudonym", *WATCHED_FACTS])
    frame = frame[frame["pseudonym"].isin(set(pseudonyms))].reset_index(drop=True)
    factors = list(config.stratification)
    if factors and not frame.empty:
        attrs = pd.DataFrame(
            session.execute(
                select(PersonAttribute.person_id, PersonAttribute.name, PersonAttribute.value).where(
                    PersonAttribute.study_id == study.id, PersonAttribute.name.in_(factors)
                )
            ).all(),
            columns=["person_id", "name", "value"],
        )
        attrs = attrs[attrs["person_id"].isin(set(frame["person_id"]))]
        wide = (
            attrs.pivot(index="person_id", columns="name", values="value")
            if not attrs.empty
            else pd.DataFrame()
        )
        for factor in factors:
            frame[factor] = frame["person_id"].map(wide[factor]) if factor in wide else None
    else:
        for factor in factors:
            frame[factor] = None
    text = frame.drop(columns="person_id").astype(object)
    return text.apply(lambda column: column.map(lambda v: "" if v is None or v != v else str(v)))


def changed_facts(stored: pd.DataFrame, incoming: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Which watched facts ``incoming`` changes for the people of ``stored`` (pure).

    Both frames hold text cells (``""`` for none) keyed by ``pseudonym``; incoming
    stratification values already coded. Returns :data:`CORRECTION_COLUMNS`, one row per
    changed fact, in the incoming file's order.
    """
    if stored.empty:
        return pd.DataFrame(columns=CORRECTION_COLUMNS)
    old = stored.set_index("pseudonym")[columns].stack().rename("old")
    new = (
        incoming[incoming["pseudonym"].isin(stored["pseudonym"])]
        .set_index("pseudonym")[columns]
        .stack()
        .rename("new")
    )
    both = pd.concat([old, new], axis=1, join="inner").reset_index()
    both.columns = ["pseudonym", "column", "old", "new"]
    order = {p: i for i, p in enumerate(incoming["pseudonym"])}
    changed = both[both["old"] != both["new"]].copy()
    # The birth date is an identity field: a deviation says that it changed, never its values.
    identity = changed["column"].isin(IDENTITY_FACTS)
    changed.loc[identity, ["old", "new"]] = "<redacted>"
    return (
        changed.assign(_order=changed["pseudonym"].map(order))
        .sort_values(["_order", "column"])
        .drop(columns="_order")
        .reset_index(drop=True)[CORRECTION_COLUMNS]
    )

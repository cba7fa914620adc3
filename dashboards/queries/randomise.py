"""Who the coordinator may randomise now: the own site's pending RCT participants."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer, viewer_study
from study.db import read_session
from study.db.models import Enrolment, Person
from study.randomisation import pending_pseudonyms

__all__ = ["PENDING_COLUMNS", "pending_frame"]

PENDING_COLUMNS = ["pseudonym", "screened_on", "consent_on"]


def pending_frame(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Eligible, consented, not withdrawn, not yet allocated RCT participants of the
    coordinator's own site, in consent order (the same rule as ``peerstudy randomise
    --pending``, :func:`study.randomisation.pending_pseudonyms`).

    Returns
    -------
    DataFrame
        ``pseudonym, screened_on, consent_on``. Raises ``NotAllowed`` for a viewer who is not
        a coordinator (randomisation is the site's job).
    """
    viewer.require_role("coordinator", action="randomisation")
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        pending = pending_pseudonyms(session, study)
        if not pending:
            return pd.DataFrame(columns=PENDING_COLUMNS)
        rows = session.execute(
            select(Person.pseudonym, Enrolment.screened_on, Enrolment.consent_on)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Person.study_id == study.id, Person.site_id == viewer.site_id, Person.pseudonym.in_(pending)
            )
        ).all()
    df = pd.DataFrame(rows, columns=PENDING_COLUMNS)
    order = {p: i for i, p in enumerate(pending)}
    return df.sort_values("pseudonym", key=lambda s: s.map(order)).reset_index(drop=True)

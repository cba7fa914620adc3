"""A small demo trial for the pipeline commands' end-to-end tests: the demo study with its
allocations, group members, attendance and withdrawals."""

from __future__ import annotations

from sqlalchemy import select

from study.db import read_session
from study.db.models import Allocation, Person, Site
from study.demo import build_demo


def build_trial_db(engine, participants: int = 40, seed: int = 3) -> None:
    """The demo study (randomised RCT cohort, intervention members in groups, attendance)."""
    build_demo(engine, participants=participants, seed=seed)


def allocations_of(engine):
    """(pseudonym, arm, allocated_on, site) of every allocation, for simulated scores."""
    import pandas as pd

    with read_session(engine) as s:
        rows = s.execute(
            select(Person.pseudonym, Allocation.arm, Allocation.allocated_on, Site.code)
            .join(Person, Person.id == Allocation.person_id)
            .join(Site, Site.id == Person.site_id)
        ).all()
    return pd.DataFrame(rows, columns=["pseudonym", "arm", "allocated_on", "site"])

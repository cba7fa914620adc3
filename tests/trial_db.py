"""A small demo database with allocations, group members and attendance, for the pipeline
commands' end-to-end tests (the allocation demo step lives in another capability)."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select

from study.db import read_session, unit_of_work
from study.db.models import Allocation, CourseGroup, Enrolment, Person, Site
from study.demo import build_demo
from study.groups import add_member, record_attendance
from study.studies import get_study


def build_trial_db(engine, participants: int = 40, seed: int = 3) -> None:
    """Demo study + 1:1 allocation of every ready RCT participant, INT members in their
    site's first RCT group, attendance drawn per person, and one withdrawal per arm."""
    build_demo(engine, participants=participants, seed=seed)
    rng = np.random.default_rng(seed)
    with unit_of_work(engine, "test", reason="test allocations") as s:
        study = get_study(s)
        ready = s.execute(
            select(Person, Enrolment, Site.code)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .join(Site, Site.id == Person.site_id)
            .where(Person.study_id == study.id, Enrolment.phase == "rct", Enrolment.eligible.is_(True),
                   Enrolment.consent_on.is_not(None))
            .order_by(Person.pseudonym)
        ).all()
        groups = {}
        for g in s.scalars(select(CourseGroup).where(CourseGroup.phase == "rct").order_by(CourseGroup.code)):
            groups.setdefault(g.site_id, []).append(g)
        members: dict[int, list[str]] = {}
        for k, (person, enrolment, site) in enumerate(ready):
            arm = "INT" if k % 2 == 0 else "CTL"
            s.add(Allocation(study_id=study.id, person_id=person.id, arm=arm, stratum=site, method="blocks",
                             sequence_position=k + 1, allocated_on=enrolment.consent_on + dt.timedelta(days=2),
                             allocated_by="test"))
            if arm == "INT":
                candidates = groups[person.site_id]
                group = next(g for g in candidates if len(members.get(g.id, [])) < 12)
                add_member(s, study, group, person, joined_on=group.start_date)
                members.setdefault(group.id, []).append(person.pseudonym)
            if k in (2, 3):
                enrolment.withdrawn_on = enrolment.consent_on + dt.timedelta(days=60)
                enrolment.withdrawal_reason = "moved away"
        s.flush()
        for group_id, pseudonyms in members.items():
            group = s.get(CourseGroup, group_id)
            propensity = rng.beta(4, 1.5, len(pseudonyms))
            for week in range(1, 11):
                present = rng.random(len(pseudonyms)) < propensity
                record_attendance(s, study, group, week,
                                  {p: "present" if here else "absent" for p, here in zip(pseudonyms, present)})


def allocations_of(engine):
    """(pseudonym, arm, allocated_on, site) of every allocation, for simulated scores."""
    import pandas as pd

    with read_session(engine) as s:
        rows = s.execute(
            select(Person.pseudonym, Allocation.arm, Allocation.allocated_on, Site.code)
            .join(Person, Person.id == Allocation.person_id).join(Site, Site.id == Person.site_id)
        ).all()
    return pd.DataFrame(rows, columns=["pseudonym", "arm", "allocated_on", "site"])

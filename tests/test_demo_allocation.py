"""The demo study's allocation step: every ready RCT participant randomised once, intervention
participants in groups of their site, a few withdrawals that keep their allocation."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from study.db import read_session
from study.db.models import Allocation, CourseGroup, Enrolment, GroupMember, Person
from study.studies import get_study


def _frame(engine) -> pd.DataFrame:
    with read_session(engine) as s:
        rows = s.execute(
            select(
                Person.pseudonym,
                Person.site_id,
                Enrolment.phase,
                Enrolment.eligible,
                Enrolment.consent_on,
                Enrolment.withdrawn_on,
                Allocation.arm,
                Allocation.allocated_on,
                GroupMember.group_id,
                CourseGroup.site_id.label("group_site"),
            )
            .join(Enrolment, Enrolment.person_id == Person.id)
            .outerjoin(Allocation, Allocation.person_id == Person.id)
            .outerjoin(GroupMember, GroupMember.person_id == Person.id)
            .outerjoin(CourseGroup, CourseGroup.id == GroupMember.group_id)
            .where(Person.role == "participant")
        ).all()
    return pd.DataFrame(rows, columns=list(rows[0]._fields))


def test_demo_randomises_its_rct_cohort(demo_engine):
    df = _frame(demo_engine)
    rct = df[df["phase"] == "rct"]
    ready = rct[rct["eligible"] & rct["consent_on"].notna()]
    assert len(ready) == 60 and ready["arm"].notna().all()
    assert df.loc[df["phase"] == "pilot", "arm"].isna().all()  # pilot participants never
    assert rct.loc[~rct.index.isin(ready.index), "arm"].isna().all()
    assert (ready["allocated_on"] > ready["consent_on"]).all()
    assert set(ready["arm"]) == {"INT", "CTL"}
    intervention = ready[ready["arm"] == "INT"]
    assert intervention["group_id"].notna().all()
    assert (intervention["group_site"] == intervention["site_id"]).all()
    assert ready.loc[ready["arm"] == "CTL", "group_id"].isna().all()
    with read_session(demo_engine) as s:
        from study.studies import config_of

        max_size = config_of(get_study(s)).groups.max_size
    assert ready["group_id"].value_counts().max() <= max_size
    withdrawn = ready[ready["withdrawn_on"].notna()]
    assert len(withdrawn) >= 2 and withdrawn["arm"].notna().all()  # intention to treat
    assert (withdrawn["withdrawn_on"] > withdrawn["allocated_on"]).all()


def test_demo_allocations_regenerate_from_the_secret(demo_engine):
    # The demo derives its secret from the demo seed (reproducible demo); the statistician's
    # regeneration must match every allocation. Runs in a transaction that is rolled back,
    # because demo_engine is read only.
    from study.db.models import User
    from study.randomisation import verify_allocations

    with read_session(demo_engine) as s:
        s.info["actor"] = "stat"
        statistician = User(login="stat", role="statistician", password_hash="-", active=True)
        result = verify_allocations(s, get_study(s), statistician)
        s.rollback()
    assert result["ok"].all() and result["allocated"].sum() == 60

"""The demo study and the migrations."""

from __future__ import annotations

import pandas as pd
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from study.audit import verify_chain
from study.db import read_session
from study.db.base import Base
from study.db.models import CourseGroup, Enrolment, GroupLeader, Person, PersonIdentity
from study.db.schema import is_current
from study.status import status_counts
from study.studies import get_study


def test_migrations_match_the_models(db):
    assert is_current(db)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_demo_has_three_sites_people_and_groups(demo_engine):
    with read_session(demo_engine) as s:
        study = get_study(s)
        assert study.current_phase == "rct"
        counts = status_counts(s, study)
        assert sorted(counts["site"].unique()) == ["CPH", "FRE", "HEL"]
        ready = s.scalar(
            select(func.count())
            .select_from(Enrolment)
            .where(Enrolment.phase == "rct", Enrolment.eligible.is_(True), Enrolment.consent_on.is_not(None))
        )
        assert ready == 60
        ineligible = s.scalars(
            select(Enrolment.ineligibility_reasons).where(Enrolment.eligible.is_(False))
        ).all()
        assert ineligible and all(r != "[]" for r in ineligible)
        # Every group has exactly two leaders.
        leaders = pd.Series(s.scalars(select(GroupLeader.group_id)).all()).value_counts()
        n_groups = s.scalar(select(func.count()).select_from(CourseGroup))
        assert len(leaders) == n_groups and (leaders == 2).all()
        # Identities are synthetic: reserved e-mail domain, demo-marked names.
        emails = s.scalars(select(PersonIdentity.email).where(PersonIdentity.email.is_not(None))).all()
        assert emails and all(e.endswith("@example.org") for e in emails)
    assert verify_chain(demo_engine).intact


def test_demo_is_reproducible_from_its_seed(db_factory):
    from study.demo import build_demo

    def snapshot(seed):
        engine = db_factory.new_engine()
        build_demo(engine, participants=20, seed=seed)
        with read_session(engine) as s:
            rows = s.execute(
                select(Person.pseudonym, Person.site_id, Enrolment.age_at_screening, Enrolment.screened_on)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .order_by(Person.pseudonym)
            ).all()
        engine.dispose()
        return rows

    first = snapshot(11)
    assert first == snapshot(11)
    assert first != snapshot(12)

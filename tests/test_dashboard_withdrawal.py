"""Recording a withdrawal on the person page: own-site coordinator only, confirmation
required, a neutral reason, the allocation kept, nothing written on bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dashboards.actions import withdraw_participant
from dashboards.i18n import translate
from study.db import read_session
from study.db.models import Allocation, Enrolment, Person, Site
from study.errors import BadInput, NotAllowed
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import open_app, page_text  # noqa: F401  (fixture)


def _active_participant(engine, site: str, skip: int = 0) -> str:
    with read_session(engine) as s:
        return s.scalars(
            select(Person.pseudonym)
            .join(Site, Site.id == Person.site_id)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Site.code == site,
                Person.role == "participant",
                Enrolment.phase == "rct",
                Enrolment.withdrawn_on.is_(None),
                Enrolment.consent_on.is_not(None),
            )
            .order_by(Person.pseudonym.desc())
        ).all()[skip]


def _enrolment(engine, pseudonym: str) -> Enrolment:
    with read_session(engine) as s:
        return s.scalar(
            select(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Person.pseudonym == pseudonym)
        )


def test_coordinator_records_a_withdrawal_after_confirming(open_app, dashboard_db):
    who = _active_participant(dashboard_db, "CPH")
    with read_session(dashboard_db) as s:
        arm_before = s.scalar(
            select(Allocation.arm)
            .join(Person, Person.id == Allocation.person_id)
            .where(Person.pseudonym == who)
        )
    at = open_app(dashboard_db, "cph.coordinator")
    at.switch_page("views/people.py").run()
    at.text_input(key="person_pseudonym").input(who).run()
    at.selectbox(key="withdraw_reason").set_value("moved away")
    at.form_submit_button[0].click().run()  # not confirmed: nothing written
    assert translate("people.withdraw_unconfirmed") in [w.value for w in at.warning]
    assert _enrolment(dashboard_db, who).withdrawn_on is None
    at.selectbox(key="withdraw_reason").set_value("moved away")
    at.checkbox(key="withdraw_sure").check()
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    row = _enrolment(dashboard_db, who)
    assert row.withdrawn_on == dt.date.today() and row.withdrawal_reason == "moved away"
    with read_session(dashboard_db) as s:  # intention to treat: the allocation stays
        assert (
            s.scalar(
                select(Allocation.arm)
                .join(Person, Person.id == Allocation.person_id)
                .where(Person.pseudonym == who)
            )
            == arm_before
        )


def test_withdrawal_refused_for_another_site_a_future_date_or_a_second_time(dashboard_db):
    who = _active_participant(dashboard_db, "HEL")
    with pytest.raises(NotAllowed):
        withdraw_participant(
            dashboard_db, viewer_of(dashboard_db, "cph.coordinator"), who, dt.date.today(), "moved away"
        )
    with pytest.raises(NotAllowed):
        withdraw_participant(
            dashboard_db, viewer_of(dashboard_db, "researcher"), who, dt.date.today(), "moved away"
        )
    hel = viewer_of(dashboard_db, "hel.coordinator")
    with pytest.raises(BadInput, match="future"):
        withdraw_participant(dashboard_db, hel, who, dt.date.today() + dt.timedelta(days=3), "moved away")
    with pytest.raises(BadInput, match="not one of"):
        withdraw_participant(dashboard_db, hel, who, dt.date.today(), "hated it")
    assert _enrolment(dashboard_db, who).withdrawn_on is None
    withdraw_participant(dashboard_db, hel, who, dt.date.today(), "health reasons")
    with pytest.raises(BadInput, match="already withdrew"):
        withdraw_participant(dashboard_db, hel, who, dt.date.today(), "health reasons")

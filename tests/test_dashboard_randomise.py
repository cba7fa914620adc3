"""The randomise page (coordinator work) through AppTest: pending list of the own site, the
confirmation step, the result shown once, the double submit, other sites and roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from dashboards.actions import EnrolmentForm, enrol_person, randomise_participant
from dashboards.i18n import translate
from dashboards.queries.randomise import pending_frame
from study.db import read_session
from study.db.models import Allocation, AuditEvent, Person
from study.errors import BadInput, NotAllowed
from study.people import Identity
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import DASHBOARDS, open_app  # noqa: F401  (fixture)

PAGE = "views/randomise.py"


def _enrol_hel(engine, pseudonym: str) -> None:
    today = dt.date.today()
    form = EnrolmentForm(
        pseudonym=pseudonym,
        role="participant",
        birth_date=dt.date(1990, 5, 1),
        municipality="Helsingør",
        screened_on=today,
        consent_on=today,
        attributes={"gender": "female"},
        identity=Identity(full_name="Demo Testperson"),
    )
    assert enrol_person(engine, viewer_of(engine, "hel.coordinator"), form).eligible


def _allocation(engine, pseudonym: str):
    with read_session(engine) as s:
        return s.execute(
            select(Allocation.arm, Allocation.allocated_by)
            .join(Person, Person.id == Allocation.person_id)
            .where(Person.pseudonym == pseudonym)
        ).all()


def test_coordinator_randomises_with_confirmation_and_sees_the_result_once(open_app, dashboard_db):
    _enrol_hel(dashboard_db, "W-RAND-1")
    at = open_app(dashboard_db, "hel.coordinator")
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "W-RAND-1" in at.selectbox(key="randomise_who").options
    at.selectbox(key="randomise_who").set_value("W-RAND-1").run()
    at.button(key="randomise_start").click().run()
    # The confirmation step: nothing allocated yet; cancel goes back.
    assert translate("randomise.confirm_text", pseudonym="W-RAND-1") in [w.value for w in at.warning]
    assert _allocation(dashboard_db, "W-RAND-1") == []
    at.button(key="randomise_confirm_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = _allocation(dashboard_db, "W-RAND-1")
    assert len(stored) == 1 and stored[0].allocated_by == "hel.coordinator"
    assert at.success[0].value == translate("randomise.result", pseudonym="W-RAND-1", arm=stored[0].arm)
    with read_session(dashboard_db) as s:
        actors = set(
            s.scalars(
                select(AuditEvent.actor).where(
                    AuditEvent.table_name == "allocation", AuditEvent.actor == "hel.coordinator"
                )
            )
        )
    assert actors == {"hel.coordinator"}
    # Shown once: the next run no longer shows it, and the person left the pending list.
    at.run()
    assert not at.success
    assert (
        "W-RAND-1"
        not in pending_frame(dashboard_db, viewer_of(dashboard_db, "hel.coordinator"))["pseudonym"].tolist()
    )
    # A second randomisation of the same person (another tab, a resent request) is refused.
    with pytest.raises(BadInput, match="already randomised"):
        randomise_participant(dashboard_db, viewer_of(dashboard_db, "hel.coordinator"), "W-RAND-1")
    assert len(_allocation(dashboard_db, "W-RAND-1")) == 1


def test_cancel_writes_nothing_and_other_sites_are_refused(open_app, dashboard_db):
    _enrol_hel(dashboard_db, "W-RAND-2")
    at = open_app(dashboard_db, "hel.coordinator")
    at.switch_page(PAGE).run()
    at.selectbox(key="randomise_who").set_value("W-RAND-2").run()
    at.button(key="randomise_start").click().run()
    at.button(key="randomise_cancel").click().run()
    assert at.selectbox(key="randomise_who") and _allocation(dashboard_db, "W-RAND-2") == []
    cph = viewer_of(dashboard_db, "cph.coordinator")
    assert "W-RAND-2" not in pending_frame(dashboard_db, cph)["pseudonym"].tolist()
    with pytest.raises(NotAllowed):
        randomise_participant(dashboard_db, cph, "W-RAND-2")
    assert _allocation(dashboard_db, "W-RAND-2") == []


def test_a_refused_randomisation_leaves_no_confirm_button(open_app, dashboard_db):
    _enrol_hel(dashboard_db, "W-RAND-3")
    at = open_app(dashboard_db, "hel.coordinator")
    at.switch_page(PAGE).run()
    at.selectbox(key="randomise_who").set_value("W-RAND-3").run()
    at.button(key="randomise_start").click().run()
    # Meanwhile randomised in another tab: the confirmation is refused...
    randomise_participant(dashboard_db, viewer_of(dashboard_db, "hel.coordinator"), "W-RAND-3")
    at.button(key="randomise_confirm_button").click().run()
    assert not at.exception
    assert [e.value for e in at.error] and "already randomised" in at.error[0].value
    # ...and the confirmation step is gone with it: no confirm button, no confirm text.
    assert not [b for b in at.button if b.key in ("randomise_confirm_button", "randomise_cancel")]
    assert translate("randomise.confirm_text", pseudonym="W-RAND-3") not in [w.value for w in at.warning]
    assert len(_allocation(dashboard_db, "W-RAND-3")) == 1
    at.run()  # shown once
    assert not at.error


@pytest.mark.parametrize("login", ["researcher", "statistician", "admin"])
def test_other_roles_cannot_randomise(open_app, dashboard_db, login):
    at = open_app(dashboard_db, login, script=str(DASHBOARDS / "views" / "randomise.py"))
    assert not at.exception and at.warning[0].value == translate("common.coordinators_only")
    assert not at.button
    viewer = viewer_of(dashboard_db, login)
    with pytest.raises(NotAllowed):
        pending_frame(dashboard_db, viewer)
    with pytest.raises(NotAllowed):
        randomise_participant(dashboard_db, viewer, "P0001")


def test_randomise_page_speaks_danish(open_app, demo_engine):
    at = open_app(demo_engine, "cph.coordinator", lang="da")
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == translate("randomise.title", language="da")


def test_randomise_is_refused_outside_the_rct_phase(open_app, dashboard_db, monkeypatch):
    # The page states the phase rule; the data layer refuses anyway (require_phase in the
    # domain function), which test_randomisation* covers for the service itself.
    from dashboards.ui import data

    real = data.study_info
    monkeypatch.setattr(data, "study_info", lambda viewer: {**real(viewer), "phase": "analysis"})
    at = open_app(dashboard_db, "hel.coordinator", script=str(DASHBOARDS / "views" / "randomise.py"))
    assert not at.exception
    expected = translate(
        "randomise.wrong_phase",
        phase=translate("phase.name.analysis"),
        rule=translate("phase.rule.randomisation"),
    )
    assert expected in [w.value for w in at.warning] and not at.button

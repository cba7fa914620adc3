"""The fidelity observation form (coordinator work) through AppTest: saving once, the double
submit, a component left unrated, another site's group, other roles. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dashboards.actions import save_fidelity_observation
from dashboards.i18n import translate
from dashboards.queries.fidelity import observation_form
from study.db import read_session
from study.db.models import (
    AuditEvent,
    CourseGroup,
    FidelityObservation,
    GroupSession,
)
from study.errors import NotAllowed
from study.fidelity.observations import ObservationInput
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import DASHBOARDS, open_app  # noqa: F401  (fixture)

COORDINATOR = "hel.coordinator"
PAGE = "views/fidelity_observation.py"


def rct_group(engine, site: str = "HEL") -> str:
    """The first RCT group of ``site`` (the RCT runs the stored, locked manual)."""
    with read_session(engine) as s:
        return s.scalars(
            select(CourseGroup.code)
            .where(CourseGroup.phase == "rct", CourseGroup.code.like(f"{site}-%"))
            .order_by(CourseGroup.code)
        ).first()


def unobserved_session(engine, group: str, login: str = COORDINATOR, skip: int = 0) -> int:
    """A held week of ``group`` that ``login`` has not observed (the ``skip``-th such week)."""
    with read_session(engine) as s:
        weeks = s.scalars(
            select(GroupSession.week)
            .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
            .where(
                CourseGroup.code == group,
                GroupSession.cancelled.is_(False),
                GroupSession.held_on <= func.current_date(),
            )
            .where(
                ~select(FidelityObservation.id)
                .where(
                    FidelityObservation.session_id == GroupSession.id, FidelityObservation.observer == login
                )
                .exists()
            )
            .order_by(GroupSession.week.desc())
        ).all()
    return weeks[skip]


def observations_of(engine, group: str, week: int, login: str = COORDINATOR) -> list[dict]:
    with read_session(engine) as s:
        rows = s.scalars(
            select(FidelityObservation)
            .join(CourseGroup, CourseGroup.id == FidelityObservation.group_id)
            .where(
                CourseGroup.code == group,
                FidelityObservation.week == week,
                FidelityObservation.observer == login,
            )
        ).all()
        return [
            {
                "minutes": r.minutes,
                "present": r.participants_present,
                "notes": r.notes,
                "components": {c.component: c.score for c in r.components},
                "competence": {c.item: c.score for c in r.competences},
            }
            for r in rows
        ]


def _form_page(open_app, engine, group: str, week: int):
    at = open_app(engine, COORDINATOR)
    at.switch_page(PAGE).run()
    at.selectbox(key="fidelity_group").set_value(group).run()
    at.selectbox(key="fidelity_week").set_value(week).run()
    assert not at.exception
    return at


def _fill(at, group: str, week: int, spec, skip_first: bool = False):
    prefix = f"fidelity_{group}_{week}"
    scores = [2, 1, 0, "na"]
    for n, (cid, _d, _e) in enumerate(spec.components):
        if skip_first and n == 0:
            continue
        at.radio(key=f"{prefix}_c_{cid}").set_value(scores[n % 4])
    first_item = spec.competence[0][0]
    at.radio(key=f"{prefix}_k_{first_item}").set_value(4)
    at.number_input(key=f"{prefix}_minutes").set_value(115)
    at.number_input(key=f"{prefix}_present").set_value(6)
    at.text_area(key=f"{prefix}_notes").input("calm session")
    return at


def test_coordinator_saves_an_observation_once(open_app, dashboard_db):
    group = rct_group(dashboard_db)
    week = unobserved_session(dashboard_db, group)
    spec = observation_form(dashboard_db, viewer_of(dashboard_db, COORDINATOR), group, week)
    assert spec.components and not spec.already_observed
    at = _fill(_form_page(open_app, dashboard_db, group, week), group, week, spec)
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success[0].value == translate("fidelity_form.saved", group=group, week=week)
    saved = observations_of(dashboard_db, group, week)
    assert len(saved) == 1
    expected = {cid: [2, 1, 0, None][n % 4] for n, (cid, _d, _e) in enumerate(spec.components)}
    assert saved[0]["components"] == expected
    assert saved[0]["competence"] == {spec.competence[0][0]: 4}
    assert (saved[0]["minutes"], saved[0]["present"], saved[0]["notes"]) == (115, 6, "calm session")
    with read_session(dashboard_db) as s:
        actors = set(
            s.scalars(
                select(AuditEvent.actor).where(
                    AuditEvent.table_name == "fidelity_observation", AuditEvent.actor == COORDINATOR
                )
            )
        )
    assert actors == {COORDINATOR}
    # The same form again: said to be saved, nothing written twice.
    at.form_submit_button[0].click().run()
    assert [i.value for i in at.info][-1] == translate("common.already_saved")
    assert len(observations_of(dashboard_db, group, week)) == 1
    # A new session of the page (another tab) is stopped by the domain's one-observer rule.
    again = _fill(_form_page(open_app, dashboard_db, group, week), group, week, spec)
    assert translate("fidelity_form.already_observed", login=COORDINATOR) in [w.value for w in again.warning]
    again.form_submit_button[0].click().run()
    assert again.error and "already observed" in again.error[0].value
    assert len(observations_of(dashboard_db, group, week)) == 1


def test_unrated_component_and_out_of_range_values_write_nothing(open_app, dashboard_db):
    group = rct_group(dashboard_db)
    week = unobserved_session(dashboard_db, group, skip=1)
    spec = observation_form(dashboard_db, viewer_of(dashboard_db, COORDINATOR), group, week)
    at = _fill(_form_page(open_app, dashboard_db, group, week), group, week, spec, skip_first=True)
    at.form_submit_button[0].click().run()
    assert at.error and spec.components[0][1] in at.error[0].value
    # More participants present than a group may hold: the domain's check, shown as one message.
    at.radio(key=f"fidelity_{group}_{week}_c_{spec.components[0][0]}").set_value(2)
    at.number_input(key=f"fidelity_{group}_{week}_present").set_value(99)
    at.form_submit_button[0].click().run()
    assert at.error and "participants_present" in at.error[0].value
    assert observations_of(dashboard_db, group, week) == []


def test_coordinator_is_offered_and_allowed_only_own_site_groups(open_app, demo_engine, dashboard_db):
    at = open_app(demo_engine, "cph.coordinator")
    at.switch_page(PAGE).run()
    options = at.selectbox(key="fidelity_group").options
    assert options and all(code.startswith("CPH-") for code in options)
    group = rct_group(dashboard_db)
    viewer = viewer_of(dashboard_db, "cph.coordinator")
    with pytest.raises(NotAllowed):
        observation_form(dashboard_db, viewer, group, 1)
    week = unobserved_session(dashboard_db, group, login="cph.coordinator")
    spec = observation_form(dashboard_db, viewer_of(dashboard_db, COORDINATOR), group, week)
    obs = ObservationInput(
        group=group,
        week=week,
        observer="cph.coordinator",
        observed_on=spec.held_on,
        components={cid: 2 for cid, _d, _e in spec.components},
    )
    with pytest.raises(NotAllowed):
        save_fidelity_observation(dashboard_db, viewer, obs)
    assert observations_of(dashboard_db, group, week, login="cph.coordinator") == []


@pytest.mark.parametrize("login", ["researcher", "statistician", "admin"])
def test_other_roles_get_no_form(open_app, dashboard_db, login):
    at = open_app(dashboard_db, login, script=str(DASHBOARDS / "views" / "fidelity_observation.py"))
    assert not at.exception and at.warning[0].value == translate("common.coordinators_only")
    assert not at.form_submit_button
    viewer = viewer_of(dashboard_db, login)
    obs = ObservationInput(group="HEL-P1", week=1, observer=login, observed_on=None, components={})
    with pytest.raises(NotAllowed):
        save_fidelity_observation(dashboard_db, viewer, obs)


def test_form_speaks_danish(open_app, demo_engine):
    at = open_app(demo_engine, "cph.coordinator", lang="da")
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == translate("fidelity_form.title", language="da")
    assert at.radio and translate("fidelity_form.fully", language="da") in at.radio[0].options

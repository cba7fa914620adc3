"""The questionnaire entry page (coordinator work) through AppTest: the schedule, one instrument
saved once, out-of-range answers refused with nothing written, other sites and roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from dashboards.actions import save_questionnaire
from dashboards.i18n import translate
from dashboards.queries.questionnaires import instruments_of, participant_schedule
from study.db import read_session
from study.db.models import Person, QuestionnaireResponse
from study.errors import BadInput, NotAllowed
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import DASHBOARDS, open_app  # noqa: F401  (fixture)

COORDINATOR = "hel.coordinator"
PAGE = "views/questionnaire_entry.py"


def open_instrument(engine, skip: int = 0):
    """(pseudonym, timepoint, instrument) of a HEL participant's due or overdue instrument."""
    viewer = viewer_of(engine, COORDINATOR)
    with read_session(engine) as s:
        people = s.scalars(
            select(Person.pseudonym).where(Person.site_id == viewer.site_id, Person.role == "participant")
        ).all()
    found = []
    for p in sorted(people):
        sched = participant_schedule(engine, viewer, p)
        for _, row in sched[sched["status"].isin(["due", "overdue"])].iterrows():
            found.append((p, row["timepoint"], row["instrument"]))
    return found[skip]


def responses(engine, pseudonym, timepoint, instrument) -> int:
    with read_session(engine) as s:
        return s.scalar(
            select(func.count())
            .select_from(QuestionnaireResponse)
            .join(Person, Person.id == QuestionnaireResponse.person_id)
            .where(
                Person.pseudonym == pseudonym,
                QuestionnaireResponse.timepoint == timepoint,
                QuestionnaireResponse.instrument == instrument,
            )
        )


def _first_open(schedule) -> str:
    open_rows = schedule[schedule["status"].isin(["due", "overdue"])]
    return open_rows["timepoint"].iloc[0] if len(open_rows) else schedule["timepoint"].iloc[0]


def test_the_timepoint_follows_the_participant(open_app, dashboard_db):
    """Switching participant opens the new person's first due timepoint, not the previous choice."""
    viewer = viewer_of(dashboard_db, COORDINATOR)
    with read_session(dashboard_db) as s:
        people = sorted(
            s.scalars(
                select(Person.pseudonym).where(Person.site_id == viewer.site_id, Person.role == "participant")
            ).all()
        )
    schedules = {p: participant_schedule(dashboard_db, viewer, p) for p in people[:40]}
    pairs = [
        (a, b, tp)
        for a in schedules
        for b in schedules
        if a != b
        for tp in dict.fromkeys(schedules[a]["timepoint"])
        if tp in set(schedules[b]["timepoint"]) and tp != _first_open(schedules[b])
    ]
    assert pairs, "the demo has participants whose first due timepoints differ"
    first, second, chosen = pairs[0]
    at = open_app(dashboard_db, COORDINATOR)
    at.switch_page(PAGE).run()
    at.selectbox(key="questionnaire_who").set_value(first).run()
    at.selectbox(key=f"questionnaire_timepoint_{first}").set_value(chosen).run()
    at.selectbox(key="questionnaire_who").set_value(second).run()
    assert not at.exception
    assert at.selectbox(key=f"questionnaire_timepoint_{second}").value == _first_open(schedules[second])


def test_coordinator_enters_a_due_instrument_once(open_app, dashboard_db):
    who, tp, inst_id = open_instrument(dashboard_db)
    inst = instruments_of(dashboard_db, viewer_of(dashboard_db, COORDINATOR))[inst_id]
    at = open_app(dashboard_db, COORDINATOR)
    at.switch_page(PAGE).run()
    at.selectbox(key="questionnaire_who").set_value(who).run()
    at.selectbox(key=f"questionnaire_timepoint_{who}").set_value(tp).run()
    assert not at.exception
    prefix = f"q_{who}_{tp}_{inst_id}"
    for item in inst.items:
        scale = item.response_scale or inst.response_scale
        at.selectbox(key=f"{prefix}_{item.id}").set_value(scale.min)
    form_index = [b.label for b in at.button].index(translate("questionnaire.submit", name=inst.name))
    at.button[form_index].click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    tp_name = translate(f"code.timepoint.{tp}")
    assert translate("questionnaire.saved", name=inst.name, pseudonym=who, timepoint=tp_name) in [
        m.value for m in at.success
    ]
    assert responses(dashboard_db, who, tp, inst_id) == 1
    sched = participant_schedule(dashboard_db, viewer_of(dashboard_db, COORDINATOR), who)
    assert sched.set_index(["timepoint", "instrument"]).at[(tp, inst_id), "status"] == "complete"
    at.button[form_index].click().run()
    assert translate("common.already_saved") in [i.value for i in at.info]
    assert responses(dashboard_db, who, tp, inst_id) == 1


def test_out_of_range_answer_writes_nothing(dashboard_db):
    who, tp, inst_id = open_instrument(dashboard_db, skip=1)
    viewer = viewer_of(dashboard_db, COORDINATOR)
    inst = instruments_of(dashboard_db, viewer)[inst_id]
    values = {i.id: (i.response_scale or inst.response_scale).min for i in inst.items}
    values[inst.items[0].id] = 999
    with pytest.raises(BadInput, match=inst.column(inst.items[0].id)):
        save_questionnaire(dashboard_db, viewer, who, tp, inst_id, dt.date.today(), values)
    assert responses(dashboard_db, who, tp, inst_id) == 0


def test_other_site_and_roles_are_refused(open_app, dashboard_db):
    who, tp, inst_id = open_instrument(dashboard_db, skip=1)
    cph = viewer_of(dashboard_db, "cph.coordinator")
    with pytest.raises(NotAllowed):
        participant_schedule(dashboard_db, cph, who)
    with pytest.raises(NotAllowed):
        save_questionnaire(dashboard_db, cph, who, tp, inst_id, dt.date.today(), {})
    at = open_app(dashboard_db, "cph.coordinator")
    at.switch_page(PAGE).run()
    assert who not in at.selectbox(key="questionnaire_who").options
    for login in ("researcher", "statistician", "admin"):
        page = open_app(dashboard_db, login, script=str(DASHBOARDS / "views" / "questionnaire_entry.py"))
        assert not page.exception and page.warning[0].value == translate("common.coordinators_only")
        with pytest.raises(NotAllowed):
            save_questionnaire(
                dashboard_db, viewer_of(dashboard_db, login), who, tp, inst_id, dt.date.today(), {}
            )
    assert responses(dashboard_db, who, tp, inst_id) == 0

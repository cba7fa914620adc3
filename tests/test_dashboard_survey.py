"""The participant survey page (one-time link, no login) through AppTest: only the own due
questionnaire, every answer saved as it is given (a draft a resent link resumes), submitted
per instrument, the link used up when complete, bad answers and double submits refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from dashboards.actions import (
    create_survey_link,
    save_survey_answers,
    save_survey_item,
    survey_draft,
    survey_due,
)
from dashboards.i18n import translate
from study.db import read_session
from study.db.models import AuditEvent, Person, QuestionnaireResponse, SurveyDraft
from study.errors import BadInput, NotAllowed
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import DASHBOARDS, open_app, page_text  # noqa: F401  (fixture)
from tests.test_dashboard_questionnaire_entry import COORDINATOR, open_instrument, responses

SURVEY = str(DASHBOARDS / "views" / "survey.py")


def _survey(open_app, engine, token):
    at = open_app(engine, script=SURVEY, run=False)
    at.query_params["survey"] = token
    return at.run()


def test_participant_answers_due_instruments_and_the_link_is_used_up(open_app, dashboard_db):
    from dashboards.queries.questionnaires import instruments_of

    who, tp, _inst = open_instrument(dashboard_db, skip=2)
    token = create_survey_link(dashboard_db, viewer_of(dashboard_db, COORDINATOR), who, tp)
    due = survey_due(dashboard_db, token)
    assert set(due["timepoint"]) == {tp} and not due.empty
    instruments = instruments_of(dashboard_db, viewer_of(dashboard_db, COORDINATOR))
    at = _survey(open_app, dashboard_db, token)
    assert not at.exception and not at.error
    assert who not in page_text(at)  # not even the pseudonym is shown
    for n, inst_id in enumerate(due["instrument"]):
        inst = instruments[inst_id]
        assert at.subheader[0].value == inst.name
        for item in inst.items:
            at.radio(key=f"survey_{tp}_{inst_id}_{item.id}").set_value((item.response_scale or inst.response_scale).min)
        at.button(key=f"survey_{tp}_{inst_id}__submit").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert responses(dashboard_db, who, tp, inst_id) == 1
    assert at.success[0].value == translate("survey.complete")
    with read_session(dashboard_db) as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.table_name == "questionnaire_response",
                                                              AuditEvent.actor == "survey-link")))
    assert actors == {"survey-link"}
    # Used up: a new visit shows the neutral message and saves nothing.
    again = _survey(open_app, dashboard_db, token)
    assert again.error[0].value == translate("survey.invalid")
    with pytest.raises(NotAllowed):
        save_survey_answers(dashboard_db, token, tp, due.at[0, "instrument"], {})


def test_survey_refuses_other_instruments_and_out_of_range_answers(dashboard_db):
    from dashboards.queries.questionnaires import instruments_of

    who, tp, inst_id = open_instrument(dashboard_db, skip=3)
    token = create_survey_link(dashboard_db, viewer_of(dashboard_db, COORDINATOR), who, tp)
    inst = instruments_of(dashboard_db, viewer_of(dashboard_db, COORDINATOR))[inst_id]
    with pytest.raises(NotAllowed):
        save_survey_answers(dashboard_db, token, "no-such-timepoint", inst_id, {inst.items[0].id: 1})
    with pytest.raises(BadInput):
        save_survey_answers(dashboard_db, token, tp, inst_id, {inst.items[0].id: 999})
    assert responses(dashboard_db, who, tp, inst_id) == 0
    assert not survey_due(dashboard_db, token).empty  # the link still works


def _drafts(engine, pseudonym, timepoint, instrument) -> int:
    with read_session(engine) as s:
        return len(s.scalars(select(SurveyDraft).join(Person, Person.id == SurveyDraft.person_id).where(
            Person.pseudonym == pseudonym, SurveyDraft.timepoint == timepoint, SurveyDraft.instrument == instrument,
        )).all())


def test_answers_are_saved_as_they_are_given_and_a_resent_link_resumes_them(open_app, dashboard_db):
    from dashboards.queries.questionnaires import instruments_of

    who, tp, _inst = open_instrument(dashboard_db, skip=4)
    coordinator = viewer_of(dashboard_db, COORDINATOR)
    token = create_survey_link(dashboard_db, coordinator, who, tp)
    inst_id = survey_due(dashboard_db, token).at[0, "instrument"]
    inst = instruments_of(dashboard_db, coordinator)[inst_id]
    first, second = inst.items[0], inst.items[1]
    top = (second.response_scale or inst.response_scale).max

    with read_session(dashboard_db) as s:
        before = s.scalar(select(func.max(AuditEvent.seq)))
    at = _survey(open_app, dashboard_db, token)
    at.radio(key=f"survey_{tp}_{inst_id}_{first.id}").set_value((first.response_scale or inst.response_scale).min).run()
    at.radio(key=f"survey_{tp}_{inst_id}_{second.id}").set_value(top).run()
    assert not at.exception and not at.error
    low = (first.response_scale or inst.response_scale).min
    assert survey_draft(dashboard_db, token, tp, inst_id) == {first.id: low, second.id: top}
    assert responses(dashboard_db, who, tp, inst_id) == 0  # a draft, not a response
    assert _drafts(dashboard_db, who, tp, inst_id) == 1
    with read_session(dashboard_db) as s:
        draft_id = s.scalar(select(SurveyDraft.id).join(Person, Person.id == SurveyDraft.person_id).where(
            Person.pseudonym == who, SurveyDraft.timepoint == tp, SurveyDraft.instrument == inst_id))
        events = s.scalars(select(AuditEvent).where(AuditEvent.table_name == "survey_draft",
                                                    AuditEvent.row_id == str(draft_id), AuditEvent.seq > before)
                           .order_by(AuditEvent.seq)).all()
    # the first answer inserts the draft, the second changes it: both audited as the link
    # (the change of the draft's updated_at is an event of its own)
    assert [e.field for e in events if e.action == "update"] == ["item_values", "updated_at"]
    events = [e for e in events if e.field != "updated_at"]
    assert [e.action for e in events] == ["insert", "update"] and {e.actor for e in events} == {"survey-link"}
    assert json.loads(events[1].new_value) == {first.id: low, second.id: top}

    # The participant is interrupted; the coordinator resends the link (the old one stops).
    new_token = create_survey_link(dashboard_db, coordinator, who, tp)
    again = _survey(open_app, dashboard_db, new_token)
    assert again.radio(key=f"survey_{tp}_{inst_id}_{first.id}").value == low
    assert again.radio(key=f"survey_{tp}_{inst_id}_{second.id}").value == top
    assert translate("survey.saved_so_far", n=2, total=len(inst.items)) in page_text(again)
    for item in inst.items[2:]:
        again.radio(key=f"survey_{tp}_{inst_id}_{item.id}").set_value((item.response_scale or inst.response_scale).min)
    again.button(key=f"survey_{tp}_{inst_id}__submit").click().run()
    assert not again.exception and not again.error, [e.value for e in again.error]
    assert responses(dashboard_db, who, tp, inst_id) == 1
    with read_session(dashboard_db) as s:
        stored = s.scalar(select(QuestionnaireResponse.item_values)
                          .join(Person, Person.id == QuestionnaireResponse.person_id)
                          .where(Person.pseudonym == who, QuestionnaireResponse.timepoint == tp,
                                 QuestionnaireResponse.instrument == inst_id))
    assert json.loads(stored)[second.id] == top  # the answer saved before the interruption
    assert _drafts(dashboard_db, who, tp, inst_id) == 0  # the draft is gone once submitted


def test_a_bad_item_value_and_a_second_submit_are_refused_without_writing(dashboard_db):
    from dashboards.queries.questionnaires import instruments_of

    who, tp, _inst = open_instrument(dashboard_db, skip=5)
    coordinator = viewer_of(dashboard_db, COORDINATOR)
    token = create_survey_link(dashboard_db, coordinator, who, tp)
    inst_id = survey_due(dashboard_db, token).at[0, "instrument"]
    inst = instruments_of(dashboard_db, coordinator)[inst_id]
    with pytest.raises(BadInput, match=f"{inst_id} item {inst.items[0].id}"):
        save_survey_item(dashboard_db, token, tp, inst_id, inst.items[0].id, 999)
    with pytest.raises(BadInput, match="no item"):
        save_survey_item(dashboard_db, token, tp, inst_id, "no-such-item", 1)
    assert survey_draft(dashboard_db, token, tp, inst_id) == {}
    answers = {i.id: (i.response_scale or inst.response_scale).min for i in inst.items}
    save_survey_answers(dashboard_db, token, tp, inst_id, answers)
    with pytest.raises(NotAllowed):  # the same form submitted twice: refused, no duplicate
        save_survey_answers(dashboard_db, token, tp, inst_id, answers)
    assert responses(dashboard_db, who, tp, inst_id) == 1

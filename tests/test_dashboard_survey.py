"""The participant survey page (one-time link, no login) through AppTest: only the own due
questionnaire, saved per instrument, the link used up when complete, bad answers refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboards.actions import create_survey_link, save_survey_answers, survey_due
from dashboards.i18n import translate
from study.db import read_session
from study.db.models import AuditEvent
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
        at.form_submit_button[0].click().run()
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

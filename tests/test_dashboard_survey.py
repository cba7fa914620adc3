"""The participant survey page (one-time link, no login) through AppTest: only the own due
questionnaire, every answer saved as it is given (a draft a resent link resumes), submitted
per instrument, the link used up when complete, bad answers and double submits refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from dashboards.actions import (
    EnrolmentForm,
    create_survey_link,
    enrol_person,
    randomise_participant,
    save_survey_answers,
    save_survey_item,
    survey_draft,
    survey_due,
    survey_progress,
)
from dashboards.i18n import translate
from study.db import read_session
from study.db.models import AuditEvent, Person, QuestionnaireResponse, SurveyDraft
from study.errors import BadInput, NotAllowed
from study.people import Identity
from tests.catalogue_walk import english_shown, visible_texts
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
    first = survey_progress(dashboard_db, token)
    for n, inst_id in enumerate(due["instrument"]):
        inst = instruments[inst_id]
        assert at.subheader[0].value == inst.name
        # "Spørgeskema 2 af 4": the place of this instrument among the timepoint's
        assert translate(
            "survey.progress", "da", position=first.answered + n + 1, total=first.total
        ) in page_text(at)
        for item in inst.items:
            at.radio(key=f"survey_{tp}_{inst_id}_{item.id}").set_value(
                (item.response_scale or inst.response_scale).min
            )
        at.button(key=f"survey_{tp}_{inst_id}__submit").click().run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        assert responses(dashboard_db, who, tp, inst_id) == 1
    # The thank-you page, in Danish: the reference study addresses participants in Danish.
    assert at.title[0].value == translate("survey.thank_you_title", "da")
    assert at.success[0].value == translate("survey.complete", "da")
    with read_session(dashboard_db) as s:
        actors = set(
            s.scalars(
                select(AuditEvent.actor).where(
                    AuditEvent.table_name == "questionnaire_response", AuditEvent.actor == "survey-link"
                )
            )
        )
    assert actors == {"survey-link"}
    # Used up: a new visit shows the neutral message and saves nothing.
    # (in the default language: the study's language would tell that the token was once valid)
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
        return len(
            s.scalars(
                select(SurveyDraft)
                .join(Person, Person.id == SurveyDraft.person_id)
                .where(
                    Person.pseudonym == pseudonym,
                    SurveyDraft.timepoint == timepoint,
                    SurveyDraft.instrument == instrument,
                )
            ).all()
        )


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
    at.radio(key=f"survey_{tp}_{inst_id}_{first.id}").set_value(
        (first.response_scale or inst.response_scale).min
    ).run()
    at.radio(key=f"survey_{tp}_{inst_id}_{second.id}").set_value(top).run()
    assert not at.exception and not at.error
    low = (first.response_scale or inst.response_scale).min
    assert survey_draft(dashboard_db, token, tp, inst_id) == {first.id: low, second.id: top}
    assert responses(dashboard_db, who, tp, inst_id) == 0  # a draft, not a response
    assert _drafts(dashboard_db, who, tp, inst_id) == 1
    with read_session(dashboard_db) as s:
        draft_id = s.scalar(
            select(SurveyDraft.id)
            .join(Person, Person.id == SurveyDraft.person_id)
            .where(Person.pseudonym == who, SurveyDraft.timepoint == tp, SurveyDraft.instrument == inst_id)
        )
        events = s.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.table_name == "survey_draft",
                AuditEvent.row_id == str(draft_id),
                AuditEvent.seq > before,
            )
            .order_by(AuditEvent.seq)
        ).all()
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
    assert translate("survey.saved_so_far", "da", n=2, total=len(inst.items)) in page_text(again)
    for item in inst.items[2:]:
        again.radio(key=f"survey_{tp}_{inst_id}_{item.id}").set_value(
            (item.response_scale or inst.response_scale).min
        )
    again.button(key=f"survey_{tp}_{inst_id}__submit").click().run()
    assert not again.exception and not again.error, [e.value for e in again.error]
    assert responses(dashboard_db, who, tp, inst_id) == 1
    with read_session(dashboard_db) as s:
        stored = s.scalar(
            select(QuestionnaireResponse.item_values)
            .join(Person, Person.id == QuestionnaireResponse.person_id)
            .where(
                Person.pseudonym == who,
                QuestionnaireResponse.timepoint == tp,
                QuestionnaireResponse.instrument == inst_id,
            )
        )
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


def _enrol(engine, pseudonym: str) -> None:
    """A new HEL participant, consented today (baseline due, not randomised)."""
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
    assert enrol_person(engine, viewer_of(engine, COORDINATOR), form).eligible


def test_self_completion_shows_only_a_participants_answers_with_progress_in_danish(open_app, dashboard_db):
    from dashboards.queries.questionnaires import instruments_of

    who, tp = "SC0002", "baseline"
    coordinator = viewer_of(dashboard_db, COORDINATOR)
    _enrol(dashboard_db, who)
    token = create_survey_link(dashboard_db, coordinator, who, tp)
    offer = survey_progress(dashboard_db, token)
    assert offer.timepoint == tp and offer.position == 1
    inst_id = offer.open.at[0, "instrument"]
    inst = instruments_of(dashboard_db, coordinator)[inst_id]
    at = _survey(open_app, dashboard_db, token)
    assert not at.exception and not at.error
    assert at.session_state["lang"] == "da"  # a Danish study: the survey opens in Danish
    assert not english_shown(visible_texts(at))  # no English text of the catalogue
    text = page_text(at)
    assert translate("survey.progress", "da", position=offer.position, total=offer.total) in text
    assert offer.total == len(offer.open) + offer.answered and offer.position == offer.answered + 1
    for item in inst.items:
        radio = at.radio(key=f"survey_{tp}_{inst_id}_{item.id}")
        scale = inst.item_scale(item.id)
        assert list(radio.options) == [radio.format_func(v) for v in range(scale.min, scale.max + 1)]
    for label in inst.missing_codes.values():  # refused / don't know / not asked: interviewer codes
        assert label not in text
    assert translate("survey.prefer_not_to_answer", "da") not in text  # no shipped instrument allows it
    # Posted anyway (not through the page), an interviewer's code is refused and nothing is saved.
    with pytest.raises(BadInput, match=f"{inst_id} item {inst.items[0].id}"):
        save_survey_item(dashboard_db, token, tp, inst_id, inst.items[0].id, next(iter(inst.missing_codes)))
    with pytest.raises(BadInput):
        save_survey_answers(
            dashboard_db, token, tp, inst_id, {inst.items[0].id: next(iter(inst.missing_codes))}
        )
    assert survey_draft(dashboard_db, token, tp, inst_id) == {}
    assert responses(dashboard_db, who, tp, inst_id) == 0


def test_a_baseline_is_offered_before_randomisation_and_never_after(dashboard_db):
    pseudonym = "SC0001"
    coordinator = viewer_of(dashboard_db, COORDINATOR)
    _enrol(dashboard_db, pseudonym)
    current = create_survey_link(dashboard_db, coordinator, pseudonym)  # no timepoint: the current one
    baseline = create_survey_link(dashboard_db, coordinator, pseudonym, "baseline")
    before = survey_progress(dashboard_db, current)
    assert before.timepoint == "baseline" and not before.open.empty
    assert set(survey_due(dashboard_db, baseline)["timepoint"]) == {"baseline"}

    randomise_participant(dashboard_db, coordinator, pseudonym)  # baseline still unanswered
    assert survey_due(dashboard_db, current).empty
    assert survey_due(dashboard_db, baseline).empty
    instrument = before.open.at[0, "instrument"]
    with pytest.raises(NotAllowed):
        save_survey_answers(dashboard_db, baseline, "baseline", instrument, {"1": 1})
    assert responses(dashboard_db, pseudonym, "baseline", instrument) == 0

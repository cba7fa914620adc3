"""Writes from the dashboard: the same validated, audited domain functions as the CLI.

One module per capability, like :mod:`dashboards.queries`; every action checks the viewer's
rights first, then runs one unit of work with the viewer's login as the audit actor
(:mod:`dashboards.actions.unit`): any error rolls everything back, so a refused or failed form
writes nothing. Importable without Streamlit. The names are re-exported here, so that a page
imports its actions from ``dashboards.actions``.
"""

from dashboards.actions.enrolment import EARLIEST_BIRTH, EnrolmentForm, EnrolmentResult, enrol_person
from dashboards.actions.fidelity import save_fidelity_observation
from dashboards.actions.groups import log_feedback, save_attendance
from dashboards.actions.people import withdraw_participant
from dashboards.actions.quality import run_quality_checks
from dashboards.actions.questionnaires import save_questionnaire
from dashboards.actions.randomise import randomise_participant
from dashboards.actions.study_settings import amend_study_config, start_study_phase
from dashboards.actions.survey import (
    SURVEY_ACTOR,
    create_survey_link,
    open_survey,
    save_survey_answers,
    save_survey_item,
    survey_draft,
    survey_due,
    survey_language,
    survey_progress,
)
from dashboards.actions.users import create_user, set_user_active

__all__ = [
    "EARLIEST_BIRTH",
    "SURVEY_ACTOR",
    "EnrolmentForm",
    "EnrolmentResult",
    "amend_study_config",
    "create_survey_link",
    "create_user",
    "enrol_person",
    "log_feedback",
    "open_survey",
    "randomise_participant",
    "run_quality_checks",
    "save_attendance",
    "save_fidelity_observation",
    "save_questionnaire",
    "save_survey_answers",
    "save_survey_item",
    "set_user_active",
    "start_study_phase",
    "survey_draft",
    "survey_due",
    "survey_language",
    "survey_progress",
    "withdraw_participant",
]

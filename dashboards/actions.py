"""Writes from the dashboard: the same validated, audited domain functions as the CLI.

Each action checks the viewer's rights first, then runs one unit of work with the viewer's
login as the audit actor: any error rolls everything back, so a refused or failed form writes
nothing. Importable without Streamlit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer
from study.db import read_session, unit_of_work
from study.db.models import Attendance, GroupSession, Person, Site, Study, User
from study.errors import BadInput, NotAllowed, NotFound
from study.fidelity.observations import ObservationInput, record_observation
from study.groups import group_by_code, record_attendance
from study.manual_feedback import add_feedback
from study.people import person_by_pseudonym
from study.randomisation import AllocationResult, randomise
from study.survey_links import OpenedLink, create_link, open_link
from study.people import Identity, add_person, enrol
from study.phases import require_phase
from study.stratification import normalise_attributes
from study.studies import config_of
from study.users import add_user

__all__ = [
    "EnrolmentForm",
    "amend_study_config",
    "EnrolmentResult",
    "create_user",
    "enrol_person",
    "create_survey_link",
    "log_feedback",
    "open_survey",
    "randomise_participant",
    "run_quality_checks",
    "save_attendance",
    "save_fidelity_observation",
    "save_questionnaire",
    "save_survey_answers",
    "save_survey_item",
    "start_study_phase",
    "survey_draft",
    "survey_due",
    "survey_language",
    "survey_progress",
    "withdraw_participant",
    "set_user_active",
]

#: Oldest plausible birth date and youngest age a form accepts (a typo guard, not eligibility).
EARLIEST_BIRTH = dt.date(1900, 1, 1)


@dataclass(frozen=True)
class EnrolmentForm:
    """The screening form of a new person (one of the coordinator's own site).

    ``exclusions`` are flags such as ``violence_conviction``; ``attributes`` the stratification
    attributes (e.g. ``{"gender": "female"}``).
    """

    pseudonym: str
    role: str
    birth_date: dt.date
    municipality: str
    screened_on: dt.date
    consent_on: Optional[dt.date] = None
    attributes: dict[str, str] = field(default_factory=dict)
    exclusions: tuple[str, ...] = ()
    identity: Identity = field(default_factory=Identity)


@dataclass(frozen=True)
class EnrolmentResult:
    """What screening found: the pseudonym, eligibility and every reason for ineligibility."""

    pseudonym: str
    eligible: bool
    reasons: tuple[str, ...]


def _check_dates(form: EnrolmentForm, today: dt.date) -> None:
    problems = []
    if form.birth_date < EARLIEST_BIRTH or form.birth_date > today:
        problems.append(f"birth date {form.birth_date} must lie between {EARLIEST_BIRTH} and today")
    if form.screened_on > today:
        problems.append(f"screening date {form.screened_on} is in the future")
    if form.consent_on is not None and form.consent_on > today:
        problems.append(f"consent date {form.consent_on} is in the future")
    if problems:
        raise BadInput("; ".join(problems))


def enrol_person(
    engine: Engine, viewer: Viewer, form: EnrolmentForm, today: Optional[dt.date] = None
) -> EnrolmentResult:
    """Register and screen a person at the coordinator's own site (one audited transaction).

    Raises
    ------
    NotAllowed
        The viewer is not a coordinator, or the study is in no phase that enrols.
    BadInput
        A duplicate pseudonym (also a double submit of the same form), a date out of range,
        consent before screening, an unknown role, a participant without a stratification
        factor or with a level the study does not declare (:mod:`study.stratification`).
    """
    today = today or dt.date.today()
    _check_dates(form, today)
    with unit_of_work(engine, viewer.login, reason="dashboard: screen and enrol") as session:
        study = session.get(Study, viewer.study_id)
        site = session.scalar(select(Site).where(Site.id == viewer.site_id))
        viewer.require_edit(site.id if site else -1, "enrolment")
        require_phase(study, "pilot", "rct", action="enrolment")
        identity = Identity(**{**form.identity.__dict__, "birth_date": form.birth_date})
        attributes = normalise_attributes(form.attributes, form.role, config_of(study))
        person = add_person(
            session, study, form.pseudonym, form.role, site.code,
            identity=identity, attributes=attributes, today=today,
        )
        enrolment = enrol(
            session, study, person, form.screened_on, form.municipality,
            consent_on=form.consent_on, exclusions=form.exclusions,
        )
        reasons = tuple(json.loads(enrolment.ineligibility_reasons))
        return EnrolmentResult(person.pseudonym, enrolment.eligible, reasons)


def save_attendance(
    engine: Engine, viewer: Viewer, group_code: str, week: int, present: Mapping[str, bool]
) -> int:
    """Record the attendance grid of one session (present True/False per pseudonym).

    Saving the same grid twice changes nothing; a changed cell is an audited correction.
    Returns the number of attendance rows inserted or changed.

    Raises ``NotAllowed`` for a group of another site or a viewer who is not a coordinator,
    ``BadInput`` for a week without a session or a pseudonym not in the group.
    """
    statuses = {p: "present" if bool(v) else "absent" for p, v in present.items()}
    with unit_of_work(engine, viewer.login, reason=f"dashboard: attendance {group_code} week {week}") as session:
        study = session.get(Study, viewer.study_id)
        group = group_by_code(session, study, group_code)
        viewer.require_edit(group.site_id, f"group {group_code}")
        before = _recorded_statuses(session, group.id, int(week))
        record_attendance(session, study, group, int(week), statuses)
        return sum(1 for p, status in statuses.items() if before.get(p) != status)


def _recorded_statuses(session, group_id: int, week: int) -> dict[str, str]:
    """Attendance already recorded for the session: pseudonym → status."""
    return dict(
        session.execute(
            select(Person.pseudonym, Attendance.status)
            .join(Attendance, Attendance.person_id == Person.id)
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .where(GroupSession.group_id == group_id, GroupSession.week == week)
        ).all()
    )


def log_feedback(
    engine: Engine, viewer: Viewer, group_code: str, week: int, source: str, kind: str, note: str
) -> int:
    """Log a note on the manual from one session of a group of the coordinator's own site
    (:func:`study.manual_feedback.add_feedback`); returns the new note's id."""
    with unit_of_work(engine, viewer.login, reason=f"dashboard: manual feedback {group_code} week {week}") as session:
        study = session.get(Study, viewer.study_id)
        group = group_by_code(session, study, group_code)
        viewer.require_edit(group.site_id, f"group {group_code}")
        return add_feedback(session, study, group, int(week), source, kind, note, recorded_by=viewer.login).id


def run_quality_checks(engine: Engine, viewer: Viewer) -> int:
    """Run the data-quality checks now and keep the run (the path of ``peerstudy check``:
    :func:`pipelines.quality.study_checks.check_study`, audited as the viewer); researchers
    and statisticians only. Returns the number of failed checks of severity ``error``."""
    from pipelines.quality.study_checks import check_study

    viewer.require_role("researcher", "statistician", action="running the data-quality checks")
    with read_session(engine) as session:
        code = session.get(Study, viewer.study_id).code
    _, results = check_study(engine, code, viewer.login)
    return int((~results["success"].astype(bool) & (results["severity"] == "error")).sum())


def withdraw_participant(engine: Engine, viewer: Viewer, pseudonym: str, on: dt.date, reason: str) -> None:
    """Record that a participant of the coordinator's own site withdrew
    (:func:`study.withdrawal.withdraw`, as ``peerstudy withdraw``: a neutral reason, the
    allocation kept for the ITT analysis). ``NotAllowed`` for another site or role; a date in
    the future is refused (``BadInput``)."""
    from study.withdrawal import withdraw

    if on > dt.date.today():
        raise BadInput(f"the withdrawal date {on} is in the future")
    with unit_of_work(engine, viewer.login, reason=f"dashboard: withdrawal ({reason})") as session:
        study = session.get(Study, viewer.study_id)
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_edit(person.site_id, f"person {pseudonym}")
        withdraw(session, study, person, on, reason)


def start_study_phase(engine: Engine, viewer: Viewer, phase: str) -> None:
    """Start the next phase of the study (:func:`study.phases.start_phase`, forward only;
    starting the RCT locks the manual), as ``peerstudy phase start``; admins only."""
    from study.phases import start_phase

    viewer.require_role("admin", action="starting a study phase")
    with unit_of_work(engine, viewer.login, reason=f"dashboard: phase start {phase}") as session:
        start_phase(session, session.get(Study, viewer.study_id), phase, viewer.login)


def amend_study_config(engine: Engine, viewer: Viewer, config_yaml: str, reason: str):
    """Amend the study's configuration (:func:`study.amendments.amend_config`, as
    ``peerstudy config amend``; audited with the reason); admins only. Returns the
    :class:`~study.amendments.Amendment`."""
    from study.amendments import amend_config

    viewer.require_role("admin", action="amending the study configuration")
    with unit_of_work(engine, viewer.login, reason=f"config amendment: {reason}") as session:
        return amend_config(session, session.get(Study, viewer.study_id), config_yaml, reason)


#: Audit actor of a participant opening their own survey link (no login).
SURVEY_ACTOR = "survey-link"


def create_survey_link(engine: Engine, viewer: Viewer, pseudonym: str, timepoint: Optional[str] = None) -> str:
    """Create (or resend: the old link stops working) a participant's one-time survey link;
    returns the token, to be shown once. Only the coordinator of the participant's site."""
    with unit_of_work(engine, viewer.login, reason=f"dashboard: survey link for {pseudonym}") as session:
        study = session.get(Study, viewer.study_id)
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_edit(person.site_id, f"person {pseudonym}")
        return create_link(session, study, person, viewer.login, timepoint)


def open_survey(engine: Engine, token: str) -> OpenedLink:
    """Open a participant's survey link (no login; the opening is audited). ``NotAllowed``
    when the link is unknown, expired, used up, replaced or its participant left the study;
    an invalid link is refused from a read, without waiting for the write lock."""
    from study.survey_links import check_link

    with read_session(engine) as session:
        check_link(session, token)
    with unit_of_work(engine, SURVEY_ACTOR, reason="participant opened their survey link") as session:
        return open_link(session, token)


def create_user(
    engine: Engine, viewer: Viewer, login: str, role: str, password: str, site_code: Optional[str]
) -> str:
    """Add a dashboard user (admin only), exactly as ``peerstudy users add``."""
    viewer.require_role("admin", action="adding users")
    with unit_of_work(engine, viewer.login, reason=f"dashboard: users add {login}") as session:
        study = session.get(Study, viewer.study_id)
        user = add_user(session, login, role, password, study=study, site=site_code or None)
        return user.login


def set_user_active(engine: Engine, viewer: Viewer, login: str, active: bool) -> bool:
    """Deactivate (or reactivate) a login of the study (admin only; audited).

    A deactivated user cannot log in, and their open sessions end within a minute (see
    :func:`dashboards.access.still_valid`). Admins cannot deactivate themselves. Returns
    whether anything changed.
    """
    viewer.require_role("admin", action="deactivating users")
    if login == viewer.login and not active:
        raise NotAllowed("you cannot deactivate your own login")
    verb = "reactivate" if active else "deactivate"
    with unit_of_work(engine, viewer.login, reason=f"dashboard: {verb} user {login}") as session:
        user = session.scalar(
            select(User).where(
                User.login == login, (User.study_id == viewer.study_id) | User.study_id.is_(None)
            )
        )
        if user is None:
            raise NotFound(f"unknown login {login!r}")
        if user.active == active:
            return False
        user.active = active
        return True


def save_fidelity_observation(
    engine: Engine, viewer: Viewer, obs: ObservationInput, today: Optional[dt.date] = None
) -> int:
    """Store a coordinator's observation of a session of their own site's group
    (:func:`study.fidelity.observations.record_observation`, restricted to the viewer's site,
    observer = the viewer's login); returns the new observation's id.

    Raises ``NotAllowed`` for a viewer who is not a coordinator or a group of another site,
    ``BadInput`` listing every problem of the form (a component not rated, a value out of range,
    the same observer twice); nothing is written then.
    """
    viewer.require_role("coordinator", action="logging fidelity observations")
    if obs.observer != viewer.login:
        raise NotAllowed(f"observations are logged under your own login ({viewer.login})")
    reason = f"dashboard: fidelity observation {obs.group} week {obs.week}"
    with unit_of_work(engine, viewer.login, reason=reason) as session:
        study = session.get(Study, viewer.study_id)
        row = record_observation(session, study, obs, viewer.login, restrict_to_site=viewer.site_code, today=today)
        return row.id


def randomise_participant(engine: Engine, viewer: Viewer, pseudonym: str) -> AllocationResult:
    """Randomise one participant of the coordinator's own site today, exactly as
    ``peerstudy randomise PSEUDONYM`` (:func:`study.randomisation.randomise`, intervention
    participants placed in the next group with room); the login is ``allocated_by`` and the
    audit actor.

    Raises ``NotAllowed`` outside the RCT phase, for a viewer who is not a coordinator or a
    participant of another site; ``BadInput`` when the participant may not be randomised
    (already allocated — also a double submit —, not consented, withdrawn, ...).
    """
    viewer.require_role("coordinator", action="randomisation")
    with unit_of_work(engine, viewer.login, reason=f"dashboard: randomise {pseudonym}") as session:
        study = session.get(Study, viewer.study_id)
        require_phase(study, "rct", action="randomisation")
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_edit(person.site_id, f"person {pseudonym}")
        return randomise(session, study, pseudonym, actor=viewer.login)


def save_questionnaire(
    engine: Engine,
    viewer: Viewer,
    pseudonym: str,
    timepoint: str,
    instrument: str,
    completed_on: dt.date,
    values: Mapping[str, Optional[int]],
) -> int:
    """Enter one participant's answers to one instrument at one timepoint
    (:func:`questionnaires.capture.record_response`: every item checked against its range and
    the declared missing codes; a changed answer is an audited correction); returns the
    response id. Only the coordinator of the participant's site.

    Raises ``NotAllowed`` (other role, other site), ``BadInput``/``RowErrors`` naming every
    bad item; nothing is written then.
    """
    from questionnaires.capture import record_response

    viewer.require_role("coordinator", action="questionnaire entry")
    reason = f"dashboard: questionnaire {instrument} {timepoint} for {pseudonym}"
    with unit_of_work(engine, viewer.login, reason=reason) as session:
        study = session.get(Study, viewer.study_id)
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_edit(person.site_id, f"person {pseudonym}")
        return record_response(session, study, pseudonym, timepoint, instrument, completed_on, values).id


def _survey_offer(session, study: Study, link: OpenedLink, today: dt.date):
    """What the link offers now (:func:`questionnaires.self_completion.survey_offer`): the
    link's timepoint or the participant's current one, never a pre-randomisation assessment
    of a randomised participant."""
    from questionnaires.schedule import compute_schedule, participant_anchors, received_responses
    from questionnaires.self_completion import survey_offer

    # only the link's participant is read: every saved answer checks the link again, so this
    # must not cost a schedule of the whole study
    anchors = participant_anchors(session, study, person_id=link.person_id)
    anchors = anchors[anchors["pseudonym"] == link.pseudonym]
    schedule = compute_schedule(
        anchors, config_of(study).timepoints,
        received_responses(session, study, person_id=link.person_id), today,
    )
    randomised = anchors["randomisation"].dropna()
    randomised_on = pd.Timestamp(randomised.iloc[0]).date() if not randomised.empty else None
    return survey_offer(schedule[schedule["pseudonym"] == link.pseudonym], randomised_on, link.timepoint)


def _survey_open(session, study: Study, link: OpenedLink, today: dt.date):
    """The instruments the link offers now: DataFrame ``timepoint, instrument, status``."""
    return _survey_offer(session, study, link, today).open


def survey_due(engine: Engine, token: str, today: Optional[dt.date] = None):
    """What a participant's valid link offers: the unanswered instruments (``timepoint,
    instrument, status``) of one timepoint (:func:`survey_progress`). ``NotAllowed`` for an
    invalid link. Nothing else of the study."""
    return survey_progress(engine, token, today).open


def survey_progress(engine: Engine, token: str, today: Optional[dt.date] = None):
    """What a participant's valid link offers and how far they have come
    (:class:`questionnaires.self_completion.SurveyOffer`: timepoint, open instruments,
    ``position`` of ``total``). ``NotAllowed`` for an invalid link."""
    from study.survey_links import check_link

    with read_session(engine) as session:
        link = check_link(session, token)
        study = session.get(Study, link.study_id)
        return _survey_offer(session, study, link, today or dt.date.today())


def survey_language(engine: Engine, token: str) -> Optional[str]:
    """The participant-facing language of the study a link belongs to (``study.language`` of
    its configuration), ``None`` for an invalid link. Opens nothing (not audited)."""
    from study.survey_links import check_link

    with read_session(engine) as session:
        try:
            link = check_link(session, token)
        except NotAllowed:
            return None
        return config_of(session.get(Study, link.study_id)).study.language


def _open_instrument(session, token: str, timepoint: str, instrument: str, today: dt.date):
    """The link, its study, participant and the instrument's definition, if the link offers
    that instrument now (``NotAllowed`` otherwise)."""
    from questionnaires.capture import study_instruments
    from study.studies import config_of
    from study.survey_links import check_link

    link = check_link(session, token)
    study = session.get(Study, link.study_id)
    offered = _survey_open(session, study, link, today)
    if not ((offered["timepoint"] == timepoint) & (offered["instrument"] == instrument)).any():
        raise NotAllowed(f"{instrument} at {timepoint} is not open on this link")
    return link, study, session.get(Person, link.person_id), study_instruments(config_of(study))[instrument]


def _check_link_read_only(engine: Engine, token: str) -> None:
    """``NotAllowed`` for an invalid link, decided from a read: a stranger's guesses never
    wait for (or hold up) the write lock."""
    from study.survey_links import check_link

    with read_session(engine) as session:
        check_link(session, token)


def survey_draft(engine: Engine, token: str, timepoint: str, instrument: str,
                 today: Optional[dt.date] = None) -> dict[str, int]:
    """The answers a participant saved so far to one of their open instruments (item id →
    value), so the page shows them again after a reload or a resent link."""
    from questionnaires.drafts import draft_values

    with read_session(engine) as session:
        _, _, person, _ = _open_instrument(session, token, timepoint, instrument, today or dt.date.today())
        return draft_values(session, person, timepoint, instrument)


def save_survey_item(
    engine: Engine, token: str, timepoint: str, instrument: str, item: str, value: Optional[int],
    today: Optional[dt.date] = None,
) -> dict[str, int]:
    """Save one answer as the participant gives it (:func:`questionnaires.drafts.save_draft_item`,
    audited as ``survey-link``); returns the draft's answers. ``NotAllowed`` for an invalid link
    or an instrument it does not offer, ``BadInput`` for a value off the item's scale."""
    from questionnaires.drafts import save_draft_item
    from questionnaires.self_completion import check_self_reported

    _check_link_read_only(engine, token)
    with unit_of_work(engine, SURVEY_ACTOR, reason="participant answered an item through their survey link") as session:
        _, study, person, inst = _open_instrument(session, token, timepoint, instrument, today or dt.date.today())
        check_self_reported(inst, item, value)
        return save_draft_item(session, study, person, timepoint, inst, item, value)


def save_survey_answers(
    engine: Engine, token: str, timepoint: str, instrument: str,
    values: Mapping[str, Optional[int]], today: Optional[dt.date] = None,
) -> bool:
    """Submit a participant's answers to one of their due instruments through their link
    (``questionnaires.capture.record_response``, completed today, audited with actor
    ``survey-link``): the answers saved so far (:func:`save_survey_item`) completed by
    ``values``; the draft is then discarded. When nothing is left due, the link is used up (it
    no longer opens). Returns whether the survey is complete.

    Raises ``NotAllowed`` for an invalid link or an instrument the link does not offer (e.g.
    a second submit of the same instrument), ``BadInput``/``RowErrors`` naming the bad items;
    nothing is written then.
    """
    from questionnaires.capture import record_response
    from questionnaires.drafts import discard_draft, draft_values
    from questionnaires.self_completion import check_self_reported
    from study.survey_links import use_link

    today = today or dt.date.today()
    _check_link_read_only(engine, token)
    with unit_of_work(engine, SURVEY_ACTOR, reason="participant answered through their survey link") as session:
        link, study, person, inst = _open_instrument(session, token, timepoint, instrument, today)
        answers = {**draft_values(session, person, timepoint, instrument),
                   **{k: v for k, v in values.items() if v is not None}}
        for item_id, value in answers.items():
            check_self_reported(inst, item_id, value)
        record_response(session, study, link.pseudonym, timepoint, instrument, today, answers, today=today)
        discard_draft(session, person, timepoint, instrument)
        session.flush()
        complete = _survey_open(session, study, link, today).empty
        if complete:
            use_link(session, token)
        return complete

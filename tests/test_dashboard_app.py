"""The Streamlit app through ``streamlit.testing.v1.AppTest``: every page for every role, and
the negative cases (other site, identity, blinding, wrong password, throttling, out-of-range
values, double submit, expired session). Runs on SQLite and PostgreSQL (the fixtures'
backends); writes go to ``dashboard_db`` with pseudonyms, groups and weeks of their own.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboards.i18n import translate
from dashboards.page_registry import PAGES, pages_for
from study.db import read_session, unit_of_work
from study.db.models import (
    Allocation,
    Attendance,
    GroupSession,
    LoginThrottle,
    Person,
    PersonIdentity,
    Site,
    User,
)
from study.db.types import utcnow
from study.demo.users import DEMO_PASSWORD
from study.studies import get_study
from study.users import add_user
from tests.test_dashboard_access import person_at, viewer_of

DASHBOARDS = Path(__file__).resolve().parent.parent / "dashboards"
APP = str(DASHBOARDS / "app.py")
ROLE_LOGINS = {
    "coordinator": "cph.coordinator",
    "researcher": "researcher",
    "statistician": "statistician",
    "admin": "admin",
}


@pytest.fixture
def open_app(monkeypatch):
    """Open the app on an engine's database, logged in as ``login`` (or not at all)."""

    def _open(engine, login=None, *, lang=None, script=APP, run=True):
        monkeypatch.setenv("PEERSTUDY_DB", engine.url.render_as_string(hide_password=False))
        st.cache_data.clear()  # data written by earlier tests must show
        at = AppTest.from_file(script, default_timeout=60)
        if login:
            at.session_state["viewer"] = viewer_of(engine, login)
            at.session_state["last_seen"] = utcnow()
        if lang:
            at.session_state["lang"] = lang
        return at.run() if run else at

    return _open


def _walk(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from _walk(child)


def page_text(at: AppTest) -> str:
    """Everything the page shows as text: messages, labels, metrics and table cells."""
    parts = []
    for element in list(_walk(at.main)) + list(_walk(at.sidebar)):
        for attr in ("value", "label", "body"):
            try:
                value = getattr(element, attr, None)
            except Exception:  # widgets without a value in this run
                continue
            if hasattr(value, "to_csv"):
                parts.append(value.to_csv())
            elif isinstance(value, (str, int, float)):
                parts.append(str(value))
    return "\n".join(parts)


def label(column: str) -> str:
    """The English header of a query's ``column`` on the page (tables are shown for people)."""
    return translate(f"column.{column}", "en")


def _frame_with(at: AppTest, column: str):
    """The first table on the page that has ``column`` (a query's column name)."""
    return next(f.value for f in at.dataframe if label(column) in f.value.columns)


def banner(at: AppTest) -> str:
    return at.info[0].value


# --- every page, every role ----------------------------------------------------------------
@pytest.mark.parametrize("role", list(ROLE_LOGINS))
def test_every_page_of_every_role_renders_with_the_phase_banner(open_app, demo_engine, role):
    at = open_app(demo_engine, ROLE_LOGINS[role])
    assert not at.exception
    for spec in pages_for(role):
        at.switch_page(spec.path).run()
        assert not at.exception, (spec.path, at.exception)
        assert banner(at).startswith("**HOPE** is in the **RCT phase**"), spec.path
        assert at.title, spec.path
        assert "⟦" not in page_text(at), f"missing message key on {spec.path}"
    for spec in PAGES:
        if role not in spec.roles:  # not even reachable by URL
            with pytest.raises(ValueError):
                at.switch_page(spec.path)


def test_pages_speak_danish(open_app, demo_engine):
    at = open_app(demo_engine, "researcher", lang="da")
    assert at.title[0].value == translate("rct.title", "da") == "RCT-overblik"
    assert "er i **RCT-fasen**" in banner(at)
    at.selectbox(key="lang").set_value("en").run()
    assert at.title[0].value == "RCT overview"


def test_rct_page_shows_recruitment_against_targets(open_app, demo_engine):
    at = open_app(demo_engine, "researcher")
    assert [m.label for m in at.metric] == ["Screened", "Recruited", "Randomised", "Target"]
    assert at.metric[1].value == "60" and at.metric[3].value == str(120 + 80 + 96)
    assert any(e.type == "vega_lite_chart" for e in _walk(at.main))
    assert at.get("download_button")  # tables are downloadable
    coordinator = open_app(demo_engine, "hel.coordinator")
    table = coordinator.dataframe[0].value
    assert list(table[label("site")]) == ["HEL"]


def test_participant_survey_link_needs_no_login_and_shows_only_the_survey(open_app, dashboard_db):
    # The coordinator creates the link on the person page; it is shown once.
    pseudonym = person_at(dashboard_db, "HEL")
    at = _open_person(open_app(dashboard_db, "hel.coordinator"), pseudonym)
    at.button(key="survey_link_create").click().run()
    assert not at.exception and at.success
    token = at.code[0].value.split("?survey=")[1]
    # The participant opens it without logging in and sees only the survey page.
    participant = open_app(dashboard_db, run=False)
    participant.query_params["survey"] = token
    participant.run()
    assert not participant.exception and not participant.error
    assert participant.title[0].value == translate("nav.survey", "da")  # the study's language
    assert not participant.text_input  # no login form
    assert pseudonym not in page_text(participant) and "HEL" not in page_text(participant)
    # A wrong token shows one neutral message.
    stranger = open_app(dashboard_db, run=False)
    stranger.query_params["survey"] = "guessed"
    stranger.run()
    assert stranger.error[0].value == translate("survey.invalid")
    # Researchers cannot create links: no button.
    researcher = _open_person(open_app(dashboard_db, "researcher"), pseudonym)
    assert not [b for b in researcher.button if b.key == "survey_link_create"]


# --- login ---------------------------------------------------------------------------------
def _submit_login(at: AppTest, login: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(login)
    at.text_input(key="login_password").input(password)
    at.form_submit_button[0].click().run()
    return at


def test_login_with_wrong_then_right_password(open_app, dashboard_db):
    at = open_app(dashboard_db)
    assert at.title[0].value == "Log in to peerstudy" and "viewer" not in at.session_state
    _submit_login(at, "statistician", "wrong-password")
    assert at.error[0].value == translate("auth.failed") and "viewer" not in at.session_state
    _submit_login(at, "statistician", DEMO_PASSWORD)
    assert at.session_state["viewer"].role == "statistician"
    at.run()
    assert at.title[0].value == "RCT overview"


def test_a_throttled_login_gets_the_same_answer_as_a_wrong_password(open_app, dashboard_db):
    with unit_of_work(dashboard_db, "test") as s:
        if s.scalar(select(User.id).where(User.login == "ui.throttled")) is None:
            add_user(s, "ui.throttled", "researcher", "right-password", study=get_study(s))
        # Someone has just failed many times at this login: it is at its (capped) delay.
        s.add(LoginThrottle(kind="login", key="ui.throttled", failures=50, last_failure_at=utcnow()))
    at = open_app(dashboard_db)
    _submit_login(at, "ui.throttled", "right-password")
    assert at.error[0].value == translate("auth.failed")
    assert "viewer" not in at.session_state


# --- people: other sites, identity ----------------------------------------------------------
def _open_person(at: AppTest, pseudonym: str) -> AppTest:
    at.switch_page("views/people.py").run()
    at.text_input(key="person_pseudonym").input(pseudonym).run()
    return at


def _full_name(engine, pseudonym: str) -> str:
    with read_session(engine) as s:
        return s.scalar(
            select(PersonIdentity.full_name)
            .join(Person, Person.id == PersonIdentity.person_id)
            .where(Person.pseudonym == pseudonym)
        )


def test_coordinator_cannot_open_a_person_of_another_site(open_app, demo_engine):
    hel_person = person_at(demo_engine, "HEL")
    at = _open_person(open_app(demo_engine, "cph.coordinator"), hel_person)
    assert not at.exception
    assert at.error and at.error[0].value.startswith("Refused") and "another site" in at.error[0].value
    assert _full_name(demo_engine, hel_person) not in page_text(at)
    assert not at.expander
    # The list only has the own site's people.
    assert set(at.dataframe[0].value[label("site")]) == {"CPH"}


def test_coordinator_sees_identity_of_own_site_only(open_app, demo_engine):
    cph_person = person_at(demo_engine, "CPH")
    at = _open_person(open_app(demo_engine, "cph.coordinator"), cph_person)
    labels = [e.label for e in at.expander]  # identity, then (if still enrolled) the withdrawal form
    assert labels[0] == translate("people.identity") and set(labels) <= {
        labels[0],
        translate("people.withdraw"),
    }
    assert _full_name(demo_engine, cph_person) in page_text(at)


@pytest.mark.parametrize("login", ["researcher", "statistician", "admin"])
def test_researchers_never_see_identity_fields(open_app, demo_engine, login):
    pseudonym = person_at(demo_engine, "CPH")
    at = _open_person(open_app(demo_engine, login), pseudonym)
    assert not at.exception and not at.error
    text = page_text(at)
    assert pseudonym in text
    assert not at.expander
    with read_session(demo_engine) as s:
        names = s.scalars(select(PersonIdentity.full_name).where(PersonIdentity.full_name.is_not(None))).all()
        emails = s.scalars(select(PersonIdentity.email).where(PersonIdentity.email.is_not(None))).all()
    assert names and not any(n in text for n in names)
    assert not any(e in text for e in emails)
    for frame in at.dataframe:
        assert not {"full_name", "birth_date", "phone", "email", "address"} & set(frame.value.columns)


# --- blinding on the RCT page ---------------------------------------------------------------
def _allocated_at(engine, site: str) -> int:
    """How many participants of ``site`` the demo's randomisation allocated."""
    with read_session(engine) as s:
        return s.scalar(
            select(func.count())
            .select_from(Allocation)
            .join(Person, Person.id == Allocation.person_id)
            .join(Site, Site.id == Person.site_id)
            .where(Site.code == site)
        )


def test_statistician_sees_codes_not_labels_before_unblinding(open_app, dashboard_db):
    assert _allocated_at(dashboard_db, "CPH") > 0  # the demo randomised its RCT cohort
    at = open_app(dashboard_db, "statistician")
    assert not at.exception
    balance = _frame_with(at, "imbalance")
    assert {"A", "B"} <= set(balance.columns)
    assert not {"INT", "CTL"} & set(balance.columns)
    assert "INT" not in page_text(at) and "Peer group course" not in page_text(at)
    # The coordinator, who randomises, sees the real arms of their own site.
    coordinator = open_app(dashboard_db, "cph.coordinator")
    balance = _frame_with(coordinator, "imbalance")
    assert {"INT", "CTL"} <= set(balance.columns)
    assert balance[label("total")].astype(int).sum() == _allocated_at(dashboard_db, "CPH")


# --- screen and enrol -----------------------------------------------------------------------
def _fill_enrol(at: AppTest, pseudonym: str, **dates) -> AppTest:
    at.switch_page("views/enrol.py").run()
    at.text_input(key="enrol_pseudonym").input(pseudonym)
    at.date_input(key="enrol_birth_date").set_value(dates.get("birth_date", dt.date(1991, 3, 4)))
    at.date_input(key="enrol_screened_on").set_value(dates.get("screened_on", dt.date(2025, 10, 1)))
    at.date_input(key="enrol_consent_on").set_value(dates.get("consent_on", dt.date(2025, 10, 2)))
    at.selectbox(key="enrol_attr_gender").set_value("female")
    at.text_input(key="enrol_full_name").input("Demo Formperson")
    return at


def _people_named(engine, pseudonym: str) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(Person).where(Person.pseudonym == pseudonym))


def test_enrol_form_saves_once_and_refuses_a_double_submit(open_app, dashboard_db):
    at = _fill_enrol(open_app(dashboard_db, "cph.coordinator"), "W-UI-1")
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == translate("enrol.saved_eligible", pseudonym="W-UI-1")
    # The same form submitted again (double click, resend): nothing new, a clear message.
    at.form_submit_button[0].click().run()
    assert [i.value for i in at.info][-1] == translate("common.already_saved")
    assert _people_named(dashboard_db, "W-UI-1") == 1
    # Another browser session with the same pseudonym: the domain refuses the duplicate.
    other = _fill_enrol(open_app(dashboard_db, "cph.coordinator"), "W-UI-1")
    other.form_submit_button[0].click().run()
    assert other.error and "already used" in other.error[0].value
    assert _people_named(dashboard_db, "W-UI-1") == 1
    with read_session(dashboard_db) as s:
        site = s.scalar(
            select(Site.code).join(Person, Person.site_id == Site.id).where(Person.pseudonym == "W-UI-1")
        )
    assert site == "CPH"


def test_enrol_form_with_out_of_range_values_writes_nothing(open_app, dashboard_db):
    future = dt.date.today() + dt.timedelta(days=5)
    at = _fill_enrol(
        open_app(dashboard_db, "cph.coordinator"), "W-UI-2", screened_on=future, consent_on=future
    )
    at.form_submit_button[0].click().run()
    assert at.error and at.error[0].value.startswith("Not saved") and "future" in at.error[0].value
    at = _fill_enrol(open_app(dashboard_db, "cph.coordinator"), "W-UI-2", consent_on=dt.date(2025, 9, 1))
    at.form_submit_button[0].click().run()
    assert at.error and "consent" in at.error[0].value
    at = _fill_enrol(open_app(dashboard_db, "cph.coordinator"), "")
    at.form_submit_button[0].click().run()
    assert at.error and at.error[0].value.startswith(translate("common.required", fields="")[:10])
    assert _people_named(dashboard_db, "W-UI-2") == 0


def test_session_expired_mid_entry_writes_nothing(open_app, dashboard_db):
    at = _fill_enrol(open_app(dashboard_db, "cph.coordinator"), "W-UI-3")
    at.session_state["last_seen"] = utcnow() - dt.timedelta(minutes=31)
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert translate("auth.expired") in [w.value for w in at.warning]
    assert "viewer" not in at.session_state
    assert _people_named(dashboard_db, "W-UI-3") == 0


def test_enrol_page_is_for_coordinators_only(open_app, dashboard_db):
    # Even when a researcher reaches the page file directly, no form is offered ...
    at = open_app(dashboard_db, "researcher", script=str(DASHBOARDS / "views" / "enrol.py"))
    assert not at.exception and at.warning[0].value == translate("common.coordinators_only")
    assert not at.form_submit_button


# --- attendance grid ------------------------------------------------------------------------
def _statuses(engine, group: str, week: int) -> dict[str, str]:
    from study.db.models import CourseGroup

    with read_session(engine) as s:
        return dict(
            s.execute(
                select(Person.pseudonym, Attendance.status)
                .join(Attendance, Attendance.person_id == Person.id)
                .join(GroupSession, GroupSession.id == Attendance.session_id)
                .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
                .where(CourseGroup.code == group, GroupSession.week == week)
            ).all()
        )


def _attendance_page(open_app, engine, week: int) -> AppTest:
    at = open_app(engine, "hel.coordinator")
    at.switch_page("views/attendance.py").run()
    at.selectbox(key="attendance_group").set_value("HEL-P1").run()
    at.selectbox(key="attendance_week").set_value(week).run()
    assert not at.exception
    return at


def test_attendance_grid_saves_an_edited_cell_once(open_app, dashboard_db):
    before = _statuses(dashboard_db, "HEL-P1", 9)
    at = _attendance_page(open_app, dashboard_db, 9)
    grid = at.data_editor[0].value
    assert dict(zip(grid["pseudonym"], grid["present"])) == {p: s == "present" for p, s in before.items()}
    first = grid["pseudonym"].iloc[0]
    at.session_state["attendance_grid_HEL-P1_9"] = {
        "edited_rows": {0: {"present": not bool(grid["present"].iloc[0])}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="attendance_save").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value == translate("attendance.saved", n=1, group="HEL-P1", week=9)
    after = _statuses(dashboard_db, "HEL-P1", 9)
    assert after[first] != before[first]
    assert {p: s for p, s in after.items() if p != first} == {p: s for p, s in before.items() if p != first}
    at.button(key="attendance_save").click().run()
    assert [i.value for i in at.info][-1] == translate("common.already_saved")


def test_attendance_all_present_fills_the_grid(open_app, dashboard_db):
    at = _attendance_page(open_app, dashboard_db, 8)
    at.button(key="attendance_all_present").click().run()
    assert at.data_editor[0].value["present"].all()
    at.button(key="attendance_save").click().run()
    assert set(_statuses(dashboard_db, "HEL-P1", 8).values()) == {"present"}


def test_coordinator_is_offered_only_own_site_groups(open_app, demo_engine):
    at = open_app(demo_engine, "cph.coordinator")
    at.switch_page("views/attendance.py").run()
    options = at.selectbox(key="attendance_group").options
    assert options and all(code.startswith("CPH-") for code in options)
    assert "CPH-P1" in options


# --- admin ----------------------------------------------------------------------------------
def test_admin_adds_a_user_and_others_cannot(open_app, dashboard_db):
    at = open_app(dashboard_db, "admin")
    at.switch_page("views/users.py").run()
    assert "cph.coordinator" in set(at.dataframe[0].value[label("login")])
    at.text_input(key="user_login").input("ui.new.researcher")
    at.selectbox(key="user_role").set_value("researcher")
    at.text_input(key="user_password").input("a-long-password")
    at.form_submit_button[0].click().run()
    assert not at.error and at.success[0].value == translate("users.saved", login="ui.new.researcher")
    with read_session(dashboard_db) as s:
        assert s.scalar(select(User.role).where(User.login == "ui.new.researcher")) == "researcher"
    # A coordinator reaching the page file directly is refused by the data layer.
    direct = open_app(dashboard_db, "cph.coordinator", script=str(DASHBOARDS / "views" / "users.py"))
    assert direct.error and direct.error[0].value.startswith("Refused")
    assert not direct.dataframe


# --- pilot: feedback log on the manual ------------------------------------------------------
def test_coordinator_logs_feedback_on_the_manual(open_app, dashboard_db):
    from study.db.models import ManualFeedback

    def notes(text):
        with read_session(dashboard_db) as s:
            return s.scalar(
                select(func.count()).select_from(ManualFeedback).where(ManualFeedback.note == text)
            )

    at = open_app(dashboard_db, "fre.coordinator")
    at.switch_page("views/pilot.py").run()
    assert not at.exception
    assert set(_frame_with(at, "note")[label("site")]) == {"FRE"}
    at.number_input(key="feedback_week").set_value(4)
    at.selectbox(key="feedback_kind").set_value("does_not_work")
    at.text_area(key="feedback_note").input("The handout on boundaries is too long.")
    at.form_submit_button[0].click().run()
    assert not at.exception and at.success[0].value == translate("feedback.saved")
    assert notes("The handout on boundaries is too long.") == 1
    assert "The handout on boundaries is too long." in set(_frame_with(at, "note")[label("note")])
    # Researchers read the log of every site but get no form.
    researcher = open_app(dashboard_db, "researcher")
    researcher.switch_page("views/pilot.py").run()
    assert not researcher.text_area
    assert {"CPH", "HEL", "FRE"} <= set(_frame_with(researcher, "note")[label("site")])


def test_admin_deactivates_a_login_and_its_session_ends(open_app, dashboard_db):
    with unit_of_work(dashboard_db, "test") as s:
        if s.scalar(select(User.id).where(User.login == "ui.deactivated")) is None:
            add_user(s, "ui.deactivated", "researcher", "password-123", study=get_study(s))
    session = open_app(dashboard_db, "ui.deactivated")
    assert session.title[0].value == "RCT overview"
    admin = open_app(dashboard_db, "admin")
    admin.switch_page("views/users.py").run()
    admin.selectbox(key="user_activation_login").set_value("ui.deactivated")
    admin.button(key="user_deactivate").click().run()
    assert admin.success[0].value == translate("users.deactivated", login="ui.deactivated")
    with read_session(dashboard_db) as s:
        assert s.scalar(select(User.active).where(User.login == "ui.deactivated")) is False
    # The open session ends at its next interaction (the check is cached for a minute).
    st.cache_data.clear()
    session.run()
    assert "viewer" not in session.session_state and session.title[0].value == "Log in to peerstudy"
    # Admins cannot lock themselves out.
    admin.selectbox(key="user_activation_login").set_value("admin")
    admin.button(key="user_deactivate").click().run()
    assert admin.error and "your own login" in admin.error[0].value

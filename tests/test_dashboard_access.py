"""The dashboard's data-access layer: logins, roles, site scoping, identity and blinding.

These run below Streamlit on SQLite and PostgreSQL: what a query refuses cannot be shown by any
page, however its widgets are set.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from rct_fixtures import lock_current_sap
from sqlalchemy import func, select

from dashboards.access import IDLE_TIMEOUT, LoginFailed, Viewer, is_expired, log_in
from dashboards.actions import EnrolmentForm, enrol_person, save_attendance
from dashboards.queries.allocation import allocation_balance_for, allocation_frame
from dashboards.queries.groups import attendance_frame, groups_frame, session_grid
from dashboards.queries.people import IDENTITY_FIELDS, people_frame, person_view
from dashboards.queries.recruitment import (
    recruitment_over_time,
    recruitment_summary,
    screening_frame,
    site_targets,
)
from dashboards.queries.users import users_frame
from study.blinding import unblind
from study.db import read_session, unit_of_work
from study.db.models import (
    Allocation,
    AuditEvent,
    Enrolment,
    LoginThrottle,
    Person,
    PersonIdentity,
    Site,
    User,
)
from study.db.types import utcnow
from study.demo.users import DEMO_PASSWORD
from study.errors import BadInput, NotAllowed, NotFound
from study.login_throttle import LOGIN_DELAY_CAP
from study.people import Identity
from study.phases import start_phase
from study.studies import get_study
from study.users import add_user


def viewer_of(engine, login: str) -> Viewer:
    """The viewer of a demo login, without the cost of a password check."""
    with read_session(engine) as s:
        user = s.scalar(select(User).where(User.login == login))
        code = s.scalar(select(Site.code).where(Site.id == user.site_id)) if user.site_id else None
        return Viewer(user.login, user.role, user.site_id, user.study_id, code)


def person_at(engine, site: str, role: str = "participant") -> str:
    with read_session(engine) as s:
        return s.scalar(
            select(Person.pseudonym)
            .join(Site, Site.id == Person.site_id)
            .where(Site.code == site, Person.role == role)
            .order_by(Person.pseudonym)
            .limit(1)
        )


# --- login ---------------------------------------------------------------------------------
def test_log_in_gives_the_viewer_of_the_user(demo_engine):
    viewer = log_in(demo_engine, "cph.coordinator", DEMO_PASSWORD)
    assert (viewer.login, viewer.role, viewer.site_code) == ("cph.coordinator", "coordinator", "CPH")
    researcher = log_in(demo_engine, "Researcher ", DEMO_PASSWORD)  # login is case-insensitive
    assert researcher.role == "researcher" and researcher.site_id is None and researcher.all_sites


def test_wrong_password_and_unknown_login_fail_alike(demo_engine):
    with pytest.raises(LoginFailed, match="wrong login or password") as wrong:
        log_in(demo_engine, "researcher", "not-the-password")
    with pytest.raises(LoginFailed, match="wrong login or password") as unknown:
        log_in(demo_engine, "nobody", "not-the-password")
    assert type(wrong.value) is type(unknown.value) is LoginFailed
    with pytest.raises(LoginFailed):
        log_in(demo_engine, "researcher", "")


def test_repeated_failures_slow_down_but_never_lock_the_login(study_db):
    with unit_of_work(study_db, "test") as s:
        add_user(s, "guesser.target", "researcher", "right-password", study=get_study(s))
    # A stranger has failed many times at this login just now: the login is at its capped delay.
    with unit_of_work(study_db, "test") as s:
        s.add(LoginThrottle(kind="login", key="guesser.target", failures=50, last_failure_at=utcnow()))
    # Throttled: the same answer as a wrong password, even for the right one ...
    with pytest.raises(LoginFailed, match="wrong login or password"):
        log_in(study_db, "guesser.target", "right-password", client="owner")
    # ... but only for LOGIN_DELAY_CAP: no lock, nothing on the user changed.
    with unit_of_work(study_db, "test") as s:
        row = s.scalar(select(LoginThrottle).where(LoginThrottle.key == "guesser.target"))
        row.last_failure_at = utcnow() - LOGIN_DELAY_CAP - dt.timedelta(seconds=1)
    assert log_in(study_db, "guesser.target", "right-password", client="owner").login == "guesser.target"
    with read_session(study_db) as s:
        assert s.scalar(select(User.locked_until).where(User.login == "guesser.target")) is None
        assert s.scalar(select(LoginThrottle.id)) is None  # a successful login clears the counters


def test_idle_sessions_expire():
    now = utcnow()
    assert not is_expired(now - IDLE_TIMEOUT + dt.timedelta(seconds=5), now)
    assert is_expired(now - IDLE_TIMEOUT - dt.timedelta(seconds=1), now)
    assert is_expired(None, now)


def test_viewer_rejects_a_coordinator_without_site():
    with pytest.raises(ValueError):
        Viewer("x", "coordinator", None, 1)
    with pytest.raises(ValueError):
        Viewer("x", "superuser", None, 1)


# --- site scoping and identity -------------------------------------------------------------
def test_coordinator_sees_only_own_site(demo_engine):
    cph = viewer_of(demo_engine, "cph.coordinator")
    people = people_frame(demo_engine, cph)
    assert not people.empty and set(people["site"]) == {"CPH"}
    assert set(screening_frame(demo_engine, cph)["site"]) == {"CPH"}
    assert set(groups_frame(demo_engine, cph)["site"]) == {"CPH"}
    assert set(attendance_frame(demo_engine, cph)["site"]) == {"CPH"}
    assert list(site_targets(demo_engine, cph)["site"]) == ["CPH"]
    researcher = viewer_of(demo_engine, "researcher")
    assert set(people_frame(demo_engine, researcher)["site"]) == {"CPH", "HEL", "FRE"}


def test_coordinator_of_cph_cannot_open_a_person_of_hel(demo_engine):
    cph = viewer_of(demo_engine, "cph.coordinator")
    hel_person = person_at(demo_engine, "HEL")
    with pytest.raises(NotAllowed, match="another site"):
        person_view(demo_engine, cph, hel_person)
    with pytest.raises(NotAllowed):
        session_grid(demo_engine, cph, "HEL-P1", 1)
    with pytest.raises(NotFound):
        person_view(demo_engine, cph, "NO-SUCH")


def test_identity_only_for_the_coordinator_of_the_persons_site(demo_engine):
    pseudonym = person_at(demo_engine, "CPH")
    with read_session(demo_engine) as s:
        stored = s.scalar(
            select(PersonIdentity.full_name)
            .join(Person, Person.id == PersonIdentity.person_id)
            .where(Person.pseudonym == pseudonym)
        )
    assert stored
    own = person_view(demo_engine, viewer_of(demo_engine, "cph.coordinator"), pseudonym)
    assert own.identity["full_name"] == stored
    for login in ("researcher", "statistician", "admin"):
        view = person_view(demo_engine, viewer_of(demo_engine, login), pseudonym)
        assert view.identity is None
        # Nowhere else either: not in the history, not in the people list.
        assert stored not in view.history.to_csv()
        people = people_frame(demo_engine, viewer_of(demo_engine, login))
        assert not set(people.columns) & set(IDENTITY_FIELDS)
        assert stored not in people.to_csv()


# --- blinding -------------------------------------------------------------------------------
@pytest.fixture
def allocated(study_db):
    """The reference study in the RCT phase with four allocated participants (2 CPH, 2 HEL)
    and users of every role."""
    from study.people import add_person, enrol

    with unit_of_work(study_db, "test") as s:
        study = get_study(s)
        start_phase(s, study, "pilot", "test")
        start_phase(s, study, "rct", "test")
        for i, (site, arm) in enumerate([("CPH", "INT"), ("CPH", "CTL"), ("HEL", "INT"), ("HEL", "CTL")]):
            person = add_person(
                s, study, f"P9{i:03d}", "participant", site, identity=Identity(birth_date=dt.date(1990, 1, 1))
            )
            enrol(
                s,
                study,
                person,
                dt.date(2025, 9, 1),
                "København" if site == "CPH" else "Helsingør",
                consent_on=dt.date(2025, 9, 2),
            )
            s.add(
                Allocation(
                    study_id=study.id,
                    person_id=person.id,
                    arm=arm,
                    stratum=f"{site}|female",
                    method="blocks",
                    sequence_position=i + 1,
                    allocated_on=dt.date(2025, 9, 3),
                    allocated_by="test",
                )
            )
        for login, role, site in [
            ("c.cph", "coordinator", "CPH"),
            ("stat", "statistician", None),
            ("res", "researcher", None),
        ]:
            add_user(s, login, role, "password-123", study=study, site=site)
    return study_db


def test_statistician_sees_codes_not_labels_until_unblinding(allocated):
    for login in ("stat", "res"):
        # No participant's arm next to their pseudonym, not even as a blinded code
        frame = allocation_frame(allocated, viewer_of(allocated, login))
        assert (frame["arm"] == "<blinded>").all() and len(frame) == 4
        view = person_view(allocated, viewer_of(allocated, login), "P9000")
        assert view.arm == "<blinded>"
        # The audit history carries the arm in the allocation's insert event: blinded too.
        assert "INT" not in view.history.to_csv() and "<blinded>" in view.history.to_csv()
    # Blinded codes only in counts
    balance = allocation_balance_for(allocated, viewer_of(allocated, "stat"))
    assert list(balance.columns) == ["stratum", "A", "B", "total", "imbalance"]
    assert balance["imbalance"].tolist() == [0, 0]
    # The coordinator randomises and places people in groups: real codes, own site only.
    coordinator = allocation_frame(allocated, viewer_of(allocated, "c.cph"))
    assert sorted(coordinator["arm"]) == ["CTL", "INT"] and set(coordinator["site"]) == {"CPH"}

    with unit_of_work(allocated, "test") as s:
        study = get_study(s)
        start_phase(s, study, "analysis", "test")
        lock_current_sap(s, study)
        unblind(s, study, "stat")
    frame = allocation_frame(allocated, viewer_of(allocated, "stat"))
    assert sorted(frame["arm"]) == ["CTL", "CTL", "INT", "INT"]


# --- recruitment (pandas) -------------------------------------------------------------------
def test_recruitment_summary_matches_sql_counts(demo_engine):
    researcher = viewer_of(demo_engine, "researcher")
    summary = recruitment_summary(
        screening_frame(demo_engine, researcher), site_targets(demo_engine, researcher)
    )
    with read_session(demo_engine) as s:
        # Independent count straight from SQL: eligible, consented RCT participants per site.
        expected = dict(
            s.execute(
                select(Site.code, func.count())
                .join(Person, Person.site_id == Site.id)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .where(
                    Enrolment.phase == "rct",
                    Enrolment.eligible.is_(True),
                    Enrolment.consent_on.is_not(None),
                    Person.role == "participant",
                )
                .group_by(Site.code)
            ).all()
        )
    assert dict(zip(summary["site"], summary["consented"])) == expected
    assert summary["consented"].sum() == 60  # the demo's eligible, consented participants
    row = summary.iloc[0]
    assert row["percent_of_target"] == round(100 * row["consented"] / row["target"], 1)


def test_recruitment_over_time_is_cumulative_per_site():
    screening = pd.DataFrame(
        {
            "site": ["CPH", "CPH", "HEL", "CPH"],
            "eligible": [True, True, True, False],
            "consent_on": pd.to_datetime(["2025-09-01", "2025-09-10", "2025-09-10", "2025-09-02"]),
        }
    )
    targets = pd.DataFrame({"site": ["CPH", "HEL"], "name": ["K", "H"], "target": [10, 5]})
    out = recruitment_over_time(screening, targets)
    cph = out[out["site"] == "CPH"]["recruited"].tolist()
    hel = out[out["site"] == "HEL"]["recruited"].tolist()
    # ISO week ending Sunday 2025-09-07: one CPH (the ineligible one does not count); next week one more
    # at each site.
    assert cph == [1, 2] and hel == [0, 1]
    assert set(out["target"]) == {10, 5}


# --- writes ---------------------------------------------------------------------------------
def _form(pseudonym: str, **changes) -> EnrolmentForm:
    values = dict(
        pseudonym=pseudonym,
        role="participant",
        birth_date=dt.date(1990, 5, 1),
        municipality="København",
        screened_on=dt.date(2025, 9, 1),
        consent_on=dt.date(2025, 9, 2),
        attributes={"gender": "female"},
        identity=Identity(full_name="Demo Testperson"),
    )
    values.update(changes)
    return EnrolmentForm(**values)


def test_enrol_person_is_audited_with_the_login(dashboard_db):
    cph = viewer_of(dashboard_db, "cph.coordinator")
    result = enrol_person(dashboard_db, cph, _form("W-ENROL-1"))
    assert result.eligible and result.reasons == ()
    outside = enrol_person(dashboard_db, cph, _form("W-ENROL-2", municipality="Vejle"))
    assert not outside.eligible and outside.reasons
    with read_session(dashboard_db) as s:
        actors = set(
            s.scalars(
                select(AuditEvent.actor)
                .join(Person, Person.id == AuditEvent.person_id)
                .where(Person.pseudonym == "W-ENROL-1")
            )
        )
        site = s.scalar(
            select(Site.code).join(Person, Person.site_id == Site.id).where(Person.pseudonym == "W-ENROL-1")
        )
    assert actors == {"cph.coordinator"} and site == "CPH"


def test_double_enrolment_and_bad_values_write_nothing(dashboard_db):
    cph = viewer_of(dashboard_db, "cph.coordinator")
    enrol_person(dashboard_db, cph, _form("W-DOUBLE"))

    def count():
        with read_session(dashboard_db) as s:
            return s.scalar(select(func.count()).select_from(Person))

    before = count()
    with pytest.raises(BadInput, match="already used"):
        enrol_person(dashboard_db, cph, _form("W-DOUBLE"))
    with pytest.raises(BadInput, match="birth date"):
        enrol_person(dashboard_db, cph, _form("W-BAD-1", birth_date=dt.date(1850, 1, 1)))
    with pytest.raises(BadInput, match="future"):
        enrol_person(dashboard_db, cph, _form("W-BAD-2", screened_on=dt.date.today() + dt.timedelta(days=3)))
    with pytest.raises(BadInput, match="consent"):
        enrol_person(dashboard_db, cph, _form("W-BAD-3", consent_on=dt.date(2025, 8, 1)))
    with pytest.raises(NotAllowed):
        enrol_person(dashboard_db, viewer_of(dashboard_db, "researcher"), _form("W-BAD-4"))
    assert count() == before


def test_save_attendance_is_idempotent_and_site_bound(dashboard_db):
    fre = viewer_of(dashboard_db, "fre.coordinator")
    grid = session_grid(dashboard_db, fre, "FRE-P1", 10)
    flipped = {p: not bool(v) for p, v in zip(grid["pseudonym"], grid["present"])}
    assert save_attendance(dashboard_db, fre, "FRE-P1", 10, flipped) == len(flipped)
    assert save_attendance(dashboard_db, fre, "FRE-P1", 10, flipped) == 0  # same grid again
    after = session_grid(dashboard_db, fre, "FRE-P1", 10)
    assert dict(zip(after["pseudonym"], after["present"])) == flipped
    with pytest.raises(NotAllowed, match="another site"):
        save_attendance(dashboard_db, viewer_of(dashboard_db, "cph.coordinator"), "FRE-P1", 10, flipped)
    with pytest.raises(NotAllowed):
        save_attendance(dashboard_db, viewer_of(dashboard_db, "researcher"), "FRE-P1", 10, flipped)
    with pytest.raises(BadInput, match="no session"):
        save_attendance(dashboard_db, fre, "FRE-P1", 11, flipped)


def test_users_are_for_admins_only(demo_engine):
    users = users_frame(demo_engine, viewer_of(demo_engine, "admin"))
    assert {"cph.coordinator", "admin"} <= set(users["login"])
    assert "password_hash" not in users.columns
    with pytest.raises(NotAllowed):
        users_frame(demo_engine, viewer_of(demo_engine, "researcher"))


# --- feedback log on the manual -------------------------------------------------------------
def test_feedback_log_is_site_bound_and_validated(dashboard_db):
    from dashboards.actions import log_feedback
    from dashboards.queries.feedback import feedback_frame
    from study.db.models import ManualFeedback

    cph = viewer_of(dashboard_db, "cph.coordinator")
    note_id = log_feedback(dashboard_db, cph, "CPH-P1", 3, "participant", "idea", "  More walks outside.  ")
    with read_session(dashboard_db) as s:
        row = s.get(ManualFeedback, note_id)
        assert (row.note, row.manual_version, row.recorded_by) == (
            "More walks outside.",
            "0.1",
            "cph.coordinator",
        )
        count = s.scalar(select(func.count()).select_from(ManualFeedback))
    with pytest.raises(NotAllowed, match="another site"):
        log_feedback(dashboard_db, cph, "HEL-P1", 3, "leader", "works", "x")
    with pytest.raises(BadInput, match="no session in week 11"):
        log_feedback(dashboard_db, cph, "CPH-P1", 11, "leader", "works", "x")
    with pytest.raises(BadInput, match="empty"):
        log_feedback(dashboard_db, cph, "CPH-P1", 2, "leader", "works", "   ")
    with pytest.raises(BadInput, match="kind 'great'"):
        log_feedback(dashboard_db, cph, "CPH-P1", 2, "leader", "great", "x")
    with pytest.raises(BadInput, match="at most"):
        log_feedback(dashboard_db, cph, "CPH-P1", 2, "leader", "works", "x" * 2001)
    with read_session(dashboard_db) as s:
        assert s.scalar(select(func.count()).select_from(ManualFeedback)) == count
    # The demo logged notes for every pilot group; a coordinator sees only their site's.
    assert set(feedback_frame(dashboard_db, cph, "pilot")["site"]) == {"CPH"}
    everyone = feedback_frame(dashboard_db, viewer_of(dashboard_db, "researcher"), "pilot")
    assert set(everyone["site"]) == {"CPH", "HEL", "FRE"}
    assert "More walks outside." in set(everyone["note"])


# --- participant survey links ---------------------------------------------------------------
def test_survey_links_are_one_time_audited_and_site_bound(dashboard_db):
    from dashboards.actions import SURVEY_ACTOR, create_survey_link, open_survey
    from study.db.models import SurveyLink
    from study.survey_links import token_hash, use_link

    cph = viewer_of(dashboard_db, "cph.coordinator")
    pseudonym = person_at(dashboard_db, "CPH")
    token = create_survey_link(dashboard_db, cph, pseudonym)
    opened = open_survey(dashboard_db, token)
    assert opened.pseudonym == pseudonym
    open_survey(dashboard_db, token)
    with read_session(dashboard_db) as s:
        link = s.scalar(select(SurveyLink).where(SurveyLink.token_hash == token_hash(token)))
        assert link.opened_count == 2
        # Only the hash is stored; the audit trail redacts even that, and records every opening.
        assert not s.scalar(
            select(func.count()).select_from(SurveyLink).where(SurveyLink.token_hash == token)
        )
        # This link's events only: other tests open links on the same database.
        events = s.execute(
            select(AuditEvent.actor, AuditEvent.field, AuditEvent.new_value).where(
                AuditEvent.table_name == "survey_link", AuditEvent.row_id == str(link.id)
            )
        ).all()
    assert all(token not in (e.new_value or "") for e in events)
    assert [e.field for e in events if e.actor == SURVEY_ACTOR].count("opened_count") == 2

    # A resend replaces the link: the old one stops working.
    new_token = create_survey_link(dashboard_db, cph, pseudonym)
    with pytest.raises(NotAllowed, match="not valid"):
        open_survey(dashboard_db, token)
    # Used up once the questionnaire is complete.
    with unit_of_work(dashboard_db, "test") as s:
        use_link(s, new_token)
    with pytest.raises(NotAllowed):
        open_survey(dashboard_db, new_token)
    with pytest.raises(NotAllowed):
        open_survey(dashboard_db, "guessed-token")
    # Only the coordinator of the participant's site creates links.
    with pytest.raises(NotAllowed):
        create_survey_link(dashboard_db, viewer_of(dashboard_db, "hel.coordinator"), pseudonym)
    with pytest.raises(NotAllowed):
        create_survey_link(dashboard_db, viewer_of(dashboard_db, "researcher"), pseudonym)
    with pytest.raises(BadInput, match="participants"):
        create_survey_link(dashboard_db, cph, person_at(dashboard_db, "CPH", role="group_leader"))


def test_expired_survey_link_is_refused(dashboard_db):
    from study.db.models import SurveyLink
    from study.survey_links import create_link, open_link, token_hash

    with unit_of_work(dashboard_db, "test") as s:
        study = get_study(s)
        person = s.scalar(select(Person).where(Person.pseudonym == person_at(dashboard_db, "FRE")))
        token = create_link(s, study, person, "test", timepoint="post", valid_for=dt.timedelta(hours=1))
        link = s.scalar(select(SurveyLink).where(SurveyLink.token_hash == token_hash(token)))
        link.expires_at = utcnow() - dt.timedelta(seconds=1)
    with unit_of_work(dashboard_db, "test") as s, pytest.raises(NotAllowed):
        open_link(s, token)
    with unit_of_work(dashboard_db, "test") as s, pytest.raises(BadInput, match="between 1 hour"):
        create_link(
            s,
            get_study(s),
            s.scalar(select(Person).where(Person.pseudonym == person_at(dashboard_db, "FRE"))),
            "test",
            valid_for=dt.timedelta(days=365),
        )


def test_a_deactivated_or_changed_user_loses_the_session(dashboard_db):
    from dashboards.access import still_valid

    with unit_of_work(dashboard_db, "test") as s:
        add_user(s, "ui.leaving", "coordinator", "password-123", study=get_study(s), site="FRE")
    viewer = viewer_of(dashboard_db, "ui.leaving")
    assert still_valid(dashboard_db, viewer)
    assert not still_valid(
        dashboard_db, Viewer("ui.leaving", "coordinator", viewer.site_id + 1, viewer.study_id)
    )
    with unit_of_work(dashboard_db, "test") as s:
        s.scalar(select(User).where(User.login == "ui.leaving")).active = False
    assert not still_valid(dashboard_db, viewer)

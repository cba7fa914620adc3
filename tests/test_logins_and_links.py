"""Logins and survey links against strangers (issue 15, cases 10–12), SQLite and PostgreSQL:
no login a stranger can lock, one answer and one argon2 check for every failure, no write lock
for a check, survey links dead after withdrawal, the demo only in demo databases."""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from study import users
from study.cli import app
from study.db import read_session, unit_of_work
from study.db.engine import WRITE_LOCK_KEY
from study.db.models import LoginThrottle, Person, SurveyLink, User
from study.db.types import utcnow
from study.demo import build_demo
from study.errors import BadInput, NotAllowed
from study.login_throttle import CLIENT_DELAY_CAP, FREE_FAILURES, LOGIN_DELAY_CAP, delay_after, throttle_state
from study.people import Identity, add_person, enrol
from study.studies import get_study
from study.survey_links import create_link, open_link
from study.users import DEMO_PASSWORD, add_user, authenticate
from study.withdrawal import withdraw

PASSWORD = "correct horse"


@pytest.fixture
def admin_db(study_db):
    with unit_of_work(study_db, "test") as s:
        add_user(s, "admin", "admin", PASSWORD, study=get_study(s))
    return study_db


@contextmanager
def write_lock_held(engine):
    """Another writer holds the global write lock (e.g. a long import)."""
    with unit_of_work(engine, "import") as session:
        if engine.dialect.name == "sqlite":
            session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE has taken the lock
        else:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
        yield


def _finishes_within(seconds: float, call) -> object:
    """Run ``call`` in a thread; fail when it has not finished within ``seconds``."""
    result: dict = {}

    def run():
        try:
            result["value"] = call()
        except Exception as exc:  # the test inspects it
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s (behind the write lock?)"
    return result


# --- logins ------------------------------------------------------------------------------------
def test_delays_grow_and_are_capped():
    assert [delay_after(n, "login").total_seconds() for n in range(FREE_FAILURES + 4)] == [
        0
    ] * FREE_FAILURES + [1, 2, 4, 8]
    assert delay_after(1000, "login") == LOGIN_DELAY_CAP and delay_after(1000, "client") == CLIENT_DELAY_CAP


def test_a_stranger_cannot_lock_the_admin_out(admin_db):
    # A stranger guesses at admin as fast as the delays let them, for ten minutes.
    now = utcnow()
    for _ in range(20):
        assert authenticate(admin_db, "admin", "guess", client="stranger", now=now) is None
        now += LOGIN_DELAY_CAP + dt.timedelta(seconds=1)
    # The admin, from their own machine, never waits more than LOGIN_DELAY_CAP ...
    assert authenticate(admin_db, "admin", PASSWORD, client="admin-pc", now=now).login == "admin"
    # ... while the stranger's machine is slowed down far more than the login ever is.
    with read_session(admin_db) as s:
        client = s.scalar(
            select(LoginThrottle).where(LoginThrottle.kind == "client", LoginThrottle.key == "stranger")
        )
    assert delay_after(client.failures, "client") > LOGIN_DELAY_CAP


def test_unknown_logins_are_throttled_like_known_ones(admin_db):
    now = utcnow()
    for login in ("admin", "nobody"):
        for k in range(FREE_FAILURES + 2):
            authenticate(admin_db, login, "guess", client=f"c-{login}-{k}", now=now)
    with read_session(admin_db) as s:
        known = throttle_state(s, "admin", "fresh", now)
        unknown = throttle_state(s, "nobody", "fresh", now)
    assert known.throttled and known == unknown


@pytest.mark.parametrize("case", ["unknown login", "wrong password", "throttled"])
def test_every_failure_runs_one_argon2_check_and_answers_alike(admin_db, monkeypatch, case):
    now = utcnow()
    if case == "throttled":
        for _ in range(FREE_FAILURES + 3):
            authenticate(admin_db, "admin", "guess", client="x", now=now)
    checked = []
    real = users._hasher

    class CountingHasher:
        def verify(self, password_hash, password):
            checked.append(password_hash)
            return real.verify(password_hash, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(users, "_hasher", CountingHasher())
    login, password = {
        "unknown login": ("nobody", PASSWORD),
        "wrong password": ("admin", "guess"),
        "throttled": ("admin", PASSWORD),
    }[case]
    assert authenticate(admin_db, login, password, client="y", now=now) is None
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")
    with read_session(admin_db) as s:
        real_hash = s.scalar(select(User.password_hash).where(User.login == "admin"))
    assert (checked[0] == real_hash) == (case == "wrong password")


def test_a_login_does_not_wait_behind_the_write_lock(admin_db):
    with write_lock_held(admin_db):
        result = _finishes_within(10, lambda: authenticate(admin_db, "admin", PASSWORD, client="pc"))
    assert result["value"].login == "admin"


def test_the_demo_password_works_only_in_demo_studies(admin_db):
    with pytest.raises(BadInput, match="public demo password"), unit_of_work(admin_db, "test") as s:
        add_user(s, "researcher", "researcher", DEMO_PASSWORD, study=get_study(s))
    with unit_of_work(admin_db, "test") as s:  # a demo login left in a real study by an older version
        s.scalar(select(User).where(User.login == "admin")).password_hash = users._hasher.hash(DEMO_PASSWORD)
    assert authenticate(admin_db, "admin", DEMO_PASSWORD, client="pc") is None


# --- the demo ----------------------------------------------------------------------------------
def test_demo_refuses_a_database_with_a_real_study(study_db):
    with pytest.raises(NotAllowed, match="not a demo"):
        build_demo(study_db, participants=10, seed=1)
    result = CliRunner().invoke(
        app, ["demo", "--participants", "10", "--db", study_db.url.render_as_string(hide_password=False)]
    )
    assert result.exit_code == 2 and "not a demo" in result.output
    with read_session(study_db) as s:
        assert s.scalar(select(Person.id)) is None and s.scalar(select(User.id)) is None


def test_demo_study_is_marked_and_shows_the_banner(demo_engine, monkeypatch):
    from dashboards.ui import widgets

    with read_session(demo_engine) as s:
        assert get_study(s).is_demo
    shown = []

    class FakeStreamlit:
        def markdown(self, body, **kwargs):
            shown.append(body)

    monkeypatch.setattr(widgets, "st", FakeStreamlit())
    widgets.show_demo_banner({"demo": True})
    widgets.show_demo_banner({"demo": False})
    assert len(shown) == 1 and "DEMO DATA" in shown[0] and "#c62828" in shown[0]  # red


# --- survey links ------------------------------------------------------------------------------
@pytest.fixture
def linked(study_db):
    """A consented participant with a survey link; returns (engine, token)."""
    with unit_of_work(study_db, "test") as s:
        study = get_study(s)
        person = add_person(
            s, study, "P1", "participant", "CPH", identity=Identity(birth_date=dt.date(1990, 1, 1))
        )
        enrolment = enrol(
            s, study, person, dt.date(2025, 9, 1), "København", consent_on=dt.date(2025, 9, 1), phase="rct"
        )
        assert enrolment.eligible, enrolment.ineligibility_reasons
        token = create_link(s, study, person, "coordinator", "baseline")
    return study_db, token


def test_a_survey_link_stops_working_when_the_participant_withdraws(linked):
    engine, token = linked
    with unit_of_work(engine, "test") as s:
        assert open_link(s, token).pseudonym == "P1"
    with unit_of_work(engine, "test") as s:
        withdraw(s, get_study(s), s.scalar(select(Person)), dt.date(2025, 10, 1), "moved away")
    with pytest.raises(NotAllowed, match="not valid"), unit_of_work(engine, "test") as s:
        open_link(s, token)
    with read_session(engine) as s:
        assert s.scalar(select(SurveyLink.revoked_at)) is not None


def test_a_survey_link_of_an_excluded_participant_does_not_open(linked):
    engine, token = linked
    with unit_of_work(engine, "test") as s:
        s.scalar(select(Person)).enrolment.eligible = False
    with pytest.raises(NotAllowed, match="not valid"), unit_of_work(engine, "test") as s:
        open_link(s, token)


def test_an_invalid_link_is_refused_without_the_write_lock(linked):
    from dashboards.actions import open_survey, save_survey_item

    engine, _ = linked
    with write_lock_held(engine):
        opened = _finishes_within(10, lambda: open_survey(engine, "guessed-token"))
        saved = _finishes_within(
            10, lambda: save_survey_item(engine, "guessed-token", "baseline", "who5", "1", 3)
        )
    assert isinstance(opened["error"], NotAllowed) and isinstance(saved["error"], NotAllowed)

"""The audit trail: every change recorded in the same transaction, hash-chained, tamper-evident."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, text, update

from study.audit import REDACTED, person_history, verify_chain
from study.db import read_session, unit_of_work
from study.db.audit_guard import suspended_audit_guard
from study.db.models import AuditEvent, Person, PersonIdentity
from study.errors import NotAllowed
from study.people import Identity, add_person, person_by_pseudonym
from study.studies import get_study

ACTOR = "coordinator.cph"


def _add_anna(engine):
    with unit_of_work(engine, ACTOR) as s:
        study = get_study(s)
        add_person(
            s,
            study,
            "P0042",
            "participant",
            "CPH",
            identity=Identity(full_name="Anna Demo", birth_date=dt.date(1990, 5, 1)),
            attributes={"gender": "female"},
        )


def _events(engine):
    with read_session(engine) as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_insert_update_delete_are_audited_with_actor_values_and_reason(study_db):
    before = len(_events(study_db))
    _add_anna(study_db)
    inserted = _events(study_db)[before:]
    assert {e.table_name for e in inserted} == {"person", "person_identity", "person_attribute"}
    assert all(e.actor == ACTOR and e.action == "insert" for e in inserted)
    person_row = next(e for e in inserted if e.table_name == "person")
    assert json.loads(person_row.new_value)["pseudonym"] == "P0042"
    assert person_row.row_id == json.loads(person_row.new_value)["id"]
    identity_row = next(e for e in inserted if e.table_name == "person_identity")
    assert identity_row.row_id == person_row.row_id  # keyed by person_id

    with unit_of_work(study_db, "coordinator.hel", reason="moved to Helsingør") as s:
        study = get_study(s)
        person = s.scalar(select(Person).where(Person.pseudonym == "P0042"))
        person.site_id = next(site.id for site in study.sites if site.code == "HEL")
    update_event = _events(study_db)[-1]
    assert (update_event.action, update_event.field) == ("update", "site_id")
    assert update_event.actor == "coordinator.hel"
    assert update_event.reason == "moved to Helsingør"
    assert update_event.old_value != update_event.new_value
    assert update_event.row_id == person_row.row_id

    with unit_of_work(study_db, ACTOR, reason="entered twice") as s:
        s.delete(s.scalar(select(Person).where(Person.pseudonym == "P0042")))
    deleted = [e for e in _events(study_db) if e.action == "delete"]
    assert "person" in {e.table_name for e in deleted}
    assert verify_chain(study_db).intact


def test_identity_values_never_enter_the_audit_trail(study_db):
    _add_anna(study_db)
    identity_event = next(e for e in _events(study_db) if e.table_name == "person_identity")
    values = json.loads(identity_event.new_value)
    assert values["full_name"].startswith("<redacted:") and values["birth_date"].startswith("<redacted:")
    assert values["full_name"] != values["birth_date"]  # a keyed digest of each value
    everything = " ".join(str(e.new_value) + str(e.old_value) for e in _events(study_db))
    assert "Anna Demo" not in everything and "1990-05-01" not in everything


def test_person_history_shows_redacted_values_without_their_digests(study_db):
    _add_anna(study_db)
    with read_session(study_db) as s:
        history = person_history(s, person_by_pseudonym(s, get_study(s), "P0042"))
    identity = history[history["table_name"] == "person_identity"].iloc[0]
    assert json.loads(identity["new_value"])["full_name"] == REDACTED


def test_rolled_back_change_leaves_no_event(study_db):
    before = len(_events(study_db))
    with pytest.raises(RuntimeError):
        with unit_of_work(study_db, ACTOR) as s:
            add_person(s, get_study(s), "P0001", "participant", "CPH")
            raise RuntimeError("power cut")
    assert len(_events(study_db)) == before
    with read_session(study_db) as s:
        assert s.scalar(select(Person).where(Person.pseudonym == "P0001")) is None


def test_person_history_lists_changes_oldest_first(study_db):
    _add_anna(study_db)
    with read_session(study_db) as s:
        history = person_history(s, person_by_pseudonym(s, get_study(s), "P0042"))
    assert list(history["table_name"]) == ["person", "person_identity", "person_attribute"]
    assert (history["actor"] == ACTOR).all()


def test_raw_update_of_an_event_is_detected_and_named(study_db):
    _add_anna(study_db)
    assert verify_chain(study_db).intact
    victim = _events(study_db)[2]
    with study_db.begin() as conn, suspended_audit_guard(conn):  # as the tables' owner could
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = :id"), {"id": victim.id})
    report = verify_chain(study_db)
    assert not report.intact
    assert report.broken_id == victim.id
    assert "content" in report.problem


def test_removed_event_is_detected(study_db):
    _add_anna(study_db)
    victim = _events(study_db)[1]
    with study_db.begin() as conn, suspended_audit_guard(conn):
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": victim.id})
    report = verify_chain(study_db)
    assert not report.intact and "missing" in report.problem


def test_application_cannot_change_or_delete_audit_events(study_db):
    with pytest.raises(NotAllowed):
        with unit_of_work(study_db, ACTOR) as s:
            event = s.scalar(select(AuditEvent).limit(1))
            event.actor = "someone else"
    with pytest.raises(NotAllowed):
        with unit_of_work(study_db, ACTOR) as s:
            s.delete(s.scalar(select(AuditEvent).limit(1)))
    with pytest.raises(NotAllowed):
        with unit_of_work(study_db, ACTOR) as s:
            s.execute(update(AuditEvent).values(actor="x"))
    assert verify_chain(study_db).intact


def test_bulk_writes_to_study_tables_are_refused(study_db):
    with pytest.raises(NotAllowed, match="bypass the audit trail"):
        with unit_of_work(study_db, ACTOR) as s:
            s.execute(update(PersonIdentity).values(full_name="x"))


def test_change_without_actor_is_refused(study_db):
    from sqlalchemy.orm import sessionmaker

    from study.audit import AuditedSession

    with pytest.raises(NotAllowed, match="actor"):
        with sessionmaker(study_db, class_=AuditedSession).begin() as s:
            add_person(s, get_study(s), "P0100", "participant", "CPH")

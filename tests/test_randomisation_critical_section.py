"""The short critical section of randomisation: what is prepared before the writers' lock is
re-read under it, and a change made in between is honoured (the allocation is refused, or
drawn in the participant's new stratum), never silently ignored."""

from __future__ import annotations

import threading

import pytest
from rct_fixtures import ACTOR, ON, add_participants, make_rct_study
from sqlalchemy import select

import study.randomisation.service as service
from study.db import read_session, unit_of_work
from study.db.models import Allocation, Enrolment, Person, PersonAttribute, Site
from study.errors import BadInput
from study.randomisation import randomise
from study.studies import get_study


def _between_preparation_and_lock(monkeypatch, change) -> None:
    """Run ``change(session)`` once, just before randomise takes the writers' lock."""
    real = service.take_write_lock
    calls = []

    def hooked(session):
        if not calls:
            calls.append(True)
            change(session)
        real(session)

    monkeypatch.setattr(service, "take_write_lock", hooked)


def _person_id(session, pseudonym: str) -> int:
    return session.scalar(select(Person.id).where(Person.pseudonym == pseudonym))


@pytest.mark.parametrize("method", ["blocks", "minimisation"])
def test_a_withdrawal_between_preparation_and_lock_refuses_the_allocation(db, monkeypatch, method):
    make_rct_study(db, method=method)
    add_participants(db, [dict(pseudonym="P0001"), dict(pseudonym="P0002")])
    with unit_of_work(db, ACTOR) as s:  # the sequence has a counter: the fast path is taken
        randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)

    def withdraw(session) -> None:
        enrolment = session.scalar(
            select(Enrolment).where(Enrolment.person_id == _person_id(session, "P0002"))
        )
        enrolment.withdrawn_on = ON
        session.flush()

    _between_preparation_and_lock(monkeypatch, withdraw)
    with pytest.raises(BadInput, match="P0002 withdrew on 2025-09-01"):
        with unit_of_work(db, ACTOR, lock_at_start=False) as s:
            randomise(s, get_study(s), "P0002", on=ON, place_in_group=False)
    with read_session(db) as s:
        assert len(s.scalars(select(Allocation)).all()) == 1


def test_a_stratum_change_between_preparation_and_lock_draws_in_the_new_stratum(db, monkeypatch):
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001"), dict(pseudonym="P0002", gender="female")])
    with unit_of_work(db, ACTOR) as s:
        randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)

    def correct_gender(session) -> None:
        attribute = session.scalar(
            select(PersonAttribute).where(
                PersonAttribute.person_id == _person_id(session, "P0002"), PersonAttribute.name == "gender"
            )
        )
        attribute.value = "male"
        session.flush()

    _between_preparation_and_lock(monkeypatch, correct_gender)
    with unit_of_work(db, ACTOR, lock_at_start=False) as s:
        result = randomise(s, get_study(s), "P0002", on=ON, place_in_group=False)
    assert (result.stratum, result.sequence_position) == ("CPH|male", 1)


def test_a_site_change_between_preparation_and_lock_draws_in_the_new_site(db, monkeypatch):
    """The site is part of the stratum: moving the participant to another site after the
    preparation is seen under the lock, as a changed factor is."""
    make_rct_study(db)
    add_participants(
        db, [dict(pseudonym="P0001"), dict(pseudonym="P0002"), dict(pseudonym="H0001", site="HEL")]
    )
    with unit_of_work(db, ACTOR) as s:
        randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)
        randomise(s, get_study(s), "H0001", on=ON, place_in_group=False)

    def move_to_hel(session) -> None:
        person = session.get(Person, _person_id(session, "P0002"))
        person.site_id = session.scalar(select(Site.id).where(Site.code == "HEL"))
        session.flush()

    _between_preparation_and_lock(monkeypatch, move_to_hel)
    with unit_of_work(db, ACTOR, lock_at_start=False) as s:
        result = randomise(s, get_study(s), "P0002", on=ON, place_in_group=False)
    assert (result.stratum, result.sequence_position) == ("HEL|female", 2)


def test_unchanged_facts_take_the_slot_in_one_locked_statement(db, monkeypatch):
    """Nothing changed: no second preparation under the lock (the counter row is locked and
    the facts re-read by one statement)."""
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001"), dict(pseudonym="P0002")])
    with unit_of_work(db, ACTOR) as s:
        randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)
    prepared = []
    real = service._prepare
    monkeypatch.setattr(service, "_prepare", lambda *a, **k: prepared.append(1) or real(*a, **k))
    with unit_of_work(db, ACTOR, lock_at_start=False) as s:
        result = randomise(s, get_study(s), "P0002", on=ON, place_in_group=False)
    assert result.sequence_position == 2
    assert len(prepared) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_concurrent_randomisation_of_the_same_person_is_refused_under_the_lock(db, monkeypatch):
    """PostgreSQL, deferred lock: another transaction randomises the participant (and commits)
    after this one prepared; the re-check under the lock refuses, without a constraint error."""
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001")])

    def rival(_session) -> None:
        def run() -> None:
            with unit_of_work(db, "rival") as other:
                randomise(other, get_study(other), "P0001", on=ON, place_in_group=False)

        thread = threading.Thread(target=run)  # its own connection and transaction
        thread.start()
        thread.join(timeout=60)

    _between_preparation_and_lock(monkeypatch, rival)
    with pytest.raises(BadInput, match="P0001 was already randomised"):
        with unit_of_work(db, ACTOR, lock_at_start=False) as s:
            randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)
    with read_session(db) as s:
        assert [a.allocated_by for a in s.scalars(select(Allocation))] == ["rival"]

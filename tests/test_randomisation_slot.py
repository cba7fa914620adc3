"""The slot written in Core under the lock (study.randomisation.slot): the same rows and audit
events as the ORM path, a chain that verifies, the key check and the text guard kept, and the
dashboard preparing before the lock as the command does."""

from __future__ import annotations

import json

import pytest
from rct_fixtures import ACTOR, ON, add_participants, make_rct_study
from sqlalchemy import select

import study.randomisation.service as service
from dashboards.actions import randomise_participant
from study.audit import verify_chain
from study.audit_key import create_key
from study.db import read_session, unit_of_work
from study.db.models import Allocation, AllocationCounter, AuditEvent
from study.db.write_lock import LOCKED_INFO_KEY
from study.errors import BadInput, NotAllowed
from study.randomisation import randomise
from study.randomisation.service import install_secret
from study.studies import get_study
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_randomise import _enrol_hel

SPECS = [
    dict(pseudonym="P0001"),
    dict(pseudonym="P0002", gender="male"),
    dict(pseudonym="P0003"),
    dict(pseudonym="P0004", site="HEL"),
    dict(pseudonym="P0005"),
    dict(pseudonym="P0006", gender="male"),
]


@pytest.fixture
def two_databases(db_factory):
    engines = [db_factory.new_engine(), db_factory.new_engine()]
    yield engines
    for engine in engines:
        engine.dispose()


SECRET = bytes(range(32))


def _randomise_all(engine, method: str) -> list[tuple]:
    """The six participants randomised one unit of work each, with a fixed secret (so that two
    databases draw the same arms)."""
    make_rct_study(engine, method=method)
    add_participants(engine, SPECS)
    with unit_of_work(engine, ACTOR) as s:
        install_secret(s, get_study(s), SECRET, ACTOR)
    results = []
    for spec in SPECS:
        with unit_of_work(engine, ACTOR, reason="randomise", lock_at_start=False) as s:
            r = randomise(s, get_study(s), spec["pseudonym"], on=ON, place_in_group=False)
        results.append((r.pseudonym, r.arm, r.stratum, r.sequence_position))
    return results


def _allocation_events(engine) -> list[tuple]:
    """Allocation and counter events without time, place in the chain, hash and the insert's
    ``created_at`` (the time of the write)."""
    with read_session(engine) as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.table_name.in_(["allocation", "allocation_counter"]))
            .order_by(AuditEvent.seq)
        ).all()
    out = []
    for e in events:
        new_value = e.new_value
        if e.action == "insert" and e.table_name == "allocation":
            row = json.loads(new_value)
            assert row.pop("created_at")  # recorded, as the ORM records it
            new_value = json.dumps(row, sort_keys=True)
        out.append(
            (e.study_id, e.person_id, e.actor, e.action, e.table_name, e.row_id, e.field)
            + (e.old_value, new_value, e.reason)
        )
    return out


def _rows(engine) -> list[tuple]:
    with read_session(engine) as s:
        allocations = s.execute(
            select(
                Allocation.id,
                Allocation.person_id,
                Allocation.arm,
                Allocation.stratum,
                Allocation.method,
                Allocation.sequence,
                Allocation.sequence_position,
                Allocation.allocated_on,
                Allocation.allocated_by,
            ).order_by(Allocation.id)
        ).all()
        counters = s.execute(
            select(AllocationCounter.id, AllocationCounter.stratum, AllocationCounter.allocated).order_by(
                AllocationCounter.id
            )
        ).all()
    return [tuple(r) for r in allocations] + [tuple(c) for c in counters]


@pytest.mark.parametrize("method", ["blocks", "minimisation"])
def test_core_slot_writes_what_the_orm_path_writes(two_databases, monkeypatch, method):
    core_db, orm_db = two_databases
    written = []
    real_write = service.write_slot
    monkeypatch.setattr(service, "write_slot", lambda *a, **k: written.append(1) or real_write(*a, **k))
    core = _randomise_all(core_db, method)
    # Blocks: the first allocation of each of the three strata creates its counter (the ORM
    # path), the other three take the Core path; minimisation: one sequence, five.
    assert len(written) == (3 if method == "blocks" else 5)

    written.clear()
    monkeypatch.setattr(service, "_lock_counter_if_unchanged", lambda *a, **k: None)  # the ORM path only
    orm = _randomise_all(orm_db, method)
    assert not written

    assert core == orm
    assert _rows(core_db) == _rows(orm_db)
    core_events, orm_events = _allocation_events(core_db), _allocation_events(orm_db)
    # An insert and a counter update each, and the insert of each sequence's counter.
    assert len(core_events) == 2 * len(SPECS) + (3 if method == "blocks" else 1)
    assert core_events == orm_events
    for engine in two_databases:
        assert verify_chain(engine).intact


def test_the_core_path_refuses_a_wrong_audit_key(db, monkeypatch, tmp_path):
    """The chain head read under the lock is checked with the key, as the ORM capture checks
    it: a wrong key file would fork the chain."""
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001"), dict(pseudonym="P0002")])
    with unit_of_work(db, ACTOR) as s:
        randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)
    create_key(tmp_path / "other.key")
    monkeypatch.setenv("PEERSTUDY_AUDIT_KEY", str(tmp_path / "other.key"))
    with pytest.raises(NotAllowed, match="does not match this database's audit chain"):
        with unit_of_work(db, ACTOR, lock_at_start=False) as s:
            randomise(s, get_study(s), "P0002", on=ON, place_in_group=False)
    monkeypatch.undo()
    with read_session(db) as s:
        assert len(s.scalars(select(Allocation)).all()) == 1
    assert verify_chain(db).intact


def test_the_core_path_keeps_the_text_guard(db):
    """An actor longer than ``allocated_by`` holds: the same refusal as the ORM's text guard,
    on both databases, and nothing written."""
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001"), dict(pseudonym="P0002")])
    with unit_of_work(db, ACTOR) as s:
        randomise(s, get_study(s), "P0001", on=ON, place_in_group=False)
    long_actor = "x" * 256
    with pytest.raises(BadInput, match="allocation.allocated_by is 256 characters long, at most 255"):
        with unit_of_work(db, ACTOR, lock_at_start=False) as s:
            randomise(s, get_study(s), "P0002", actor=long_actor, on=ON, place_in_group=False)
    with read_session(db) as s:
        assert s.scalar(select(AllocationCounter.allocated)) == 1
        assert len(s.scalars(select(Allocation)).all()) == 1


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_dashboard_prepares_before_the_writers_lock(dashboard_db, monkeypatch):
    """PostgreSQL: the dashboard's randomisation holds no writers' lock until randomise takes
    it for the slot (the command's short critical section), and the allocation is made."""
    states = []
    real = service.take_write_lock

    def observed(session):
        states.append(session.info[LOCKED_INFO_KEY])
        real(session)

    _enrol_hel(dashboard_db, "W-RAND-LOCK")
    monkeypatch.setattr(service, "take_write_lock", observed)
    result = randomise_participant(dashboard_db, viewer_of(dashboard_db, "hel.coordinator"), "W-RAND-LOCK")
    assert states == [False]
    assert result.pseudonym == "W-RAND-LOCK"

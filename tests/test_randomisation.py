"""Randomisation in the database (SQLite and PostgreSQL): rules, concealment, immutability,
group placement, verification by the statistician, minimisation and allocation tables."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from rct_fixtures import ACTOR, CONSENTED, ON, add_groups, add_participants, count, make_rct_study
from sqlalchemy import select, text, update

from study.audit import verify_chain
from study.db import read_session, unit_of_work
from study.db.models import (
    Allocation,
    AllocationCounter,
    AllocationDisclosure,
    AllocationTableSlot,
    AuditEvent,
    GroupMember,
    RandomisationSecret,
)
from study.errors import BadInput, NotAllowed, NotFound, RowErrors
from study.people import person_by_pseudonym
from study.randomisation import (
    allocations_frame,
    load_allocation_table,
    pending_pseudonyms,
    randomise,
    randomise_pending,
    reveal_sequence,
    verify_allocations,
)
from study.randomisation.sequence import block_sequence, blocks_stream
from study.randomisation.service import install_secret
from study.randomisation.stream import secret_from_hex
from study.studies import get_study
from study.users import add_user
from study.withdrawal import withdraw


def _randomise(engine, pseudonym, on=ON, **kwargs):
    with unit_of_work(engine, ACTOR) as s:
        return randomise(s, get_study(s), pseudonym, on=on, **kwargs)


def _statistician(engine, login="stat", role="statistician"):
    with unit_of_work(engine, ACTOR) as s:
        return add_user(s, login, role, "long-enough-pw", study=get_study(s))


def _snapshot(engine):
    with read_session(engine) as s:
        counters = s.execute(select(AllocationCounter.stratum, AllocationCounter.allocated)).all()
    return count(engine, Allocation), sorted(counters), count(engine, AuditEvent)


def test_randomise_allocates_once_with_a_concealed_secret(db):
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001"), dict(pseudonym="P0002", site="HEL", gender="male")])
    first = _randomise(db, "P0001")
    assert first.line in ("P0001 INT", "P0001 CTL")
    assert (first.stratum, first.sequence_position, first.method) == ("CPH|female", 1, "blocks")
    second = _randomise(db, "P0002")
    assert (second.stratum, second.sequence_position) == ("HEL|male", 1)
    with read_session(db) as s:
        secret_row = s.scalar(select(RandomisationSecret))
        assert len(secret_from_hex(secret_row.seed)) == 32
        alloc = s.scalar(
            select(Allocation).where(Allocation.arm == first.arm, Allocation.stratum == "CPH|female")
        )
        assert (alloc.allocated_on, alloc.allocated_by, alloc.sequence) == (ON, ACTOR, "CPH|female")
        # The arm is the first slot of the stratum's list regenerated from the secret.
        expected = block_sequence(
            blocks_stream(secret_from_hex(secret_row.seed), "CPH|female"), {"INT": 1, "CTL": 1}, [2, 4, 6], 1
        )
        assert expected["arm"].iloc[0] == first.arm
        # The seed never reaches the audit trail.
        events = s.scalars(
            select(AuditEvent.new_value).where(AuditEvent.table_name == "randomisation_secret")
        ).all()
        assert events and all(secret_row.seed not in (e or "") for e in events)
        assert json.loads(events[0])["seed"].startswith("<redacted:")
        everything = " ".join(v or "" for v in s.scalars(select(AuditEvent.new_value)))
        assert secret_row.seed not in everything
    assert verify_chain(db).intact


@pytest.mark.parametrize(
    ("pseudonym", "error", "message"),
    [
        ("P9999", NotFound, "unknown pseudonym"),
        ("PP001", BadInput, "pilot participant"),
        ("P0002", BadInput, "not eligible .*age 16 below minimum 18"),
        ("P0003", BadInput, "has not consented"),
        ("P0004", BadInput, "withdrew"),
        ("P0005", BadInput, "already randomised"),
        ("L0001", BadInput, "only participants are randomised"),
        ("P0006", BadInput, "no gender recorded"),
    ],
)
def test_bad_randomisations_write_nothing_and_consume_no_slot(db, pseudonym, error, message):
    make_rct_study(db)
    add_participants(
        db,
        [
            dict(pseudonym="PP001", phase="pilot"),
            dict(pseudonym="P0001"),
            dict(pseudonym="P0002", age=16),
            dict(pseudonym="P0003", consent=False),
            dict(pseudonym="P0004"),
            dict(pseudonym="P0005"),
            dict(pseudonym="L0001", role="group_leader"),
            dict(pseudonym="P0006", gender=None),
        ],
    )
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        withdraw(s, study, person_by_pseudonym(s, study, "P0004"), ON, "moved away")
    _randomise(db, "P0005")
    before = _snapshot(db)
    with pytest.raises(error, match=message):
        _randomise(db, pseudonym)
    assert _snapshot(db) == before
    # The next good participant gets the next slot: nothing was consumed.
    assert _randomise(db, "P0001").sequence_position == 2


def test_randomisation_only_in_the_rct_phase_and_on_sensible_dates(db):
    make_rct_study(db, phase="pilot")
    add_participants(db, [dict(pseudonym="P0001")])
    with pytest.raises(NotAllowed, match="only in the rct phase"):
        _randomise(db, "P0001")
    with unit_of_work(db, ACTOR) as s:
        from study.phases import start_phase

        start_phase(s, get_study(s), "rct", ACTOR, at=dt.datetime(2025, 8, 1, tzinfo=dt.UTC))
    with pytest.raises(BadInput, match="in the future"):
        _randomise(db, "P0001", on=dt.date.today() + dt.timedelta(days=1))
    with pytest.raises(BadInput, match="before consent"):
        _randomise(db, "P0001", on=CONSENTED - dt.timedelta(days=1))
    assert count(db, Allocation) == 0


def test_allocations_can_never_be_changed_or_deleted_and_withdrawal_keeps_them(db):
    make_rct_study(db)
    add_participants(db, [dict(pseudonym="P0001")])
    result = _randomise(db, "P0001")
    other = "CTL" if result.arm == "INT" else "INT"
    with pytest.raises(NotAllowed, match="cannot be changed"):
        with unit_of_work(db, ACTOR) as s:
            s.scalar(select(Allocation)).arm = other
    with pytest.raises(NotAllowed, match="cannot be deleted"):
        with unit_of_work(db, ACTOR) as s:
            s.delete(s.scalar(select(Allocation)))
    with pytest.raises(NotAllowed, match="bypass the audit trail"):
        with unit_of_work(db, ACTOR) as s:
            s.execute(update(Allocation).values(arm=other))
    with pytest.raises(NotAllowed, match="cannot be changed"):
        with unit_of_work(db, ACTOR) as s:
            s.scalar(select(RandomisationSecret)).seed = "00" * 32
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        withdraw(
            s, study, person_by_pseudonym(s, study, "P0001"), ON + dt.timedelta(days=30), "life circumstances"
        )
    with read_session(db) as s:
        assert s.scalar(select(Allocation.arm)) == result.arm
    with pytest.raises(BadInput, match="not one of"):
        with unit_of_work(db, ACTOR) as s:
            study = get_study(s)
            withdraw(s, study, person_by_pseudonym(s, study, "P0001"), ON, "was difficult")


def test_intervention_participants_are_placed_in_the_next_group_with_room(db):
    make_rct_study(db, block_sizes=[2])  # blocks of 2: exactly one INT in every pair
    early, late = add_groups(db, "CPH", [dt.date(2025, 8, 25), dt.date(2025, 10, 6)])
    add_participants(db, [dict(pseudonym=f"P{i:04d}") for i in range(1, 31)])
    with unit_of_work(db, ACTOR) as s:
        results = randomise_pending(s, get_study(s), on=ON)
    assert [r.pseudonym for r in results] == [f"P{i:04d}" for i in range(1, 31)]
    ints = [r for r in results if r.arm == "INT"]
    assert len(ints) == 15
    # The early group started before the allocation date; the late one takes 12 (max_size);
    # the last three wait for a new group.
    assert [r.group for r in ints] == [late] * 12 + [None] * 3
    assert all(r.group is None for r in results if r.arm == "CTL")
    assert count(db, GroupMember) == 12
    with read_session(db) as s:
        assert pending_pseudonyms(s, get_study(s)) == []


def test_statistician_verifies_the_allocations_and_sees_tampering(db):
    make_rct_study(db)
    add_participants(db, [dict(pseudonym=f"P{i:04d}", site=("CPH", "HEL")[i % 2]) for i in range(1, 13)])
    with unit_of_work(db, ACTOR) as s:
        randomise_pending(s, get_study(s), on=ON)
    stat = _statistician(db)
    researcher = _statistician(db, "res", "researcher")
    with pytest.raises(NotAllowed, match="only the trial statistician"):
        with unit_of_work(db, "res") as s:
            verify_allocations(s, get_study(s), researcher)
    with unit_of_work(db, "stat") as s:
        result = verify_allocations(s, get_study(s), stat)
    assert result["ok"].all() and result["allocated"].sum() == 12
    assert set(result["sequence"]) == {"CPH|female", "HEL|female"}
    assert (result["counter"] == result["last_position"]).all()
    with read_session(db) as s:
        disclosure = s.scalar(select(AllocationDisclosure))
        assert (disclosure.kind, disclosure.actor) == ("verify", "stat")
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.table_name == "allocation_disclosure"))
    # A raw SQL edit behind the application's back is caught by the regeneration.
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE allocation SET arm = CASE WHEN arm = 'INT' THEN 'CTL' ELSE 'INT' END "
                "WHERE sequence_position = 3 AND sequence = 'CPH|female'"
            )
        )
    with unit_of_work(db, "stat") as s:
        result = verify_allocations(s, get_study(s), stat).set_index("sequence")
    assert result.loc["CPH|female", "mismatched"] == 1 and not result.loc["CPH|female", "ok"]
    assert result.loc["HEL|female", "ok"]


def test_statistician_can_reveal_the_list_including_future_slots(db):
    make_rct_study(db)
    add_participants(db, [dict(pseudonym=f"P{i:04d}") for i in range(1, 6)])
    with unit_of_work(db, ACTOR) as s:
        done = randomise_pending(s, get_study(s), on=ON)
    stat = _statistician(db)
    with unit_of_work(db, "stat") as s:
        slots = reveal_sequence(s, get_study(s), stat, "CPH|female", 12)
    assert len(slots) == 12
    assert slots["arm"].head(5).tolist() == [r.arm for r in done]
    assert slots["allocated"].tolist() == [f"P{i:04d}" for i in range(1, 6)] + [""] * 7
    with pytest.raises(BadInput, match="unknown site"):
        with unit_of_work(db, "stat") as s:
            reveal_sequence(s, get_study(s), stat, "XXX|female", 3)
    with read_session(db) as s:
        kinds = s.scalars(select(AllocationDisclosure.kind)).all()
    assert kinds == ["sequence"]


def test_minimisation_in_the_database_balances_and_replays(db):
    make_rct_study(db, method="minimisation")
    sites = ["CPH", "HEL", "FRE"]
    genders = ["female", "male", "female", "other"]
    add_participants(
        db, [dict(pseudonym=f"P{i:04d}", site=sites[i % 3], gender=genders[i % 4]) for i in range(30)]
    )
    with unit_of_work(db, ACTOR) as s:
        # A fixed secret makes the random element reproducible, so the balance bound below
        # is a statement about this sequence, not a coin toss on every run.
        install_secret(s, get_study(s), bytes(range(32)), ACTOR)
        results = randomise_pending(s, get_study(s), on=ON, place_in_group=False)
    assert [r.sequence_position for r in results] == list(range(1, 31))
    with read_session(db) as s:
        frame = allocations_frame(s, get_study(s))
    assert set(frame["sequence"]) == {"*"}
    for factor in ("site", "gender"):
        counts = pd.crosstab(frame[factor], frame["arm"])
        assert (counts["INT"] - counts["CTL"]).abs().max() <= 3
    stat = _statistician(db)
    with unit_of_work(db, "stat") as s:
        result = verify_allocations(s, get_study(s), stat)
    assert result["ok"].all() and result["allocated"].tolist() == [30]
    with pytest.raises(BadInput, match="no list in advance"):
        with unit_of_work(db, "stat") as s:
            reveal_sequence(s, get_study(s), stat, "CPH|female", 3)


def test_allocation_table_method(db):
    make_rct_study(db, method="table")
    add_participants(db, [dict(pseudonym=f"P{i:04d}") for i in range(1, 5)])
    with pytest.raises(NotAllowed, match="no slot 1"):
        _randomise(db, "P0001")
    table = pd.DataFrame(
        {
            "site": ["CPH", "HEL", "CPH", "CPH"],
            "gender": ["female", "female", "female", "female"],
            "arm": ["CTL", "INT", "INT", "CTL"],
        }
    )
    bad = table.assign(arm=["CTL", "INT", "XXX", "CTL"])
    with pytest.raises(RowErrors, match="row 4, column 'arm', value 'XXX'"):
        with unit_of_work(db, ACTOR) as s:
            load_allocation_table(s, get_study(s), bad)
    assert count(db, AllocationTableSlot) == 0
    with unit_of_work(db, ACTOR) as s:
        loaded = load_allocation_table(s, get_study(s), table)
    assert dict(zip(loaded["stratum"], loaded["slots"])) == {"CPH|female": 3, "HEL|female": 1}
    with read_session(db) as s:
        slot_events = s.scalars(
            select(AuditEvent.new_value).where(AuditEvent.table_name == "allocation_table_slot")
        ).all()
    assert len(slot_events) == 4 and all(json.loads(e)["arm"].startswith("<redacted:") for e in slot_events)
    arms = [_randomise(db, p, place_in_group=False).arm for p in ("P0001", "P0002", "P0003")]
    assert arms == ["CTL", "INT", "CTL"]
    before = _snapshot(db)
    with pytest.raises(NotAllowed, match="no slot 4 for stratum CPH|female"):
        _randomise(db, "P0004")
    assert _snapshot(db) == before
    with pytest.raises(NotAllowed, match="already loaded"):
        with unit_of_work(db, ACTOR) as s:
            load_allocation_table(s, get_study(s), table)
    stat = _statistician(db)
    with unit_of_work(db, "stat") as s:
        assert verify_allocations(s, get_study(s), stat)["ok"].all()

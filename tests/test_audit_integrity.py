"""The audit trail proves the data (SQLite and PostgreSQL): every tamper of issue 13 is
detected by `audit verify` or refused by the database, and only the key holder can chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import stat

import pytest
from rct_fixtures import ACTOR, ON, add_participants, make_rct_study
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from questionnaires.capture import import_questionnaires, read_questionnaire_csv
from study.audit import verify_chain
from study.audit_anchor import current_anchor, format_anchor, parse_anchors
from study.audit_chain import CHAIN_FIELDS, GENESIS_HASH, chain_events, event_hash
from study.audit_key import create_key, load_key
from study.db import read_session, unit_of_work
from study.db.audit_guard import suspended_audit_guard
from study.db.models import Allocation, AllocationCounter, AuditEvent, Person
from study.errors import NotAllowed
from study.people import Identity, add_person
from study.randomisation import randomise
from study.studies import get_study

ANSWERS = """pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5,ucla3_1,ucla3_2,ucla3_3
P0001,baseline,2025-08-20,5,4,3,2,1,1,2,3
"""


@pytest.fixture
def trial(db):
    """An RCT with four randomised participants and one questionnaire response."""
    make_rct_study(db)
    add_participants(
        db,
        [
            dict(pseudonym="P0001"),
            dict(pseudonym="P0002"),
            dict(pseudonym="P0003", site="HEL", gender="male"),
            dict(pseudonym="P0004", site="FRE"),
        ],
    )
    with unit_of_work(db, ACTOR) as s:
        study = get_study(s)
        for pseudonym in ("P0001", "P0002", "P0003", "P0004"):
            randomise(s, study, pseudonym, on=ON)
        import_questionnaires(
            s,
            study,
            read_questionnaire_csv(io.StringIO(ANSWERS)),
            source="q.csv",
            today=dt.date(2026, 6, 1),
        )
    assert verify_chain(db).intact
    return db


def _raw(engine, sql, **params):
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _as_owner(engine, sql, **params):
    """What someone who owns the tables could do: drop the triggers, write, restore them."""
    with engine.begin() as conn, suspended_audit_guard(conn):
        conn.execute(text(sql), params)


def _found(report):
    return {(d.table, d.row_id, d.field, d.kind) for d in report.discrepancies}


def _allocation(engine, pseudonym="P0001"):
    with read_session(engine) as s:
        return s.scalar(select(Allocation).join(Person).where(Person.pseudonym == pseudonym))


def test_raw_update_of_an_allocations_arm_is_named_with_table_row_and_field(trial):
    alloc = _allocation(trial)
    other = "CTL" if alloc.arm == "INT" else "INT"
    _raw(trial, "UPDATE allocation SET arm = :arm WHERE id = :id", arm=other, id=alloc.id)
    report = verify_chain(trial)
    assert not report.intact and report.chain_intact
    assert _found(report) == {("allocation", str(alloc.id), "arm", "changed")}
    (problem,) = report.discrepancies
    assert "allocation row" in problem.describe() and "field arm" in problem.describe()


def test_raw_update_of_a_questionnaire_answer_is_detected(trial):
    with read_session(trial) as s:
        response_id, values = s.execute(text("SELECT id, item_values FROM questionnaire_response")).first()
    changed = values.replace('"1":5', '"1":1') if '"1":5' in values else values.replace(":", ": ", 1)
    assert changed != values
    _raw(
        trial, "UPDATE questionnaire_response SET item_values = :v WHERE id = :id", v=changed, id=response_id
    )
    assert ("questionnaire_response", str(response_id), "item_values", "changed") in _found(
        verify_chain(trial)
    )


def test_deleting_an_allocation_and_decrementing_its_counter_is_detected(trial):
    alloc = _allocation(trial)
    with read_session(trial) as s:
        counter = s.scalar(select(AllocationCounter).where(AllocationCounter.stratum == alloc.stratum))
    _raw(trial, "DELETE FROM allocation WHERE id = :id", id=alloc.id)
    _raw(trial, "UPDATE allocation_counter SET allocated = allocated - 1 WHERE id = :id", id=counter.id)
    found = _found(verify_chain(trial))
    assert ("allocation", str(alloc.id), None, "missing") in found
    assert ("allocation_counter", str(counter.id), "allocated", "changed") in found


def test_raw_insert_is_named_and_identity_changes_are_caught_without_showing_values(trial):
    with read_session(trial) as s:
        person_id = s.scalar(select(Person.id).where(Person.pseudonym == "P0002"))
        study_id = get_study(s).id
    _raw(
        trial,
        "INSERT INTO person_attribute (study_id, person_id, name, value) VALUES (:s, :p, 'smoker', 'yes')",
        s=study_id,
        p=person_id,
    )
    _raw(
        trial,
        "UPDATE person_identity SET birth_date = :d WHERE person_id = :p",
        d=dt.date(1970, 1, 1),
        p=person_id,
    )
    report = verify_chain(trial)
    kinds = {(d.table, d.field, d.kind) for d in report.discrepancies}
    assert ("person_attribute", None, "unrecorded") in kinds
    assert ("person_identity", "birth_date", "changed") in kinds
    described = " ".join(d.describe() for d in report.discrepancies)
    assert "1970" not in described and "<redacted:" in described
    assert study_id  # the study row itself is untouched


def test_the_database_refuses_to_change_or_delete_audit_events(trial, backend):
    with pytest.raises(DBAPIError, match="audit events cannot be"):
        _raw(trial, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 1")
    with pytest.raises(DBAPIError, match="audit events cannot be"):
        _raw(trial, "DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)")
    if backend == "postgresql":
        with pytest.raises(DBAPIError, match="audit events cannot be"):
            _raw(trial, "TRUNCATE audit_event")
    assert verify_chain(trial).intact


def test_deleting_the_last_20_events_is_detected(trial):
    anchors = parse_anchors(format_anchor(current_anchor(trial)), "mail")
    _as_owner(trial, "DELETE FROM audit_event WHERE seq > (SELECT MAX(seq) - 20 FROM audit_event)")
    report = verify_chain(trial, anchors=anchors)
    assert report.discrepancies, "the rows the cut events described are no longer covered"
    assert report.anchor_problems and "cut off" in report.anchor_problems[0]


def test_a_cut_tail_that_takes_its_rows_along_is_caught_by_an_anchor(trial):
    with unit_of_work(trial, ACTOR) as s:
        add_person(
            s,
            get_study(s),
            "P0099",
            "participant",
            "CPH",
            identity=Identity(full_name="Late Entry"),
            attributes={"gender": "male"},
        )
    anchor = current_anchor(trial)
    with read_session(trial) as s:
        person_id = s.scalar(select(Person.id).where(Person.pseudonym == "P0099"))
    _raw(trial, "DELETE FROM person_attribute WHERE person_id = :p", p=person_id)
    _raw(trial, "DELETE FROM person_identity WHERE person_id = :p", p=person_id)
    _raw(trial, "DELETE FROM person WHERE id = :p", p=person_id)
    _as_owner(trial, "DELETE FROM audit_event WHERE seq > :s", s=anchor.seq - 3)
    assert verify_chain(trial).intact  # consistent without the anchor: that is what anchors are for
    report = verify_chain(trial, anchors=[anchor])
    assert not report.intact and "cut off" in report.anchor_problems[0]


def test_a_chain_rewritten_without_the_key_fails_verification(trial):
    alloc = _allocation(trial)
    other = "CTL" if alloc.arm == "INT" else "INT"
    with read_session(trial) as s:
        columns = [AuditEvent.__table__.c[n] for n in CHAIN_FIELDS if n not in ("seq", "prev_hash")]
        events = [
            dict(r) for r in s.execute(select(AuditEvent.id, *columns).order_by(AuditEvent.seq)).mappings()
        ]
    for event in events:  # the allocation's insert event now says the other arm
        if event["table_name"] == "allocation" and event["row_id"] == str(alloc.id):
            event["new_value"] = event["new_value"].replace(f'"arm": "{alloc.arm}"', f'"arm": "{other}"')
    forged = chain_events(events, last_seq=0, last_hash=GENESIS_HASH, key=b"a guess at the key......")
    with trial.begin() as conn, suspended_audit_guard(conn):
        conn.execute(text("UPDATE allocation SET arm = :a WHERE id = :id"), {"a": other, "id": alloc.id})
        for row in forged:
            conn.execute(
                text("UPDATE audit_event SET new_value = :v, prev_hash = :p, hash = :h WHERE id = :id"),
                {"v": row["new_value"], "p": row["prev_hash"], "h": row["hash"], "id": row["id"]},
            )
    report = verify_chain(trial)
    assert report.broken_seq == 1 and "keyed hash" in report.problem


def test_writing_with_another_key_is_refused(trial, tmp_path, monkeypatch):
    other = tmp_path / "other.key"
    create_key(other)
    monkeypatch.setenv("PEERSTUDY_AUDIT_KEY", str(other))
    with pytest.raises(NotAllowed, match="does not match this database's audit chain"):
        with unit_of_work(trial, ACTOR) as s:
            add_person(s, get_study(s), "P0100", "participant", "CPH")
    assert not verify_chain(trial, load_key(other)).intact


def test_key_file_is_private_and_created_once(tmp_path):
    path = tmp_path / "keys" / "study.key"
    assert create_key(path) is True
    first = path.read_text()
    assert create_key(path) is False and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(load_key(path)) == 32
    os.chmod(path, 0o644)
    with pytest.raises(NotAllowed, match="chmod 600"):
        load_key(path)
    with pytest.raises(NotAllowed, match="no audit key"):
        load_key(tmp_path / "missing.key")


def test_chaining_a_batch_at_once_equals_chaining_one_by_one():
    key = b"k" * 32
    base = dict(
        study_id=1,
        person_id=None,
        occurred_at="2026-01-01T00:00:00.000000+00:00",
        actor="a",
        action="insert",
        table_name="person",
        field=None,
        old_value=None,
        reason=None,
    )
    events = [dict(base, row_id=str(i), new_value=json.dumps({"id": i})) for i in range(1, 6)]
    batch = chain_events(events, last_seq=10, last_hash="a" * 64, key=key)
    seq, prev, one_by_one = 10, "a" * 64, []
    for event in events:
        (row,) = chain_events([event], last_seq=seq, last_hash=prev, key=key)
        seq, prev = row["seq"], row["hash"]
        one_by_one.append(row)
    assert batch == one_by_one and [r["seq"] for r in batch] == [11, 12, 13, 14, 15]
    assert batch[0]["prev_hash"] == "a" * 64 and batch[1]["prev_hash"] == batch[0]["hash"]
    assert event_hash(batch[2], key) == batch[2]["hash"] != event_hash(batch[2], b"x" * 32)


def _legacy_hash(row) -> str:
    content = [row[n] for n in CHAIN_FIELDS]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def test_upgrade_converts_an_unkeyed_chain_after_verifying_it(db_factory):
    from alembic import command

    from study.db import make_engine
    from study.db.schema import alembic_config, upgrade

    engine = make_engine(db_factory.new_url())
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0007")
    prev, rows = GENESIS_HASH, []
    for seq in (1, 2):
        row = dict(
            seq=seq,
            study_id=None,
            person_id=None,
            occurred_at=f"2026-01-01T00:00:0{seq}.000000+00:00",
            actor="old",
            action="insert",
            table_name="legacy",
            row_id=str(seq),
            field=None,
            old_value=None,
            new_value="{}",
            reason=None,
            prev_hash=prev,
        )
        row["hash"] = prev = _legacy_hash(row)
        rows.append(row)
    with engine.begin() as conn:
        for row in rows:
            conn.execute(
                AuditEvent.__table__.insert(),
                [dict(row, occurred_at=dt.datetime.fromisoformat(row["occurred_at"]))],
            )
    upgrade(engine)
    report = verify_chain(engine, check_data=False)
    assert report.intact and report.events == 2 and report.head_hash != rows[-1]["hash"]
    engine.dispose()


def test_anchor_lines_are_found_in_any_text_and_malformed_files_are_refused():
    line = "peerstudy-anchor seq=12 hash=" + "ab" * 32 + " at=2026-01-01T00:00:00Z db=sqlite:///x.db"
    (anchor,) = parse_anchors(f"Hello,\n\nthe anchor:\n  {line}\n\nRegards", "mail.txt")
    assert (anchor.seq, anchor.hash, anchor.database) == (12, "ab" * 32, "sqlite:///x.db")
    with pytest.raises(Exception, match="mail.txt: no 'peerstudy-anchor"):
        parse_anchors("nothing here", "mail.txt")


def test_a_column_set_on_update_by_the_model_is_recorded_and_verifies(trial):
    """survey_draft.updated_at is set by SQLAlchemy on every update (onupdate): the trail
    must record it, or every saved draft would look changed behind the application's back."""
    from questionnaires.definitions import shipped_instruments
    from questionnaires.drafts import save_draft_item
    from study.people import person_by_pseudonym

    who5 = shipped_instruments()["who5"]
    for value in (3, 4):
        with unit_of_work(trial, ACTOR) as s:
            study = get_study(s)
            person = person_by_pseudonym(s, study, "P0002")
            save_draft_item(s, study, person, "post", who5, who5.item_ids[0], value)
    report = verify_chain(trial)
    assert report.intact, [d.describe() for d in report.discrepancies]


def test_compare_table_treats_unrecorded_fields_as_null_unless_the_database_fills_them():
    from study.audit_replay import compare_table

    trail = {"1": {"id": "1", "note": None}, "2": {"id": "2"}}
    database = [
        ("1", {"id": "1", "note": None, "stamp": "x"}),
        ("2", {"id": "2", "note": "set by SQL", "stamp": "y"}),
    ]
    found = compare_table("t", trail, database, defaulted=frozenset({"stamp"}))
    assert [(d.row_id, d.field, d.kind) for d in found] == [("2", "note", "changed")]


def test_the_anchor_log_checks_a_rebuilt_database_only_against_its_own_anchors(tmp_path, monkeypatch):
    """`make demo` rebuilds the demo database at the same path: the anchors the old database
    left in the log must not fail `check` on the new one, while every anchor of the new
    chain still does its job."""
    from typer.testing import CliRunner

    from study.audit_anchor import logged_anchors, record_anchor
    from study.cli import app
    from study.db import make_engine

    monkeypatch.setenv("PEERSTUDY_ANCHOR_LOG", str(tmp_path / "anchors.log"))
    monkeypatch.setenv("PEERSTUDY_AUDIT_KEY", str(tmp_path / "audit.key"))
    url = f"sqlite:///{tmp_path / 'study.db'}"
    runner = CliRunner()

    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    engine = make_engine(url)
    old = record_anchor(engine)
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"study.db{suffix}").unlink(missing_ok=True)

    assert runner.invoke(app, ["init", "--db", url]).exit_code == 0  # a new chain at the same URL
    engine = make_engine(url)
    assert logged_anchors(engine) == []
    assert verify_chain(engine, anchors=logged_anchors(engine)).intact
    new = record_anchor(engine)
    assert logged_anchors(engine) == [new] and new.hash != old.hash
    # Without the mark the old database's anchor would be taken for this chain's and fail it
    log = tmp_path / "anchors.log"
    log.write_text("\n".join(l for l in log.read_text().splitlines() if "new-chain" not in l) + "\n")
    assert not verify_chain(engine, anchors=logged_anchors(engine)).intact
    engine.dispose()

"""Audited bulk writes (study.bulk_write) on SQLite and PostgreSQL: the same audit events as the
ORM capture, a trail that verifies, the text guard, idempotent re-imports and atomicity."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from questionnaires.capture import import_questionnaires, read_questionnaire_csv
from study.audit import verify_chain
from study.audit_chain import CHAIN_FIELDS, chain_columns, row_json, row_jsons
from study.bulk_write import RowUpdate, insert_columns, insert_rows, orm_writes, update_rows
from study.config import example_config_path, load_config
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent, Person, PersonAttribute, QuestionnaireResponse
from study.enrolment_import import import_participants, read_participants_csv
from study.errors import BadInput, NotAllowed
from study.phases import start_phase
from study.studies import create_study, get_study, site_by_code

ACTOR = "test"
TODAY = dt.date(2026, 6, 1)

PARTICIPANTS = """pseudonym,site,role,birth_date,municipality,screened_on,consent_on,exclusions,gender
P001,CPH,participant,1980-02-03,København,2025-09-01,2025-09-01,,female
P002,HEL,participant,2010-05-06,Helsingør,2025-09-02,,,M
P003,FRE,participant,,Odense,2025-09-03,2025-09-04,,other
L001,CPH,group_leader,1990-01-01,København,2025-09-01,,violence_conviction,
"""
CORRECTED = PARTICIPANTS.replace(
    "1980-02-03,København,2025-09-01,2025-09-01,,female",
    "1981-02-03,Frederiksberg,2025-09-01,2025-09-02,,male",
)
QUESTIONNAIRES = """pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5,ucla3_1,ucla3_2,ucla3_3
P001,baseline,2025-09-03,5,4,3,2,1,1,2,3
P003,baseline,2025-09-05,3,3,3,3,-9,,,
P001,post,2025-12-10,5,5,5,5,5,1,1,1
"""
QUESTIONNAIRES_CORRECTED = QUESTIONNAIRES.replace(
    "P001,post,2025-12-10,5,5,5,5,5", "P001,post,2025-12-11,5,4,5,5,5"
)


def _study(engine) -> None:
    path = example_config_path()
    with unit_of_work(engine, ACTOR) as s:
        study = create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        start_phase(s, study, "rct", ACTOR, at=dt.datetime(2025, 8, 1, tzinfo=dt.UTC))


def _participants(engine, text: str) -> None:
    with unit_of_work(engine, ACTOR, reason="import") as s:
        import_participants(s, get_study(s), read_participants_csv(io.StringIO(text)), today=TODAY)


def _questionnaires(engine, text: str) -> None:
    with unit_of_work(engine, ACTOR, reason="import") as s:
        import_questionnaires(s, get_study(s), read_questionnaire_csv(io.StringIO(text)), today=TODAY)


def _scenario(engine) -> None:
    """Participants and questionnaires imported, re-imported and corrected."""
    _study(engine)
    _participants(engine, PARTICIPANTS)
    _participants(engine, PARTICIPANTS)
    _participants(engine, CORRECTED)
    _questionnaires(engine, QUESTIONNAIRES)
    _questionnaires(engine, QUESTIONNAIRES)
    _questionnaires(engine, QUESTIONNAIRES_CORRECTED)


def _events(engine) -> list[tuple]:
    """Every event's content except its time, place in the chain and hash; insert events
    without ``created_at`` (the time of the write)."""
    with read_session(engine) as s:
        rows = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    out = []
    for e in rows:
        new_value = e.new_value
        if e.action == "insert" and new_value:
            row = json.loads(new_value)
            row.pop("created_at", None)
            new_value = json.dumps(row, sort_keys=True)
        out.append(
            (
                e.study_id,
                e.person_id,
                e.actor,
                e.action,
                e.table_name,
                e.row_id,
                e.field,
                e.old_value,
                new_value,
                e.reason,
            )
        )
    return out


@pytest.fixture
def two_databases(db_factory):
    engines = [db_factory.new_engine(), db_factory.new_engine()]
    yield engines
    for engine in engines:
        engine.dispose()


def test_bulk_events_equal_the_orm_capture_and_verify(two_databases):
    orm_db, bulk_db = two_databases
    with orm_writes():
        _scenario(orm_db)
    _scenario(bulk_db)
    orm_events, bulk_events = _events(orm_db), _events(bulk_db)
    assert sorted(bulk_events, key=repr) == sorted(orm_events, key=repr)
    # the batch wrote what the scenario implies: people, identities (redacted), updates
    tables = {e[4] for e in bulk_events if e[3] == "insert"}
    assert {"person", "person_identity", "person_attribute", "enrolment", "questionnaire_response"} <= tables
    births = [e for e in bulk_events if e[4] == "person_identity" and e[6] == "birth_date"]
    assert births and all(e[7].startswith("<redacted:") and e[8].startswith("<redacted:") for e in births)
    assert not any("1980-02-03" in (e[8] or "") or "1981-02-03" in (e[8] or "") for e in bulk_events)
    updates = {(e[4], e[6]) for e in bulk_events if e[3] == "update"}
    assert {
        ("enrolment", "municipality"),
        ("enrolment", "consent_on"),
        ("person_attribute", "value"),
        ("questionnaire_response", "item_values"),
        ("questionnaire_response", "completed_on"),
    } <= updates
    for engine in (orm_db, bulk_db):
        assert verify_chain(engine).intact


def test_reimport_writes_nothing(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        start_phase(s, get_study(s), "rct", ACTOR)
    _participants(study_db, PARTICIPANTS)
    _questionnaires(study_db, QUESTIONNAIRES)
    with read_session(study_db) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    _participants(study_db, PARTICIPANTS)
    _questionnaires(study_db, QUESTIONNAIRES)
    with read_session(study_db) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
        assert s.scalar(select(func.count()).select_from(QuestionnaireResponse)) == 5
    assert verify_chain(study_db).intact


def test_a_failure_after_a_bulk_write_leaves_nothing(study_db):
    with read_session(study_db) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(RuntimeError), unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        site = site_by_code(s, study, "CPH")
        insert_rows(
            s,
            Person,
            [
                dict(study_id=study.id, pseudonym=f"X{k}", role="participant", site_id=site.id)
                for k in range(50)
            ],
        )
        raise RuntimeError("the process dies here")
    with read_session(study_db) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert verify_chain(study_db).intact


def test_bulk_writes_keep_the_text_guard(study_db):
    with pytest.raises(BadInput, match=r"person\.pseudonym is 65 characters long, at most 64"):
        with unit_of_work(study_db, ACTOR) as s:
            study = get_study(s)
            site = site_by_code(s, study, "CPH")
            insert_rows(
                s, Person, [dict(study_id=study.id, pseudonym="P" * 65, role="participant", site_id=site.id)]
            )
    with pytest.raises(BadInput, match="NUL"):
        with unit_of_work(study_db, ACTOR) as s:
            study = get_study(s)
            site = site_by_code(s, study, "CPH")
            (person_id,) = insert_rows(
                s, Person, [dict(study_id=study.id, pseudonym="P1", role="participant", site_id=site.id)]
            )
            (attribute_id,) = insert_rows(
                s,
                PersonAttribute,
                [dict(study_id=study.id, person_id=person_id, name="gender", value="female")],
            )
            update_rows(
                s,
                PersonAttribute,
                [RowUpdate(attribute_id, {"value": "female"}, {"value": "f\x00"}, study.id, person_id)],
            )
    with read_session(study_db) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0


def test_bulk_updates_of_rows_written_once_are_refused(study_db):
    from study.db.models import Allocation

    with pytest.raises(NotAllowed, match="cannot be changed"), unit_of_work(study_db, ACTOR) as s:
        update_rows(s, Allocation, [RowUpdate(1, {"arm": "a"}, {"arm": "b"}, 1, 1)])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "a": st.one_of(st.none(), st.text()),
                "b%": st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)))),
                "id": st.integers().map(str),
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_row_jsons_equals_row_json(rows):
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    assert row_jsons(columns) == [row_json(row) for row in rows]


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
_CHAIN_VALUE = st.one_of(st.none(), _TEXT, st.integers(-(2**70), 2**70), st.booleans())


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {name: _CHAIN_VALUE for name in CHAIN_FIELDS if name not in ("seq", "prev_hash")}
        ),
        min_size=1,
        max_size=6,
    ),
    _TEXT,
)
def test_chain_columns_equal_the_keyed_hash_of_each_event(events, last_hash):
    # The reference: HMAC-SHA256 of each event's canonical JSON, chained one by one.
    key = b"k" * 32
    columns = {name: [event[name] for event in events] for name in events[0]}
    seqs, prev_hashes, hashes = chain_columns(columns, last_seq=41, last_hash=last_hash, key=key)
    prev = last_hash
    for k, event in enumerate(events):
        content = [{**event, "seq": 42 + k, "prev_hash": prev}[name] for name in CHAIN_FIELDS]
        canonical = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        expected = hmac.new(key, canonical, hashlib.sha256).hexdigest()
        assert (seqs[k], prev_hashes[k], hashes[k]) == (42 + k, prev, expected)
        prev = expected


def test_bulk_rows_keep_every_character_on_both_databases(study_db):
    # COPY's text format escapes \\, tab, line breaks, backspace, form and vertical feed; a
    # row written in bulk reads back exactly, and its insert event verifies.
    awkward = 'a\\b\tc\nd\re\bf\fg\vh \\N %s%% "q" æøå \u2028 \U0001f600'
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        site = site_by_code(s, study, "CPH")
        (person_id,) = insert_columns(
            s,
            Person,
            {"study_id": [study.id], "pseudonym": ["P1"], "role": ["participant"], "site_id": [site.id]},
        )
        ids = insert_columns(
            s,
            PersonAttribute,
            {
                "study_id": [study.id] * 2,
                "person_id": [person_id] * 2,
                "name": ["note", "empty"],
                "value": [awkward, ""],
            },
        )
    with read_session(study_db) as s:
        stored = {
            a.name: a.value for a in s.scalars(select(PersonAttribute).where(PersonAttribute.id.in_(ids)))
        }
    assert stored == {"note": awkward, "empty": ""}
    assert verify_chain(study_db).intact


def test_insert_columns_writes_what_insert_rows_writes(two_databases):
    rows = [dict(pseudonym=f"P{k}", role="participant") for k in range(4)]
    for engine, columnwise in zip(two_databases, (False, True)):
        _study(engine)
        with unit_of_work(engine, ACTOR) as s:
            study = get_study(s)
            site_id = site_by_code(s, study, "CPH").id
            given = [dict(row, study_id=study.id, site_id=site_id) for row in rows]
            if columnwise:
                insert_columns(s, Person, {name: [row[name] for row in given] for name in given[0]})
            else:
                insert_rows(s, Person, given)
    people = [[e for e in _events(engine) if e[4] == "person"] for engine in two_databases]
    assert people[0] == people[1] and len(people[0]) == 4


ATTENDANCE = """group,week,pseudonym,status
CPH-P1,1,P-CPH-1,present
CPH-P1,1,P-CPH-2,absent
CPH-P1,2,P-CPH-1,present
HEL-P1,1,,cancelled
"""


def _attendance(engine, text: str) -> None:
    from study.fidelity.attendance_import import import_attendance

    with unit_of_work(engine, ACTOR, reason="attendance") as s:
        import_attendance(s, get_study(s), io.StringIO(text), today=dt.date(2027, 1, 1))


def test_bulk_attendance_events_equal_the_orm_capture(two_databases):
    from fidelity_helpers import pilot_with_groups

    def scenario(engine) -> None:
        path = example_config_path()
        with unit_of_work(engine, ACTOR) as s:
            create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        pilot_with_groups(engine)
        _attendance(engine, ATTENDANCE)
        _attendance(engine, ATTENDANCE)
        _attendance(engine, ATTENDANCE.replace("P-CPH-2,absent", "P-CPH-2,present"))

    orm_db, bulk_db = two_databases
    with orm_writes():
        scenario(orm_db)
    scenario(bulk_db)
    orm_events = [e for e in _events(orm_db) if e[4] == "attendance"]
    bulk_events = [e for e in _events(bulk_db) if e[4] == "attendance"]
    assert sorted(bulk_events, key=repr) == sorted(orm_events, key=repr)
    assert [e[3] for e in bulk_events].count("insert") == 3 and [e[3] for e in bulk_events].count(
        "update"
    ) == 1
    assert verify_chain(bulk_db).intact

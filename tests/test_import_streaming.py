"""The fidelity, attendance, contacts and profiles imports: streamed and bounded (a bad file
stops after 50 problems, ``--all-errors`` lists every one), and the fidelity and contacts
imports written in audited bulk writes with the same events as the ORM (both databases)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from fidelity_helpers import observation, pilot_with_groups
from sqlalchemy import func, select
from typer.testing import CliRunner

from study.audit import verify_chain
from study.bulk_write import orm_writes
from study.cli import app
from study.companionship.contacts_import import import_contacts
from study.companionship.profiles import ProfileInput, set_profile
from study.companionship.profiles_import import import_profiles
from study.companionship.relationships import confirm_match
from study.config import example_config_path, load_config
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent
from study.errors import RowErrors
from study.fidelity.observation_import import import_observations
from study.studies import create_study, get_study
from tests.test_bulk_write import _events, two_databases  # noqa: F401  (fixture)
from tests.test_companionship import _buddy, _person

runner = CliRunner()
ACTOR = "test"
FIDELITY_TODAY = dt.date(2025, 6, 1)
CONTACTS_TODAY = dt.date(2025, 12, 1)
#: A valid header of each streamed import and a junk row (a problem in most cells).
JUNK = {
    "fidelity": ("group,week,observer,observed_on,kind,item,value", "G{k},x,K,2025-13-01,kindx,i,v"),
    "attendance": ("group,week,pseudonym,status", "G{k},x,P{k},maybe"),
    "contacts": ("recipient,buddy,contact_on,activity,minutes,note", "R{k},B{k},soon,walk,many,"),
    "profiles": ("pseudonym,area,availability", "Z{k},area,mon_pm"),
}


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _problem_lines(output: str, path) -> list[str]:
    return [line for line in output.splitlines() if re.match(rf"^  {re.escape(str(path))}: row \d+, ", line)]


def _new_study(engine) -> None:
    path = example_config_path()
    with unit_of_work(engine, ACTOR) as s:
        create_study(s, load_config(path), path.read_text(encoding="utf-8"))


@pytest.fixture
def pilot(study_db):
    pilot_with_groups(study_db)
    return study_db


@pytest.mark.parametrize("kind", list(JUNK))
def test_a_bad_file_stops_after_fifty_problems(pilot, tmp_path, kind):
    # 1,500 rows span two chunks; every row has at least one problem.
    header, junk = JUNK[kind]
    rows = 1_500
    path = tmp_path / f"{kind}.csv"
    path.write_text(header + "\n" + "".join(junk.format(k=k) + "\n" for k in range(rows)), encoding="utf-8")
    with read_session(pilot) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    result = runner.invoke(app, ["import", kind, str(path), "--db", _url(pilot)])
    assert result.exit_code == 2, result.output
    lines = _problem_lines(result.output, path)
    assert len(lines) == 50
    last_row = int(re.search(r"row (\d+),", lines[-1]).group(1))
    assert f"50 errors shown, {rows + 1 - last_row} more rows not checked" in result.output
    rows_seen = {int(re.search(r"row (\d+),", line).group(1)) for line in lines}
    assert rows_seen == set(range(2, last_row + 1))  # the first rows' problems, in order

    every = runner.invoke(app, ["import", kind, str(path), "--all-errors", "--db", _url(pilot)])
    assert every.exit_code == 2
    every_lines = _problem_lines(every.output, path)
    assert {int(re.search(r"row (\d+),", line).group(1)) for line in every_lines} == set(range(2, rows + 2))
    assert every_lines[:50] == lines
    assert "not checked" not in every.output and "more not shown" not in every.output
    with read_session(pilot) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_observations_across_chunks_and_a_late_repeat(pilot):
    # 100 observations of about 13 rows each: the first chunk (1,000 rows) ends inside one.
    text = _fidelity_csv(*(observation(observer=f"K{k:03d}") for k in range(100)))
    rows = text.count("\n") - 1
    assert rows > 1_000
    summary = _import_fidelity(pilot, text)
    assert (summary.rows, summary.created, summary.unchanged) == (rows, 100, 0)
    # Under the limit the whole file is checked: a repeat of row 2 at the end is found.
    repeat = text + text.splitlines()[1] + "\n"
    with pytest.raises(RowErrors) as err:
        _import_fidelity(pilot, repeat)
    assert [(p.row, p.column) for p in err.value.problems] == [(rows + 2, "item")]
    assert "already given in row 2" in err.value.problems[0].reason and err.value.unchecked_rows is None


# --- bulk writes: the same audit events as the ORM --------------------------------------------
def _fidelity_csv(*observations, notes: str = "calm session") -> str:
    rows = ["group,week,observer,observed_on,kind,item,value"]
    for obs in observations:
        base = f"{obs.group},{obs.week},{obs.observer},{obs.observed_on.isoformat()}"
        rows += [f"{base},component,{c},{'NA' if v is None else v}" for c, v in obs.components.items()]
        rows += [f"{base},competence,{c},{v}" for c, v in obs.competence.items()]
        rows += [f"{base},session,minutes,{obs.minutes}", f"{base},session,notes,{notes}"]
    return "\n".join(rows) + "\n"


def _import_fidelity(engine, text: str):
    with unit_of_work(engine, ACTOR, reason="import fidelity") as s:
        return import_observations(s, get_study(s), io.StringIO(text), ACTOR, today=FIDELITY_TODAY)


def test_bulk_fidelity_events_equal_the_orm_capture(two_databases):
    first = _fidelity_csv(observation(), observation(observer="E01", score=1), observation("HEL-P1", 5))
    fewer = dict(observation().competence)
    dropped = next(iter(fewer))
    del fewer[dropped]
    corrected = _fidelity_csv(
        observation(score=1, minutes=100, competence=fewer),  # scores, minutes, a rating removed
        observation(observer="E01", score=1),
        observation("HEL-P1", 5),
        notes="tense session",
    )

    def scenario(engine) -> list[tuple[int, int, int]]:
        _new_study(engine)
        pilot_with_groups(engine)
        summaries = [_import_fidelity(engine, text) for text in (first, first, corrected)]
        return [(x.created, x.corrected, x.unchanged) for x in summaries]

    orm_db, bulk_db = two_databases
    with orm_writes():
        orm_counts = scenario(orm_db)
    bulk_counts = scenario(bulk_db)
    assert orm_counts == bulk_counts == [(3, 0, 0), (0, 0, 3), (0, 3, 0)]
    tables = ("fidelity_observation", "component_rating", "competence_rating")
    orm_events = [e for e in _events(orm_db) if e[4] in tables]
    bulk_events = [e for e in _events(bulk_db) if e[4] in tables]
    assert sorted(bulk_events, key=repr) == sorted(orm_events, key=repr)
    actions = {(e[4], e[3], e[6]) for e in bulk_events}
    assert {
        ("fidelity_observation", "insert", None),
        ("fidelity_observation", "update", "minutes"),
        ("fidelity_observation", "update", "notes"),
        ("component_rating", "update", "score"),
        ("competence_rating", "delete", None),
    } <= actions
    assert verify_chain(bulk_db).intact


def _matched(engine) -> None:
    """R1 and B1 matched from 1 October 2025 (as tests/test_companionship.py sets them up)."""
    _new_study(engine)
    with unit_of_work(engine, ACTOR) as s:
        st = get_study(s)
        r1 = _person(s, st, "R1", "participant", "CPH", 35, "female", "København")
        set_profile(
            s,
            st,
            r1,
            ProfileInput(area="Nørrebro", wishes=["walks"], availability=["mon_pm"], home_visits="wanted"),
            waiting_since=dt.date(2025, 9, 1),
            today=CONTACTS_TODAY,
        )
        b1 = _buddy(
            s,
            st,
            "B1",
            "CPH",
            33,
            "female",
            "København",
            ProfileInput(area="Nørrebro", wishes=["walks"], availability=["mon_pm"]),
        )
        confirm_match(s, st, r1, b1, dt.date(2025, 10, 1), ACTOR, today=CONTACTS_TODAY)


def test_bulk_contacts_events_equal_the_orm_capture(two_databases):
    log = "recipient,buddy,contact_on,activity,minutes,note\nr1,B1,2025-10-03,walk,90,\nR1,b1,2025-10-10,phone,15,call\n"
    grown = log + "R1,B1,2025-10-10,phone,15,call\nR1,B1,2025-10-17,walk,60,\n"

    def scenario(engine) -> list[tuple[int, int]]:
        _matched(engine)
        out = []
        for text in (log, log, grown):
            with unit_of_work(engine, ACTOR, reason="import contacts") as s:
                summary = import_contacts(s, get_study(s), io.StringIO(text), today=CONTACTS_TODAY)
            out.append((summary.created, summary.unchanged))
        return out

    orm_db, bulk_db = two_databases
    with orm_writes():
        orm_counts = scenario(orm_db)
    bulk_counts = scenario(bulk_db)
    assert orm_counts == bulk_counts == [(2, 0), (0, 2), (2, 2)]
    orm_events = [e for e in _events(orm_db) if e[4] == "match_contact"]
    bulk_events = [e for e in _events(bulk_db) if e[4] == "match_contact"]
    assert sorted(bulk_events, key=repr) == sorted(orm_events, key=repr)
    assert [e[3] for e in bulk_events] == ["insert"] * 4 and all(e[1] is not None for e in bulk_events)
    assert verify_chain(bulk_db).intact


def test_bulk_profiles_events_equal_the_orm_capture(two_databases):
    first = (
        "pseudonym,area,availability,wishes,same_diagnosis,diagnosis,since\n"
        "r1,Amager,mon_pm;thu_eve,walks,yes,F31,2025-09-01\n"
        "B7,Valby,tue_am,walks;talks,,,\n"
    )
    corrected = first.replace("Amager", "Christianshavn").replace("F31", "F32")

    def scenario(engine) -> list[tuple[int, int, int]]:
        _new_study(engine)
        with unit_of_work(engine, ACTOR) as s:
            st = get_study(s)
            _person(s, st, "R1", "participant", "CPH", 35, "female", "København")
            _person(s, st, "B7", "peer_buddy", "CPH", 40, "male", "København")
        out = []
        for text in (first, first, corrected):
            with unit_of_work(engine, ACTOR, reason="import profiles") as s:
                summary = import_profiles(s, get_study(s), io.StringIO(text), today=CONTACTS_TODAY)
            out.append((summary.created, summary.corrected, summary.unchanged))
        return out

    orm_db, bulk_db = two_databases
    with orm_writes():
        orm_counts = scenario(orm_db)
    bulk_counts = scenario(bulk_db)
    assert orm_counts == bulk_counts == [(2, 0, 0), (0, 0, 2), (0, 1, 1)]
    tables = ("companion_profile", "waitlist_entry")
    orm_events = [e for e in _events(orm_db) if e[4] in tables]
    bulk_events = [e for e in _events(bulk_db) if e[4] in tables]
    assert sorted(bulk_events, key=repr) == sorted(orm_events, key=repr)
    assert [(e[4], e[3]) for e in bulk_events].count(("waitlist_entry", "insert")) == 2
    diagnosis = [e for e in bulk_events if e[4] == "companion_profile" and e[6] == "diagnosis"]
    assert diagnosis and all(e[7].startswith("<redacted:") for e in diagnosis)
    assert not any("F31" in (e[8] or "") or "F32" in (e[8] or "") for e in bulk_events)
    assert verify_chain(bulk_db).intact

"""Hostile files against every import, on SQLite and PostgreSQL (issue 15, cases 1–4 and
6–9): each gets a row/column error and exit code 2, and nothing is written."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from fidelity_helpers import ACTOR, TODAY, counts, observation, pilot_with_groups
from rct_fixtures import make_rct_study
from sqlalchemy import select
from typer.testing import CliRunner

from questionnaires.capture import import_questionnaires, read_questionnaire_csv
from study.cli import app
from study.db import read_session, unit_of_work
from study.db.models import Attendance, AuditEvent, FidelityObservation, Person, PersonAttribute
from study.errors import RowErrors
from study.fidelity.attendance_import import import_attendance
from study.fidelity.observation_import import FIDELITY_COLUMNS, import_observations
from study.people import add_person, enrol
from study.studies import get_study

runner = CliRunner()
HEADER = "pseudonym,site,role,birth_date,municipality,screened_on,consent_on,exclusions,gender\n"
GOOD_ROW = "P0001,CPH,participant,1990-02-03,København,2025-08-10,2025-08-12,,female"


def _run(engine, *args):
    return runner.invoke(app, [*args, "--db", engine.url.render_as_string(hide_password=False)])


def _participants(tmp_path, *rows, header=HEADER, sep=","):
    path = tmp_path / "participants.csv"
    path.write_text((header + "\n".join(rows) + "\n").replace(",", sep), encoding="utf-8")
    return path


def _refused(result, row: int, column: str) -> str:
    """The CLI refused the file with exit code 2 and a line naming the row and column."""
    assert result.exit_code == 2, result.output
    assert f"row {row}, column '{column}'" in result.output, result.output
    assert "Traceback" not in result.output
    return result.output


# --- participants (cases 1, 2, 3, 8, 9) ------------------------------------------------------
def test_unpadded_date_is_a_row_and_column_error(db, tmp_path):
    make_rct_study(db)
    row = GOOD_ROW.replace("2025-08-10", "2025-8-3")
    out = _refused(_run(db, "import", "participants", str(_participants(tmp_path, row))), 2, "screened_on")
    assert "YYYY-MM-DD" in out
    assert counts(db, Person) == (0,)


@pytest.mark.parametrize(
    "column,value",
    [
        ("municipality", "K" * 300),
        ("municipality", "Køben\x00havn"),
        ("gender", "f" * 253),  # would crash every randomise on PostgreSQL as part of the stratum
        ("pseudonym", "P" * 70),
    ],
)
def test_overlong_and_nul_cells_are_refused_on_both_databases(db, tmp_path, column, value):
    make_rct_study(db)
    cells = dict(zip(HEADER.strip().split(","), GOOD_ROW.split(",")))
    cells[column] = value
    events = counts(db, AuditEvent)
    result = _run(db, "import", "participants", str(_participants(tmp_path, ",".join(cells.values()))))
    _refused(result, 2, column)
    assert counts(db, Person) == (0,) and counts(db, AuditEvent) == events


def test_semicolon_separated_file_is_imported_with_a_note(db, tmp_path):
    make_rct_study(db)
    result = _run(db, "import", "participants", str(_participants(tmp_path, GOOD_ROW, sep=";")))
    assert result.exit_code == 0, result.output
    assert "';'-separated" in result.output and "1 added" in result.output


def test_cp1252_file_is_refused_with_save_as_utf8(db, tmp_path):
    make_rct_study(db)
    path = tmp_path / "participants.csv"
    path.write_bytes((HEADER + GOOD_ROW + "\n").encode("cp1252"))
    out = _refused(_run(db, "import", "participants", str(path)), 2, "municipality")
    assert "UTF-8" in out


def test_pseudonyms_are_case_insensitive(db, tmp_path):
    make_rct_study(db)
    assert _run(db, "import", "participants", str(_participants(tmp_path, GOOD_ROW))).exit_code == 0
    lower = _participants(tmp_path, GOOD_ROW.replace("P0001", " p0001"))
    result = _run(db, "import", "participants", str(lower))
    assert result.exit_code == 0 and "0 added" in result.output, result.output
    with read_session(db) as s:
        assert s.scalars(select(Person.pseudonym)).all() == ["P0001"]
    both = _participants(tmp_path, GOOD_ROW, GOOD_ROW.replace("P0001", "p0001"))
    _refused(_run(db, "import", "participants", str(both)), 3, "pseudonym")


def test_add_person_refuses_a_pseudonym_differing_only_in_case(study_db):
    from study.errors import BadInput

    with unit_of_work(study_db, ACTOR) as s:
        assert add_person(s, get_study(s), "p0009 ", "participant", "CPH").pseudonym == "P0009"
    with pytest.raises(BadInput, match="already used"), unit_of_work(study_db, ACTOR) as s:
        add_person(s, get_study(s), "P0009", "participant", "CPH")


# --- attendance (cases 4, 6, 7, 8) ----------------------------------------------------------
@pytest.fixture
def pilot(study_db):
    pilot_with_groups(study_db)
    return study_db


def _attendance(engine, text):
    with unit_of_work(engine, ACTOR) as s:
        return import_attendance(s, get_study(s), io.StringIO(text), today=TODAY)


@pytest.mark.parametrize(
    "rows,row,column",
    [
        ("CPH-P1,3,P-CPH-1,present\nCPH-P1,03,P-CPH-1,absent\n", 3, "pseudonym"),  # case 4
        ("CPH-P1,3,P-CPH-1,present\nCPH-P1,3,p-cph-1,absent\n", 3, "pseudonym"),
        ("CPH-P1,0_3,P-CPH-1,present\n", 2, "week"),
        ("CPH-P1,+3,P-CPH-1,present\n", 2, "week"),
        ("CPH-P1,3,P-CPH-1,present,1900-01-01\n", 2, "held_on"),  # case 6
        ("CPH-P1,3,P-CPH-1,present,20250217\n", 2, "held_on"),
        ("CPH-P1,3,P-CPH-1,present,2025-W08-1\n", 2, "held_on"),
    ],
)
def test_bad_attendance_rows_are_refused(pilot, rows, row, column):
    with pytest.raises(RowErrors) as err:
        _attendance(pilot, "group,week,pseudonym,status,held_on\n" + rows)
    assert (row, column) in {(p.row, p.column) for p in err.value.problems}, err.value
    assert counts(pilot, Attendance) == (0,)


def test_attendance_with_lower_case_pseudonym_and_padded_week_is_stored(pilot):
    summary = _attendance(pilot, "group,week,pseudonym,status\nCPH-P1,03,p-cph-1,present\n")
    assert summary.created == 1


@pytest.mark.parametrize("kind", ["attendance", "fidelity"])
def test_header_only_files_are_refused(pilot, kind):
    with pytest.raises(RowErrors, match="header but no rows"):
        if kind == "attendance":
            _attendance(pilot, "group,week,pseudonym,status\n")
        else:
            _fidelity(pilot, ",".join(FIDELITY_COLUMNS) + "\n")


# --- fidelity (cases 2, 6, 8) ----------------------------------------------------------------
def _fidelity(engine, text, today=TODAY):
    with unit_of_work(engine, ACTOR) as s:
        return import_observations(s, get_study(s), io.StringIO(text), ACTOR, today=today)


def _observation_csv(obs, observed_on=None, notes="calm session") -> str:
    base = [obs.group, obs.week, obs.observer, observed_on or obs.observed_on.isoformat()]
    rows = [base + ["component", c, v] for c, v in obs.components.items()]
    rows += [base + ["competence", c, v] for c, v in obs.competence.items()]
    rows += [base + ["session", "notes", notes]]
    return pd.DataFrame(rows, columns=list(FIDELITY_COLUMNS)).to_csv(index=False)


@pytest.mark.parametrize("observed_on", ["20250210", "2025-W07-1", "2025-2-10"])
def test_fidelity_dates_must_be_iso(pilot, observed_on):
    with pytest.raises(RowErrors) as err:
        _fidelity(pilot, _observation_csv(observation(), observed_on=observed_on))
    assert {p.column for p in err.value.problems} == {"observed_on"}


def test_fidelity_observation_after_the_group_ended_is_refused(pilot):
    with pytest.raises(RowErrors, match="outside the dates of group CPH-P1"):
        _fidelity(pilot, _observation_csv(observation(), observed_on="2025-09-01"), today=dt.date(2026, 1, 1))
    assert counts(pilot, FidelityObservation) == (0,)


def test_a_five_megabyte_note_is_refused_and_not_audited(pilot):
    events = counts(pilot, AuditEvent)
    with pytest.raises(RowErrors) as err:
        _fidelity(pilot, _observation_csv(observation(), notes="x" * 5_000_000))
    assert len(str(err.value)) < 1000
    assert counts(pilot, FidelityObservation) == (0,) and counts(pilot, AuditEvent) == events


# --- questionnaires (cases 7, 8, 9) ----------------------------------------------------------
@pytest.fixture
def people_db(study_db):
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        person = add_person(s, study, "P1", "participant", "CPH")
        enrol(s, study, person, dt.date(2025, 9, 1), "København", consent_on=dt.date(2025, 9, 1), phase="rct")
    return study_db


def _questionnaires(engine, text):
    with unit_of_work(engine, ACTOR) as s:
        return import_questionnaires(
            s,
            get_study(s),
            read_questionnaire_csv(io.StringIO(text)),
            source="q.csv",
            today=dt.date(2026, 6, 1),
        )


Q_HEADER = "pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5\n"


@pytest.mark.parametrize("value", ["1e0", "+2", "2.0", "0_3"])
def test_questionnaire_items_must_be_plain_whole_numbers(people_db, value):
    with pytest.raises(RowErrors) as err:
        _questionnaires(people_db, Q_HEADER + f"P1,baseline,2025-09-03,{value},1,1,1,1\n")
    assert [(p.row, p.column) for p in err.value.problems] == [(2, "who5_1")]


def test_questionnaire_header_only_is_refused(people_db):
    with pytest.raises(RowErrors, match="header but no rows"):
        _questionnaires(people_db, Q_HEADER)


def test_questionnaire_lower_case_pseudonym_is_the_same_person(people_db):
    summary = _questionnaires(people_db, Q_HEADER + "p1,baseline,2025-09-03,1,1,1,1,1\n")
    assert summary.responses_created == 1
    with read_session(people_db) as s:
        assert s.scalar(select(Person.pseudonym)) == "P1"
        assert s.scalar(select(PersonAttribute.id)) is None


# --- the same answer on both databases for text a column cannot hold --------------------------
@pytest.mark.parametrize("pseudonym,reason", [("P" * 65, "at most 64"), ("P\x00", "NUL")])
def test_text_a_column_cannot_hold_is_refused_alike(study_db, pseudonym, reason):
    from study.db.models import Person, Site
    from study.errors import BadInput

    events = counts(study_db, AuditEvent)
    with pytest.raises(BadInput, match=f"person.pseudonym .*{reason}"), unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        site = s.scalar(select(Site).where(Site.study_id == study.id))
        s.add(Person(study_id=study.id, pseudonym=pseudonym, role="participant", site_id=site.id))
        s.flush()
    assert counts(study_db, Person, AuditEvent) == (0, *events)

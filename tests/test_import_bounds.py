"""Streaming, bounded imports: a bad file stops after 50 problems with how many rows were not
checked; ``--all-errors`` checks and lists every row; the streamed reader gives the same
rows and errors as reading the whole file (no timing here: benchmarks/import_memory.py)."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from study.cli import app
from study.db import read_session, unit_of_work
from study.db.models import AuditEvent
from study.errors import RowErrors, RowProblem
from study.imports.bounded import ProblemCap
from study.imports.reading import CsvStream, read_csv_table
from study.phases import start_phase
from study.studies import get_study

runner = CliRunner()
Q_HEADER = "pseudonym,timepoint,completed_on,who5_1\n"
P_HEADER = "pseudonym,site,role,birth_date,municipality,screened_on,consent_on,exclusions,gender\n"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _problem_lines(output: str, path) -> list[str]:
    return [line for line in output.splitlines() if re.match(rf"^  {re.escape(str(path))}: row \d+, ", line)]


@pytest.fixture
def pilot_db(study_db):
    with unit_of_work(study_db, "test") as s:
        start_phase(s, get_study(s), "pilot", "test")
    return study_db


@pytest.mark.parametrize("rows", [300, 2_500])
def test_questionnaires_stop_after_fifty_problems(pilot_db, tmp_path, rows):
    # One problem per row (an unknown pseudonym); the 2,500-row file spans several chunks.
    path = tmp_path / "q.csv"
    path.write_text(
        Q_HEADER + "".join(f"Z{k},baseline,2025-09-03,3\n" for k in range(rows)), encoding="utf-8"
    )
    with read_session(pilot_db) as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    result = runner.invoke(app, ["import", "questionnaires", str(path), "--db", _url(pilot_db)])
    assert result.exit_code == 2, result.output
    lines = _problem_lines(result.output, path)
    assert len(lines) == 50 and "row 51, column 'pseudonym'" in lines[-1]
    assert f"50 errors shown, {rows - 50} more rows not checked" in result.output
    with read_session(pilot_db) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before

    every = runner.invoke(
        app, ["import", "questionnaires", str(path), "--all-errors", "--db", _url(pilot_db)]
    )
    assert every.exit_code == 2
    assert len(_problem_lines(every.output, path)) == rows
    assert "not checked" not in every.output and "more not shown" not in every.output


def test_participants_stop_after_fifty_problems(pilot_db, tmp_path):
    rows = 1_500
    path = tmp_path / "p.csv"
    path.write_text(
        P_HEADER
        + "".join(
            f"P{k},XXX,participant,1980-01-01,København,2025-09-01,2025-09-01,,female\n" for k in range(rows)
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "participants", str(path), "--db", _url(pilot_db)])
    assert result.exit_code == 2, result.output
    assert len(_problem_lines(result.output, path)) == 50
    assert f"50 errors shown, {rows - 50} more rows not checked" in result.output
    every = runner.invoke(app, ["import", "participants", str(path), "--all-errors", "--db", _url(pilot_db)])
    assert every.exit_code == 2
    assert len(_problem_lines(every.output, path)) == rows


def test_a_few_problems_are_all_listed_with_cross_row_ones(pilot_db, tmp_path):
    # Under the limit the whole file is checked: the duplicate across chunks is found too.
    body = "".join(
        f"P{k},CPH,participant,1980-01-01,København,2025-09-01,2025-09-01,,female\n" for k in range(1_200)
    )
    path = tmp_path / "p.csv"
    path.write_text(
        P_HEADER
        + body
        + "P5,CPH,participant,1980-01-01,København,2025-09-01,,,female\n"
        + "P9999,YYY,participant,1980-01-01,København,2025-09-01,,,female\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["import", "participants", str(path), "--db", _url(pilot_db)])
    assert result.exit_code == 2
    lines = _problem_lines(result.output, path)
    assert len(lines) == 2 and "duplicate" in lines[0] and "unknown site" in lines[1]
    assert "not checked" not in result.output


def test_a_duplicate_in_a_later_chunk_is_found(pilot_db, tmp_path):
    people = "".join(
        f"P{k},CPH,participant,1980-01-01,København,2025-09-01,2025-09-01,,female\n" for k in range(1_100)
    )
    (tmp_path / "p.csv").write_text(P_HEADER + people, encoding="utf-8")
    assert (
        runner.invoke(
            app, ["import", "participants", str(tmp_path / "p.csv"), "--db", _url(pilot_db)]
        ).exit_code
        == 0
    )
    rows = "".join(f"P{k},baseline,2025-09-03,3\n" for k in range(1_100)) + "P3,baseline,2025-09-04,4\n"
    path = tmp_path / "q.csv"
    path.write_text(Q_HEADER + rows, encoding="utf-8")
    result = runner.invoke(app, ["import", "questionnaires", str(path), "--db", _url(pilot_db)])
    assert result.exit_code == 2, result.output
    lines = _problem_lines(result.output, path)
    assert len(lines) == 1 and "row 1102" in lines[0] and "duplicate of row 5" in lines[0]


def test_the_stream_reads_what_the_whole_file_holds(tmp_path):
    # Quoted line breaks and blank lines across chunk boundaries, ';' as separator, a BOM.
    rows = [
        f'"P{k}";"a\nb{k}";{k}' if k % 7 == 0 else ("" if k % 11 == 0 else f"P{k};x{k};{k}")
        for k in range(3_000)
    ]
    text = "\ufeffpseudonym;note;value\n" + "\n".join(rows) + "\n"
    path = tmp_path / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    stream = CsvStream(path)
    chunks = list(stream.chunks(500))
    assert {len(c) for c in chunks[:-1]} == {500} and sum(
        len(c) for c in chunks
    ) == 3_000 - 3_000 // 11 + 3_000 // 77
    whole = read_csv_table(io.StringIO(text[1:])).frame
    streamed = read_csv_table(path).frame
    assert streamed.equals(whole)
    assert stream.delimiter == ";" and whole.loc[0, "note"] == "a\nb0"
    assert whole["line"].iloc[-1] == 3_001  # spreadsheet rows: blank lines count


def test_a_bad_byte_far_into_the_file_names_its_row(tmp_path):
    good = "".join(f"P{k},x\n" for k in range(200_000))  # more than the first megabyte read
    path = tmp_path / "f.csv"
    path.write_bytes(b"pseudonym,note\n" + good.encode() + b"P1,caf\xe9\n")
    with pytest.raises(RowErrors) as err:
        read_csv_table(path)
    assert err.value.problems[0].row == 200_002 and err.value.problems[0].column == "note"


def test_the_cap_counts_rows_after_the_fiftieth_problem(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a\n" + "".join(f"{k}\n" for k in range(120)), encoding="utf-8")
    stream = CsvStream(path)
    chunk = next(stream.chunks(100))
    cap = ProblemCap()
    cap.add([RowProblem(int(r), "a", "", "bad") for r in chunk["line"] for _ in range(2)])  # two per row
    assert cap.full
    err = cap.stopped(stream.source, chunk, stream)
    assert err.unchecked_rows == 121 - 26  # the 50th problem is on row 26; rows 27..121 remain
    assert "50 errors shown, 95 more rows not checked" in str(err)

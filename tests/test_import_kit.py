"""The shared import kit (study.imports): reading, strict cells, limits and keys; pure, no
database. The hostile files of issue 15 each get their row/column error here."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from study.errors import MAX_PROBLEMS_SHOWN, RowErrors, RowProblem
from study.imports import (
    cell_problems,
    duplicate_key_problems,
    format_notes,
    normalise_pseudonym,
    parse_date,
    parse_dates,
    parse_int,
    parse_ints,
    read_csv_table,
    read_table,
)


@pytest.fixture
def write(tmp_path):
    """Write bytes to a new file in tmp_path and return its path."""
    names = iter(range(100))

    def _write(data: bytes):
        path = tmp_path / f"f{next(names)}.csv"
        path.write_bytes(data)
        return path

    return _write


def _problem(err) -> RowProblem:
    assert len(err.value.problems) == 1, err.value.problems
    return err.value.problems[0]


@pytest.mark.parametrize(
    "text", ["2026-2-3", "20251020", "2025-W43-1", "2025-02-30", "03-02-2026", " ", "2026-02-03T00:00"]
)
def test_only_iso_dates_are_dates(text):
    assert parse_date(text) is None
    assert parse_dates(pd.Series([text])).isna().all()


def test_danish_dates_only_when_configured():
    assert parse_date("2026-02-03") == dt.date(2026, 2, 3)
    assert parse_date("03-02-2026") is None
    assert parse_date("03-02-2026", "iso_or_danish") == dt.date(2026, 2, 3)
    parsed = parse_dates(pd.Series(["2026-02-03", "03-02-2026", "3-2-2026"]), "iso_or_danish")
    assert parsed.dt.date.tolist()[:2] == [dt.date(2026, 2, 3)] * 2 and pd.isna(parsed[2])


@pytest.mark.parametrize("text", ["1e0", "+2", "0_3", "3.0", "٣", " 3", "", "1" * 30])
def test_only_plain_digits_are_whole_numbers(text):
    assert parse_int(text) is None
    assert parse_ints(pd.Series([text])).isna().all()


def test_whole_numbers_with_leading_zeros_and_minus():
    assert [parse_int(t) for t in ("03", "-9", "0")] == [3, -9, 0]
    assert parse_ints(pd.Series(["03", "-9"])).tolist() == [3, -9]


def test_a_cp1252_file_names_row_and_column_and_says_save_as_utf8(write):
    data = "group,week,pseudonym,status\nCPH-1,1,P1,present\nCPH-1,1,Sørensen,present\n".encode("cp1252")
    with pytest.raises(RowErrors) as err:
        read_csv_table(write(data))
    problem = _problem(err)
    assert (problem.row, problem.column) == (3, "pseudonym")
    assert "not UTF-8" in problem.reason and "CSV UTF-8" in problem.reason


def test_utf16_refused_and_bom_accepted(write):
    with pytest.raises(RowErrors, match="UTF-16"):
        read_csv_table(write("a,b\n1,2\n".encode("utf-16")))
    table = read_csv_table(write("\ufeffa,b\n1,2\n".encode("utf-8")))
    assert list(table.frame.columns) == ["a", "b", "line"]


def test_semicolon_files_are_read_with_a_note(write):
    path = write(b"group;week;pseudonym;status\r\nCPH-1;1;P1;present\r\n")
    table = read_csv_table(path)
    assert table.delimiter == ";" and table.frame.loc[0, "status"] == "present"
    assert any("';'-separated" in note for note in format_notes(path))
    assert format_notes(write(b"a,b\n1,2\n")) == []


def test_header_only_and_empty_files_are_refused():
    with pytest.raises(RowErrors, match="header but no rows"):
        read_table(io.StringIO("a,b\n"), ("a", "b"))
    with pytest.raises(RowErrors, match="header but no rows"):
        read_csv_table(io.StringIO("a,b\n\n\n"))
    with pytest.raises(RowErrors, match="empty"):
        read_csv_table(io.StringIO(""))


def test_rows_are_numbered_as_a_spreadsheet_shows_them():
    table = read_csv_table(io.StringIO('a,b\n1,2\n\n3,"x\ny"\n4,5\n'))
    assert table.frame["line"].tolist() == [2, 4, 5]


def test_extra_cells_and_duplicate_columns_are_refused():
    with pytest.raises(RowErrors) as err:
        read_csv_table(io.StringIO("a,b\n1,2,3\n"))
    assert _problem(err).row == 2
    with pytest.raises(RowErrors, match="more than once"):
        read_csv_table(io.StringIO("a,A\n1,2\n"))


def test_long_cells_and_control_characters_are_refused_with_row_and_column():
    frame = pd.DataFrame({"pseudonym": ["P1", "P" * 65, "P\x00"], "note": ["ok", "x" * 2000, "a\tb"]})
    lines = pd.Series([2, 3, 4])
    problems = cell_problems(frame, lines)
    assert [(p.row, p.column) for p in problems] == [(3, "pseudonym"), (4, "pseudonym")]
    assert "at most 64" in problems[0].reason and "U+0000" in problems[1].reason
    assert len(problems[0].value) < 50  # the cell is not echoed back whole


def test_a_five_megabyte_note_is_refused_before_reading_it_all():
    text = (
        "group,week,observer,observed_on,kind,item,value\nG,1,K,2025-01-01,session,notes,"
        + "x" * 5_000_000
        + "\n"
    )
    with pytest.raises(RowErrors) as err:
        read_table(io.StringIO(text), ("group", "week", "observer", "observed_on", "kind", "item", "value"))
    assert _problem(err).row == 2


def test_duplicate_keys_after_normalisation():
    frame = pd.DataFrame(
        {"group": ["G", "G", "G"], "week": ["3", "03", "4"], "pseudonym": ["p1", "P1", "P1"]}
    )
    keys = pd.DataFrame(
        {
            "group": frame["group"],
            "week": frame["week"].map(parse_int),
            "pseudonym": frame["pseudonym"].map(normalise_pseudonym),
        }
    )
    problems = duplicate_key_problems(
        keys, pd.Series([2, 3, 4]), "week", frame["week"], "group, week and pseudonym"
    )
    assert [(p.row, p.value) for p in problems] == [(3, "03")] and "row 2" in problems[0].reason


def test_the_message_lists_at_most_fifty_problems():
    err = RowErrors("f.csv", [RowProblem(i, "a", "x", "bad") for i in range(2, 202)])
    lines = str(err).splitlines()
    assert len(lines) == 1 + MAX_PROBLEMS_SHOWN + 1
    assert "150 more not shown" in lines[-1] and len(err.problems) == 200

"""Fuzz tests of every CSV import (hypothesis), through the command line, on SQLite and
PostgreSQL: random bytes, random CSV shapes and the hostile cells of issue 15. Every file is
either imported (exit 0) or refused with exit code 2 and lines naming file, row and column;
after a refusal every table count and the audit chain are exactly as before.

Kept small (8 examples per import, shape and backend, no deadline) so that ``make test`` stays
quick; raise ``FUZZ_EXAMPLES`` locally for a longer run.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest
from fidelity_helpers import ACTOR, pilot_with_groups
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from study.audit import verify_chain
from study.cli import app
from study.db import read_session, unit_of_work
from study.db.base import Base
from study.people import enrol, person_by_pseudonym
from study.studies import get_study

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
runner = CliRunner()

#: The columns of each import (``questionnaires`` with a few item columns).
COLUMNS = {
    "participants": [
        "pseudonym",
        "site",
        "role",
        "birth_date",
        "municipality",
        "screened_on",
        "consent_on",
        "exclusions",
        "gender",
    ],
    "questionnaires": [
        "pseudonym",
        "timepoint",
        "completed_on",
        "who5_1",
        "who5_2",
        "who5_3",
        "who5_4",
        "who5_5",
    ],
    "fidelity": ["group", "week", "observer", "observed_on", "kind", "item", "value"],
    "attendance": ["group", "week", "pseudonym", "status", "held_on"],
    "profiles": ["pseudonym", "area", "availability", "wishes", "since"],
    "contacts": ["recipient", "buddy", "contact_on", "activity", "minutes", "note"],
}
#: Plausible cells, so that some rows get far enough to meet the deeper checks.
PLAUSIBLE = [
    "P-CPH-1",
    "p-cph-2",
    "CPH",
    "participant",
    "1990-02-03",
    "København",
    "2025-02-03",
    "2025-02-10",
    "female",
    "baseline",
    "3",
    "03",
    "CPH-P1",
    "K01",
    "component",
    "session",
    "notes",
    "present",
    "absent",
    "cancelled",
    "2",
    "NA",
    "mon_pm",
    "walk",
    "60",
    "",
]
#: The hostile cells of issue 15 and friends.
HOSTILE = [
    "2026-2-3",
    "20251020",
    "2025-W43-1",
    "1900-01-01",
    "2025-02-30",
    "1e0",
    "+2",
    "0_3",
    "-1",
    "x" * 300,
    "f" * 253,
    "a\x00b",
    "\x1b[2J",
    '=HYPERLINK("http://x")',
    "@SUM(1)",
    "-2+3+cmd",
    "'; DROP TABLE person; --",
    "P0001",
    "p0001",
    " ",
    "Ø",
    "\u202e",
    "\r",
]
CELLS = st.sampled_from(PLAUSIBLE + HOSTILE) | st.text(max_size=12)


@st.composite
def csv_files(draw, kind: str) -> bytes:
    """A random CSV in the shape of ``kind``: its columns (some dropped, one maybe unknown, in
    any order), 0–5 rows of plausible and hostile cells, ``,`` or ``;``, UTF-8 or cp1252."""
    columns = draw(st.permutations(COLUMNS[kind]))
    columns = columns[: draw(st.integers(len(columns) - 1, len(columns)))]
    if draw(st.booleans()):
        columns = [*columns, draw(st.sampled_from(["extra", "Pseudonym", "week "]))]
    rows = draw(st.lists(st.lists(CELLS, min_size=len(columns), max_size=len(columns) + 1), max_size=5))
    sep = draw(st.sampled_from([",", ";"]))

    def cell(text: str) -> str:
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in f'"{sep}\n\r') else text

    body = "\n".join(sep.join(cell(c) for c in row) for row in [columns, *rows]) + "\n"
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return body.encode(encoding, errors="replace")


@pytest.fixture
def fuzz_db(study_db):
    """The reference study in its pilot: groups CPH-P1/HEL-P1 with members, P-CPH-1 consented."""
    pilot_with_groups(study_db)
    with unit_of_work(study_db, ACTOR) as s:
        study = get_study(s)
        enrol(
            s,
            study,
            person_by_pseudonym(s, study, "P-CPH-1"),
            dt.date(2025, 2, 1),
            "København",
            consent_on=dt.date(2025, 2, 1),
        )
    return study_db


def _snapshot(engine) -> dict[str, int]:
    with read_session(engine) as s:
        return {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def _check_import(engine, tmp_path, kind: str, data: bytes) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(data)
    before = _snapshot(engine)
    result = runner.invoke(
        app, ["import", kind, str(path), "--db", engine.url.render_as_string(hide_password=False)]
    )
    assert result.exit_code in (0, 2), (result.output, result.exception)
    assert "Traceback" not in result.output
    assert verify_chain(engine).intact
    if result.exit_code == 0:
        return
    lines = result.output.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("error: "))
    assert lines[first].startswith(f"error: {path}: "), lines[first]
    problem = re.compile(
        rf"^  {re.escape(str(path))}: (row \d+, column '[^']*', value .*: .+|\d+ problems shown, \d+ more not shown \(--all-errors lists them all\)"
        rf"|\d+ errors shown, \d+ more rows not checked \(--all-errors checks and lists them all\))$"
    )
    for line in lines[first + 1 :]:
        assert problem.match(line), line
    assert _snapshot(engine) == before, "a refused file changed the database"


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_random_bytes_are_refused_cleanly(fuzz_db, tmp_path, kind):
    @FUZZ
    @given(data=st.binary(max_size=200))
    def check(data):
        _check_import(fuzz_db, tmp_path, kind, data)

    check()


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_random_csv_files_import_or_are_refused_cleanly(fuzz_db, tmp_path, kind):
    @FUZZ
    @given(data=csv_files(kind))
    def check(data):
        _check_import(fuzz_db, tmp_path, kind, data)

    check()

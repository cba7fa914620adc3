"""The command line of enrolment and randomisation: import participants, randomise,
allocation report/verify/sequence/load-table, unblind (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from rct_fixtures import count, make_rct_study
from sqlalchemy import select
from typer.testing import CliRunner

from study.cli import app
from study.db import read_session
from study.db.models import Allocation, AuditEvent, Enrolment, Person, PersonAttribute, PersonIdentity

runner = CliRunner()

HEADER = "pseudonym,site,role,birth_date,municipality,screened_on,consent_on,exclusions,gender\n"
ROWS = [
    "P0001,CPH,participant,1990-02-03,København,2025-08-10,2025-08-12,,female",
    "P0002,CPH,participant,2009-12-03,København,2025-08-10,2025-08-12,,male",
    "P0003,HEL,participant,1980-02-03,Gentofte,2025-08-10,,,female",
    "P0004,HEL,participant,1980-02-03,Helsingør,2025-08-11,2025-08-13,,male",
    "P0005,FRE,participant,1975-06-30,Fredericia,2025-08-11,2025-08-11,,other",
    "L0001,HEL,group_leader,1970-02-03,Helsingør,2025-08-01,2025-08-01,violence_conviction,male",
]


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run(engine, *args, input=None):
    return runner.invoke(app, [*args, "--db", _url(engine)], input=input)


def _write(tmp_path, rows, name="participants.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_help_of_the_new_commands():
    for args in (
        ["import", "participants"],
        ["randomise"],
        ["allocation"],
        ["allocation", "report"],
        ["allocation", "verify"],
        ["allocation", "sequence"],
        ["allocation", "load-table"],
        ["unblind"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_import_participants_screens_stores_and_is_idempotent(db, tmp_path):
    make_rct_study(db)
    path = _write(tmp_path, ROWS)
    result = run(db, "import", "participants", str(path))
    assert result.exit_code == 0, result.output
    assert "6 added, 0 corrected, 0 unchanged (3 eligible, 3 ineligible)" in result.output
    with read_session(db) as s:
        rows = dict(
            s.execute(
                select(Person.pseudonym, Enrolment.ineligibility_reasons).join(
                    Enrolment, Enrolment.person_id == Person.id
                )
            ).all()
        )
        assert rows["P0001"] == "[]"
        assert "age 15 below minimum 18" in rows["P0002"]
        assert "lives outside the site's municipalities (Gentofte)" in rows["P0003"]
        assert (
            "age 55 above maximum 40" in rows["L0001"] and "exclusion: violence_conviction" in rows["L0001"]
        )
        assert (
            s.scalar(
                select(PersonIdentity.birth_date).join(Person).where(Person.pseudonym == "P0005")
            ).isoformat()
            == "1975-06-30"
        )
        assert (
            s.scalar(select(PersonAttribute.value).join(Person).where(Person.pseudonym == "P0004")) == "male"
        )
        phases = set(s.scalars(select(Enrolment.phase)))
        assert phases == {"rct"}
    events = count(db, AuditEvent)
    again = run(db, "import", "participants", str(path))
    assert again.exit_code == 0 and "0 added, 0 corrected, 6 unchanged" in again.output
    assert count(db, AuditEvent) == events  # nothing changed, nothing audited
    # A changed value is an audited correction (consent now given).
    fixed = ROWS[:2] + ["P0003,HEL,participant,1980-02-03,Helsingør,2025-08-10,2025-08-14,,female"] + ROWS[3:]
    result = run(db, "import", "participants", str(_write(tmp_path, fixed, "fixed.csv")))
    assert "0 added, 1 corrected, 5 unchanged" in result.output
    with read_session(db) as s:
        changes = s.execute(
            select(AuditEvent.field, AuditEvent.old_value, AuditEvent.new_value, AuditEvent.reason).where(
                AuditEvent.seq > events
            )
        ).all()
    assert ("consent_on", None, "2025-08-14", "import participants fixed.csv") in changes
    assert ("eligible", "false", "true", "import participants fixed.csv") in changes


def test_a_bad_file_reports_every_bad_row_and_writes_nothing(db, tmp_path):
    make_rct_study(db)
    run(db, "import", "participants", str(_write(tmp_path, ROWS[:1])))
    events = count(db, AuditEvent)
    bad = ROWS[:1] + [
        "P0007,XXX,participant,1990-02-30,København,2025-08-10,2025-08-09,,female",
        "P0008,CPH,wizard,2099-01-01,København,,2025-08-12,violence_convicton,",
        "P0007,CPH,participant,1990-02-03,København,2025-08-10,2025-08-12,,fe|male",
        "P0001,HEL,participant,1990-02-03,Helsingør,2025-08-10,2025-08-12,,female",
    ]
    result = run(db, "import", "participants", str(_write(tmp_path, bad, "bad.csv")))
    assert result.exit_code == 2
    expected = [
        "row 3, column 'site', value 'XXX'",
        "row 3, column 'birth_date', value '1990-02-30': not an ISO 8601 date",
        "row 3, column 'consent_on', value '2025-08-09': before the screening date",
        "row 4, column 'role', value 'wizard'",
        "row 4, column 'birth_date', value '2099-01-01': in the future",
        "row 4, column 'screened_on', value '': required",
        "row 4, column 'exclusions', value 'violence_convicton': unknown exclusion flag",
        "row 5, column 'pseudonym', value 'P0007': duplicate in this file (first on row 3)",
        "row 5, column 'gender', value 'fe|male'",
        "row 6, column 'site', value 'HEL': differs from the stored site CPH",
    ]
    for line in expected:
        assert line in result.output, line
    assert "nothing was imported" in result.output
    assert count(db, AuditEvent) == events and count(db, Person) == 1
    header = tmp_path / "header.csv"
    header.write_text("pseudonym,site,role\nP1,CPH,participant\n", encoding="utf-8")
    result = run(db, "import", "participants", str(header))
    assert (
        result.exit_code == 2 and "column 'birth_date', value '': required column is missing" in result.output
    )


def test_randomise_cli_prints_one_line_and_refuses_bad_input(db, tmp_path):
    make_rct_study(db)
    run(db, "import", "participants", str(_write(tmp_path, ROWS)))
    result = run(db, "randomise", "P0001", "--on", "2025-09-01")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"P0001 (INT|CTL)\n", result.stdout)
    for pseudonym, message in [
        ("P0001", "already randomised"),
        ("P0002", "not eligible"),
        ("P0003", "not eligible"),
        ("P9999", "unknown pseudonym"),
        ("L0001", "only participants"),
    ]:
        result = run(db, "randomise", pseudonym, "--on", "2025-09-01")
        assert result.exit_code == 2 and message in result.output, (pseudonym, result.output)
        assert result.stdout == ""
    assert run(db, "randomise").exit_code == 2
    assert run(db, "randomise", "P0004", "--on", "1st of May").exit_code == 2
    result = run(db, "randomise", "--pending", "--on", "2025-09-01")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"P0005 (INT|CTL)\nP0004 (INT|CTL)\n", result.stdout)  # consent order
    assert count(db, Allocation) == 3

    report = run(db, "allocation", "report")
    assert report.exit_code == 0
    assert "3 allocated by blocks (arms: A, B; blinded codes until unblinding)" in report.output
    assert "INT" not in report.output and "CTL" not in report.output
    assert re.search(r"all\s+all\s+\d\s+\d\s+3", report.output)

    status = run(db, "status")
    assert status.exit_code == 0 and "Allocated per site and arm" in status.output
    assert "INT" not in status.output


def test_statistician_commands_and_unblinding(db, tmp_path):
    make_rct_study(db)
    run(db, "import", "participants", str(_write(tmp_path, ROWS)))
    run(db, "randomise", "--pending", "--on", "2025-09-01")
    for login, role in (("stat", "statistician"), ("res", "researcher")):
        added = run(db, "users", "add", login, "--role", role, "--password-stdin", input="long-enough-pw\n")
        assert added.exit_code == 0, added.output
    result = run(db, "allocation", "verify", "--user", "res", "--password-stdin", input="long-enough-pw\n")
    assert result.exit_code == 2 and "only the trial statistician" in result.output
    result = run(db, "allocation", "verify", "--user", "stat", "--password-stdin", input="wrong-password\n")
    assert result.exit_code == 2 and "login failed" in result.output
    result = run(db, "allocation", "verify", "--user", "stat", "--password-stdin", input="long-enough-pw\n")
    assert result.exit_code == 0, result.output
    assert "all 3 allocations match" in result.output
    result = run(
        db,
        "allocation",
        "sequence",
        "CPH|female",
        "--slots",
        "6",
        "--user",
        "stat",
        "--password-stdin",
        input="long-enough-pw\n",
    )
    assert result.exit_code == 0 and "P0001" in result.output and result.output.count("\n") == 7

    result = run(db, "unblind")
    assert result.exit_code == 2 and "only in the analysis phase" in result.output
    assert run(db, "phase", "start", "analysis").exit_code == 0
    result = run(db, "unblind")  # the analysis plan is not locked yet
    assert result.exit_code == 2 and "locked statistical analysis plan" in result.output
    assert "unblinded" not in run(db, "allocation", "report").output
    shown = run(db, "sap", "show")
    assert (
        shown.exit_code == 0
        and "NOT LOCKED" in shown.output
        and "Primary outcome [primary]: qpr15.total" in shown.output
    )
    sha = shown.output.split("SHA-256: ")[1].split()[0]
    assert run(db, "sap", "lock", "--reason", "").exit_code == 2  # a reason is required
    locked = run(db, "sap", "lock", "--reason", "SAP v1 signed off by the steering group")
    assert locked.exit_code == 0 and sha in locked.output
    assert run(db, "sap", "lock", "--reason", "again").exit_code == 2  # nothing changed
    assert "locked as version 1" in run(db, "sap", "show").output
    result = run(db, "unblind")
    assert result.exit_code == 0 and "unblinded" in result.output
    assert run(db, "unblind").exit_code == 2
    report = run(db, "allocation", "report")
    assert "unblinded" in report.output and "INT" in report.output


def test_load_table_cli(db, tmp_path):
    make_rct_study(db, method="table")
    table = tmp_path / "table.csv"
    table.write_text("site,gender,arm\nCPH,female,INT\nCPH,female,CTL\n", encoding="utf-8")
    result = run(db, "allocation", "load-table", str(table))
    assert result.exit_code == 0 and "2 slots in 1 strata loaded" in result.output
    assert run(db, "allocation", "load-table", str(table)).exit_code == 2


def test_corrections_after_allocation_need_a_reason_and_become_deviations(db, tmp_path):
    make_rct_study(db)
    # Synonyms are coded on import: "Female" is stored as female
    rows = [ROWS[0].replace(",female", ",Female"), ROWS[3]]
    assert run(db, "import", "participants", str(_write(tmp_path, rows))).exit_code == 0
    assert run(db, "randomise", "P0001", "--on", "2025-09-01").exit_code == 0
    events = count(db, AuditEvent)
    # Consent date and stratum of the randomised P0001 changed; P0004 (not randomised) changes freely
    fixed = [
        "P0001,CPH,participant,1990-02-03,København,2025-08-10,2025-08-13,,kvinde",
        "P0004,HEL,participant,1980-02-03,Helsingør,2025-08-11,2025-08-14,,male",
    ]
    path = _write(tmp_path, fixed, "fixed.csv")
    refused = run(db, "import", "participants", str(path))
    assert refused.exit_code == 2
    assert "row 2, column 'consent_on', value '2025-08-13': P0001 is randomised" in refused.output
    assert "gender" not in refused.output  # kvinde is female: no change
    assert count(db, AuditEvent) == events  # nothing written
    done = run(db, "import", "participants", str(path), "--reason", "consent form misdated")
    assert done.exit_code == 0, done.output
    with read_session(db) as s:
        assert (
            s.scalar(select(Enrolment.consent_on).join(Person).where(Person.pseudonym == "P0001")).isoformat()
            == "2025-08-13"
        )
        assert s.scalar(select(Allocation.arm).join(Person).where(Person.pseudonym == "P0001")) is not None
    check = run(db, "check", "--no-record", "--html", str(tmp_path / "q.html"))
    assert "Protocol deviations: 1" in check.output
    assert "correction_after_allocation" in check.output and "consent form misdated" in check.output
    assert "consent_on corrected after allocation: 2025-08-12 → 2025-08-13" in check.output

"""The command line: exit codes, messages, and the done-means of the foundation."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from study.cli import app
from study.config import example_config_path
from study.db import read_session
from study.db.audit_guard import suspended_audit_guard
from study.db.models import AuditEvent

runner = CliRunner()


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def run(*args, input=None):
    return runner.invoke(app, list(args), input=input)


def test_help_everywhere():
    for args in ([], ["phase"], ["users"], ["audit"], ["init", "--help"], ["demo", "--help"]):
        result = run(*args, "--help") if args else run("--help")
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_init_status_phase_users_audit(db):
    url = _url(db)
    result = run("init", "--db", url)
    assert result.exit_code == 0, result.output
    assert "study HOPE ready (3 sites)" in result.output
    again = run("init", "--db", url)  # idempotent: upgrades the schema, keeps the study
    assert again.exit_code == 0 and "schema upgraded" in again.output and "HOPE" in again.output

    result = run("status", "--db", url)
    assert result.exit_code == 0
    assert "Phase: set-up" in result.output and "CPH, HEL, FRE" in result.output

    assert run("phase", "start", "pilot", "--db", url).exit_code == 0
    result = run("phase", "start", "pilot", "--db", url)
    assert result.exit_code == 2 and "only move forward" in result.output
    result = run("phase", "show", "--db", url)
    assert "current phase: pilot" in result.output

    result = run(
        "users",
        "add",
        "kim.cph",
        "--role",
        "coordinator",
        "--site",
        "CPH",
        "--password-stdin",
        "--db",
        url,
        input="s3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    result = run(
        "users", "add", "x.y", "--role", "coordinator", "--password-stdin", "--db", url, input="s3cret-pass\n"
    )
    assert result.exit_code == 2 and "coordinator needs a site" in result.output
    assert "kim.cph" in run("users", "list", "--db", url).output

    result = run("audit", "verify", "--db", url)
    assert result.exit_code == 0 and "audit chain intact" in result.output


def test_bad_config_exits_2_and_writes_nothing(tmp_path):
    bad = tmp_path / "study.yaml"
    bad.write_text("study: {code: X, name: Y}\narms: []\n", encoding="utf-8")
    target = tmp_path / "new.db"
    result = run("init", "--config", str(bad), "--db", str(target))
    assert result.exit_code == 2
    assert f"{bad}: sites: is required but missing" in result.output
    assert not target.exists()


def test_commands_refuse_an_uninitialised_database(tmp_path):
    result = run("status", "--db", str(tmp_path / "empty.db"))
    assert result.exit_code == 2 and "peerstudy init" in result.output


def test_demo_status_and_tampered_audit_row(db):
    url = _url(db)
    result = run("demo", "--participants", "30", "--seed", "3", "--db", url)
    assert result.exit_code == 0, result.output
    status = run("status", "--db", url)
    assert status.exit_code == 0
    for site in ("CPH", "HEL", "FRE"):
        assert site in status.output
    assert "participant" in status.output and "group_leader" in status.output
    assert run("audit", "show", "--person", "P0001", "--db", url).exit_code == 0

    with read_session(db) as s:
        victim = s.scalars(select(AuditEvent.id).order_by(AuditEvent.seq).offset(10).limit(1)).one()
    with db.begin() as conn, suspended_audit_guard(conn):  # as the tables' owner could
        conn.execute(text("UPDATE audit_event SET new_value = 'forged' WHERE id = :id"), {"id": victim})
    result = run("audit", "verify", "--db", url)
    assert result.exit_code == 1
    assert f"BROKEN at event id {victim}" in result.output


@pytest.mark.parametrize("pseudonym", ["NOPE"])
def test_audit_show_unknown_person_is_exit_2(db, pseudonym):
    url = _url(db)
    run("init", "--db", url)
    result = run("audit", "show", "--person", pseudonym, "--db", url)
    assert result.exit_code == 2 and "unknown pseudonym 'NOPE'" in result.output


def test_audit_show_blinds_allocations_until_unblinding(demo_engine):
    from study.db.models import Allocation, Person

    url = _url(demo_engine)
    with read_session(demo_engine) as s:
        who, arm = s.execute(
            select(Person.pseudonym, Allocation.arm)
            .join(Allocation, Allocation.person_id == Person.id)
            .limit(1)
        ).one()
    blinded = run("audit", "show", "--person", who, "--db", url)
    assert blinded.exit_code == 0, blinded.output
    allocation_lines = [line for line in blinded.output.splitlines() if " allocation " in line]
    assert allocation_lines and all("<blinded>" in line for line in allocation_lines)
    assert f'"arm": "{arm}"' not in blinded.output
    shown = run("audit", "show", "--person", who, "--db", url, "--show-arms")
    assert shown.exit_code == 0 and f'"arm": "{arm}"' in shown.output


def test_withdraw_records_a_neutral_reason_and_refuses_bad_input(db):
    from study.db.models import Enrolment, Person

    url = _url(db)
    assert run("demo", "--participants", "20", "--seed", "5", "--db", url).exit_code == 0
    with read_session(db) as s:
        who = s.scalar(
            select(Person.pseudonym)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Enrolment.phase == "rct", Enrolment.withdrawn_on.is_(None), Enrolment.consent_on.is_not(None)
            )
            .order_by(Person.pseudonym)
            .limit(1)
        )
    bad = run("withdraw", who, "--reason", "hated it", "--on", "2026-02-01", "--db", url)
    assert bad.exit_code == 2 and "not one of" in bad.output
    early = run("withdraw", who, "--reason", "moved away", "--on", "2001-01-01", "--db", url)
    assert early.exit_code == 2 and "before screening" in early.output
    ok = run("withdraw", who, "--reason", "moved away", "--on", "2026-02-01", "--db", url)
    assert ok.exit_code == 0, ok.output
    with read_session(db) as s:
        row = s.scalar(
            select(Enrolment).join(Person, Person.id == Enrolment.person_id).where(Person.pseudonym == who)
        )
        event = s.scalar(
            select(AuditEvent).where(
                AuditEvent.table_name == "enrolment",
                AuditEvent.field == "withdrawal_reason",
                AuditEvent.row_id == str(row.id),
            )
        )
    assert row.withdrawn_on.isoformat() == "2026-02-01" and row.withdrawal_reason == "moved away"
    assert event.new_value == "moved away" and event.reason == "withdrawal: moved away"
    again = run("withdraw", who, "--reason", "moved away", "--on", "2026-02-02", "--db", url)
    assert again.exit_code == 2 and "already withdrew" in again.output


def test_a_command_without_a_database_leaves_no_empty_sqlite_file(tmp_path, monkeypatch):
    # `peerstudy status` in a directory without a study: a clear error, exit 2, and no empty
    # peerstudy.db created by merely trying to connect.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEERSTUDY_DB", raising=False)
    result = run("status")
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output and "peerstudy init" in result.output
    assert not (tmp_path / "peerstudy.db").exists()
    result = run("audit", "verify", "--db", str(tmp_path / "other.db"))
    assert result.exit_code == 2 and not (tmp_path / "other.db").exists()
    # init still creates the database where it is asked to.
    assert run("init", "--db", str(tmp_path / "new.db")).exit_code == 0
    assert run("status", "--db", str(tmp_path / "new.db")).exit_code == 0


def test_init_refuses_a_typo_in_the_outcomes_section(db, tmp_path):
    """The outcomes are validated when study.yaml is loaded, not first at ``analyse``."""
    broken = example_config_path().read_text(encoding="utf-8").replace("primary_method:", "primary_metod:")
    path = tmp_path / "study.yaml"
    path.write_text(broken, encoding="utf-8")
    result = run("init", "--db", _url(db), "--config", str(path))
    assert result.exit_code != 0
    assert "outcomes.primary_metod" in result.output and "not a known key" in result.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_date_option_reports_a_bad_date_the_same_way(db):
    """One parser for the command line's dates: exit 2 and the option named, whichever command."""
    url = _url(db)
    assert run("init", "--db", url).exit_code == 0
    cases = [
        (["randomise", "--pending", "--on", "2026-02-30"], "--on"),
        (["withdraw", "P0001", "--reason", "moved away", "--on", "2026-02-30"], "--on"),
        (["fidelity", "report", "--as-of", "2026-02-30"], "--as-of"),
        (["questionnaires", "schedule", "--today", "2026-02-30"], "--today"),
        (["match", "waitlist", "--today", "2026-02-30"], "--today"),
    ]
    for args, option in cases:
        result = run(*args, "--db", url)
        assert result.exit_code == 2, (args, result.output)
        assert f"{option}: '2026-02-30' is not a date (YYYY-MM-DD)" in result.output, (args, result.output)

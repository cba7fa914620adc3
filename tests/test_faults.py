"""Faults (SQLite and PostgreSQL): a process killed with SIGKILL in the middle of an import, a
randomisation or a backup, a full disk during an import, the PostgreSQL connection dropped
mid-transaction. Afterwards nothing is half written, `audit verify` passes and a rerun
completes."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rct_fixtures import add_participants, count, make_rct_study
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from study.audit import verify_chain
from study.cli import app
from study.db import unit_of_work
from study.db.models import Allocation, AuditEvent, QuestionnaireResponse
from study.studies import get_study

DRIVER = Path(__file__).with_name("fault_driver.py")
runner = CliRunner()
PEOPLE = [f"P{i:04d}" for i in range(1, 61)]


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def trial(db, tmp_path):
    """An RCT with 60 consented participants and a CSV of their baseline answers."""
    make_rct_study(db)
    add_participants(db, [dict(pseudonym=p, site=("CPH", "HEL", "FRE")[i % 3]) for i, p in enumerate(PEOPLE)])
    rows = ["pseudonym,timepoint,completed_on,who5_1,who5_2,who5_3,who5_4,who5_5,ucla3_1,ucla3_2,ucla3_3"]
    rows += [f"{p},baseline,2025-08-20,{i % 6},3,2,4,1,1,2,{1 + i % 3}" for i, p in enumerate(PEOPLE)]
    csv = tmp_path / "answers.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return db, csv


def _state(engine):
    return count(engine, QuestionnaireResponse), count(engine, Allocation), count(engine, AuditEvent)


def _kill_when_ready(*args) -> None:
    child = subprocess.Popen(
        [sys.executable, str(DRIVER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "READY", child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _run(*args):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_kill_during_an_import_leaves_nothing_and_a_rerun_completes(trial):
    engine, csv = trial
    before = _state(engine)
    _kill_when_ready("import", _url(engine), str(csv))
    assert _state(engine) == before
    assert verify_chain(engine).intact
    _run("import", "questionnaires", str(csv), "--db", _url(engine))
    assert count(engine, QuestionnaireResponse) == 2 * len(PEOPLE)  # two instruments each
    assert verify_chain(engine).intact


def test_kill_during_a_randomisation_leaves_nothing_and_a_rerun_completes(trial):
    engine, _ = trial
    before = _state(engine)
    _kill_when_ready("randomise", _url(engine), "P0001")
    assert _state(engine) == before
    assert verify_chain(engine).intact
    result = _run("randomise", "P0001", "--on", "2025-09-01", "--db", _url(engine))
    assert result.output.startswith("P0001 ")
    assert count(engine, Allocation) == 1 and verify_chain(engine).intact


def test_kill_during_a_backup_leaves_no_archive_and_a_rerun_completes(trial, tmp_path):
    engine, _ = trial
    out = tmp_path / "backup.tar.gz"
    _kill_when_ready("backup", _url(engine), str(out))
    assert not out.exists()  # only out.partial, which restore is never pointed at
    assert verify_chain(engine).intact
    _run("backup", "--out", str(out), "--db", _url(engine))
    target = tmp_path / "restored.db"
    _run("restore", str(out), "--db", f"sqlite:///{target}")


def _fill_disk(limit: int):
    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


# SQLite only: the disk of the PostgreSQL server is not ours to fill (the connection drop below
# is PostgreSQL's fault). Parametrised, not skipped: CI never skips a database test.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_full_disk_during_an_import_leaves_nothing_and_a_rerun_completes(trial, backend):
    engine, csv = trial
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _state(engine)
    child = subprocess.run(
        [sys.executable, "-m", "study.cli", "import", "questionnaires", str(csv), "--db", _url(engine)],
        capture_output=True,
        text=True,
        preexec_fn=_fill_disk(32 * 1024),
        timeout=120,
    )
    assert child.returncode == 1, child.stdout + child.stderr
    assert "disk" in child.stderr or "full" in child.stderr, child.stderr
    assert _state(engine) == before
    assert verify_chain(engine).intact
    _run("import", "questionnaires", str(csv), "--db", _url(engine))
    assert count(engine, QuestionnaireResponse) == 2 * len(PEOPLE) and verify_chain(engine).intact


# PostgreSQL only: pg_terminate_backend is PostgreSQL's; SQLite has no connection to drop.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_dropped_postgresql_connection_mid_transaction_leaves_nothing(trial, backend):
    import datetime as dt

    from questionnaires.capture import import_questionnaires, read_questionnaire_csv

    engine, csv = trial
    before = _state(engine)
    with pytest.raises(OperationalError):
        with unit_of_work(engine, "fault") as session:
            import_questionnaires(
                session,
                get_study(session),
                read_questionnaire_csv(str(csv)),
                source=str(csv),
                today=dt.date(2026, 6, 1),
            )
            session.flush()
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                other.commit()
    engine.dispose()  # the pool's dead connection
    assert _state(engine) == before
    assert verify_chain(engine).intact
    _run("import", "questionnaires", str(csv), "--db", _url(engine))
    assert count(engine, QuestionnaireResponse) == 2 * len(PEOPLE) and verify_chain(engine).intact

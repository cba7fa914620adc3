"""`peerstudy audit verify|anchor`, the key made by `init`, and `init --app-role` (PostgreSQL)."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from study.cli import app
from study.db import read_session
from study.db.models import Allocation

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_verify_names_table_row_and_field_and_anchors_catch_a_cut_tail(db, tmp_path):
    url = _url(db)
    assert run("demo", "--participants", "10", "--seed", "4", "--db", url).exit_code == 0
    anchors = tmp_path / "anchors.txt"
    anchored = run("audit", "anchor", "--out", str(anchors), "--db", url)
    assert anchored.exit_code == 0 and anchored.output.startswith("peerstudy-anchor seq=")
    assert anchors.read_text().strip() == anchored.output.strip()
    ok = run("audit", "verify", "--anchor", str(anchors), "--db", url)
    assert ok.exit_code == 0 and "1 anchor(s) found" in ok.output, ok.output

    with read_session(db) as s:
        alloc = s.scalar(select(Allocation).limit(1))
    with db.begin() as conn:
        conn.execute(text("UPDATE allocation SET arm = 'XYZ' WHERE id = :id"), {"id": alloc.id})
    bad = run("audit", "verify", "--db", url)
    assert bad.exit_code == 1
    assert f"allocation row {alloc.id} field arm" in bad.output and "DATA DIFFER" in bad.output

    bad_anchor = tmp_path / "bad.txt"
    bad_anchor.write_text("no anchor here\n")
    refused = run("audit", "verify", "--anchor", str(bad_anchor), "--db", url)
    assert refused.exit_code == 2 and "no 'peerstudy-anchor" in refused.output


def test_init_creates_a_private_key_once_and_refuses_to_replace_a_lost_one(tmp_path, monkeypatch):
    key = tmp_path / "secret" / "study.key"
    monkeypatch.setenv("PEERSTUDY_AUDIT_KEY", str(key))
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = run("init", "--db", url)
    assert first.exit_code == 0 and "audit key created" in first.output, first.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    content = key.read_text()
    assert run("init", "--db", url).exit_code == 0 and key.read_text() == content
    key.unlink()
    lost = run("init", "--db", url)
    assert lost.exit_code == 2 and "no audit key" in lost.output and not key.exists()
    assert run("status", "--db", url).exit_code == 0  # reading needs no key
    write = run("phase", "start", "pilot", "--db", url)
    assert write.exit_code == 2 and "no audit key" in write.output


def test_app_role_may_write_study_data_but_not_touch_the_audit_table_or_the_schema(db, backend):
    if backend == "sqlite":  # roles are PostgreSQL's: SQLite refuses the option, writing nothing
        target = db.url.database + ".roles.db"
        result = run("init", "--app-role", "app", "--db", f"sqlite:///{target}")
        assert result.exit_code == 2 and "needs PostgreSQL" in result.output
        assert not os.path.exists(target) or os.path.getsize(target) == 0
        return
    from study.audit import verify_chain
    from study.db import make_engine, unit_of_work
    from study.people import add_person
    from study.studies import get_study

    suffix = uuid.uuid4().hex[:8]
    app_role, owner = f"app_{suffix}", f"owner_{suffix}"
    url = _url(db)
    result = run("init", "--app-role", app_role, "--owner-role", owner, "--db", url)
    assert result.exit_code == 0, result.output
    as_app = make_engine(url.replace("postgres@", f"{app_role}@", 1))
    try:
        with unit_of_work(as_app, "site.app") as s:
            add_person(s, get_study(s), "P0007", "participant", "CPH")
        for refused in (
            "UPDATE audit_event SET actor = 'x'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
            "DROP TRIGGER audit_event_refuse_change ON audit_event",
            "ALTER TABLE audit_event DISABLE TRIGGER ALL",
            "CREATE TABLE mine (x int)",
            "UPDATE alembic_version SET version_num = 'x'",
        ):
            with pytest.raises(DBAPIError, match="permission denied|must be owner"):
                with as_app.begin() as conn:
                    conn.execute(text(refused))
        assert verify_chain(as_app).intact
    finally:
        as_app.dispose()
        with db.begin() as conn:
            conn.execute(text(f'REASSIGN OWNED BY "{owner}" TO CURRENT_USER'))
            conn.execute(text(f'DROP OWNED BY "{app_role}"'))
            conn.execute(text(f'DROP OWNED BY "{owner}"'))
            conn.execute(text(f'DROP ROLE "{app_role}"'))
            conn.execute(text(f'DROP ROLE "{owner}"'))


def test_check_fails_on_a_cut_tail_it_anchored_before(study_db, tmp_path):
    from study.db.audit_guard import suspended_audit_guard

    demo_copy, url = study_db, _url(study_db)
    first = run("check", "--db", url, "--html", str(tmp_path / "q.html"))
    assert "audit trail intact" in first.output and "audit anchor (seq" in first.output, first.output
    with demo_copy.begin() as conn, suspended_audit_guard(conn):  # an owner removes the newest event
        conn.execute(text("DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)"))
    cut = run("check", "--db", url, "--html", str(tmp_path / "q.html"), "--no-record")
    assert cut.exit_code == 1 and "FAIL  audit trail" in cut.output, cut.output

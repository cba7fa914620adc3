"""`peerstudy randomise` loads only what randomising needs: run in a fresh interpreter, it
allocates and prints its line without importing pandas, statsmodels, streamlit, Great
Expectations or Alembic (their start-up cost would be most of the command's; issue 16), nor the
module of any other sub-command. The
schema check behind every command compares ``alembic_version`` with a constant kept equal to
the migrations' heads."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from rct_fixtures import ACTOR, ON, add_groups, add_participants, make_rct_study
from sqlalchemy import text

from study.db import unit_of_work
from study.db.schema import HEAD_REVISIONS, alembic_config, is_current
from study.randomisation.service import install_secret
from study.studies import get_study

HEAVY = ("pandas", "statsmodels", "streamlit", "great_expectations", "alembic")

_RUN_AND_LIST_MODULES = """
import json, sys
from study.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    heavy = %r
    loaded = sorted(m for m in heavy if m in sys.modules)
    cli = sorted(m for m in sys.modules if m.startswith("study.cli"))
    print(json.dumps([loaded, cli]), file=sys.stderr)
"""

#: The command line's modules randomise may load: no other sub-app's (study/cli/lazy.py).
CLI_MODULES = ["study.cli", "study.cli.common", "study.cli.gc_pause", "study.cli.lazy", "study.cli.randomise"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_randomise_command_loads_no_heavy_library(db):
    make_rct_study(db)
    with unit_of_work(db, ACTOR) as s:  # a known secret: the arms below are always the same
        install_secret(s, get_study(s), bytes(range(32)), ACTOR)
    people = [
        dict(pseudonym=f"P000{i}", site=site, gender=gender)
        for i, (site, gender) in enumerate(
            [("CPH", "female"), ("CPH", "male"), ("HEL", "female"), ("HEL", "male")], start=1
        )
    ]
    add_participants(db, people)
    add_groups(db, "CPH", [ON])
    url = db.url.render_as_string(hide_password=False)
    lines = []
    for person in people:  # the first slot of four strata
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _RUN_AND_LIST_MODULES % (HEAVY,),
                "randomise",
                person["pseudonym"],
                "--db",
                url,
                "--on",
                ON.isoformat(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        lines.append(done.stdout.strip())
        loaded, cli = json.loads(done.stderr.strip().splitlines()[-1])
        assert loaded == [], f"randomise imported {loaded}"
        assert cli == CLI_MODULES
    # It did randomise, and the intervention path (placing in a group) ran too.
    assert [line.split()[0] for line in lines] == [p["pseudonym"] for p in people]
    assert {line.split()[1] for line in lines} == {"INT", "CTL"}


def test_head_revisions_constant_matches_the_migrations():
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert set(HEAD_REVISIONS) == heads, (
        f"study.db.schema.HEAD_REVISIONS is {sorted(HEAD_REVISIONS)}, the migrations' heads are "
        f"{sorted(heads)}: update the constant with the new migration"
    )


def test_is_current_reads_the_version_table(db):
    assert is_current(db)
    with db.begin() as conn:
        (version,) = conn.execute(text("SELECT version_num FROM alembic_version")).one()
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        assert not is_current(db)
    finally:
        with db.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": version})
    assert is_current(db)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_database_without_peerstudy_schema_is_not_current(db_factory):
    from study.db import make_engine

    engine = make_engine(db_factory.new_url())  # created, never migrated
    try:
        assert not is_current(engine)
    finally:
        engine.dispose()

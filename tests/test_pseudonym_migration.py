"""Revision 0010 stores existing pseudonyms upper-case, or stops when two differ only in case,
and marks the studies the demo created (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from study.db import make_engine
from study.db.schema import alembic_config


def _at(engine, revision: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _people(engine, *pseudonyms: str, demo: bool = False) -> None:
    """A study (created by the demo when ``demo``), one site and people stored as an older
    peerstudy stored them (as typed), written with SQL of the 0007 schema."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO study (id, code, name, config_yaml, created_at) "
                "VALUES (1, 'S', 'S', '', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO site (id, study_id, code, name, recruitment_target) "
                "VALUES (1, 1, 'CPH', 'K', 10)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO audit_event (id, seq, study_id, occurred_at, actor, action, "
                "table_name, row_id, prev_hash, hash) VALUES (1, 1, 1, CURRENT_TIMESTAMP, "
                ":actor, 'insert', 'study', '1', 'g', 'h')"
            ),
            {"actor": "demo" if demo else "cli:x"},
        )
        for i, p in enumerate(pseudonyms, start=1):
            conn.execute(
                text(
                    "INSERT INTO person (id, study_id, pseudonym, role, site_id, created_at) "
                    "VALUES (:i, 1, :p, 'participant', 1, CURRENT_TIMESTAMP)"
                ),
                {"i": i, "p": p},
            )


def test_existing_pseudonyms_are_upper_cased(db_factory):
    engine = make_engine(db_factory.new_url())
    _at(engine, "0007")
    _people(engine, "p0001", " P0002 ", "P0003")
    _at(engine, "0010")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pseudonym FROM person ORDER BY id")).scalars().all() == [
            "P0001",
            "P0002",
            "P0003",
        ]
    engine.dispose()


def test_pseudonyms_differing_only_in_case_stop_the_upgrade(db_factory):
    engine = make_engine(db_factory.new_url())
    _at(engine, "0007")
    _people(engine, "p0001", "P0001")
    with pytest.raises(RuntimeError, match="P0001"):
        _at(engine, "0010")
    engine.dispose()


@pytest.mark.parametrize("demo", [True, False])
def test_studies_the_demo_created_are_marked_demo(db_factory, demo):
    engine = make_engine(db_factory.new_url())
    _at(engine, "0007")
    _people(engine, "P0001", demo=demo)
    _at(engine, "0010")
    with engine.connect() as conn:
        assert bool(conn.execute(text("SELECT is_demo FROM study")).scalar()) is demo
    engine.dispose()

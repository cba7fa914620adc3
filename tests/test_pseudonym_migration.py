"""Revision 0010 stores existing pseudonyms upper-case, or stops when two differ only in case
(SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text

from study.config import example_config_path, load_config
from study.db import make_engine, unit_of_work
from study.db.schema import alembic_config
from study.studies import create_study


def _at(engine, revision: str) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _people(engine, *pseudonyms: str) -> None:
    """The reference study and people inserted as an older peerstudy stored them (as typed)."""
    path = example_config_path()
    with unit_of_work(engine, "test") as s:
        study = create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        study_id, site_id = study.id, study.sites[0].id
    with engine.begin() as conn:
        for i, p in enumerate(pseudonyms, start=1):
            conn.execute(text("INSERT INTO person (id, study_id, pseudonym, role, site_id, created_at) "
                              "VALUES (:i, :s, :p, 'participant', :site, CURRENT_TIMESTAMP)"),
                         {"i": i, "s": study_id, "p": p, "site": site_id})


def test_existing_pseudonyms_are_upper_cased(db_factory):
    engine = make_engine(db_factory.new_url())
    _at(engine, "0007")
    _people(engine, "p0001", " P0002 ", "P0003")
    _at(engine, "0010")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pseudonym FROM person ORDER BY id")).scalars().all() == [
            "P0001", "P0002", "P0003"]
    engine.dispose()


def test_pseudonyms_differing_only_in_case_stop_the_upgrade(db_factory):
    engine = make_engine(db_factory.new_url())
    _at(engine, "0007")
    _people(engine, "p0001", "P0001")
    with pytest.raises(RuntimeError, match="P0001"):
        _at(engine, "0010")
    engine.dispose()

"""Test fixtures: every data-layer test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ``$PEERSTUDY_TEST_PG`` (default: the local server, user postgres,
trust auth); each test run creates its own databases and drops them at the end. Outside CI a
missing server skips the PostgreSQL half with a reason; with ``CI=true`` it fails instead,
because CI must never skip them.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from study.audit_key import create_key
from study.config import example_config_path, load_config
from study.db import make_engine, unit_of_work
from study.db.audit_guard import suspended_audit_guard
from study.db.base import Base
from study.db.schema import upgrade

# Every test (and every CLI subprocess it starts) uses one audit key made for this run (never
# a key of the developer's shell), so no fixture needs its own; tests of the key itself
# override $PEERSTUDY_AUDIT_KEY with monkeypatch. Anchors go to the same temporary directory.
_KEY_DIR = Path(tempfile.mkdtemp(prefix="peerstudy-test-key-"))
os.environ["PEERSTUDY_AUDIT_KEY"] = str(_KEY_DIR / "audit.key")
os.environ["PEERSTUDY_ANCHOR_LOG"] = str(_KEY_DIR / "anchors.log")
create_key(_KEY_DIR / "audit.key")

PG_ADMIN_URL = os.environ.get("PEERSTUDY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
ACTOR = "test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin() -> Engine:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except Exception as exc:  # server down or unreachable
        engine.dispose()
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}"
        if _in_ci():
            pytest.fail(message + " (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(message)
    return engine


class DatabaseFactory:
    """Creates empty, migrated databases of one backend and drops them at the end."""

    def __init__(self, backend: str, tmp_dir) -> None:
        self.backend = backend
        self.tmp_dir = tmp_dir
        self._pg_names: list[str] = []
        self._admin: Engine | None = None

    def new_url(self) -> str:
        name = f"peerstudy_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp_dir / (name + '.db')}"
        if self._admin is None:
            self._admin = _pg_admin()
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._pg_names.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    def new_engine(self) -> Engine:
        engine = make_engine(self.new_url())
        upgrade(engine)
        return engine

    def close(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as conn:
                for name in self._pg_names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self._admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """The database backend of this test run: ``sqlite`` or ``postgresql``."""
    return request.param


@pytest.fixture(scope="session")
def db_factory(backend, tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(backend, tmp_path_factory.mktemp(backend))
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def _shared_engine(db_factory) -> Iterator[Engine]:
    engine = db_factory.new_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def db(_shared_engine: Engine) -> Iterator[Engine]:
    """An empty, migrated database (SQLite and PostgreSQL); emptied again after the test."""
    yield _shared_engine
    _empty(_shared_engine)


def _empty(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # The database refuses to delete audit events; only the owner (this fixture) drops the
    # triggers for a moment, in the same transaction.
    with engine.begin() as conn, suspended_audit_guard(conn):
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def study_db(db: Engine) -> Engine:
    """A database holding the reference study (example config), in no phase yet."""
    from study.studies import create_study

    path = example_config_path()
    with unit_of_work(db, ACTOR) as session:
        create_study(session, load_config(path), path.read_text(encoding="utf-8"))
    return db


@pytest.fixture(scope="session")
def demo_engine(db_factory) -> Iterator[Engine]:
    """A small demo study (60 RCT participants, seed 7), built once per backend. Read only:
    tests that change data use ``db`` or ``study_db`` instead."""
    from study.demo import build_demo

    engine = db_factory.new_engine()
    build_demo(engine, participants=60, seed=7)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def dashboard_db(db_factory) -> Iterator[Engine]:
    """A small demo study (20 RCT participants, seed 3, with the demo logins) that dashboard
    tests may write to, built once per backend. Tests using it pick pseudonyms, groups and
    sessions of their own so they do not depend on each other's writes."""
    from study.demo import build_demo

    engine = db_factory.new_engine()
    build_demo(engine, participants=20, seed=3)
    yield engine
    engine.dispose()

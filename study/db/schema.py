"""Create and upgrade the schema through Alembic (never ``create_all``).

Alembic is imported only by the functions that migrate: :func:`is_current`, which every
command runs before it touches a database, reads the ``alembic_version`` table and compares
it with :data:`HEAD_REVISIONS`, so that a quick command (``peerstudy randomise``) does not pay
Alembic's start-up cost. A test keeps :data:`HEAD_REVISIONS` equal to the migrations' heads.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD_REVISIONS", "alembic_config", "is_current", "upgrade"]

#: The head revision(s) of the migrations in study/db/migrations/versions. Adding a
#: migration means updating this (tests/test_demo_and_schema.py checks it against Alembic).
HEAD_REVISIONS: frozenset[str] = frozenset({"0011"})


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at peerstudy's migrations (and ``engine``)."""
    from alembic.config import Config  # lazily: Alembic is needed only to migrate

    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("study.db") / "migrations"))
    if engine is not None:
        cfg.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (all migration heads); idempotent."""
    from alembic import command  # lazily: see the module docstring

    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")


def is_current(engine: Engine) -> bool:
    """Whether the database is at every head of the migrations (:data:`HEAD_REVISIONS`).

    A database without peerstudy's ``alembic_version`` table is not current.
    """
    with engine.connect() as connection:
        try:
            current = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except DBAPIError:  # no such table: not a peerstudy database, or an empty one
            return False
    return current == HEAD_REVISIONS

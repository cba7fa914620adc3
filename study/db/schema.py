"""Create and upgrade the schema through Alembic (never ``create_all``)."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["alembic_config", "is_current", "upgrade"]


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration pointing at peerstudy's migrations (and ``engine``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("study.db") / "migrations"))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (all migration heads); idempotent."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")


def is_current(engine: Engine) -> bool:
    """Whether the database is at every head of the migrations."""
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads

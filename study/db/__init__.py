"""Database layer: models, engines, units of work and the Alembic-managed schema."""

from study.db import text_guard  # noqa: F401  (registers the text check of every flush)
from study.db.engine import make_engine, read_session, resolve_url, unit_of_work

__all__ = ["make_engine", "read_session", "resolve_url", "unit_of_work"]

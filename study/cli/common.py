"""What every command shares: options, the database, the actor and error handling."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, overload

import typer
from typer.core import TyperGroup

from study.cli.gc_pause import resume_collector
from study.errors import BadInput, NotAllowed, PeerstudyError

if TYPE_CHECKING:  # SQLAlchemy is imported only by commands that open a database
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from study.db.models import Study

__all__ = [
    "DbOpt",
    "OnOpt",
    "StudyOpt",
    "TodayOpt",
    "PeerstudyGroup",
    "cli_actor",
    "echo_table",
    "open_db",
    "option_date",
    "reference_date",
    "study_read",
    "study_write",
]

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="PEERSTUDY_DB",
        help="Database URL or SQLite file [default: sqlite:///peerstudy.db].",
        show_default=False,
    ),
]
StudyOpt = Annotated[
    str | None,
    typer.Option(
        "--study",
        envvar="PEERSTUDY_STUDY",
        help="Study code, when the database holds more than one study.",
        show_default=False,
    ),
]

# Dates are taken as text and parsed by :func:`option_date`, so that every command reports a
# bad date the same way (exit 2, the option named) and the domain functions get ``dt.date``.
TodayOpt = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Reference date YYYY-MM-DD [default: today], for reproducible runs.",
        show_default=False,
    ),
]
OnOpt = Annotated[
    str | None,
    typer.Option("--on", help="Date YYYY-MM-DD [default: today].", show_default=False),
]


@overload
def option_date(text: str, option: str, default: dt.date | None = None) -> dt.date: ...
@overload
def option_date(text: str | None, option: str, default: dt.date) -> dt.date: ...
@overload
def option_date(text: str | None, option: str, default: None = None) -> dt.date | None: ...
def option_date(text: str | None, option: str, default: dt.date | None = None) -> dt.date | None:
    """The date a command-line option gives (ISO 8601, ``YYYY-MM-DD``).

    ``default`` when the option is not given (``None`` stays ``None``: the domain function
    then takes today). A malformed date is ``BadInput`` naming the option, e.g.
    ``--on: '2025-13-05' is not a date (YYYY-MM-DD)``.

    >>> option_date("2026-02-03", "--on")
    datetime.date(2026, 2, 3)
    >>> option_date(None, "--on", dt.date(2026, 1, 1))
    datetime.date(2026, 1, 1)
    """
    if text is None:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def reference_date(today: str | None) -> dt.date:
    """The ``--today`` option as a date: today's date unless given."""
    return option_date(today, "--today", dt.date.today())


def cli_actor() -> str:
    """Who acts from the command line: ``$PEERSTUDY_USER`` or ``cli:<os user>``."""
    user = os.environ.get("PEERSTUDY_USER")
    if user:
        return user
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli:unknown"


def _sqlite_file_missing(engine: Engine) -> bool:
    """Whether ``engine`` is a SQLite file database whose file does not exist (in-memory and
    URI databases are never "missing")."""
    from pathlib import Path

    name = engine.url.database
    if (
        engine.url.get_backend_name() != "sqlite"
        or not name
        or name == ":memory:"
        or name.startswith("file:")
    ):
        return False
    return not Path(name).exists()


def open_db(db: str | None, *, require_schema: bool = True) -> Engine:
    """An engine for ``db``; refuses a database whose schema ``peerstudy init`` has not made
    current (a clear message instead of a missing-table traceback)."""
    from study.db import make_engine
    from study.db.schema import is_current

    # The command has started up (its modules are imported): the collector runs again.
    resume_collector()
    engine = make_engine(db)
    # Connecting to a SQLite file creates it: check that it exists first, so that a command
    # run in the wrong directory leaves no empty peerstudy.db behind.
    if require_schema and _sqlite_file_missing(engine):
        raise BadInput(
            f"the database {engine.url.render_as_string(hide_password=True)} does not exist: "
            "give --db (or $PEERSTUDY_DB), or run `peerstudy init` (or `peerstudy demo`) first"
        )
    if require_schema and not is_current(engine):
        raise BadInput(
            f"the database {engine.url.render_as_string(hide_password=True)} has no current "
            "peerstudy schema: run `peerstudy init` (or `peerstudy demo`) first"
        )
    return engine


@contextmanager
def study_write(
    db: str | None, study: str | None, reason: str | None = None, *, lock_at_start: bool = True
) -> Iterator[tuple[Session, Study, str]]:
    """The skeleton of a writing command: ``(session, study, actor)`` in one audited unit of
    work on the database and study the options name (``lock_at_start``: see
    :func:`study.db.unit_of_work`)."""
    from study.db import unit_of_work
    from study.studies import get_study

    actor = cli_actor()
    with unit_of_work(open_db(db), actor, reason=reason, lock_at_start=lock_at_start) as session:
        yield session, get_study(session, study), actor


@contextmanager
def study_read(db: str | None, study: str | None) -> Iterator[tuple[Session, Study]]:
    """The skeleton of a reading command: ``(session, study)``."""
    from study.db import read_session
    from study.studies import get_study

    with read_session(open_db(db)) as session:
        yield session, get_study(session, study)


def echo_table(df, *, empty: str = "(none)") -> None:
    """Print a DataFrame as an aligned text table on stdout."""
    if df.empty:
        typer.echo(empty)
    else:
        typer.echo(df.to_string(index=False))


class PeerstudyGroup(TyperGroup):
    """Root command group: turns known errors into one line on stderr and an exit code.

    Bad input and refused actions exit with 2, other peerstudy errors and an unreachable
    database with 1. ``--debug`` (or ``PEERSTUDY_DEBUG=1``) shows the traceback instead.
    """

    # ctx is typer's Context; typed Any because TyperGroup.invoke names the Click Context
    # that typer vendors (typer._click, private to typer) since typer 0.26.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # exit requests and usage errors (TyperException) are exceptions too: typer handles them
        except Exception as exc:
            if os.environ.get("PEERSTUDY_DEBUG") or (ctx.obj or {}).get("debug"):
                raise
            code = _exit_code(exc)
            if code is None:
                raise
            typer.echo(f"error: {_message(exc)}", err=True)
            sys.stderr.flush()
            raise typer.Exit(code) from None


def _exit_code(exc: Exception) -> int | None:
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, (BadInput, NotAllowed)):
        return 2
    if isinstance(exc, (PeerstudyError, OperationalError)):
        return 1
    return None


def _message(exc: Exception) -> str:
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        return f"cannot use the database: {exc.orig}".strip()
    return str(exc)

"""Scratch databases for the benchmarks: numbered SQLite files in a folder, PostgreSQL
databases created on the local server and dropped again, and the SIGTERM handling that lets
them be dropped when ``benchmarks/all.py`` stops a benchmark at its timeout (a helper
module, not a benchmark)."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

__all__ = ["PG_ADMIN", "exit_on_sigterm", "postgresql_urls", "sqlite_urls"]

#: The maintenance database used to create and drop the scratch databases.
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def sqlite_urls(folder: Path) -> Callable[[], str]:
    """A function returning the URL of a new SQLite file in ``folder`` at each call."""
    counter = iter(range(1_000_000))
    return lambda: f"sqlite:///{folder / f'bench{next(counter)}.db'}"


@contextmanager
def postgresql_urls(admin_url: str = PG_ADMIN) -> Iterator[Callable[[], str]]:
    """A function creating a new PostgreSQL database at each call and returning its URL; every
    database it created is dropped when the block ends."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names: list[str] = []

    def new_url() -> str:
        name = f"peerstudy_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        names.append(name)
        return admin_url.rsplit("/", 1)[0] + "/" + name

    try:
        yield new_url
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def exit_on_sigterm() -> None:
    """Make SIGTERM end this process the way Ctrl-C does: through its ``finally`` blocks.

    Python's default for SIGTERM is to die on the spot, leaving behind the scratch databases
    (and a dashboard server) that a benchmark's ``finally`` would have cleaned up;
    ``benchmarks/all.py`` stops a benchmark at its timeout with SIGTERM. A benchmark that
    creates anything outside its own process calls it where it starts as a script (under
    ``if __name__ == "__main__"``). The exit status is 128 + 15, as for a process killed by
    SIGTERM.
    """
    signal.signal(signal.SIGTERM, _exit_for_signal)


def _exit_for_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)

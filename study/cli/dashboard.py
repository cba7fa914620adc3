"""``peerstudy dashboard``: start the Streamlit app on a database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, open_db

__all__ = ["dashboard", "streamlit_command"]


def streamlit_command(app: Path, port: int, address: str = "localhost") -> list[str]:
    """The command line that serves ``app`` headless on ``address:port``."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
        # Study staff and participants are viewers: no deploy button, rerun or cache controls.
        "--client.toolbarMode",
        "viewer",
        # A served study is not edited live: watching the sources costs a walk over every
        # imported module's path after each page run (and a polling thread), for nothing.
        "--server.fileWatcherType",
        "none",
        # Streamlit runs a full garbage collection (gc.collect(2)) after every page run; with
        # pandas, SQLAlchemy and the caches in memory that is ~0.1-0.3 s holding the GIL, which
        # every other user's page waits for (a quarter of the server's CPU in the load test,
        # docs/dashboard.md). Python's own generational collection still runs.
        "--runner.postScriptGC",
        "false",
    ]


def dashboard(
    db: DbOpt = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "localhost",
) -> None:
    """Start the dashboard (Streamlit) on the database and print its URL and a demo login."""
    import dashboards
    from study.demo.users import DEMO_PASSWORD, DEMO_USERS

    engine = open_db(db)  # refuse a database without schema before starting a server
    url = engine.url.render_as_string(hide_password=False)
    app = Path(dashboards.__file__).parent / "app.py"
    env = dict(os.environ, PEERSTUDY_DB=url)
    typer.echo(
        f"dashboard: http://{address}:{port}  (database {engine.url.render_as_string(hide_password=True)})"
    )
    typer.echo(
        f"demo login (demo databases only): {DEMO_USERS[0][0]} / {DEMO_PASSWORD}; "
        "other demo logins in docs/dashboard.md. Stop with Ctrl+C."
    )
    engine.dispose()
    code = subprocess.call(streamlit_command(app, port, address), env=env)
    raise typer.Exit(code)

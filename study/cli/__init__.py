"""The ``peerstudy`` command line. This module only wires the sub-apps together."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli import audit, dashboard, phase, setup, status, users
from study.cli.common import PeerstudyGroup

__all__ = ["app", "main"]

app = typer.Typer(
    cls=PeerstudyGroup,
    help="peerstudy: data management and fidelity for peer-support intervention studies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    ctx.obj = {"debug": debug}


app.command("init")(setup.init)
app.command("demo")(setup.demo)
app.command("status")(status.status)
app.command("dashboard")(dashboard.dashboard)
app.add_typer(phase.app, name="phase")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")


def main() -> None:
    """Console-script entry point."""
    app()

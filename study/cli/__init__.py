"""The ``peerstudy`` command line. This module only wires the sub-apps together."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli import (
    allocation,
    audit,
    imports,
    phase,
    questionnaires,
    randomise,
    setup,
    status,
    users,
)
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


# One `import` and one `template` group, fed by the capability that owns each file format.
import_app = typer.Typer(
    help="Import study data from CSV files (all or nothing, idempotent).", no_args_is_help=True
)
import_app.command("participants")(imports.participants)
import_app.command("questionnaires")(questionnaires.import_questionnaires_cmd)

template_app = typer.Typer(help="Write empty CSV templates to fill in.", no_args_is_help=True)
template_app.command("questionnaires")(questionnaires.template_questionnaires)

app.command("init")(setup.init)
app.command("demo")(setup.demo)
app.command("status")(status.status)
app.add_typer(phase.app, name="phase")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(import_app, name="import")
app.add_typer(template_app, name="template")
app.command("randomise")(randomise.randomise)
app.add_typer(allocation.app, name="allocation")
app.command("unblind")(allocation.unblind)
app.command("scores")(questionnaires.scores)
app.add_typer(questionnaires.questionnaires_app, name="questionnaires")


def main() -> None:
    """Console-script entry point."""
    app()

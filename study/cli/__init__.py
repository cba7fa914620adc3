"""The ``peerstudy`` command line. This module only wires the sub-apps together."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli import (
    allocation,
    analyse,
    audit,
    backup,
    check,
    config,
    dashboard,
    export,
    fidelity,
    imports,
    match,
    phase,
    questionnaires,
    randomise,
    report,
    sap,
    setup,
    status,
    templates,
    users,
    volunteers,
    withdraw,
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


# One `import` and one `template` group; each capability adds the commands of its own formats.
imports.app.command("questionnaires")(questionnaires.import_questionnaires_cmd)
templates.app.command("questionnaires")(questionnaires.template_questionnaires)

app.command("init")(setup.init)
app.command("demo")(setup.demo)
app.command("status")(status.status)
app.command("dashboard")(dashboard.dashboard)
app.add_typer(phase.app, name="phase")
app.add_typer(config.app, name="config")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(imports.app, name="import")
app.add_typer(templates.app, name="template")
app.command("randomise")(randomise.randomise)
app.command("withdraw")(withdraw.withdraw)
app.add_typer(allocation.app, name="allocation")
app.command("unblind")(allocation.unblind)
app.add_typer(sap.app, name="sap")
app.command("scores")(questionnaires.scores)
app.add_typer(questionnaires.questionnaires_app, name="questionnaires")
app.add_typer(fidelity.app, name="fidelity")
app.add_typer(volunteers.app, name="volunteers")
app.add_typer(match.app, name="match")
app.command("analyse")(analyse.analyse)
app.command("export")(export.export)
app.command("check")(check.check)
app.command("report")(report.report)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)


def main() -> None:
    """Console-script entry point."""
    app()

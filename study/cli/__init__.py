"""The ``peerstudy`` command line. This module only wires the sub-apps together.

Each sub-command is named here with the module it lives in and is imported only when it is
run (or listed by ``--help``): see :mod:`study.cli.lazy`. A command runs with just its own
module loaded, which keeps ``peerstudy randomise`` quick (issue 16).
"""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import PeerstudyGroup
from study.cli.gc_pause import pause_collector
from study.cli.lazy import LazyGroup, Source

__all__ = ["app", "main"]


class RootGroup(PeerstudyGroup, LazyGroup):
    """The ``peerstudy`` group: errors handled as in :class:`PeerstudyGroup`, sub-commands
    imported on first use. Listed in this order by ``--help``: commands, then groups."""

    lazy_commands = {
        "init": Source("study.cli.setup:init"),
        "demo": Source("study.cli.setup:demo"),
        "status": Source("study.cli.status:status"),
        "dashboard": Source("study.cli.dashboard:dashboard"),
        "randomise": Source("study.cli.randomise:randomise"),
        "withdraw": Source("study.cli.withdraw:withdraw"),
        "unblind": Source("study.cli.allocation:unblind"),
        "scores": Source("study.cli.questionnaires:scores"),
        "analyse": Source("study.cli.analyse:analyse"),
        "export": Source("study.cli.export:export"),
        "check": Source("study.cli.check:check"),
        "report": Source("study.cli.report:report"),
        "backup": Source("study.cli.backup:backup"),
        "restore": Source("study.cli.backup:restore"),
        "phase": Source("study.cli.phase:app"),
        "config": Source("study.cli.config:app"),
        "users": Source("study.cli.users:app"),
        "audit": Source("study.cli.audit:app"),
        # One `import` and one `template` group; each capability adds the commands of its
        # own formats.
        "import": Source(
            "study.cli.imports:app", {"questionnaires": "study.cli.questionnaires:import_questionnaires_cmd"}
        ),
        "template": Source(
            "study.cli.templates:app", {"questionnaires": "study.cli.questionnaires:template_questionnaires"}
        ),
        "allocation": Source("study.cli.allocation:app"),
        "sap": Source("study.cli.sap:app"),
        "questionnaires": Source("study.cli.questionnaires:questionnaires_app"),
        "fidelity": Source("study.cli.fidelity:app"),
        "volunteers": Source("study.cli.volunteers:app"),
        "match": Source("study.cli.match:app"),
    }


app = typer.Typer(
    cls=RootGroup,
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


def main() -> None:
    """Console-script entry point (the collector paused while the command starts up, see
    :mod:`study.cli.gc_pause`)."""
    pause_collector()
    app()

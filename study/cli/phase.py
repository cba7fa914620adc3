"""``peerstudy phase``: show and start the phases of the study."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, study_read, study_write

app = typer.Typer(help="Show or start study phases (pilot → rct → analysis).", no_args_is_help=True)


@app.command("start")
def start(
    phase: Annotated[str, typer.Argument(help="pilot, rct or analysis")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Start a phase (forward only; recorded in the audit trail)."""
    from study.phases import start_phase

    with study_write(db, study, reason=f"phase start {phase}") as (session, st, actor):
        start_phase(session, st, phase, actor)
        typer.echo(f"study {st.code} is now in the {phase} phase")


@app.command("show")
def show(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Planned and actual phases and the current one."""
    from study.phases import phase_table

    with study_read(db, study) as (session, st):
        typer.echo(f"current phase: {st.current_phase or 'set-up (no phase started)'}")
        echo_table(phase_table(session, st))

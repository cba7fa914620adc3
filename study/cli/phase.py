"""``peerstudy phase``: show and start the phases of the study."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, cli_actor, echo_table, open_db

app = typer.Typer(help="Show or start study phases (pilot → rct → analysis).", no_args_is_help=True)


@app.command("start")
def start(
    phase: Annotated[str, typer.Argument(help="pilot, rct or analysis")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Start a phase (forward only; recorded in the audit trail)."""
    from study.db import unit_of_work
    from study.phases import start_phase
    from study.studies import get_study

    engine = open_db(db)
    actor = cli_actor()
    with unit_of_work(engine, actor, reason=f"phase start {phase}") as session:
        st = get_study(session, study)
        start_phase(session, st, phase, actor)
        typer.echo(f"study {st.code} is now in the {phase} phase")


@app.command("show")
def show(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Planned and actual phases and the current one."""
    from study.db import read_session
    from study.phases import phase_table
    from study.studies import get_study

    engine = open_db(db)
    with read_session(engine) as session:
        st = get_study(session, study)
        typer.echo(f"current phase: {st.current_phase or 'set-up (no phase started)'}")
        echo_table(phase_table(session, st))

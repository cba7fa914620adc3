"""``peerstudy audit``: verify the hash chain and show a person's history."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, open_db

app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)


@app.command("verify")
def verify(db: DbOpt = None) -> None:
    """Walk the hash chain; exit 1 and name the first broken event if it is not intact."""
    from study.audit import verify_chain

    report = verify_chain(open_db(db))
    if report.intact:
        typer.echo(f"audit chain intact: {report.events} events")
        return
    typer.echo(
        f"audit chain BROKEN at event id {report.broken_id} (sequence {report.broken_seq}): "
        f"{report.problem}",
        err=True,
    )
    raise typer.Exit(1)


@app.command("show")
def show(
    person: Annotated[str, typer.Option("--person", help="Pseudonym of the person.")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Every recorded change about one person, oldest first (identity values redacted)."""
    from study.audit import person_history
    from study.db import read_session
    from study.studies import get_study

    with read_session(open_db(db)) as session:
        st = get_study(session, study)
        echo_table(person_history(session, st.id, person), empty=f"no events for {person}")

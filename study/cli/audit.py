"""``peerstudy audit``: verify the hash chain and show a person's history."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, open_db, study_read

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
    show_arms: Annotated[bool, typer.Option(
        "--show-arms", help="Show allocation events unblinded (for the site's coordinator, who knows the arm).",
    )] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Every recorded change about one person, oldest first (identity values redacted).

    Until the study is unblinded, the values of a participant's allocation events (they carry
    the arm) show as <blinded> and the events of course groups, attendance and companionship
    (only the intervention arm has them) are left out, so the audit trail is no back door
    around blinding; --show-arms shows everything.
    """
    from sqlalchemy import select

    from study.audit import person_history
    from study.blinding import blind_person_history, is_unblinded
    from study.db.models import Person

    with study_read(db, study) as (session, st):
        history = person_history(session, st.id, person)
        role = session.scalar(select(Person.role).where(Person.study_id == st.id, Person.pseudonym == person.strip()))
        if not (show_arms or is_unblinded(st)) and role == "participant":
            history = blind_person_history(history)
        echo_table(history, empty=f"no events for {person}")

"""``peerstudy volunteers``: interviews, training records and commitment of volunteers."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import (
    DbOpt,
    OnOpt,
    StudyOpt,
    TodayOpt,
    echo_table,
    option_date,
    reference_date,
    study_read,
    study_write,
)

__all__ = ["app"]

app = typer.Typer(
    help="Volunteers: interviews, training (education weekend, supervision, workshop), commitment.",
    no_args_is_help=True,
)


@app.command("list")
def list_volunteers(
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Volunteers with interviews, acceptance, training, missing training and availability."""
    from study.companionship.volunteers import volunteer_table

    with study_read(db, study) as (session, st):
        table = volunteer_table(session, st, site)
    echo_table(table, empty="no volunteers")


@app.command("interview")
def interview(
    pseudonym: Annotated[str, typer.Argument(help="The volunteer.")],
    outcome: Annotated[str, typer.Option(help="accepted, second_interview, not_accepted or withdrew.")],
    on: OnOpt = None,
    interviewer: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option()] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Record an interview of a volunteer (up to the configured number before acceptance)."""
    from study.companionship.volunteers import record_interview
    from study.people import person_by_pseudonym

    today_date = reference_date(today)
    with study_write(db, study, f"volunteers interview {pseudonym}") as (session, st, _actor):
        row = record_interview(
            session,
            st,
            person_by_pseudonym(session, st, pseudonym),
            option_date(on, "--on", today_date),
            outcome,
            interviewer,
            note,
            today=today_date,
        )
        typer.echo(f"{pseudonym} interview {row.number} on {row.interviewed_on}: {row.outcome}")


@app.command("train")
def train(
    pseudonym: Annotated[str, typer.Argument(help="The volunteer.")],
    kind: Annotated[str, typer.Option(help="education_weekend, supervision or companionship_workshop.")],
    on: OnOpt = None,
    group: Annotated[
        str | None, typer.Option(help="Course whose observed session a supervision followed.")
    ] = None,
    note: Annotated[str | None, typer.Option()] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Record a completed training."""
    from study.companionship.volunteers import record_training
    from study.people import person_by_pseudonym

    today_date = reference_date(today)
    with study_write(db, study, f"volunteers train {pseudonym}") as (session, st, _actor):
        row = record_training(
            session,
            st,
            person_by_pseudonym(session, st, pseudonym),
            kind,
            option_date(on, "--on", today_date),
            group,
            note,
            today=today_date,
        )
        typer.echo(f"{pseudonym} {row.kind} on {row.completed_on} recorded")


@app.command("commit")
def commit(
    pseudonym: Annotated[str, typer.Argument(help="The volunteer.")],
    available_from: Annotated[str, typer.Option("--from", help="Available from YYYY-MM-DD.")],
    until: Annotated[str | None, typer.Option(help="Available until YYYY-MM-DD.")] = None,
    courses: Annotated[int | None, typer.Option(help="Group leaders: courses within half a year.")] = None,
    months: Annotated[int | None, typer.Option(help="Peer buddies: months of companionship.")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Record (or correct) a volunteer's availability and commitment."""
    from study.companionship.volunteers import set_commitment
    from study.people import person_by_pseudonym

    with study_write(db, study, f"volunteers commit {pseudonym}") as (session, st, _actor):
        set_commitment(
            session,
            st,
            person_by_pseudonym(session, st, pseudonym),
            option_date(available_from, "--from"),
            option_date(until, "--until"),
            courses,
            months,
            note,
        )
        typer.echo(f"{pseudonym} commitment saved")

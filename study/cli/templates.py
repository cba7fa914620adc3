"""``peerstudy template``: empty import files with the right columns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, study_read

__all__ = ["app"]

app = typer.Typer(help="Write empty import files (CSV) with the right columns.", no_args_is_help=True)

OutOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file [default: stdout].")]


def _write(frame, output: Path | None) -> None:
    from study.safe_csv import to_csv

    text = to_csv(frame)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command("fidelity")
def template_fidelity(
    week: Annotated[int, typer.Option(help="Week of the session to observe.")] = 1,
    group: Annotated[str, typer.Option(help="Group code to fill in.")] = "",
    observer: Annotated[str, typer.Option(help="Observer to fill in.")] = "",
    output: OutOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Rows for one observation: every component of the week, competence items, session fields."""
    from study.errors import BadInput
    from study.fidelity.manual import shipped_manual
    from study.fidelity.observation_import import fidelity_template
    from study.fidelity.versions import current_version, manual_of, stored_manual
    from study.groups import group_by_code
    from study.studies import config_of

    with study_read(db, study) as (session, st):
        row = None
        if group:
            g = group_by_code(session, st, group)
            row = stored_manual(session, st, g.manual_version) if g.manual_version else None
        row = row or current_version(session, st)
        manual = manual_of(row) if row is not None else shipped_manual(config_of(st).fidelity.manual)
    if not 1 <= week <= manual.weeks:
        raise BadInput(f"--week {week} is outside the course (weeks 1–{manual.weeks})")
    _write(fidelity_template(manual, week, group, observer), output)


@app.command("attendance")
def template_attendance(
    group: Annotated[str | None, typer.Option(help="Fill in every member × week of this group.")] = None,
    output: OutOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """An attendance sheet: group, week, pseudonym, status (present/absent/cancelled), held_on."""
    from study.fidelity.attendance_import import attendance_template

    with study_read(db, study) as (session, st):
        frame = attendance_template(session, st, group)
    _write(frame, output)


@app.command("contacts")
def template_contacts(output: OutOpt = None, db: DbOpt = None, study: StudyOpt = None) -> None:
    """A contact log: one row per active match (recipient, buddy), the contact columns empty."""
    from study.companionship.contacts_import import contacts_template

    with study_read(db, study) as (session, st):
        frame = contacts_template(session, st)
    _write(frame, output)


@app.command("profiles")
def template_profiles(output: OutOpt = None, db: DbOpt = None, study: StudyOpt = None) -> None:
    """A profile sheet: participants and peer buddies without a companionship profile yet."""
    from study.companionship.profiles_import import profiles_template

    with study_read(db, study) as (session, st):
        frame = profiles_template(session, st)
    _write(frame, output)

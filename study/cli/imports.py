"""``peerstudy import``: data files into the study (transactional, idempotent).

The questionnaire import lives with the questionnaire commands and is added to this group
in study/cli/__init__.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, TodayOpt, option_date, study_write

__all__ = ["AllErrorsOpt", "app", "echo_format_notes", "every_error", "restricted_site"]

app = typer.Typer(help="Import data files (nothing is written when a row is bad).", no_args_is_help=True)

SiteOpt = Annotated[
    str | None,
    typer.Option("--site", help="Accept only groups of this site (a coordinator's own site)."),
]


AllErrorsOpt = Annotated[
    bool,
    typer.Option(
        "--all-errors",
        help="Check the whole file and list every problem (default: the "
        "import stops reading after 50 problems).",
    ),
]


@contextmanager
def every_error(all_errors: bool) -> Iterator[None]:
    """With ``--all-errors``, a file's problems are all listed: written to stderr a line at a
    time (a file of junk has hundreds of thousands; the message is never built whole), then
    the command exits with 2 as for any bad input."""
    from study.errors import RowErrors

    try:
        yield
    except RowErrors as exc:
        if not all_errors:
            raise
        lines = exc.message_lines(show_all=True)
        typer.echo(f"error: {next(lines)}", err=True)
        # a thousand lines an echo: click flushes after each one
        while block := list(itertools.islice(lines, 1000)):
            typer.echo("\n".join(block), err=True)
        raise typer.Exit(2) from None


def echo_format_notes(file: Path) -> None:
    """Tell on stderr how the file is read when it is not the standard (e.g. ';'-separated)."""
    from study.imports import format_notes

    for note in format_notes(file):
        typer.echo(f"{file}: note: {note}", err=True)


def restricted_site(session, study, actor: str, site: str | None) -> str | None:
    """The site the acting user is restricted to: ``--site``, else the site of a coordinator
    whose login is the actor (``PEERSTUDY_USER``); ``None`` for unrestricted users."""
    from sqlalchemy import select

    from study.db.models import Site, User
    from study.errors import NotAllowed
    from study.studies import site_by_code

    own = session.execute(
        select(Site.code)
        .join(User, User.site_id == Site.id)
        .where(User.login == actor, User.role == "coordinator", User.active.is_(True))
    ).scalar()
    if site is not None:
        site_by_code(session, study, site)  # an unknown code is an error, not a silent no-op
        if own is not None and site != own:
            raise NotAllowed(f"{actor} coordinates {own}; --site {site} is not allowed")
        return site
    return own


@app.command("fidelity")
def import_fidelity(
    file: Annotated[Path, typer.Argument(help="CSV: group,week,observer,observed_on,kind,item,value.")],
    site: SiteOpt = None,
    all_errors: AllErrorsOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Import session observations (format: `peerstudy template fidelity`, docs/fidelity.md)."""
    echo_format_notes(file)
    from study.fidelity.observation_import import import_observations

    with (
        every_error(all_errors),
        study_write(db, study, reason=f"import fidelity {file.name}") as (session, st, actor),
    ):
        summary = import_observations(
            session, st, file, actor, restricted_site(session, st, actor, site), all_errors=all_errors
        )
    typer.echo(f"{file}: observations imported ({summary})")


@app.command("attendance")
def import_attendance_cmd(
    file: Annotated[Path, typer.Argument(help="CSV: group,week,pseudonym,status[,held_on].")],
    site: SiteOpt = None,
    all_errors: AllErrorsOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Import attendance (present / absent / cancelled session)."""
    echo_format_notes(file)
    from study.fidelity.attendance_import import import_attendance

    with (
        every_error(all_errors),
        study_write(db, study, reason=f"import attendance {file.name}") as (session, st, actor),
    ):
        summary = import_attendance(
            session, st, file, restricted_site(session, st, actor, site), all_errors=all_errors
        )
    typer.echo(f"{file}: attendance imported ({summary})")


@app.command("participants")
def participants(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: pseudonym,site,role,birth_date,municipality,"
            "screened_on,consent_on,exclusions + stratification columns."
        ),
    ],
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            help="Why randomised participants' consent, eligibility facts or strata are corrected "
            "(required then; recorded as protocol deviations).",
        ),
    ] = None,
    all_errors: AllErrorsOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Screen and enrol people from a CSV file; any bad row rejects the whole file.

    Correcting a randomised participant's consent date, birth date, municipality, screening
    date or stratification factor is refused without --reason; with it, each change is a
    protocol deviation (peerstudy check, the report). The allocation never changes."""
    echo_format_notes(file)
    from study.enrolment_import import import_participant_file

    audit_reason = f"import participants {file.name}" + (f": {reason}" if reason else "")
    with every_error(all_errors), study_write(db, study, reason=audit_reason) as (session, st, actor):
        summary = import_participant_file(
            session, st, file, reason=reason, actor=actor, all_errors=all_errors
        )
    typer.echo(f"{file}: {summary}")


@app.command("contacts")
def import_contacts_cmd(
    file: Annotated[Path, typer.Argument(help="CSV: recipient,buddy,contact_on,activity,minutes[,note].")],
    today: TodayOpt = None,
    all_errors: AllErrorsOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Import a contact log of matched pairs (format: `peerstudy template contacts`); a
    contact already stored is not stored again."""
    echo_format_notes(file)
    from study.companionship.contacts_import import import_contacts

    with (
        every_error(all_errors),
        study_write(db, study, reason=f"import contacts {file.name}") as (session, st, _),
    ):
        summary = import_contacts(
            session, st, file, today=option_date(today, "--today"), all_errors=all_errors
        )
    typer.echo(f"{file}: contacts imported ({summary})")


@app.command("profiles")
def import_profiles_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: pseudonym,area,availability[,wishes,home_visits,...] (lists split by ';')."
        ),
    ],
    today: TodayOpt = None,
    all_errors: AllErrorsOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Import companionship profiles of recipients and buddies (format: `peerstudy template
    profiles`); new profiles join the waitlist, changed ones are audited corrections."""
    echo_format_notes(file)
    from study.companionship.profiles_import import import_profiles

    with (
        every_error(all_errors),
        study_write(db, study, reason=f"import profiles {file.name}") as (session, st, _),
    ):
        summary = import_profiles(
            session, st, file, today=option_date(today, "--today"), all_errors=all_errors
        )
    typer.echo(f"{file}: profiles imported ({summary})")

"""Questionnaire commands: import, template, scores, schedule and the instrument list.

``peerstudy import questionnaires FILE.csv``, ``peerstudy template questionnaires --timepoint
T``, ``peerstudy scores`` and ``peerstudy questionnaires schedule|instruments``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, TodayOpt, echo_table, reference_date, study_read, study_write
from study.cli.imports import AllErrorsOpt

__all__ = ["import_questionnaires_cmd", "questionnaires_app", "scores", "template_questionnaires"]

questionnaires_app = typer.Typer(help="Questionnaire schedule and instruments.", no_args_is_help=True)


def import_questionnaires_cmd(
    file: Annotated[
        Path, typer.Argument(help="Wide CSV: pseudonym,timepoint,completed_on,<instrument>_<item>...")
    ],
    reason: Annotated[
        str | None, typer.Option(help="Why (kept in the audit trail with corrections).")
    ] = None,
    all_errors: AllErrorsOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Import questionnaire answers; any bad cell rejects the whole file (nothing written).

    The file is read in chunks; after 50 problems the import stops (--all-errors: checks and
    lists every row)."""
    from questionnaires.capture import import_questionnaire_file
    from study.cli.imports import echo_format_notes, every_error

    echo_format_notes(file)
    with (
        every_error(all_errors),
        study_write(db, study, reason=reason or f"import questionnaires {file.name}") as (session, st, _),
    ):
        summary = import_questionnaire_file(session, st, file, today=dt.date.today(), all_errors=all_errors)
    typer.echo(f"{file}: {summary}")


def template_questionnaires(
    timepoint: Annotated[str, typer.Option("--timepoint", help="Timepoint code, e.g. post.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="CSV to write [default: questionnaires_<timepoint>.csv].")
    ] = None,
    include_not_yet_due: Annotated[
        bool, typer.Option("--include-not-yet-due", help="Also list participants not yet due.")
    ] = False,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Write an empty questionnaire CSV for the participants due (or overdue) at a timepoint."""
    from questionnaires.templates import questionnaire_template

    with study_read(db, study) as (session, st):
        frame = questionnaire_template(
            session, st, timepoint, reference_date(today), include_not_yet_due=include_not_yet_due
        )
    path = out or Path(f"questionnaires_{timepoint}.csv")
    from study.safe_csv import to_csv

    to_csv(frame, path)
    typer.echo(f"{path}: {len(frame)} participants, {len(frame.columns) - 3} item columns")


def scores(
    instrument: Annotated[str | None, typer.Option("--instrument", help="Instrument id, e.g. qpr15.")] = None,
    timepoint: Annotated[str | None, typer.Option("--timepoint", help="Timepoint code.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write CSV here instead of printing.")] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Scored questionnaires, long format:
    pseudonym,timepoint,instrument,version,scale,score,band,missing_reason."""
    from questionnaires.store import load_scores
    from study.safe_csv import to_csv
    from study.studies import config_of

    with study_read(db, study) as (session, st):
        config = config_of(st)
        if instrument is not None and instrument not in config.instruments:
            from study.errors import BadInput

            raise BadInput(f"unknown instrument {instrument!r}; instruments: {', '.join(config.instruments)}")
        codes = [t.code for t in config.timepoints]
        if timepoint is not None and timepoint not in codes:
            from study.errors import BadInput

            raise BadInput(f"unknown timepoint {timepoint!r}; timepoints: {', '.join(codes)}")
        table = load_scores(session, st, instrument=instrument, timepoint=timepoint)
    table = table.drop(columns="completed_on")
    if out is not None:
        to_csv(table, out)
        typer.echo(f"{out}: {len(table)} scores")
    else:
        typer.echo(to_csv(table), nl=False)


@questionnaires_app.command("schedule")
def schedule(
    timepoint: Annotated[str | None, typer.Option("--timepoint", help="Only this timepoint.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status, e.g. overdue or due.")
    ] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Counts per timepoint and status.")] = False,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """What each participant is due to answer, what is overdue, complete or late."""
    from questionnaires.schedule import study_schedule

    with study_read(db, study) as (session, st):
        table = study_schedule(session, st, reference_date(today))
    if timepoint is not None:
        table = table[table["timepoint"] == timepoint]
    if status is not None:
        table = table[table["status"] == status]
    if summary:
        counts = table.groupby(["timepoint", "status"], sort=False).size().unstack(fill_value=0)
        late = table[table["outside_window"]].groupby("timepoint", sort=False).size()
        counts["outside_window"] = late.reindex(counts.index, fill_value=0)
        typer.echo(counts.to_string())
        return
    echo_table(table, empty="nothing scheduled")


@questionnaires_app.command("instruments")
def instruments() -> None:
    """The shipped instrument definitions: id, version, items, scales and score ranges."""
    import pandas as pd

    from questionnaires.definitions import shipped_instruments

    rows = [
        {
            "id": inst.id,
            "version": inst.version,
            "name": inst.name,
            "items": len(inst.items),
            "scales": ", ".join(
                f"{name} {lo:g}-{hi:g}" for name in inst.scales for lo, hi in [inst.score_range(name)]
            ),
        }
        for inst in shipped_instruments().values()
    ]
    echo_table(pd.DataFrame(rows))

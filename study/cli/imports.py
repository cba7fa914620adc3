"""``peerstudy import …`` commands for people (the ``import`` group is wired in study/cli/__init__.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, cli_actor, open_db


def participants(
    file: Annotated[Path, typer.Argument(help="CSV: pseudonym,site,role,birth_date,municipality,"
                                         "screened_on,consent_on,exclusions + stratification columns.")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Screen and enrol people from a CSV file; any bad row rejects the whole file."""
    from study.db import unit_of_work
    from study.enrolment_import import import_participants, read_participants_csv
    from study.studies import get_study

    data = read_participants_csv(file)
    engine = open_db(db)
    with unit_of_work(engine, cli_actor(), reason=f"import participants {file.name}") as session:
        st = get_study(session, study)
        summary = import_participants(session, st, data, source=str(file))
    typer.echo(f"{file}: {summary}")

"""``peerstudy config``: show the stored study configuration, amend it (a protocol amendment)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, study_read, study_write

app = typer.Typer(help="Show or amend the study configuration (study.yaml).", no_args_is_help=True)


@app.command("show")
def show(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Print the study.yaml the study runs on (as stored in the database)."""
    with study_read(db, study) as (_, st):
        typer.echo(st.config_yaml.rstrip("\n"))


@app.command("amend")
def amend(
    file: Annotated[Path, typer.Argument(help="The amended study.yaml.", exists=True, dir_okay=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail); required.")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Replace the stored configuration by an amended study.yaml (audited with the reason).

    Refused, with nothing written, when it would change what the data already depend on:
    arms, strata and randomisation after the first allocation, outcomes after the RCT
    starts, a site with people, a started phase, a timepoint or instrument with responses.
    """
    from study.amendments import amend_config

    text = file.read_text(encoding="utf-8")
    with study_write(db, study, reason=f"config amendment: {reason}") as (session, st, _):
        done = amend_config(session, st, text, reason)
    typer.echo(f"study {st.code} amended: {', '.join(done.sections)} changed")
    if done.sites_added:
        typer.echo(f"sites added: {', '.join(done.sites_added)}")
    if done.phases_added:
        typer.echo(f"phases added: {', '.join(done.phases_added)}")

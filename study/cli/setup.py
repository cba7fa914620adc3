"""``peerstudy init`` and ``peerstudy demo``: create the schema and a study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from study.cli.common import DbOpt, cli_actor, open_db

__all__ = ["demo", "init"]


def init(
    db: DbOpt = None,
    config: Annotated[
        Optional[Path],
        typer.Option("--config", help="study.yaml to create the study from [default: the reference study]."),
    ] = None,
) -> None:
    """Create or upgrade the schema and create the study described by the configuration.

    Without --config on a database that already holds a study, only the schema is upgraded
    (the example configuration is for new databases).
    """
    from sqlalchemy import select

    from study.config import example_config_path, load_config
    from study.db import unit_of_work
    from study.db.models import Study
    from study.db.schema import upgrade
    from study.studies import create_study

    path = config or example_config_path()
    study_config = load_config(path)  # validate before touching the database
    engine = open_db(db, require_schema=False)
    where = engine.url.render_as_string(hide_password=True)
    upgrade(engine)
    with unit_of_work(engine, cli_actor()) as session:
        existing = list(session.scalars(select(Study.code).order_by(Study.code)))
        if config is None and existing:
            typer.echo(f"schema upgraded in {where}; studies: {', '.join(existing)}")
            return
        study = create_study(session, study_config, path.read_text(encoding="utf-8"))
        typer.echo(f"study {study.code} ready ({len(study_config.sites)} sites) in {where}")


def demo(
    db: DbOpt = None,
    participants: Annotated[
        int, typer.Option(min=10, max=100_000, help="RCT participants to randomise.")
    ] = 296,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2026,
) -> None:
    """Build a complete synthetic demo study (never real people) in the database."""
    from study.db.schema import upgrade
    from study.demo import build_demo

    engine = open_db(db, require_schema=False)
    upgrade(engine)
    summary = build_demo(engine, participants=participants, seed=seed)
    for line in summary:
        typer.echo(line)

"""``peerstudy init`` and ``peerstudy demo``: create the schema and a study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, cli_actor, open_db

__all__ = ["demo", "ensure_audit_key", "init"]


def init(
    db: DbOpt = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="study.yaml to create the study from [default: the reference study]."),
    ] = None,
    app_role: Annotated[
        str | None,
        typer.Option(
            "--app-role",
            help="PostgreSQL: create/update the application role NAME (no DDL; audit table INSERT/SELECT only).",
        ),
    ] = None,
    owner_role: Annotated[
        str,
        typer.Option(
            "--owner-role",
            help="PostgreSQL: the role that owns the schema (with --app-role).",
        ),
    ] = "peerstudy_owner",
) -> None:
    """Create or upgrade the schema and create the study described by the configuration.

    Without --config on a database that already holds a study, only the schema is upgraded
    (the example configuration is for new databases). The audit key file is created (mode
    0600) when there is none yet; with --app-role (PostgreSQL) the owner and application roles
    are set up after the upgrade (run it again after each upgrade).
    """
    from sqlalchemy import select

    from study.audit_anchor import record_new_chain
    from study.config import example_config_path, load_config
    from study.db import unit_of_work
    from study.db.models import Study
    from study.db.schema import upgrade
    from study.studies import create_study

    path = config or example_config_path()
    study_config = load_config(path)  # validate before touching the database
    engine = open_db(db, require_schema=False)
    where = engine.url.render_as_string(hide_password=True)
    if app_role:
        from study.db.roles import check_roles

        check_roles(engine, app_role, owner_role)  # before anything is written
    ensure_audit_key(engine)
    upgrade(engine)
    record_new_chain(engine)
    if app_role:
        from study.db.roles import setup_roles

        setup_roles(engine, app_role, owner_role)
        typer.echo(f"roles: {owner_role} owns the schema, {app_role} may use it (no DDL, audit append-only)")
    with unit_of_work(engine, cli_actor()) as session:
        existing = list(session.scalars(select(Study.code).order_by(Study.code)))
        if config is None and existing:
            typer.echo(f"schema upgraded in {where}; studies: {', '.join(existing)}")
            return
        study = create_study(session, study_config, path.read_text(encoding="utf-8"))
        typer.echo(f"study {study.code} ready ({len(study_config.sites)} sites) in {where}")


def ensure_audit_key(engine) -> None:
    """Create the database's audit key file when there is none and the database holds no
    keyed chain (empty, or a chain from before keys, which the upgrade converts): a chain
    keyed with a lost key is never given a new key silently."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy import select

    from study.audit_chain import legacy_event_hash
    from study.audit_key import create_key, key_path
    from study.db.models import AuditEvent
    from study.errors import NotAllowed

    path = key_path(engine)
    if path.exists():
        return
    with engine.connect() as conn:
        newest = None
        if sa_inspect(conn).has_table(AuditEvent.__tablename__):
            newest = (
                conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.seq.desc()).limit(1))
                .mappings()
                .first()
            )
    if newest is not None and legacy_event_hash(newest) != newest["hash"]:
        raise NotAllowed(
            f"no audit key at {path}, but the database's audit chain is keyed: set "
            "$PEERSTUDY_AUDIT_KEY to its key file (docs/operations.md: when the key is lost)"
        )
    create_key(path)
    typer.echo(f"audit key created: {path} (mode 0600; keep a copy apart from the database)")


def demo(
    db: DbOpt = None,
    participants: Annotated[
        int, typer.Option(min=10, max=100_000, help="RCT participants to randomise.")
    ] = 296,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2026,
) -> None:
    """Build a complete synthetic demo study (never real people) in the database."""
    from study.audit_anchor import record_new_chain
    from study.db.schema import upgrade
    from study.demo import build_demo

    engine = open_db(db, require_schema=False)
    ensure_audit_key(engine)
    upgrade(engine)
    record_new_chain(engine)
    summary = build_demo(engine, participants=participants, seed=seed)
    for line in summary:
        typer.echo(line)

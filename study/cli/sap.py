"""``peerstudy sap``: show the statistical analysis plan and lock it before unblinding."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, study_read, study_write

app = typer.Typer(help="The statistical analysis plan (SAP): show it, lock it.", no_args_is_help=True)

__all__ = ["app"]


@app.command("show")
def show(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Print the analysis plan the pipeline will run, its SHA-256 and its lock.

    The plan comes from the study configuration's outcomes section. Once locked, a plan
    that no longer matches the locked hash is flagged: lock it again with a reason to
    record the amendment (a protocol deviation).
    """
    from pipelines.sap import current_sap
    from study.errors import BadInput
    from study.sap import latest_sap
    from study.studies import config_of

    with study_read(db, study) as (session, st):
        try:
            sap = current_sap(config_of(st))
        except ValueError as exc:
            raise BadInput(f"analysis plan of study {st.code}: {exc}") from None
        locked = latest_sap(session, st)
    typer.echo(sap.document, nl=False)
    typer.echo(f"\nSHA-256: {sap.sha256}")
    if locked is None:
        typer.echo("Lock: NOT LOCKED (peerstudy sap lock --reason TEXT; unblinding needs it)")
    elif locked.sha256 == sap.sha256:
        typer.echo(
            f"Lock: locked as version {locked.version} on {locked.recorded_at:%Y-%m-%d %H:%M} UTC by "
            f"{locked.recorded_by} ({locked.reason})"
        )
    else:
        typer.echo(
            f"Lock: CHANGED since version {locked.version} (SHA-256 {locked.sha256}); the analysis after "
            "unblinding runs the locked version until the change is recorded with sap lock --reason"
        )


@app.command("lock")
def lock(
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail); required.")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Lock the analysis plan (audited, hash recorded); after a change, record the amendment
    as a new version and a protocol deviation with the reason."""
    from pipelines.sap import current_sap
    from study.errors import BadInput
    from study.sap import lock_sap
    from study.studies import config_of

    with study_write(db, study, reason=f"analysis plan: {reason}") as (session, st, actor):
        try:
            sap = current_sap(config_of(st))
        except ValueError as exc:
            raise BadInput(f"analysis plan of study {st.code}: {exc}") from None
        locked = lock_sap(session, st, sap.document, sap.sha256, sap.plan_json, actor, reason)
    what = "locked" if locked.kind == "lock" else "amended (recorded as a protocol deviation)"
    typer.echo(f"analysis plan of study {st.code} {what}: version {locked.version}, SHA-256 {locked.sha256}")

"""``peerstudy status``: who is in the study, per site, role, phase and arm."""

from __future__ import annotations

import typer

from study.cli.common import DbOpt, StudyOpt, study_read

__all__ = ["status"]


def status(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Counts per site, role, phase and arm."""
    import pandas as pd

    from study.status import status_counts

    with study_read(db, study) as (session, st):
        counts = status_counts(session, st)
        typer.echo(f"Study {st.code}: {st.name}")
        typer.echo(f"Phase: {st.current_phase or 'set-up (no phase started)'}")
        typer.echo(f"Sites: {', '.join(s.code for s in st.sites)}\n")
    if counts.empty:
        typer.echo("No people registered yet.")
        return
    by_role = counts.pivot_table(index="site", columns="role", values="n", aggfunc="sum", fill_value=0)
    site_order = [s.code for s in st.sites]
    by_role = by_role.reindex([c for c in site_order if c in by_role.index])
    by_role["total"] = by_role.sum(axis=1)
    typer.echo("People per site and role:")
    typer.echo(by_role.to_string())
    screened = counts[(counts["phase"] != "-") & (counts["role"] == "participant")]
    if not screened.empty:
        screened = screened.assign(
            status=screened["eligible"].map({True: "eligible", False: "ineligible"}).fillna("?")
        )
        table = pd.pivot_table(
            screened, index=["phase", "site"], columns="status", values="n", aggfunc="sum", fill_value=0
        )
        consented = screened[screened["consented"]].groupby(["phase", "site"])["n"].sum()
        table["consented"] = consented.reindex(table.index, fill_value=0)
        typer.echo("\nParticipants screened per phase and site:")
        typer.echo(table.to_string())
    allocated = counts[counts["arm"] != "-"]
    if not allocated.empty:
        by_arm = allocated.pivot_table(index="site", columns="arm", values="n", aggfunc="sum", fill_value=0)
        by_arm["total"] = by_arm.sum(axis=1)
        blinded = "" if st.unblinded_at else " (blinded codes until unblinding)"
        typer.echo(f"\nAllocated per site and arm{blinded}:")
        typer.echo(by_arm.to_string())

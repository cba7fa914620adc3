"""``peerstudy randomise``: allocate one participant, or every one waiting, to an arm."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, option_date, study_write

__all__ = ["randomise"]


def randomise(
    pseudonym: Annotated[str | None, typer.Argument(help="The participant to randomise.")] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="Randomise every eligible, consented RCT participant waiting.")
    ] = False,
    on: Annotated[
        str | None, typer.Option("--on", help="Date of randomisation (YYYY-MM-DD) [default: today].")
    ] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Randomise with the study's method; prints one line `PSEUDONYM ARM` per allocation.

    Intervention participants are placed in the next group of their site with room; where
    no group has room, a note goes to stderr and the allocation stands.
    """
    from study.errors import BadInput
    from study.randomisation import randomise as randomise_one
    from study.randomisation import randomise_pending
    from study.studies import config_of

    if pending == (pseudonym is not None):
        raise BadInput("give either a PSEUDONYM or --pending")
    when = option_date(on, "--on")
    reason = "randomise --pending" if pending else f"randomise {pseudonym}"
    # Prepared before the writers' lock, which randomise takes only to claim the slot, so
    # that coordinators randomising at once on PostgreSQL wait for each other briefly.
    with study_write(db, study, reason=reason, lock_at_start=False) as (session, st, actor):
        control = config_of(st).control_arm
        if pending:
            results = randomise_pending(session, st, actor=actor, on=when)
        else:
            # cannot be None: without --pending a PSEUDONYM is required (checked above)
            assert pseudonym is not None
            results = [randomise_one(session, st, pseudonym, actor=actor, on=when)]
    for result in results:
        typer.echo(result.line)
        if result.arm != control and result.group is None:
            typer.echo(
                f"note: no group of its site with room for {result.pseudonym}; place them later", err=True
            )
    if pending and not results:
        typer.echo("no participant is waiting for randomisation", err=True)

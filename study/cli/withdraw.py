"""``peerstudy withdraw``: record that a participant withdrew (the allocation is kept: ITT)."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, option_date, study_write
from study.withdrawal_reasons import WITHDRAWAL_REASONS

__all__ = ["withdraw"]


def withdraw(
    pseudonym: Annotated[str, typer.Argument(help="Pseudonym of the participant.")],
    reason: Annotated[str, typer.Option("--reason", help=f"One of: {'; '.join(WITHDRAWAL_REASONS)}.")],
    on: Annotated[str, typer.Option("--on", help="Date of withdrawal (YYYY-MM-DD).")],
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Record a withdrawal with a neutral reason (audited). The allocation is kept, so the
    participant stays in the intention-to-treat analysis; questionnaires due after the date
    are no longer chased."""
    from study.people import person_by_pseudonym
    from study.withdrawal import withdraw as record

    day = option_date(on, "--on")
    with study_write(db, study, reason=f"withdrawal: {reason}") as (session, st, _):
        enrolment = record(session, st, person_by_pseudonym(session, st, pseudonym), day, reason)
    typer.echo(f"{pseudonym} withdrew on {enrolment.withdrawn_on} ({reason}); allocation kept (ITT)")

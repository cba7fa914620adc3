"""``peerstudy audit``: verify the chain and the data, write anchors, show a person's history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, open_db, study_read

app = typer.Typer(help="Inspect the audit trail.", no_args_is_help=True)

_SHOWN = 50  # discrepancies listed before "... and N more"


@app.command("verify")
def verify(
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="File holding anchors (peerstudy-anchor lines) the chain must still contain.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Prove the chain (keyed hashes, links, anchors) and that every audited table holds
    exactly the rows the events describe; exit 1 naming what is wrong otherwise."""
    from study.audit import verify_chain
    from study.audit_anchor import parse_anchors

    anchors = parse_anchors(anchor.read_text(encoding="utf-8"), str(anchor)) if anchor else []
    report = verify_chain(open_db(db), anchors=anchors)
    if report.broken_id is not None:
        typer.echo(
            f"audit chain BROKEN at event id {report.broken_id} (sequence {report.broken_seq}): "
            f"{report.problem}",
            err=True,
        )
        raise typer.Exit(1)
    for problem in report.anchor_problems:
        typer.echo(f"audit chain BROKEN: {problem}", err=True)
    if report.discrepancies:
        typer.echo(
            f"audit chain intact ({report.events} events) but the DATA DIFFER from it in "
            f"{len(report.discrepancies)} place(s):",
            err=True,
        )
        for discrepancy in report.discrepancies[:_SHOWN]:
            typer.echo(f"  {discrepancy.describe()}", err=True)
        if len(report.discrepancies) > _SHOWN:
            typer.echo(f"  ... and {len(report.discrepancies) - _SHOWN} more", err=True)
    if not report.intact:
        raise typer.Exit(1)
    anchored = f"; {len(anchors)} anchor(s) found in the chain" if anchors else ""
    typer.echo(f"audit chain intact: {report.events} events, every audited table matches them{anchored}")


@app.command("anchor")
def anchor(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also append the anchor to this file (keep it away from the database).",
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Print the chain head (sequence, keyed hash, time) as one line to keep elsewhere."""
    from study.audit_anchor import current_anchor, format_anchor

    head = current_anchor(open_db(db))
    if head is None:
        typer.echo("the audit chain is empty: nothing to anchor yet")
        return
    line = format_anchor(head)
    if out is not None:
        with out.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    typer.echo(line)


@app.command("show")
def show(
    person: Annotated[str, typer.Option("--person", help="Pseudonym of the person.")],
    show_arms: Annotated[
        bool,
        typer.Option(
            "--show-arms",
            help="Show allocation events unblinded (for the site's coordinator, who knows the arm).",
        ),
    ] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Every recorded change about one person, oldest first (identity values redacted).

    Until the study is unblinded, the values of a participant's allocation events (they carry
    the arm) show as <blinded> and the events of course groups, attendance and companionship
    (only the intervention arm has them) are left out, so the audit trail is no back door
    around blinding; --show-arms shows everything.
    """
    from study.audit import person_history
    from study.blinding import blind_person_history, is_unblinded
    from study.people import person_by_pseudonym

    with study_read(db, study) as (session, st):
        who = person_by_pseudonym(session, st, person.strip())
        history = person_history(session, who)
        if not (show_arms or is_unblinded(st)) and who.role == "participant":
            history = blind_person_history(history)
        echo_table(history, empty=f"no events for {person}")

"""``peerstudy check``: data-quality checks (Great Expectations) on the current database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, cli_actor, open_db

__all__ = ["check"]


def check(
    html: Annotated[Path, typer.Option("--html", help="Where to write the HTML report.")] = Path(
        "quality_report.html"
    ),
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record",
            help="Keep the run in the database (the dashboard shows the latest).",
        ),
    ] = True,
    show_arms: Annotated[
        bool,
        typer.Option(
            "--show-arms",
            help="Name example pseudonyms of attendance and companionship checks before unblinding "
            "(for the site's coordinator, who knows the arms).",
        ),
    ] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Run the data-quality checks; exit code 1 when any check fails (warnings do not).

    Until unblinding the example pseudonyms of checks on attendance, group membership and
    companionship are withheld in the summary and the HTML report (only intervention
    participants have such rows), unless --show-arms.

    The checks are generated from the study config; a summary is printed, an HTML report
    written and the run kept in the database (audited) for the dashboard's analysis page.
    The audit trail is verified too (chain and data, as `audit verify`; a failure exits 1) and
    its head appended to the anchor log (docs/operations.md).
    """
    from pipelines.quality.html import quality_html
    from pipelines.quality.study_checks import check_study
    from study.audit_anchor import record_anchor
    from study.blinding import withhold_arm_revealing_examples

    engine = open_db(db)
    snap, results = check_study(engine, study, cli_actor(), record=record)
    if not (snap.unblinded or show_arms):
        results = withhold_arm_revealing_examples(results)
    audit_line, audit_ok = _audit_line(engine)
    anchor = record_anchor(engine)
    html.write_text(quality_html(results, snap.study_code, snap.taken_at), encoding="utf-8")
    failed = results[~results["success"]]
    errors = failed[failed["severity"] == "error"]
    warnings = failed[failed["severity"] == "warning"]
    typer.echo(
        f"Data quality of study {snap.study_code}: {len(results) - len(failed)} of {len(results)} "
        f"checks passed, {len(errors)} failed, {len(warnings)} warning(s)"
    )
    for r in failed.itertuples(index=False):
        example = f" (e.g. {r.examples})" if r.examples else ""
        label = "FAIL" if r.severity == "error" else "WARN"
        typer.echo(f"{label}  {r.check}: {r.failing_rows} of {r.rows} rows{example}")
    _echo_deviations(db, snap.study_code)
    typer.echo(audit_line)
    typer.echo(f"HTML report: {html}")
    if anchor is not None:
        typer.echo(f"audit anchor (seq {anchor.seq}) appended to the anchor log")
    if len(errors) or not audit_ok:
        raise typer.Exit(1)


def _echo_deviations(db, study_code: str) -> None:
    """List the study's protocol deviations (SAP amendments, corrections after allocation)."""
    from study.cli.common import echo_table, study_read
    from study.sap import deviations_frame

    with study_read(db, study_code) as (session, st):
        deviations = deviations_frame(session, st)
    typer.echo(f"Protocol deviations: {len(deviations)}")
    if not deviations.empty:
        shown = deviations.assign(recorded_at=deviations["recorded_at"].map(lambda t: f"{t:%Y-%m-%d}"))
        echo_table(shown[["recorded_at", "kind", "pseudonym", "detail", "reason"]].fillna(""))


def _audit_line(engine) -> tuple[str, bool]:
    """The audit trail's verdict as one line, and whether it passed (no key here: not checked).

    The anchors this database left in the anchor log earlier must still be in the chain.
    """
    from study.audit import verify_chain
    from study.audit_anchor import logged_anchors
    from study.errors import NotAllowed

    try:
        report = verify_chain(engine, anchors=logged_anchors(engine))
    except NotAllowed as exc:
        return f"WARN  audit trail not verified: {exc}", True
    if report.intact:
        return f"audit trail intact: {report.events} events, the data match them", True
    if report.problem:
        return f"FAIL  audit trail: event {report.broken_seq}: {report.problem}", False
    first = report.discrepancies[0].describe() if report.discrepancies else report.anchor_problems[0]
    return (
        f"FAIL  audit trail: {len(report.discrepancies)} difference(s) from the data, e.g. {first} (peerstudy audit verify)",
        False,
    )

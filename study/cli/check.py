"""``peerstudy check``: data-quality checks (Great Expectations) on the current database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, cli_actor, open_db

__all__ = ["check"]


def check(
    html: Annotated[Path, typer.Option("--html", help="Where to write the HTML report.")] = Path("quality_report.html"),
    record: Annotated[bool, typer.Option(
        "--record/--no-record", help="Keep the run in the database (the dashboard shows the latest).",
    )] = True,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Run the data-quality checks; exit code 1 when any check fails (warnings do not).

    The checks are generated from the study config; a summary is printed, an HTML report
    written and the run kept in the database (audited) for the dashboard's analysis page.
    """
    from pipelines.quality.html import quality_html
    from pipelines.quality.study_checks import check_study

    snap, results = check_study(open_db(db), study, cli_actor(), record=record)
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
    typer.echo(f"HTML report: {html}")
    if len(errors):
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

"""``peerstudy analyse``: the trial analysis of the current database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, open_db

__all__ = ["analyse"]


def analyse(
    out: Annotated[Path, typer.Option("--out", help="Directory for results.csv, results.json and summaries.")],
    db: DbOpt = None,
    study: StudyOpt = None,
    imputations: Annotated[
        int, typer.Option("--imputations", min=0, help="MICE imputations (default 0: the config's, 20).")
    ] = 0,
    no_mice: Annotated[bool, typer.Option("--no-mice", help="Skip multiple imputation (quick look).")] = False,
    exploratory: Annotated[bool, typer.Option("--exploratory", help="Also analyse the exploratory outcomes.")] = False,
) -> None:
    """Run the trial analysis and write DIR/results.csv, results.json and the CONSORT flow.

    ITT ANCOVA, partially nested and repeated-measures mixed models, MICE, per-protocol and
    CACE for every outcome and follow-up timepoint, plus model summaries and side tables.
    """
    from pipelines.analysis.consort import consort_svg
    from pipelines.analysis.output import write_analysis
    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.snapshot import take_snapshot
    from study.errors import BadInput

    snap = take_snapshot(open_db(db), study)
    try:
        plan = snap.plan(imputations=imputations or None, include_exploratory=exploratory)
    except ValueError as exc:
        raise BadInput(f"analysis plan of study {snap.study_code}: {exc}") from None
    analysis = run_trial_analysis(snap.dataset, plan, mice=not no_mice)
    header = (
        f"Study {snap.study_code}, database snapshot {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC; arms "
        f"{'unblinded' if snap.unblinded else 'blinded'}: estimate = {plan.treatment} − {plan.control}"
    )
    paths = write_analysis(analysis, out, header=header)
    flow = snap.consort()
    from study.safe_csv import to_csv

    to_csv(flow, Path(out) / "consort.csv")
    (Path(out) / "consort.svg").write_text(consort_svg(flow), encoding="utf-8")
    for problem in analysis.problems:
        typer.echo(f"could not run: {problem}", err=True)
    for note in analysis.notes:
        typer.echo(f"note: {note}", err=True)
    if analysis.results.empty:
        raise BadInput("no analysis could run (see the messages above); results.csv has no rows")
    typer.echo(header)
    typer.echo(f"{len(analysis.results)} result rows written to {paths[0]} and {paths[1]}")

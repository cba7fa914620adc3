"""``peerstudy analyse``: the trial analysis of the current database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, open_db

__all__ = ["analyse"]


def analyse(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for results.csv, results.json and summaries.")
    ],
    db: DbOpt = None,
    study: StudyOpt = None,
    imputations: Annotated[
        int, typer.Option("--imputations", min=0, help="MICE imputations (default 0: the config's, 50).")
    ] = 0,
    no_mice: Annotated[
        bool, typer.Option("--no-mice", help="Skip multiple imputation (quick look).")
    ] = False,
    exploratory: Annotated[
        bool, typer.Option("--exploratory", help="Also analyse the exploratory outcomes.")
    ] = False,
) -> None:
    """Run the trial analysis and write DIR/results.csv, results.json and the CONSORT flow.

    ITT ANCOVA, partially nested and repeated-measures mixed models, MICE, per-protocol and
    CACE for every outcome and follow-up timepoint, plus model summaries and side tables.
    Until the study is unblinded it runs on the dummy allocation: every file is named
    DUMMY_ALLOCATION_<name>, every table has the watermark column dummy_allocation.
    """
    import dataclasses
    import json

    from pipelines.analysis.consort import consort_svg
    from pipelines.analysis.output import write_analysis
    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.dummy_allocation import DUMMY_FILE_PREFIX, DUMMY_WATERMARK, watermark
    from pipelines.snapshot import take_snapshot
    from study.errors import BadInput
    from study.safe_csv import to_csv

    snap = take_snapshot(open_db(db), study)
    try:
        plan = snap.plan(imputations=imputations or None, include_exploratory=exploratory)
    except ValueError as exc:
        raise BadInput(f"analysis plan of study {snap.study_code}: {exc}") from None
    analysis = run_trial_analysis(snap.dataset, plan, mice=not no_mice)
    if snap.sap is not None:
        plan_line = f"locked analysis plan version {snap.sap.version}, SAP SHA-256 {snap.sap.sha256}"
    else:
        plan_line = "analysis plan NOT LOCKED (peerstudy sap lock)"
    if snap.unblinded and snap.sap is None:
        plan_line += "; unblinded without a locked plan: the current configuration's plan ran"
    header = (
        f"Study {snap.study_code}, database snapshot {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC; arms "
        f"{'unblinded' if snap.unblinded else DUMMY_WATERMARK}: estimate = {plan.treatment} − {plan.control}; "
        f"{plan_line}"
    )
    if snap.unblinded and snap.sap is not None and imputations:
        locked_imputations = json.loads(snap.sap.plan_json).get("imputations")
        if imputations != locked_imputations:
            typer.echo(
                f"note: --imputations {imputations} departs from the locked plan ({locked_imputations})",
                err=True,
            )
    flow = snap.consort()
    written = analysis
    if snap.dummy:
        written = dataclasses.replace(
            analysis,
            **{
                name: watermark(getattr(analysis, name))
                for name in ("results", "multiplicity", "moderation", "icc")
            },
        )
        flow = watermark(flow)
    paths = write_analysis(written, out, header=header)
    paths += [Path(out) / "consort.csv", Path(out) / "consort.svg"]
    to_csv(flow, paths[-2])
    paths[-1].write_text(consort_svg(flow, snap.arm_labels()), encoding="utf-8")
    if snap.dummy:  # the file names carry the watermark too
        paths = [path.replace(path.with_name(DUMMY_FILE_PREFIX + path.name)) for path in paths]
    for problem in analysis.problems:
        typer.echo(f"could not run: {problem}", err=True)
    for note in analysis.notes:
        typer.echo(f"note: {note}", err=True)
    if analysis.results.empty:
        raise BadInput("no analysis could run (see the messages above); results.csv has no rows")
    typer.echo(header)
    typer.echo(f"{len(analysis.results)} result rows written to {paths[0]} and {paths[1]}")

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
    """ITT ANCOVA, partially nested and repeated-measures mixed models, MICE, per-protocol and
    CACE for every outcome and follow-up timepoint; writes DIR/results.csv and results.json."""
    from pipelines.analysis.output import write_analysis
    from pipelines.analysis.plan import analysis_plan
    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.sources import load_analysis_dataset
    from study.blinding import is_unblinded
    from study.db import read_session
    from study.errors import BadInput
    from study.studies import config_of, get_study

    engine = open_db(db)
    with read_session(engine) as session:
        st = get_study(session, study)
        config, unblinded = config_of(st), is_unblinded(st)
        dataset = load_analysis_dataset(session, st)
    try:
        plan = analysis_plan(config, unblinded, imputations=imputations or None, include_exploratory=exploratory)
    except ValueError as exc:
        raise BadInput(f"analysis plan of study {st.code}: {exc}") from None
    analysis = run_trial_analysis(dataset, plan, mice=not no_mice)
    header = (
        f"Study {st.code}; arms {'unblinded' if unblinded else 'blinded'}: "
        f"{plan.treatment} vs {plan.control} (estimate = {plan.treatment} − {plan.control})"
    )
    paths = write_analysis(analysis, out, header=header)
    for problem in analysis.problems:
        typer.echo(f"could not run: {problem}", err=True)
    for note in analysis.notes:
        typer.echo(f"note: {note}", err=True)
    if analysis.results.empty:
        raise BadInput("no analysis could run (see the messages above); results.csv has no rows")
    typer.echo(header)
    typer.echo(f"{len(analysis.results)} result rows written to {paths[0]} and {paths[1]}")

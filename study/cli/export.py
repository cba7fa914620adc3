"""``peerstudy export``: the analysis dataset for Stata, SPSS, CSV or Parquet, with codebook."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, open_db

__all__ = ["export"]


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    stata = "stata"
    spss = "spss"


def export(
    format: Annotated[ExportFormat, typer.Option("--format", help="File format.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write into.")],
    items: Annotated[bool, typer.Option("--items", help="Also export raw item-level answers.")] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Export the pseudonymised analysis dataset with codebook and checksums.

    Codebook as CSV and Markdown, manifest with SHA-256 checksums. Until the study is
    unblinded the dataset is built on the dummy allocation (file names DUMMY_ALLOCATION_*,
    watermark column dummy_allocation).
    """
    from importlib.metadata import PackageNotFoundError, version

    from pipelines.exports.codebook import instrument_meta
    from pipelines.exports.write import export_study
    from pipelines.snapshot import take_snapshot
    from questionnaires.definitions import shipped_instruments

    snap = take_snapshot(open_db(db), study, with_items=items)
    scores = snap.sources.scores
    versions = (
        scores.groupby("instrument")["version"].agg(lambda v: ", ".join(sorted(set(map(str, v))))).to_dict()
        if not scores.empty
        else {}
    )
    try:
        software = version("peerstudy")
    except PackageNotFoundError:
        software = ""
    paths = export_study(
        snap.dataset,
        snap.config,
        snap.unblinded,
        format.value,
        out,
        snap.study_code,
        snap.taken_at,
        versions=versions,
        items=snap.items if items else None,
        software_version=software,
        instruments=instrument_meta(shipped_instruments()),
    )
    typer.echo(
        f"exported {snap.dataset['pseudonym'].nunique()} participants × "
        f"{snap.dataset['timepoint'].nunique()} timepoints ({len(snap.dataset)} rows, arms "
        f"{'unblinded' if snap.unblinded else 'on the DUMMY ALLOCATION: not the trial result'}) to {out}:"
    )
    for path in paths:
        typer.echo(f"  {path.name}")

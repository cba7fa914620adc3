"""``peerstudy report``: one self-contained HTML report of the study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, open_db

__all__ = ["report"]


def report(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    mice: Annotated[bool, typer.Option("--mice", help="Include multiple imputation (slow).")] = False,
    no_quality: Annotated[bool, typer.Option("--no-quality", help="Skip the data-quality checks.")] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Write the study report: one self-contained HTML file that works offline.

    Table 1, CONSORT diagram, effect table and forest plot, trajectories, fidelity and data
    quality. The audit chain's head is appended to the anchor log (docs/operations.md).
    """
    from importlib.metadata import PackageNotFoundError, version

    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.report.html import ReportInputs, render_report
    from pipelines.snapshot import take_snapshot
    from study.blinding import arm_display_map
    from study.db import read_session
    from study.studies import get_study

    engine = open_db(db)
    snap = take_snapshot(engine, study, with_items=not no_quality)
    plan = snap.plan()
    analysis = run_trial_analysis(snap.dataset, plan, mice=mice, summaries=False)
    quality = None
    if not no_quality:
        from pipelines.quality.study_checks import check_snapshot
        from pipelines.sources import attendance_source

        with read_session(engine) as session:
            attendance = attendance_source(session, get_study(session, snap.study_code))
        quality = check_snapshot(snap, attendance)
    shown = arm_display_map(snap.config, snap.unblinded)
    try:
        software = version("peerstudy")
    except PackageNotFoundError:
        software = "unknown"
    html = render_report(ReportInputs(
        study_code=snap.study_code, study_name=snap.study_name, taken_at=snap.taken_at,
        unblinded=snap.unblinded, software_version=software, dataset=snap.dataset, plan=plan,
        arms=[shown[a] for a in snap.config.arm_codes],
        arm_labels={shown[a.code]: a.label for a in snap.config.arms} if snap.unblinded else {},
        analysis=analysis, flow=snap.consort(), group_fidelity=snap.sources.group_fidelity,
        quality=quality, strata=list(snap.config.stratification),
    ))
    out.write_text(html, encoding="utf-8")
    typer.echo(f"report written to {out} ({len(html) // 1024} KiB, self-contained)")
    from study.audit_anchor import record_anchor

    if (anchor := record_anchor(engine)) is not None:
        typer.echo(f"audit anchor (seq {anchor.seq}) appended to the anchor log")

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
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="Language of the report: en or da (default: the study's language, else en)."
        ),
    ] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Write the study report: one self-contained HTML file that works offline.

    Table 1, CONSORT diagram, effect table and forest plot, trajectories, fidelity and data
    quality; the analysis plan (its SHA-256 and lock) and every protocol deviation as
    appendices. Every heading, label, number and date in the language of ``--lang`` (``da``:
    Danish words, decimal comma, ``5. mar. 2025``), by default the study's language. Until the study is unblinded the arm-wise parts are computed on the dummy
    allocation: the file is written as DUMMY_ALLOCATION_<name> with a banner. The audit
    chain's head is appended to the anchor log (docs/operations.md).
    """
    from importlib.metadata import PackageNotFoundError, version

    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.dummy_allocation import DUMMY_FILE_PREFIX
    from pipelines.report.html import ReportInputs, render_report
    from pipelines.report.sap_section import sap_appendix_html
    from pipelines.sap import current_sap
    from pipelines.snapshot import take_snapshot
    from study.db import read_session
    from study.studies import get_study

    if lang is not None and lang not in ("en", "da"):
        raise typer.BadParameter(f"unknown language {lang!r}; languages: en, da", param_hint="--lang")
    engine = open_db(db)
    snap = take_snapshot(engine, study, with_items=not no_quality)
    plan = snap.plan()
    current = current_sap(snap.config)
    analysis = run_trial_analysis(snap.dataset, plan, mice=mice, summaries=False)
    quality = None
    if not no_quality:
        from pipelines.quality.study_checks import check_snapshot
        from pipelines.sources import attendance_source

        with read_session(engine) as session:
            attendance = attendance_source(session, get_study(session, snap.study_code))
        quality = check_snapshot(snap, attendance)
    try:
        software = version("peerstudy")
    except PackageNotFoundError:
        software = "unknown"
    language = lang or snap.config.study.language
    html = render_report(
        ReportInputs(
            study_code=snap.study_code,
            study_name=snap.study_name,
            taken_at=snap.taken_at,
            unblinded=snap.unblinded,
            software_version=software,
            dataset=snap.dataset,
            plan=plan,
            arms=list(snap.config.arm_codes),
            arm_labels=snap.arm_labels(language),
            analysis=analysis,
            flow=snap.consort(),
            group_fidelity=snap.sources.group_fidelity,
            quality=quality,
            strata=list(snap.config.stratification),
            dummy=snap.dummy,
            appendix_html=sap_appendix_html(
                snap.sap, current.sha256, current.document, snap.deviations, language
            ),
            sap_sha256=snap.sap.sha256 if snap.sap is not None else current.sha256,
            sap_locked=snap.sap is not None,
            language=language,
        )
    )
    if snap.dummy and not out.name.startswith(DUMMY_FILE_PREFIX):  # the file name says what it holds
        out = out.with_name(DUMMY_FILE_PREFIX + out.name)
    out.write_text(html, encoding="utf-8")
    typer.echo(f"report written to {out} ({len(html) // 1024} KiB, self-contained)")
    from study.audit_anchor import record_anchor

    if (anchor := record_anchor(engine)) is not None:
        typer.echo(f"audit anchor (seq {anchor.seq}) appended to the anchor log")

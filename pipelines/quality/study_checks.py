"""Checks of one study snapshot: tables from the sources, suites from the config, GX run."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from pipelines.quality.run import run_checks
from pipelines.quality.suites import checks_for
from pipelines.quality.tables import check_tables
from pipelines.snapshot import StudySnapshot

__all__ = ["check_snapshot", "check_study", "item_rules_source"]


def item_rules_source() -> dict[str, dict]:
    """Response-scale ranges and missing codes from the shipped instrument definitions.

    Keys are instrument ids (``{"min", "max", "missing_codes"}``) and, for items with a
    response scale of their own, ``"<instrument>.<item>"``.
    """
    from questionnaires.definitions import shipped_instruments

    rules: dict[str, dict] = {}
    for inst_id, inst in shipped_instruments().items():
        codes = sorted(inst.missing_codes)
        scale = inst.response_scale
        rules[inst_id] = {"min": scale.min, "max": scale.max, "missing_codes": codes}
        for item in inst.items:
            if item.response_scale is not None:
                rules[f"{inst_id}.{item.id}"] = {
                    "min": item.response_scale.min,
                    "max": item.response_scale.max,
                    "missing_codes": codes,
                }
    return rules


def check_snapshot(snap: StudySnapshot, attendance: pd.DataFrame) -> pd.DataFrame:
    """Run every generated check on a snapshot (see :func:`pipelines.quality.run.run_checks`)."""
    items = (
        snap.items
        if snap.items is not None
        else pd.DataFrame(
            columns=["pseudonym", "timepoint", "instrument", "version", "item", "value", "completed_on"]
        )
    )
    tables = check_tables(
        snap.sources.participants,
        snap.sources.allocations,
        snap.sources.scores,
        attendance,
        snap.sources.group_fidelity,
        items,
        snap.config,
        dose=snap.sources.dose,
        item_rules=item_rules_source(),
    )
    return run_checks(tables, checks_for(snap.config))


def check_study(
    engine: Engine, study_code: str | None, actor: str, record: bool = True
) -> tuple[StudySnapshot, pd.DataFrame]:
    """Snapshot a study, run every check on it and (``record``) store the run, audited as
    ``actor`` (:func:`pipelines.quality.history.record_quality_run`).

    The one path of ``peerstudy check`` and the dashboard's "run the checks" button.
    Returns the snapshot and the results (see :func:`pipelines.quality.run.run_checks`).
    """
    from pipelines.quality.history import record_quality_run, study_data_seq
    from pipelines.snapshot import take_snapshot
    from pipelines.sources import attendance_source
    from study.db import read_session, unit_of_work
    from study.studies import get_study

    with read_session(engine) as session:
        seq = study_data_seq(session, get_study(session, study_code))
    snap = take_snapshot(engine, study_code, with_items=True)
    with read_session(engine) as session:
        attendance = attendance_source(session, get_study(session, snap.study_code))
    results = check_snapshot(snap, attendance)
    if record:
        with unit_of_work(engine, actor, reason="data-quality checks") as session:
            record_quality_run(
                session, get_study(session, snap.study_code), results, snap.taken_at, actor, seq
            )
    return snap, results

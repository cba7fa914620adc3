"""Runs of the data-quality checks kept in the database: recorded by ``peerstudy check`` and
the dashboard, shown on the analysis page with whether study data changed since.

A run stores every check's row (:data:`pipelines.quality.run.QUALITY_COLUMNS`) and the newest
audit event of study data when its snapshot was taken; a later audit event on study data marks
it out of date. Pure reading and writing of runs; running the checks is
:func:`pipelines.quality.study_checks.check_snapshot`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.quality.run import QUALITY_COLUMNS
from study.db.models import AuditEvent, QualityRun, Study

__all__ = ["NOT_STUDY_DATA", "QualityStatus", "latest_quality_run", "record_quality_run", "study_data_seq"]

#: Audited tables whose changes do not alter what the checks read (the runs themselves,
#: survey links and unsent drafts, user accounts, disclosures of the allocation such as a DMC
#: opening its interim page, the locked analysis plan).
NOT_STUDY_DATA = frozenset(
    {"quality_run", "survey_link", "survey_draft", "app_user", "allocation_disclosure", "sap_version"}
)


@dataclass(frozen=True)
class QualityStatus:
    """The latest run of the checks: when (UTC) and by whom, counts of checks (``errors`` and
    ``warnings`` are failed checks of that severity), every check's row in ``results``, and
    ``out_of_date`` when study data changed after its snapshot."""

    taken_at: dt.datetime
    run_by: str
    checks: int
    passed: int
    errors: int
    warnings: int
    out_of_date: bool
    results: pd.DataFrame

    @property
    def failed(self) -> pd.DataFrame:
        """The checks that failed, errors first."""
        failed = self.results[~self.results["success"].astype(bool)]
        return failed.sort_values("severity", key=lambda s: s.map({"error": 0, "warning": 1})).reset_index(
            drop=True
        )


def study_data_seq(session: Session, study: Study) -> int | None:
    """``seq`` of the newest audit event on the study's data (``None`` before the first)."""
    return session.scalar(
        select(func.max(AuditEvent.seq)).where(
            AuditEvent.study_id == study.id, AuditEvent.table_name.not_in(NOT_STUDY_DATA)
        )
    )


def record_quality_run(
    session: Session,
    study: Study,
    results: pd.DataFrame,
    taken_at: dt.datetime,
    run_by: str,
    audit_seq: int | None,
) -> QualityRun:
    """Store one run (inside a unit of work, so it is audited).

    Parameters
    ----------
    results
        :func:`pipelines.quality.study_checks.check_snapshot`'s frame.
    taken_at
        When the checked snapshot was read (UTC).
    run_by
        Who ran the checks (a login or ``cli:<user>``).
    audit_seq
        :func:`study_data_seq` read *before* the snapshot: a change racing the snapshot
        then marks the run out of date rather than passing unnoticed.
    """
    missing = [c for c in QUALITY_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(f"quality results lack the column(s) {', '.join(missing)}")
    ok = results["success"].astype(bool)
    rows = results[QUALITY_COLUMNS].astype(object).where(results[QUALITY_COLUMNS].notna(), None)
    run = QualityRun(
        study_id=study.id,
        taken_at=taken_at,
        run_by=run_by,
        checks=len(results),
        passed=int(ok.sum()),
        errors=int((~ok & (results["severity"] == "error")).sum()),
        warnings=int((~ok & (results["severity"] == "warning")).sum()),
        audit_seq=audit_seq,
        results=json.dumps(rows.to_dict(orient="records"), ensure_ascii=False, default=str),
    )
    session.add(run)
    session.flush()
    return run


def latest_quality_run(session: Session, study: Study) -> QualityStatus | None:
    """The newest run of the study's checks, or ``None`` if they never ran."""
    run = session.scalar(
        select(QualityRun)
        .where(QualityRun.study_id == study.id)
        .order_by(QualityRun.taken_at.desc(), QualityRun.id.desc())
        .limit(1)
    )
    if run is None:
        return None
    newest = study_data_seq(session, study)
    out_of_date = newest is not None and (run.audit_seq is None or newest > run.audit_seq)
    results = pd.DataFrame(json.loads(run.results), columns=QUALITY_COLUMNS)
    return QualityStatus(
        run.taken_at, run.run_by, run.checks, run.passed, run.errors, run.warnings, out_of_date, results
    )

"""The lock of the statistical analysis plan (SAP) and the study's protocol deviations.

``peerstudy sap lock --reason TEXT`` stores the plan document, its SHA-256 and the plan's
settings as version 1 (audited: who, when, why). Locking again after the plan changed is an
*amendment*: a new version with its reason, and a protocol deviation naming both hashes.
Unblinding is refused until a version exists (:func:`require_locked`), so the analysis is
fixed before anyone sees the arms. The document itself is rendered by :mod:`pipelines.sap`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Person, ProtocolDeviation, SapVersion, Study
from study.errors import BadInput, NotAllowed

__all__ = [
    "DEVIATION_COLUMNS",
    "LockedSap",
    "deviations_frame",
    "latest_sap",
    "lock_sap",
    "record_deviation",
    "SapNotLocked",
    "require_locked",
]

#: Columns of :func:`deviations_frame`.
DEVIATION_COLUMNS = ["recorded_at", "kind", "pseudonym", "detail", "reason", "recorded_by"]


@dataclass(frozen=True)
class LockedSap:
    """A stored SAP version (plain values, usable after the session closed)."""

    version: int
    kind: str
    sha256: str
    document: str
    plan_json: str
    reason: str
    recorded_by: str
    recorded_at: object


def latest_sap(session: Session, study: Study) -> LockedSap | None:
    """The study's latest SAP version, ``None`` while the plan is not locked."""
    row = session.scalar(
        select(SapVersion).where(SapVersion.study_id == study.id).order_by(SapVersion.version.desc()).limit(1)
    )
    if row is None:
        return None
    return LockedSap(
        row.version,
        row.kind,
        row.sha256,
        row.document,
        row.plan_json,
        row.reason,
        row.recorded_by,
        row.recorded_at,
    )


def lock_sap(
    session: Session, study: Study, document: str, sha256: str, plan_json: str, actor: str, reason: str
) -> LockedSap:
    """Lock the plan (version 1) or, when it changed since the last version, record an
    amendment (a new version and a ``sap_amendment`` protocol deviation).

    Raises
    ------
    BadInput
        No reason given.
    NotAllowed
        The plan is already locked with this very hash (nothing to amend).
    """
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("locking or amending the analysis plan needs a reason")
    latest = latest_sap(session, study)
    if latest is not None and latest.sha256 == sha256:
        raise NotAllowed(
            f"the analysis plan of study {study.code} is already locked as version {latest.version} "
            f"(SHA-256 {sha256}); nothing changed"
        )
    version = 1 if latest is None else latest.version + 1
    kind = "lock" if latest is None else "amendment"
    session.add(
        SapVersion(
            study_id=study.id,
            version=version,
            kind=kind,
            sha256=sha256,
            document=document,
            plan_json=plan_json,
            reason=reason,
            recorded_by=actor,
        )
    )
    if latest is not None:
        record_deviation(
            session,
            study,
            "sap_amendment",
            f"analysis plan amended after the lock: version {latest.version} (SHA-256 {latest.sha256}) → "
            f"version {version} (SHA-256 {sha256})",
            reason,
            actor,
        )
    session.flush()
    return require_locked(session, study, "locking the analysis plan")  # the version just stored


class SapNotLocked(NotAllowed):
    """An action that needs a locked analysis plan was refused: no version is locked yet."""


def require_locked(session: Session, study: Study, action: str) -> LockedSap:
    """The latest SAP version; ``NotAllowed`` saying why when the plan is not locked."""
    locked = latest_sap(session, study)
    if locked is None:
        raise SapNotLocked(
            f"{action} needs a locked statistical analysis plan: review the plan, then lock it with a reason"
        )
    return locked


def record_deviation(
    session: Session,
    study: Study,
    kind: str,
    detail: str,
    reason: str,
    actor: str,
    person: Person | None = None,
) -> ProtocolDeviation:
    """Record a protocol deviation (audited; never changed afterwards)."""
    if not (reason or "").strip():
        raise BadInput(f"a protocol deviation ({kind}) needs a reason")
    row = ProtocolDeviation(
        study_id=study.id,
        person_id=person.id if person is not None else None,
        kind=kind,
        detail=detail,
        reason=reason.strip(),
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def deviations_frame(session: Session, study: Study) -> pd.DataFrame:
    """Every protocol deviation of the study, oldest first (:data:`DEVIATION_COLUMNS`)."""
    rows = session.execute(
        select(
            ProtocolDeviation.recorded_at,
            ProtocolDeviation.kind,
            Person.pseudonym,
            ProtocolDeviation.detail,
            ProtocolDeviation.reason,
            ProtocolDeviation.recorded_by,
        )
        .outerjoin(Person, Person.id == ProtocolDeviation.person_id)
        .where(ProtocolDeviation.study_id == study.id)
        .order_by(ProtocolDeviation.id)
    ).all()
    return pd.DataFrame(rows, columns=DEVIATION_COLUMNS)

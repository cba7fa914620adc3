"""Versions of the course manual: stored in the pilot, locked from the start of the RCT.

Rules (the trial's protocol, enforced here):

- In set-up and in the pilot a changed manual is stored as a *new version* with a change note;
  storing the same file again changes nothing.
- From the start of the RCT the manual is *locked*: storing a changed manual is refused
  (``NotAllowed``), and every RCT group must run the locked version
  (``CourseGroup.manual_version``). The lock is recorded on the version row (``locked_at``,
  audited) by :func:`lock_manual` or by the first fidelity write of the RCT.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.codes import Phase
from study.db.models import CourseGroup, ManualVersion, Study
from study.db.types import utcnow
from study.errors import BadInput, NotAllowed, NotFound
from study.fidelity.manual import Manual, parse_manual
from study.phase_guard import require_phase
from study.studies import config_of

if TYPE_CHECKING:  # pandas only for the history tables: phase checks run in quick commands
    import pandas as pd

__all__ = [
    "LOCKED_PHASES",
    "current_version",
    "group_manual",
    "group_version_problems",
    "is_locked_phase",
    "lock_manual",
    "manual_history",
    "manual_of",
    "stored_manual",
    "store_manual_version",
]

#: Phases in which the manual may no longer change.
LOCKED_PHASES: tuple[str, ...] = ("rct", "analysis")


def is_locked_phase(study: Study) -> bool:
    """Whether the study is in a phase where the manual is locked (RCT or analysis)."""
    return study.current_phase in LOCKED_PHASES


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=32)
def _parse(content: str, source: str) -> Manual:
    return parse_manual(content, source=source)


def manual_of(version: ManualVersion) -> Manual:
    """The validated manual held by a stored version."""
    return _parse(version.content, f"manual {version.manual} version {version.version}")


def current_version(session: Session, study: Study) -> ManualVersion | None:
    """The newest stored version of the study's manual, or ``None`` when none is stored."""
    manual_id = config_of(study).fidelity.manual
    return session.scalar(
        select(ManualVersion)
        .where(ManualVersion.study_id == study.id, ManualVersion.manual == manual_id)
        .order_by(ManualVersion.id.desc())
        .limit(1)
    )


def stored_manual(session: Session, study: Study, version: str) -> ManualVersion:
    """The stored version ``version`` of the study's manual, or ``NotFound``."""
    manual_id = config_of(study).fidelity.manual
    row = session.scalar(
        select(ManualVersion).where(
            ManualVersion.study_id == study.id,
            ManualVersion.manual == manual_id,
            ManualVersion.version == version,
        )
    )
    if row is None:
        raise NotFound(
            f"manual {manual_id} version {version!r} is not stored: store that version of the "
            "manual first (with a note on what changed)"
        )
    return row


def store_manual_version(
    session: Session,
    study: Study,
    content: str,
    actor: str,
    note: str | None = None,
    source: str = "manual.yaml",
) -> tuple[ManualVersion, bool]:
    """Store a manual file as a new version of the study's manual.

    Parameters
    ----------
    content
        The manual's YAML text; validated (``ManualError`` names the file and key).
    actor
        Who stores it (kept as ``created_by``; the audit trail records it too).
    note
        Why the manual changed; required for every version after the first.
    source
        File name used in error messages.

    Returns
    -------
    (ManualVersion, bool)
        The stored version and whether it is new (``False``: the same file was stored before).

    Raises
    ------
    BadInput
        Invalid manual, a manual other than the study's, a session count other than the
        study's course, a reused version number with other content, a missing change note.
    NotAllowed
        The study is in the RCT or analysis phase and a version is already stored (locked).
    """
    manual = parse_manual(content, source=source)
    config = config_of(study)
    if manual.id != config.fidelity.manual:
        raise BadInput(
            f"{source}: manual id {manual.id!r} is not the study's manual "
            f"{config.fidelity.manual!r} (fidelity.manual in study.yaml)"
        )
    if manual.weeks != config.groups.sessions:
        raise BadInput(
            f"{source}: the manual has {manual.weeks} sessions but the study's course has "
            f"{config.groups.sessions} (groups.sessions)"
        )
    sha = _sha256(content)
    same_number = session.scalar(
        select(ManualVersion).where(
            ManualVersion.study_id == study.id,
            ManualVersion.manual == manual.id,
            ManualVersion.version == manual.version,
        )
    )
    if same_number is not None:
        if same_number.sha256 == sha:
            return same_number, False  # the same file again: idempotent
        raise BadInput(
            f"{source}: version {manual.version} of {manual.id} is already stored with other "
            "content; give the changed manual a new version number"
        )
    latest = current_version(session, study)
    now = utcnow()
    if latest is not None and is_locked_phase(study):
        raise NotAllowed(
            f"manual {manual.id} is locked at version {latest.version} since the RCT started; "
            f"version {manual.version} cannot be stored (the RCT must run the locked manual)"
        )
    if latest is not None and latest.sha256 == sha:
        raise BadInput(f"{source}: identical to stored version {latest.version}; nothing changed")
    note = (note or "").strip() or None
    if latest is not None and note is None:
        raise BadInput(
            f"storing a changed manual needs a change note: what changed since version {latest.version}?"
        )
    row = ManualVersion(
        study_id=study.id,
        manual=manual.id,
        version=manual.version,
        content=content,
        sha256=sha,
        change_note=note or "first version",
        created_by=actor,
        created_at=now,
    )
    if is_locked_phase(study):
        # The first version stored during the RCT is the one the RCT runs: locked at once.
        row.locked_at, row.locked_by = now, actor
    session.add(row)
    session.flush()
    return row, True


def lock_manual(session: Session, study: Study, actor: str, at: dt.datetime | None = None) -> ManualVersion:
    """Record the lock of the current manual version and give it to every RCT group.

    Allowed in the RCT and analysis phases; idempotent. RCT groups without a manual version
    get the locked one (an audited change). RCT groups recorded with another version are left
    as they are and listed by :func:`group_version_problems`; they cannot be observed.
    """
    require_phase(study, *LOCKED_PHASES, action="locking the manual")
    latest = current_version(session, study)
    if latest is None:
        raise BadInput(
            f"no version of manual {config_of(study).fidelity.manual} is stored: store one "
            "with `peerstudy fidelity manual update FILE`"
        )
    if latest.locked_at is None:
        latest.locked_at, latest.locked_by = at or utcnow(), actor
    groups = session.scalars(
        select(CourseGroup).where(
            CourseGroup.study_id == study.id,
            CourseGroup.phase == Phase.RCT,
            CourseGroup.manual_version.is_(None),
        )
    ).all()
    for g in groups:
        g.manual_version = latest.version
    session.flush()
    return latest


def group_manual(
    session: Session, study: Study, group: CourseGroup, actor: str
) -> tuple[Manual, ManualVersion]:
    """The manual (and its stored version) an observation of ``group`` is scored against.

    RCT groups run the locked version: the lock is recorded if it was not yet, a group without
    a version gets it, and a group with another version is refused (``NotAllowed``). Pilot
    groups run their recorded version, else the newest stored one. Call inside a unit of work.
    """
    if group.phase == Phase.RCT:
        locked = _locked(session, study) or lock_manual(session, study, actor)
        if group.manual_version is None:
            group.manual_version = locked.version
        elif group.manual_version != locked.version:
            raise NotAllowed(
                f"RCT group {group.code} is recorded with manual version "
                f"{group.manual_version}, but the RCT runs the locked version {locked.version}"
            )
        return manual_of(locked), locked
    if group.manual_version:
        row = stored_manual(session, study, group.manual_version)
    else:
        current = current_version(session, study)
        if current is None:
            raise NotFound(
                f"no version of manual {config_of(study).fidelity.manual} is stored: store the manual first"
            )
        row = current
    return manual_of(row), row


def _locked(session: Session, study: Study) -> ManualVersion | None:
    latest = current_version(session, study)
    return latest if latest is not None and latest.locked_at is not None else None


def manual_history(session: Session, study: Study) -> pd.DataFrame:
    """Stored versions, oldest first: ``version, created_at, created_by, change_note, locked_at,
    locked_by, sha256`` (the hash shortened to 12 characters)."""
    import pandas as pd  # lazily: see the imports at the top

    manual_id = config_of(study).fidelity.manual
    rows = session.execute(
        select(
            ManualVersion.version,
            ManualVersion.created_at,
            ManualVersion.created_by,
            ManualVersion.change_note,
            ManualVersion.locked_at,
            ManualVersion.locked_by,
            ManualVersion.sha256,
        )
        .where(ManualVersion.study_id == study.id, ManualVersion.manual == manual_id)
        .order_by(ManualVersion.id)
    ).all()
    df = pd.DataFrame(
        rows,
        columns=["version", "created_at", "created_by", "change_note", "locked_at", "locked_by", "sha256"],
    )
    df["sha256"] = df["sha256"].str[:12]
    return df


def group_version_problems(session: Session, study: Study) -> pd.DataFrame:
    """RCT groups that do not (yet) run the locked manual version.

    Returns ``group, manual_version, locked_version, problem`` (empty when all conform).
    ``problem`` is ``no version recorded`` or ``runs another version``.
    """
    import pandas as pd  # lazily: see the imports at the top

    locked = _locked(session, study)
    rows = session.execute(
        select(CourseGroup.code, CourseGroup.manual_version)
        .where(CourseGroup.study_id == study.id, CourseGroup.phase == Phase.RCT)
        .order_by(CourseGroup.code)
    ).all()
    df = pd.DataFrame(rows, columns=["group", "manual_version"])
    df["locked_version"] = locked.version if locked is not None else None
    problem = pd.Series(None, index=df.index, dtype=object)
    problem[df["manual_version"].isna()] = "no version recorded"
    other = df["manual_version"].notna() & (df["manual_version"] != df["locked_version"])
    problem[other] = "runs another version" if locked is not None else "manual not locked yet"
    df["problem"] = problem
    return df[df["problem"].notna()].reset_index(drop=True)

"""Blinding: who sees arm labels, and the audited unblinding of a study.

Until a study is unblinded (only in the analysis phase), researchers and statisticians see
arm *codes* such as ``A``/``B`` (``blinded_code`` in study.yaml, default A, B, … in the order
the arms are listed), never the labels or the arm codes ``INT``/``CTL``.
"""

from __future__ import annotations

__all__ = [
    "BLINDED_VALUE", "arm_display_map", "blind_allocation_events", "display_arms", "is_unblinded", "unblind",
]

from typing import Optional

import pandas as pd
from sqlalchemy.orm import Session

from study.config import StudyConfig
from study.db.models import Study
from study.db.types import utcnow
from study.errors import NotAllowed
from study.phases import require_phase


def is_unblinded(study: Study) -> bool:
    """Whether the study has been unblinded by ``peerstudy unblind``."""
    return study.unblinded_at is not None


def arm_display_map(config: StudyConfig, unblinded: bool) -> dict[str, str]:
    """Map stored arm code → what a blinded or unblinded viewer sees.

    Blinded: the blinded code (``INT`` → ``A``). Unblinded: the arm code itself.
    """
    if unblinded:
        return {code: code for code in config.arm_codes}
    return config.blinded_codes()


def display_arms(arms: pd.Series, config: StudyConfig, unblinded: bool) -> pd.Series:
    """Vectorised :func:`arm_display_map` over a Series of stored arm codes (NaN stays NaN)."""
    return arms.map(arm_display_map(config, unblinded))


def unblind(session: Session, study: Study, actor: str, when: Optional[object] = None) -> Study:
    """Unblind the study (audited); allowed only in the analysis phase and only once."""
    require_phase(study, "analysis", action="unblinding")
    if is_unblinded(study):
        raise NotAllowed(f"study {study.code} was already unblinded at {study.unblinded_at:%Y-%m-%d %H:%M} UTC")
    study.unblinded_at = when or utcnow()
    study.unblinded_by = actor
    session.flush()
    return study


#: What a blinded reader sees instead of an allocation event's values.
BLINDED_VALUE = "<blinded>"


def blind_allocation_events(history: pd.DataFrame) -> pd.DataFrame:
    """Audit events (``table_name, old_value, new_value`` columns, e.g. of
    :func:`study.audit.person_history`) with the values of allocation events replaced by
    :data:`BLINDED_VALUE`: the insert of an allocation carries the arm, so a blinded reader
    of the audit trail would otherwise be unblinded. Empty values stay empty.

    >>> events = pd.DataFrame({"table_name": ["allocation", "person"],
    ...                        "old_value": [None, "x"], "new_value": ['{"arm": "INT"}', "y"]})
    >>> blind_allocation_events(events)["new_value"].tolist()
    ['<blinded>', 'y']
    """
    if history.empty:
        return history
    history = history.copy()
    mask = history["table_name"] == "allocation"
    values = history.loc[mask, ["old_value", "new_value"]]
    history.loc[mask, ["old_value", "new_value"]] = values.where(values.isna(), BLINDED_VALUE)
    return history

"""Blinding: who sees arm labels, and the audited unblinding of a study.

Until a study is unblinded (only in the analysis phase), researchers and statisticians see
arm *codes* such as ``A``/``B`` (``blinded_code`` in study.yaml, default A, B, … in the order
the arms are listed), never the labels or the arm codes ``INT``/``CTL``.
"""

from __future__ import annotations

__all__ = ["arm_display_map", "display_arms", "is_unblinded", "unblind"]

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

"""What the study's current phase allows, for the banner on every page.

The rules themselves are enforced where the actions live (``study.phases.require_phase`` in
randomisation, manual versioning and unblinding); this module only states them for people, as
message keys that :mod:`dashboards.i18n` translates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from study.config.schema import PHASE_ORDER

__all__ = ["PhaseBanner", "phase_banner"]


@dataclass(frozen=True)
class PhaseBanner:
    """The phase shown on every page.

    ``phase`` is ``None`` before the pilot starts (set-up). ``allowed`` and ``refused`` are
    message keys (under ``phase.rule.``) of what the phase allows and refuses.
    """

    phase: Optional[str]
    unblinded: bool
    allowed: tuple[str, ...]
    refused: tuple[str, ...]


def phase_banner(phase: Optional[str], unblinded: bool) -> PhaseBanner:
    """The rules of ``phase`` (``pilot``, ``rct``, ``analysis`` or ``None``) as message keys.

    Raises ``ValueError`` for an unknown phase.
    """
    if phase is not None and phase not in PHASE_ORDER:
        raise ValueError(f"unknown phase {phase!r}")
    allowed: list[str] = []
    refused: list[str] = []
    if phase is None:
        refused += ["enrolment", "randomisation"]
    elif phase == "pilot":
        allowed += ["enrolment", "manual_changes", "attendance"]
        refused += ["randomisation", "unblinding"]
    elif phase == "rct":
        allowed += ["enrolment", "randomisation", "attendance", "questionnaires"]
        refused += ["manual_changes", "unblinding"]
    else:
        allowed += ["analysis", "questionnaires"]
        refused += ["randomisation", "manual_changes"]
        allowed.append("unblinded" if unblinded else "unblinding")
    return PhaseBanner(phase, unblinded, tuple(allowed), tuple(refused))

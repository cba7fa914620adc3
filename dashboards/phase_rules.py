"""What the study's current phase allows, for the banner on every page.

The rules themselves are enforced where the actions live (``study.phases.require_phase`` in
randomisation, manual versioning and unblinding); this module only states them for people, as
message keys that :mod:`dashboards.i18n` translates.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from study.config.schema import PHASE_ORDER

__all__ = ["GROUP_PHASE", "PhaseBanner", "current_phase_first", "group_phase", "phase_banner"]

#: The phase of the course groups that are running in each study phase (the analysis phase
#: still looks at the RCT's groups).
GROUP_PHASE = {"pilot": "pilot", "rct": "rct", "analysis": "rct"}


def group_phase(study_phase: str | None) -> str | None:
    """The phase of the groups that matter now (``rct`` in the RCT and analysis phases,
    ``pilot`` in the pilot, ``None`` before the pilot)."""
    return GROUP_PHASE.get(study_phase or "")


def current_phase_first(groups: pd.DataFrame, study_phase: str | None) -> pd.DataFrame:
    """Groups (``group, phase, start_date, ...``) with those of the running phase first, so
    a selectbox opens on a group being worked with now (in the RCT an RCT group, never a
    finished pilot group); within each part by start date and code.

    >>> g = pd.DataFrame({"group": ["CPH-P1", "CPH-R01"], "phase": ["pilot", "rct"],
    ...                   "start_date": ["2025-02-17", "2025-10-06"]})
    >>> current_phase_first(g, "rct")["group"].tolist()
    ['CPH-R01', 'CPH-P1']
    """
    other = groups["phase"] != group_phase(study_phase)
    return (
        groups.assign(_other=other)
        .sort_values(["_other", "start_date", "group"], kind="stable")
        .drop(columns="_other")
        .reset_index(drop=True)
    )


@dataclass(frozen=True)
class PhaseBanner:
    """The phase shown on every page.

    ``phase`` is ``None`` before the pilot starts (set-up). ``allowed`` and ``refused`` are
    message keys (under ``phase.rule.``) of what the phase allows and refuses.
    """

    phase: str | None
    unblinded: bool
    allowed: tuple[str, ...]
    refused: tuple[str, ...]


def phase_banner(phase: str | None, unblinded: bool) -> PhaseBanner:
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

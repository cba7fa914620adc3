"""Fidelity settings in ``study.yaml``: which course manual, and the classification thresholds.

The per-protocol attendance threshold is not repeated here: it is
``groups.per_protocol_min_sessions`` (default 6 of 10 sessions).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from study.config.base import ConfigModel

__all__ = ["FidelityConfig", "FidelityThresholds"]


class FidelityThresholds(ConfigModel):
    """Adherence thresholds in percent (0–100), both inclusive lower bounds.

    ``high``: adherence ≥ ``high`` is *high* fidelity (default 80 %); ``moderate``: from
    ``moderate`` up to below ``high`` is *moderate* (default 50 %); below ``moderate`` is *low*.
    """

    high: float = Field(default=80, gt=0, le=100)
    moderate: float = Field(default=50, ge=0, lt=100)

    @model_validator(mode="after")
    def _ordered(self) -> FidelityThresholds:
        if self.moderate >= self.high:
            raise ValueError(f"moderate ({self.moderate}) must be below high ({self.high})")
        return self


class FidelityConfig(ConfigModel):
    """The course manual the study runs and how fidelity is classified.

    ``manual`` names a manual shipped in ``study/fidelity/manuals/`` (``hope_course``) or one
    stored with ``peerstudy fidelity manual update``. ``flag_below`` is the classification a
    group must reach not to be flagged as *below threshold* (default ``high``: a group whose
    mean adherence is under 80 % is flagged for supervision).
    """

    manual: str = Field(default="hope_course", pattern=r"^[a-z][a-z0-9_]{0,63}$")
    thresholds: FidelityThresholds = Field(default_factory=FidelityThresholds)
    flag_below: Literal["high", "moderate"] = "high"

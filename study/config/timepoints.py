"""Assessment timepoints in ``study.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from study.config.base import ConfigModel

__all__ = ["TimepointConfig"]


class TimepointConfig(ConfigModel):
    """One assessment timepoint.

    Due date = anchor date + ``offset_weeks``; an answer is inside the window when it lies
    between ``window_before_weeks`` before and ``window_after_weeks`` after the due date.
    """

    code: str
    label: str
    anchor: Literal["screening", "consent", "randomisation", "group_start"] = "consent"
    offset_weeks: float = 0
    window_before_weeks: float = Field(default=2, ge=0)
    window_after_weeks: float = Field(default=2, ge=0)
    instruments: list[str] = Field(default_factory=list)

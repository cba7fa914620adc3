"""Assessment timepoints in ``study.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from study.config.base import ConfigModel

__all__ = ["ANCHORS", "TimepointConfig"]

Anchor = Literal["screening", "consent", "randomisation", "group_start"]
#: The dates a timepoint can be anchored to.
ANCHORS: tuple[str, ...] = ("screening", "consent", "randomisation", "group_start")


class TimepointConfig(ConfigModel):
    """One assessment timepoint.

    Due date = anchor date + ``offset_weeks``; an answer is inside the window when it lies
    between ``window_before_weeks`` before and ``window_after_weeks`` after the due date.
    ``fallback_anchor`` is used for people without a date for ``anchor`` (pilot participants
    are never randomised, so their post assessment can hang on their group's start); without
    one, such people are not scheduled for the timepoint.
    """

    code: str
    label: str
    anchor: Anchor = "consent"
    fallback_anchor: Anchor | None = None
    offset_weeks: float = 0
    window_before_weeks: float = Field(default=2, ge=0)
    window_after_weeks: float = Field(default=2, ge=0)
    instruments: list[str] = Field(default_factory=list)

"""Randomisation settings in ``study.yaml``."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from study.config.base import ConfigModel

__all__ = ["RandomisationConfig"]


class RandomisationConfig(ConfigModel):
    """How participants are allocated to arms in the RCT phase.

    ``method``: ``blocks`` (stratified permuted blocks of randomly varying size),
    ``minimisation`` (Pocock-Simon with a random element) or ``table`` (an uploaded allocation
    table). ``factors`` are person attributes used as strata (blocks) or minimisation factors,
    always in addition to the site.
    """

    method: Literal["blocks", "minimisation", "table"] = "blocks"
    factors: list[str] = Field(default_factory=list)
    block_sizes: list[int] = Field(default_factory=lambda: [2, 4, 6])
    preferred_arm_probability: float = Field(default=0.8, gt=0.5, le=1.0)
    table_file: Optional[str] = None

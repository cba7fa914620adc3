"""Randomisation settings in ``study.yaml``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from study.config.base import ConfigModel

__all__ = ["RandomisationConfig"]


class RandomisationConfig(ConfigModel):
    """How participants are allocated to arms in the RCT phase.

    ``method``: ``blocks`` (stratified permuted blocks of randomly varying size),
    ``minimisation`` (Pocock-Simon with a random element) or ``table`` (an uploaded allocation
    table). ``factors`` are person attributes used as strata (blocks, table) or minimisation
    factors, always in addition to the site.

    ``block_sizes`` must be multiples of the sum of the arms' ratios (checked against the arms
    by :class:`~study.config.schema.StudyConfig`). ``preferred_arm_probability`` is the
    probability that minimisation assigns the arm that minimises imbalance (Pocock & Simon
    1975; 0.8 is the common choice, 1.0 is deterministic minimisation and is discouraged).
    ``factor_weights`` weighs each factor's imbalance in minimisation (``site`` included;
    default 1 for every factor). ``table_file`` is the default file for
    ``peerstudy allocation load-table``.
    """

    method: Literal["blocks", "minimisation", "table"] = "blocks"
    factors: list[str] = Field(default_factory=list)
    block_sizes: list[int] = Field(default_factory=lambda: [2, 4, 6], min_length=1)
    preferred_arm_probability: float = Field(default=0.8, gt=0.5, le=1.0)
    factor_weights: dict[str, float] = Field(default_factory=dict)
    table_file: str | None = None

    @field_validator("block_sizes")
    @classmethod
    def _sizes_positive(cls, sizes: list[int]) -> list[int]:
        if any(s < 1 for s in sizes):
            raise ValueError(f"block sizes must be positive, got {sizes}")
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"block sizes must be different, got {sizes}")
        return sizes

    @field_validator("factor_weights")
    @classmethod
    def _weights_positive(cls, weights: dict[str, float]) -> dict[str, float]:
        bad = {k: w for k, w in weights.items() if w <= 0}
        if bad:
            raise ValueError(f"factor weights must be positive, got {bad}")
        return weights

    @property
    def minimisation_factors(self) -> list[str]:
        """Factors minimisation balances: the site first, then the configured factors."""
        return ["site", *self.factors]

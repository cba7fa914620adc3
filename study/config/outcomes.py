"""The ``outcomes`` section of ``study.yaml``: what the trial analysis estimates.

Validated when the file is loaded, so a misspelt key or method fails ``peerstudy init`` with
the field named, rather than ``peerstudy analyse`` months later.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from study.config.base import ConfigModel

__all__ = ["OutcomesConfig", "PRIMARY_METHODS"]

#: Methods (``results.csv`` codes of the ITT estimand) that the SAP may name as primary.
PRIMARY_METHODS = ("ancova", "mixed_partially_nested", "mice_ancova")

_OUTCOME = r"^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$"


class OutcomesConfig(ConfigModel):
    """The ``outcomes`` section of ``study.yaml`` (outcomes as ``instrument.scale``).

    ``primary_method``: the ITT method whose result is the trial's primary result (and whose
    p-values Holm adjusts): ``ancova``, ``mixed_partially_nested`` (for interventions
    delivered in groups) or ``mice_ancova``. ``missing_data``: ``sensitivity`` (MICE beside
    the primary method) or ``main`` (MICE is the primary handling: ``primary_method`` defaults
    to ``mice_ancova``). ``imputations``: MICE data sets (≥ 2; 50 by default). ``burn_in``:
    chained-equation cycles of each imputation chain. That each instrument is one the study
    uses is checked by :class:`study.config.schema.StudyConfig`.
    """

    primary: str = Field(pattern=_OUTCOME)
    secondary: list[str] = Field(default_factory=list)
    exploratory: list[str] = Field(default_factory=list)
    primary_method: Literal["ancova", "mixed_partially_nested", "mice_ancova"] = "ancova"
    missing_data: Literal["sensitivity", "main"] = "sensitivity"
    imputations: int = Field(default=50, ge=2)
    burn_in: int = Field(default=10, ge=1)
    seed: int = 20260101

    @field_validator("secondary", "exploratory")
    @classmethod
    def _instrument_dot_scale(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not re.fullmatch(_OUTCOME, n)]
        if bad:
            raise ValueError(f"outcomes are written instrument.scale (e.g. who5.total), not {', '.join(bad)}")
        return names

    @property
    def names(self) -> tuple[str, ...]:
        """Every outcome named (primary, secondary, exploratory), in that order."""
        return (self.primary, *self.secondary, *self.exploratory)

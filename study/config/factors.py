"""Declared levels of the stratification factors (``factor_levels:`` in ``study.yaml``).

A factor's value is stored as the level's code; imports and forms accept the code, the label
and any declared synonym, case-insensitively (:mod:`study.stratification`), and refuse
anything else, so a typo never creates a new stratum.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from study.config.base import ConfigModel

__all__ = ["FactorLevel"]

_LEVEL = r"^[a-z][a-z0-9_-]{0,31}$"


class FactorLevel(ConfigModel):
    """One level of a stratification factor: its stored ``code``, a ``label`` for forms (e.g.
    Danish) and ``synonyms`` that imports map to the code (``Female``, ``kvinde``)."""

    code: str = Field(pattern=_LEVEL)
    label: str = Field(min_length=1)
    synonyms: list[str] = Field(default_factory=list)

    @field_validator("synonyms")
    @classmethod
    def _no_blank(cls, synonyms: list[str]) -> list[str]:
        if any(not s.strip() or "|" in s for s in synonyms):
            raise ValueError("a synonym must not be empty or contain '|'")
        return synonyms

    def spellings(self) -> list[str]:
        """Every accepted spelling, case-folded: the code, the label and the synonyms."""
        return [s.strip().casefold() for s in (self.code, self.label, *self.synonyms)]

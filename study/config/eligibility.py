"""Eligibility rules declared per role in ``study.yaml``."""

from __future__ import annotations

from pydantic import Field, model_validator

from study.config.base import ConfigModel

__all__ = ["EligibilityRules", "RoleConfig"]


class EligibilityRules(ConfigModel):
    """Who may take part in a role.

    Ages are whole years at the screening date, both bounds inclusive (``min_age: 18,
    max_age: 40`` admits 18- to 40-year-olds).
    """

    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    residence_required: bool = Field(
        default=False, description="must live in one of the site's municipalities"
    )
    exclusions: list[str] = Field(
        default_factory=list,
        description="exclusion flags (e.g. violence_conviction); any one present excludes",
    )
    consent_required: bool = Field(default=False, description="consent before randomisation")

    @model_validator(mode="after")
    def _age_range_ordered(self) -> EligibilityRules:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self


class RoleConfig(ConfigModel):
    """A role of the study and its eligibility rules."""

    label: str | None = None
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)

"""The study configuration (``study.yaml``) as validated pydantic models.

A study is data: its sites, arms, phases, roles, timepoints, instruments and fidelity manual
are declared here and checked on load, so a typo fails at ``peerstudy init`` rather than in the
middle of a trial. The codes of the reference study (sites ``CPH``/``HEL``/``FRE``, arms
``INT``/``CTL``, timepoints ``baseline``/``post``/``followup``) are a contract with users and
scripts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from study.codes import PHASE_ORDER, ROLE_CODES, Phase, Role
from study.config.base import ConfigModel
from study.config.companionship import CompanionshipConfig
from study.config.eligibility import RoleConfig
from study.config.factors import FactorLevel
from study.config.fidelity import FidelityConfig
from study.config.imports import ImportsConfig
from study.config.outcomes import OutcomesConfig
from study.config.randomisation import RandomisationConfig
from study.config.timepoints import TimepointConfig

__all__ = [
    "ArmConfig",
    "GroupsConfig",
    "PHASE_ORDER",
    "PhaseConfig",
    "ROLE_CODES",
    "SiteConfig",
    "StudyConfig",
    "StudyInfo",
    "TIMEPOINT_CODES",
]

#: The timepoint codes of the reference study.
TIMEPOINT_CODES: tuple[str, ...] = ("baseline", "post", "followup")

_CODE = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"


class StudyInfo(ConfigModel):
    """Identification of the study."""

    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1)
    registration: str | None = Field(default=None, description="e.g. NCT04639167")
    language: Literal["en", "da"] = Field(
        default="en",
        description="language participants are addressed in (the survey link opens in it; "
        "en English, da Danish)",
    )


class SiteConfig(ConfigModel):
    """A recruiting site (a city with its coordinator)."""

    code: str = Field(pattern=_CODE)
    name: str = Field(min_length=1)
    municipalities: list[str] = Field(min_length=1)
    recruitment_target: int = Field(ge=0, description="participants to randomise")


class ArmConfig(ConfigModel):
    """A trial arm. ``ratio`` is its integer share of the allocation ratio (1:1 → 1 and 1)."""

    code: str = Field(pattern=_CODE)
    label: str = Field(min_length=1)
    ratio: int = Field(ge=1, description="allocation ratio share, a whole number ≥ 1")
    blinded_code: str | None = Field(
        default=None,
        description="a code shown to blinded users (default A, B, …); which arm gets which code is "
        "drawn from the randomisation secret at the first allocation (study.blinding)",
    )

    @field_validator("ratio", mode="before")
    @classmethod
    def _ratio_positive(cls, v: object) -> object:
        if isinstance(v, (int, float)) and v <= 0:
            raise ValueError(f"ratio must be at least 1, got {v}")
        return v


class PhaseConfig(ConfigModel):
    """Planned dates of a phase (the actual start is recorded by ``peerstudy phase start``)."""

    name: Phase
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> PhaseConfig:
        if self.end < self.start:
            raise ValueError(f"phase {self.name} ends ({self.end}) before it starts ({self.start})")
        return self


class GroupsConfig(ConfigModel):
    """Shape of a course group (cohort)."""

    sessions: int = Field(default=10, ge=1, le=52, description="weekly sessions per course")
    session_minutes: int = Field(default=120, ge=1)
    leaders: int = Field(default=2, ge=1, le=4, description="peer leaders per group")
    max_size: int = Field(default=12, ge=1, description="most participants in one group")
    per_protocol_min_sessions: int = Field(default=6, ge=0)


class StudyConfig(ConfigModel):
    """A whole study as declared in ``study.yaml``."""

    study: StudyInfo
    sites: list[SiteConfig] = Field(min_length=1)
    arms: list[ArmConfig] = Field(min_length=2)
    control_arm: str = Field(description="code of the comparator arm (the analyses' reference)")
    phases: list[PhaseConfig] = Field(min_length=1)
    roles: dict[str, RoleConfig]
    groups: GroupsConfig = Field(default_factory=GroupsConfig)
    stratification: list[str] = Field(
        default_factory=list, description="person attributes collected for strata (e.g. gender)"
    )
    factor_levels: dict[str, list[FactorLevel]] = Field(
        default_factory=dict,
        description="declared levels of stratification factors (code, label, synonyms); values "
        "outside them are refused by imports and forms",
    )
    randomisation: RandomisationConfig = Field(default_factory=RandomisationConfig)
    timepoints: list[TimepointConfig] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list, description="instrument ids used")
    outcomes: OutcomesConfig | None = Field(
        default=None,
        description="primary and secondary outcomes (instrument.scale) and how they are analysed",
    )
    fidelity: FidelityConfig = Field(
        default_factory=FidelityConfig, description="fidelity manual and thresholds"
    )
    companionship: CompanionshipConfig = Field(
        default_factory=CompanionshipConfig, description="volunteers and 1:1 companionship"
    )
    imports: ImportsConfig = Field(
        default_factory=ImportsConfig, description="accepted formats of imported CSV files"
    )

    # --- cross-field checks -------------------------------------------------------------
    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: list[SiteConfig]) -> list[SiteConfig]:
        _no_duplicates([s.code for s in sites], "site code")
        return sites

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: list[ArmConfig]) -> list[ArmConfig]:
        _no_duplicates([a.code for a in arms], "arm code")
        blinded = [a.blinded_code for a in arms if a.blinded_code]
        _no_duplicates(blinded, "blinded arm code")
        return arms

    @field_validator("phases")
    @classmethod
    def _phases_in_order(cls, phases: list[PhaseConfig]) -> list[PhaseConfig]:
        names = [p.name for p in phases]
        _no_duplicates(names, "phase")
        if names != sorted(names, key=PHASE_ORDER.index):
            raise ValueError(f"phases must be listed in the order {', '.join(PHASE_ORDER)}")
        for before, after in zip(phases, phases[1:]):
            if after.start <= before.end:
                raise ValueError(
                    f"phases {before.name} ({before.start}–{before.end}) and {after.name} "
                    f"({after.start}–{after.end}) overlap"
                )
        return phases

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, RoleConfig]) -> dict[str, RoleConfig]:
        unknown = sorted(set(roles) - set(ROLE_CODES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; known roles: {', '.join(ROLE_CODES)}")
        if Role.PARTICIPANT not in roles:
            raise ValueError("the role 'participant' must be declared")
        return roles

    @field_validator("timepoints")
    @classmethod
    def _unique_timepoints(cls, tps: list[TimepointConfig]) -> list[TimepointConfig]:
        _no_duplicates([t.code for t in tps], "timepoint code")
        return tps

    # Cross-references are checked on the referring field (so the error names its key); the
    # fields they refer to are declared earlier and are already validated in ``info.data``.
    @field_validator("control_arm")
    @classmethod
    def _control_arm_exists(cls, value: str, info: ValidationInfo) -> str:
        arms = [a.code for a in info.data.get("arms", [])]
        if arms and value not in arms:
            raise ValueError(f"{value!r} is not an arm; arms: {', '.join(arms)}")
        return value

    @field_validator("factor_levels")
    @classmethod
    def _levels_of_declared_factors(
        cls, value: dict[str, list[FactorLevel]], info: ValidationInfo
    ) -> dict[str, list[FactorLevel]]:
        unknown = sorted(set(value) - set(info.data.get("stratification", [])))
        if unknown:
            raise ValueError(
                f"levels given for {', '.join(unknown)}, which are not declared under stratification"
            )
        for factor, levels in value.items():
            if not levels:
                raise ValueError(f"factor {factor!r} needs at least one level")
            _no_duplicates([lv.code for lv in levels], f"level of {factor}")
            owner: dict[str, str] = {}
            for level in levels:
                for spelling in set(level.spellings()):
                    if owner.setdefault(spelling, level.code) != level.code:
                        raise ValueError(
                            f"{factor}: {spelling!r} names both {owner[spelling]!r} and {level.code!r}"
                        )
        return value

    @field_validator("randomisation")
    @classmethod
    def _factors_declared(cls, value: RandomisationConfig, info: ValidationInfo) -> RandomisationConfig:
        unknown = sorted(set(value.factors) - set(info.data.get("stratification", [])))
        if unknown:
            raise ValueError(f"factors {', '.join(unknown)} are not declared under stratification")
        unknown_weights = sorted(set(value.factor_weights) - {"site", *value.factors})
        if unknown_weights:
            raise ValueError(f"factor_weights names {', '.join(unknown_weights)}, which are not factors")
        # Permuted blocks hold each arm in its ratio, so a block size must be a multiple of
        # the ratio sum (1:1 → 2, 4, 6; 2:1 → 3, 6, 9).
        arms = info.data.get("arms", [])
        ratio_sum = sum(a.ratio for a in arms)
        if ratio_sum:
            bad = [size for size in value.block_sizes if size % ratio_sum]
            if bad:
                raise ValueError(f"block sizes {bad} are not multiples of the arms' ratio sum {ratio_sum}")
        return value

    @field_validator("outcomes")
    @classmethod
    def _outcomes_of_used_instruments(
        cls, value: OutcomesConfig | None, info: ValidationInfo
    ) -> OutcomesConfig | None:
        used = info.data.get("instruments", [])
        if value is None or not used:
            return value
        unknown = [name for name in value.names if name.split(".", 1)[0] not in used]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not an instrument the study uses (instruments: {', '.join(used)})"
            )
        return value

    # --- look-ups used everywhere -------------------------------------------------------
    def site(self, code: str) -> SiteConfig:
        """The site with this code; ``KeyError`` naming the known codes otherwise."""
        for s in self.sites:
            if s.code == code:
                return s
        raise KeyError(f"unknown site {code!r}; known sites: {', '.join(self.site_codes)}")

    @property
    def site_codes(self) -> list[str]:
        return [s.code for s in self.sites]

    @property
    def arm_codes(self) -> list[str]:
        return [a.code for a in self.arms]

    @property
    def arm_ratios(self) -> dict[str, int]:
        """Arm code → allocation ratio share, in the configured order."""
        return {a.code: a.ratio for a in self.arms}

    def blinded_codes(self) -> dict[str, str]:
        """Arm code → its declared blinded code (``A``, ``B``, … unless configured).

        Only the *set* of these codes is used: which arm is shown under which code is drawn
        per study from the randomisation secret (:func:`study.blinding.code_mapping`).
        """
        return {a.code: a.blinded_code or chr(ord("A") + i) for i, a in enumerate(self.arms)}

    def phase(self, name: str) -> PhaseConfig | None:
        """Planned dates of a phase, or ``None`` when the study does not plan that phase."""
        return next((p for p in self.phases if p.name == name), None)


def _no_duplicates(values: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}")
        seen.add(v)

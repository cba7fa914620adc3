"""The course manual as data: sessions, their components, and the observers' competence items.

A manual is a YAML file (format in ``docs/fidelity.md``) validated on load: a misspelt key, a
duplicate component id, a week out of order or a weight ≤ 0 fails with the file and the key
(``sessions[2].components[0].weight``) instead of silently scoring against a wrong manual.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
from pydantic import Field, field_validator, model_validator

from study.config.base import ConfigModel
from study.config.loader import ConfigError, parse_yaml_model

__all__ = [
    "COMPONENT_SCORES",
    "CompetenceItem",
    "CompetenceScale",
    "Component",
    "Manual",
    "ManualError",
    "ManualSession",
    "load_manual",
    "parse_manual",
    "shipped_manual",
    "shipped_manual_path",
]

#: What an observer may give a component: delivered fully (2), partially (1), not (0).
#: "Not applicable" is stored as an empty score and leaves the component out of the maximum.
COMPONENT_SCORES: tuple[int, ...] = (0, 1, 2)
_ID = r"^[a-z][a-z0-9_]{0,63}$"


class ManualError(ConfigError):
    """A manual file is invalid; the message names the file and the key."""


class Component(ConfigModel):
    """One thing the leaders are meant to do in a session.

    ``weight`` multiplies the component's points (0–2) in the adherence score, so essential
    components can count more than optional ones.
    """

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=1)
    essential: bool = True
    weight: float = Field(default=1.0, gt=0, le=10)


class ManualSession(ConfigModel):
    """One weekly session of the course."""

    week: int = Field(ge=1, le=52)
    theme: str = Field(min_length=1)
    planned_minutes: int = Field(ge=1, le=600)
    components: list[Component] = Field(min_length=1)


class CompetenceScale(ConfigModel):
    """The rating scale of the competence items (inclusive bounds)."""

    min: int = Field(default=1, ge=1, le=9)
    max: int = Field(default=5, ge=2, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> CompetenceScale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be above min ({self.min})")
        return self


class CompetenceItem(ConfigModel):
    """A quality of the leading the observer rates on the competence scale."""

    id: str = Field(pattern=_ID)
    description: str = Field(min_length=1)


class CompetenceSection(ConfigModel):
    scale: CompetenceScale = Field(default_factory=CompetenceScale)
    items: list[CompetenceItem] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique(cls, items: list[CompetenceItem]) -> list[CompetenceItem]:
        _no_duplicates([i.id for i in items], "competence item id")
        return items


class Manual(ConfigModel):
    """A versioned course manual (see the module docstring)."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
    description: str | None = None
    sessions: list[ManualSession] = Field(min_length=1)
    competence: CompetenceSection

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        # YAML reads `version: 1.0` as a float; accept it as the text the user wrote.
        return str(value) if isinstance(value, (int, float)) else value

    @field_validator("sessions")
    @classmethod
    def _weeks_and_ids(cls, sessions: list[ManualSession]) -> list[ManualSession]:
        weeks = [s.week for s in sessions]
        if weeks != list(range(1, len(sessions) + 1)):
            raise ValueError(f"weeks must run 1, 2, … {len(sessions)} in order; got {weeks}")
        # Component ids are unique across the manual so that an id alone says which week it
        # belongs to (an observation of week 3 naming a week-4 component is an error).
        _no_duplicates([c.id for s in sessions for c in s.components], "component id")
        return sessions

    # --- look-ups ----------------------------------------------------------------------
    @property
    def weeks(self) -> int:
        """Number of weekly sessions."""
        return len(self.sessions)

    def session(self, week: int) -> ManualSession:
        """The session of ``week`` (1-based); ``KeyError`` outside the course."""
        if not 1 <= week <= self.weeks:
            raise KeyError(f"week {week} is outside the course (weeks 1–{self.weeks})")
        return self.sessions[week - 1]

    @property
    def competence_ids(self) -> list[str]:
        return [i.id for i in self.competence.items]

    def components_frame(self) -> pd.DataFrame:
        """Every component as a row: ``week, theme, component, description, essential, weight``."""
        return pd.DataFrame(
            [
                (s.week, s.theme, c.id, c.description, c.essential, c.weight)
                for s in self.sessions
                for c in s.components
            ],
            columns=["week", "theme", "component", "description", "essential", "weight"],
        )


def shipped_manual_path(manual_id: str) -> Path:
    """Path of a manual shipped with peerstudy (``study/fidelity/manuals/<id>.yaml``)."""
    path = Path(str(resources.files("study.fidelity.manuals").joinpath(f"{manual_id}.yaml")))
    if not path.is_file():
        raise ManualError(f"{manual_id}.yaml", [("(file)", f"no manual {manual_id!r} is shipped")])
    return path


def shipped_manual(manual_id: str = "hope_course") -> Manual:
    """The validated manual shipped under ``manual_id``."""
    return load_manual(shipped_manual_path(manual_id))


def load_manual(path: str | Path) -> Manual:
    """Read and validate a manual file; ``ManualError`` names the file, key and problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManualError(str(path), [("(file)", exc.strerror or str(exc))]) from exc
    return parse_manual(text, source=str(path))


def parse_manual(text: str, source: str = "manual.yaml") -> Manual:
    """Validate manual YAML held in a string (as stored in the database)."""
    return parse_yaml_model(text, Manual, source, ManualError, "a mapping with id, name, version, …")


def _no_duplicates(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}")
        seen.add(v)

"""Settings of volunteers and 1:1 companionship (peer buddies) in ``study.yaml``.

Every default mirrors the reference study: a match is planned for 6 months and may be extended
to 9 months in total; people waiting for a match are called every 3 weeks; a group leader needs
the education weekend and a peer buddy the companionship workshop before they start.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from study.codes import ROLE_CODES
from study.config.base import ConfigModel

__all__ = ["AVAILABILITY_DAYS", "AVAILABILITY_PARTS", "CompanionshipConfig", "MatchingWeights"]

#: Availability is declared as slots ``<day>_<part>`` (e.g. ``tue_pm``), a week grid of 21.
AVAILABILITY_DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Parts of a day: morning (``am``), afternoon (``pm``), evening (``eve``).
AVAILABILITY_PARTS: tuple[str, ...] = ("am", "pm", "eve")


class MatchingWeights(ConfigModel):
    """Weights (points out of their sum, scaled to 0–100) of the parts of a match score.

    Each part is a fraction in [0, 1]: shared wishes (of the recipient's wishes, the share the
    buddy offers), availability (of the recipient's slots, the share the buddy shares), area
    (1 same area, 0.5 same municipality, 0 otherwise) and preferences (of the age and gender
    preferences either side stated, the share met).
    """

    wishes: float = Field(default=40, ge=0)
    availability: float = Field(default=25, ge=0)
    area: float = Field(default=20, ge=0)
    preferences: float = Field(default=15, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> MatchingWeights:
        if self.wishes + self.availability + self.area + self.preferences <= 0:
            raise ValueError("at least one matching weight must be above 0")
        return self


class CompanionshipConfig(ConfigModel):
    """Volunteers, matching, waitlists and the length of 1:1 relationships."""

    planned_months: int = Field(default=6, ge=1, le=36, description="planned length of a match")
    max_months: int = Field(default=9, ge=1, le=48, description="longest a match may run, extended")
    follow_up_call_weeks: int = Field(
        default=3, ge=1, le=26, description="weeks between follow-up calls to people waiting"
    )
    max_matches_per_buddy: int = Field(
        default=1, ge=1, le=10, description="active matches a buddy may have at once"
    )
    max_interviews: int = Field(
        default=2, ge=1, le=5, description="interviews of a volunteer before acceptance"
    )
    interview_required: bool = Field(
        default=True, description="a volunteer needs an accepted interview before matching"
    )
    max_courses_per_half_year: int = Field(
        default=2, ge=1, le=10, description="courses a group leader commits to within 6 months"
    )
    training_kinds: list[str] = Field(
        default_factory=lambda: ["education_weekend", "supervision", "companionship_workshop"],
        min_length=1,
    )
    required_training: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "group_leader": ["education_weekend"],
            "peer_buddy": ["companionship_workshop"],
        },
        description="training kinds a volunteer of a role must have before starting",
    )
    wishes: list[str] = Field(
        default_factory=lambda: [
            "appointments",
            "walks",
            "talks",
            "networks",
            "boundaries",
            "tapering_medication",
            "everyday_tasks",
            "social_activities",
        ],
        min_length=1,
        description="what recipients may wish for and buddies may offer",
    )
    contact_activities: list[str] = Field(
        default_factory=lambda: [
            "appointment",
            "walk",
            "talk",
            "phone",
            "social_activity",
            "everyday_task",
            "other",
        ],
        min_length=1,
    )
    call_outcomes: list[str] = Field(
        default_factory=lambda: ["reached", "no_answer", "message_left", "declined"],
        min_length=1,
    )
    leaving_call_outcomes: list[str] = Field(
        default_factory=lambda: ["declined"],
        description="call outcomes that take the person off the waitlist",
    )
    end_reasons: list[str] = Field(
        default_factory=lambda: [
            "completed",
            "chemistry",
            "life_circumstances",
            "moved",
            "health",
            "other",
        ],
        min_length=1,
        description="neutral reasons a match ends (never blaming either person)",
    )
    rematch_reasons: list[str] = Field(
        default_factory=lambda: ["chemistry"],
        description="end reasons that return the recipient to the top of the waitlist",
    )
    weights: MatchingWeights = Field(default_factory=MatchingWeights)

    @model_validator(mode="after")
    def _consistent(self) -> CompanionshipConfig:
        if self.max_months < self.planned_months:
            raise ValueError(
                f"max_months ({self.max_months}) is below planned_months ({self.planned_months})"
            )
        if "completed" not in self.end_reasons:
            raise ValueError("end_reasons must include 'completed'")
        for key, values, known in (
            ("rematch_reasons", self.rematch_reasons, self.end_reasons),
            ("leaving_call_outcomes", self.leaving_call_outcomes, self.call_outcomes),
        ):
            unknown = sorted(set(values) - set(known))
            if unknown:
                raise ValueError(f"{key}: {', '.join(unknown)} not in the listed values")
        for role, kinds in self.required_training.items():
            if role not in ROLE_CODES:
                raise ValueError(f"required_training: unknown role {role!r}")
            unknown = sorted(set(kinds) - set(self.training_kinds))
            if unknown:
                raise ValueError(f"required_training.{role}: {', '.join(unknown)} not in training_kinds")
        for key in ("training_kinds", "wishes", "contact_activities", "call_outcomes", "end_reasons"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ValueError(f"{key} lists a value twice")
        return self

    def required_for(self, role: str) -> list[str]:
        """Training kinds a volunteer of ``role`` needs before starting (may be empty)."""
        return list(self.required_training.get(role, []))

"""State shared by the demo steps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Engine

__all__ = ["DemoContext"]


@dataclass
class DemoContext:
    """What one demo step hands to the next: the engine, the random generator, the study code
    and the pseudonyms it created, by role and phase."""

    engine: Engine
    participants: int
    rng: np.random.Generator
    seed: int
    actor: str
    study_code: str = "HOPE"
    #: pseudonyms of RCT participants who are eligible and consented (to randomise)
    rct_ready: list[str] = field(default_factory=list)
    #: RCT group codes per site, in start order
    rct_groups: dict[str, list[str]] = field(default_factory=dict)
    #: leader pseudonyms per site
    leaders: dict[str, list[str]] = field(default_factory=dict)
    #: peer buddy pseudonyms per site
    buddies: dict[str, list[str]] = field(default_factory=dict)
    #: attendance propensity of RCT group members (``pseudonym, propensity, stops_after``),
    #: drawn by the questionnaire step (the effect depends on it) and used by the attendance
    #: step
    attendance: pd.DataFrame | None = None

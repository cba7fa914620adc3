"""The fixed codes of peerstudy: roles of people and phases of a study.

They are a contract (imports, scripts and the database use the strings), so they are
``StrEnum``s: each member *is* its string (``Role.PARTICIPANT == "participant"``), stored and
compared as such, while code that names one gets a typo caught by the type checker.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["PHASE_ORDER", "ROLE_CODES", "Phase", "Role"]


class Role(StrEnum):
    """What a person is in a study (``person.role``)."""

    PARTICIPANT = "participant"
    GROUP_LEADER = "group_leader"
    PEER_BUDDY = "peer_buddy"
    COMMUNICATION_VOLUNTEER = "communication_volunteer"
    COORDINATOR = "coordinator"


class Phase(StrEnum):
    """The phases of a study, declared in the only order they may be entered."""

    PILOT = "pilot"
    RCT = "rct"
    ANALYSIS = "analysis"


#: Role codes known to peerstudy (a contract: imports and scripts use them).
ROLE_CODES: tuple[str, ...] = tuple(Role)
#: The phases of a study, in the only order they may be entered.
PHASE_ORDER: tuple[str, ...] = tuple(Phase)

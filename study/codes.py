"""The fixed codes of peerstudy: roles of people, phases of a study, and statuses.

They are a contract (imports, scripts and the database use the strings), so they are
``StrEnum``s: each member *is* its string (``Role.PARTICIPANT == "participant"``), stored and
compared as such, while code that names one gets a typo caught by the type checker.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ATTENDANCE_STATUSES",
    "PHASE_ORDER",
    "QUESTIONNAIRE_STATUSES",
    "ROLE_CODES",
    "AttendanceStatus",
    "Phase",
    "QuestionnaireStatus",
    "Role",
]


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


class AttendanceStatus(StrEnum):
    """A person's attendance at one session of a course group (``attendance.status``)."""

    PRESENT = "present"
    ABSENT = "absent"


class QuestionnaireStatus(StrEnum):
    """Where one instrument of one timepoint stands for a participant (the schedule's ``status``)."""

    COMPLETE = "complete"
    OVERDUE = "overdue"
    DUE = "due"
    NOT_YET_DUE = "not_yet_due"
    WITHDRAWN = "withdrawn"
    NOT_SCHEDULED = "not_scheduled"


#: Role codes known to peerstudy (a contract: imports and scripts use them).
ROLE_CODES: tuple[str, ...] = tuple(Role)
#: The phases of a study, in the only order they may be entered.
PHASE_ORDER: tuple[str, ...] = tuple(Phase)
#: Attendance statuses a session's register records.
ATTENDANCE_STATUSES: tuple[str, ...] = tuple(AttendanceStatus)
#: Statuses of the questionnaire schedule, from done to not asked.
QUESTIONNAIRE_STATUSES: tuple[str, ...] = tuple(QuestionnaireStatus)

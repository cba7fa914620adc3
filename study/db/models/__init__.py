"""Every table of peerstudy. Importing this package registers them all on ``Base.metadata``.

The model modules do not use ``from __future__ import annotations``: their ``Mapped[...]``
annotations are then objects SQLAlchemy reads as they are, instead of ~650 strings it would
evaluate one by one at every start-up (a few per cent of `peerstudy randomise`; issue 16).
A class used before its definition is written as a string, e.g. ``Mapped["Enrolment | None"]``.
"""

from study.db.models.allocation import Allocation
from study.db.models.audit import AuditEvent
from study.db.models.companionship import (
    CompanionProfile,
    FollowUpCall,
    Match,
    MatchContact,
    TrainingRecord,
    VolunteerCommitment,
    VolunteerInterview,
    WaitlistEntry,
)
from study.db.models.feedback import ManualFeedback
from study.db.models.fidelity import (
    CompetenceRating,
    ComponentRating,
    FidelityObservation,
    ManualVersion,
)
from study.db.models.groups import (
    Attendance,
    CourseGroup,
    GroupLeader,
    GroupMember,
    GroupSession,
)
from study.db.models.people import (
    Enrolment,
    Person,
    PersonAttribute,
    PersonIdentity,
)
from study.db.models.protocol import ProtocolDeviation, SapVersion
from study.db.models.quality import QualityRun
from study.db.models.questionnaires import InstrumentVersion, QuestionnaireResponse
from study.db.models.randomisation import (
    AllocationCounter,
    AllocationDisclosure,
    AllocationTableSlot,
    RandomisationSecret,
)
from study.db.models.study import (
    Site,
    Study,
    StudyPhase,
)
from study.db.models.survey import SurveyLink
from study.db.models.survey_drafts import SurveyDraft
from study.db.models.users import LoginThrottle, User

__all__ = [
    "ProtocolDeviation",
    "SapVersion",
    "Allocation",
    "AllocationCounter",
    "AllocationDisclosure",
    "AllocationTableSlot",
    "Attendance",
    "AuditEvent",
    "CompanionProfile",
    "CompetenceRating",
    "ComponentRating",
    "CourseGroup",
    "Enrolment",
    "FidelityObservation",
    "FollowUpCall",
    "GroupLeader",
    "GroupMember",
    "GroupSession",
    "InstrumentVersion",
    "ManualFeedback",
    "ManualVersion",
    "Match",
    "MatchContact",
    "Person",
    "PersonAttribute",
    "PersonIdentity",
    "QualityRun",
    "QuestionnaireResponse",
    "RandomisationSecret",
    "Site",
    "Study",
    "StudyPhase",
    "SurveyDraft",
    "SurveyLink",
    "TrainingRecord",
    "LoginThrottle",
    "User",
    "VolunteerCommitment",
    "VolunteerInterview",
    "WaitlistEntry",
]

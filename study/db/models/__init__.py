"""Every table of peerstudy. Importing this package registers them all on ``Base.metadata``."""

from study.db.models.allocation import Allocation
from study.db.models.audit import AuditEvent
from study.db.models.feedback import ManualFeedback
from study.db.models.groups import Attendance, CourseGroup, GroupLeader, GroupMember, GroupSession
from study.db.models.people import Enrolment, Person, PersonAttribute, PersonIdentity
from study.db.models.study import Site, Study, StudyPhase
from study.db.models.survey import SurveyLink
from study.db.models.users import User

__all__ = [
    "Allocation",
    "Attendance",
    "AuditEvent",
    "CourseGroup",
    "Enrolment",
    "GroupLeader",
    "GroupMember",
    "GroupSession",
    "ManualFeedback",
    "Person",
    "PersonAttribute",
    "PersonIdentity",
    "Site",
    "Study",
    "StudyPhase",
    "SurveyLink",
    "User",
]

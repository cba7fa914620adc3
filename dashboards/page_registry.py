"""The dashboard's pages: file, title key, section and which roles get them (no Streamlit).

The router (``dashboards/app.py``) turns these into ``st.Page`` objects for the logged-in
role. Hiding a page is a convenience only: every query and write checks the viewer again
(:mod:`dashboards.access`). Pages of later issues are *slots*: their module exists and says
what goes there; ``slot`` names the issue that fills it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAGES", "PageSpec", "pages_for"]

ALL = ("coordinator", "researcher", "statistician", "admin")
ANALYSTS = ("researcher", "statistician")
#: The data monitoring committee: unblinded interim comparisons only (and the RCT overview).
DMC = ("dmc",)


@dataclass(frozen=True)
class PageSpec:
    """One page: ``path`` relative to ``dashboards/``, ``url`` its URL path, ``title`` and
    ``section`` message keys, the ``roles`` that see it, ``slot`` the issue that completes it."""

    path: str
    url: str
    title: str
    section: str
    icon: str
    roles: tuple[str, ...]
    slot: str | None = None


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/rct.py", "rct", "nav.rct", "nav.section.study", ":material/monitoring:", (*ALL, *DMC)),
    PageSpec("views/interim.py", "interim", "nav.interim", "nav.section.study", ":material/lock_open:", DMC),
    PageSpec("views/pilot.py", "pilot", "nav.pilot", "nav.section.study", ":material/science:", ALL),
    PageSpec("views/people.py", "people", "nav.people", "nav.section.study", ":material/group:", ALL),
    PageSpec(
        "views/analysis.py", "analysis", "nav.analysis", "nav.section.study", ":material/analytics:", ANALYSTS
    ),
    PageSpec(
        "views/enrol.py", "enrol", "nav.enrol", "nav.section.entry", ":material/person_add:", ("coordinator",)
    ),
    PageSpec(
        "views/attendance.py",
        "attendance",
        "nav.attendance",
        "nav.section.entry",
        ":material/event_available:",
        ("coordinator",),
    ),
    PageSpec(
        "views/randomise.py",
        "randomise",
        "nav.randomise",
        "nav.section.entry",
        ":material/shuffle:",
        ("coordinator",),
    ),
    PageSpec(
        "views/questionnaire_entry.py",
        "questionnaire",
        "nav.questionnaire",
        "nav.section.entry",
        ":material/assignment:",
        ("coordinator",),
    ),
    PageSpec(
        "views/fidelity_observation.py",
        "fidelity",
        "nav.fidelity",
        "nav.section.entry",
        ":material/fact_check:",
        ("coordinator",),
    ),
    PageSpec(
        "views/users.py", "users", "nav.users", "nav.section.admin", ":material/manage_accounts:", ("admin",)
    ),
    PageSpec(
        "views/study_admin.py",
        "study",
        "nav.study_admin",
        "nav.section.admin",
        ":material/settings:",
        ("admin",),
    ),
)

#: Opened by a participant's one-time link (``?survey=TOKEN``), without login.
SURVEY_PAGE = PageSpec(
    "views/survey.py", "survey", "nav.survey", "nav.section.study", ":material/edit_note:", ()
)
LOGIN_PAGE = PageSpec("views/login.py", "login", "nav.login", "nav.section.study", ":material/login:", ())


def pages_for(role: str) -> list[PageSpec]:
    """The pages a role gets, in menu order; ``ValueError`` for an unknown role."""
    if role not in (*ALL, *DMC):
        raise ValueError(f"unknown role {role!r}")
    return [p for p in PAGES if role in p.roles]

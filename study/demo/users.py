"""Demo step: dashboard logins with known demo passwords (documented in docs/dashboard.md).

Demo databases only: these passwords are public. A real study adds its users with
``peerstudy users add`` and a password of its own.
"""

from __future__ import annotations

from study.db import unit_of_work
from study.demo.context import DemoContext
from study.studies import get_study
from study.users import DEMO_PASSWORD, add_user

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "demo_users"]

#: (login, role, site) of the demo logins.
DEMO_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("cph.coordinator", "coordinator", "CPH"),
    ("hel.coordinator", "coordinator", "HEL"),
    ("fre.coordinator", "coordinator", "FRE"),
    ("researcher", "researcher", None),
    ("statistician", "statistician", None),
    ("admin", "admin", None),
)


def demo_users(ctx: DemoContext) -> list[str]:
    """Add the demo logins (coordinators per site, researcher, statistician, admin)."""
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: dashboard users") as session:
        study = get_study(session, ctx.study_code)
        for login, role, site in DEMO_USERS:
            add_user(session, login, role, DEMO_PASSWORD, study=study, site=site)
    logins = ", ".join(login for login, _, _ in DEMO_USERS)
    return [f"  dashboard logins (password {DEMO_PASSWORD!r}): {logins}"]

"""Admin writes about the logins of the study (as ``peerstudy users``)."""

from __future__ import annotations

from sqlalchemy import Engine, select

from dashboards.access import Viewer
from dashboards.actions.unit import study_write
from study.db.models import User
from study.errors import NotAllowed, NotFound
from study.users import add_user

__all__ = ["create_user", "set_user_active"]


def create_user(
    engine: Engine, viewer: Viewer, login: str, role: str, password: str, site_code: str | None
) -> str:
    """Add a dashboard user (admin only), exactly as ``peerstudy users add``."""
    viewer.require_role("admin", action="adding users")
    with study_write(engine, viewer, f"dashboard: users add {login}") as (session, study):
        user = add_user(session, login, role, password, study=study, site=site_code or None)
        return user.login


def set_user_active(engine: Engine, viewer: Viewer, login: str, active: bool) -> bool:
    """Deactivate (or reactivate) a login of the study (admin only; audited).

    A deactivated user cannot log in, and their open sessions end within a minute (see
    :func:`dashboards.access.still_valid`). Admins cannot deactivate themselves. Returns
    whether anything changed.
    """
    viewer.require_role("admin", action="deactivating users")
    if login == viewer.login and not active:
        raise NotAllowed("you cannot deactivate your own login")
    verb = "reactivate" if active else "deactivate"
    with study_write(engine, viewer, f"dashboard: {verb} user {login}") as (session, _study):
        user = session.scalar(
            select(User).where(
                User.login == login, (User.study_id == viewer.study_id) | User.study_id.is_(None)
            )
        )
        if user is None:
            raise NotFound(f"unknown login {login!r}")
        if user.active == active:
            return False
        user.active = active
        return True

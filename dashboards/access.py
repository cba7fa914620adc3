"""Who is looking: logins, roles, idle expiry and the rules every query and write obeys.

This module is the access layer of the dashboard and imports no Streamlit, so that the rules
are tested (and enforced) below the interface: a page cannot show what a query refuses to
return. Every query and write in :mod:`dashboards.queries` and :mod:`dashboards.actions` takes a
:class:`Viewer` and asks it.

Roles (``study.users.USER_ROLES``):

- ``coordinator``: sees and edits only their own site; sees identity fields of their own
  site's people; sees the arms of their own site's participants (they randomise and place
  them in groups, so they are not blinded).
- ``researcher``: all sites, pseudonymised (never identity fields), blinded arm codes until
  unblinding.
- ``statistician``: as a researcher.
- ``admin``: manages users; sees the study like a researcher (pseudonymised, blinded).
- ``dmc``: the data monitoring committee: all sites, pseudonymised, and the one role that may
  open the interim comparison by real arm before unblinding (each opening is audited as an
  allocation disclosure; :mod:`dashboards.queries.interim`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from study.db import read_session
from study.db.models import Site, Study, User
from study.db.types import utcnow
from study.errors import BadInput, NotAllowed, NotFound
from study.studies import get_study
from study.users import USER_ROLES, authenticate

__all__ = [
    "IDLE_TIMEOUT",
    "LoginFailed",
    "SessionExpired",
    "Viewer",
    "is_expired",
    "log_in",
    "still_valid",
    "study_row",
    "viewer_study",
]

#: The one answer to every failed login.
LOGIN_FAILED = "wrong login or password (after several failures, wait a moment before trying again)"
#: A session without any interaction for this long is over; the next action asks to log in.
IDLE_TIMEOUT = dt.timedelta(minutes=30)
#: Roles that see every site (pseudonymised).
ALL_SITE_ROLES = frozenset({"researcher", "statistician", "admin", "dmc"})


class LoginFailed(BadInput):
    """Unknown login, wrong password or too many recent failures (deliberately not saying
    which: the answer and its timing are the same)."""


class SessionExpired(NotAllowed):
    """The session was idle longer than :data:`IDLE_TIMEOUT`; nothing was written."""


@dataclass(frozen=True)
class Viewer:
    """A logged-in user as every query and write sees them.

    Parameters
    ----------
    login
        The login name; it is the actor of every audit event the user causes.
    role
        One of ``coordinator``, ``researcher``, ``statistician``, ``admin``.
    site_id
        The coordinator's site (``None`` for the other roles).
    study_id
        The study the user works in.
    site_code
        Code of ``site_id`` (for display only; access uses the id).
    """

    login: str
    role: str
    site_id: int | None
    study_id: int
    site_code: str | None = None

    def __post_init__(self) -> None:
        if self.role not in USER_ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "coordinator" and self.site_id is None:
            raise ValueError("a coordinator viewer needs a site")

    @property
    def cache_key(self) -> tuple:
        """What distinguishes one viewer's data from another's (role, site, study)."""
        return (self.role, self.site_id, self.study_id)

    @property
    def all_sites(self) -> bool:
        """Whether the viewer sees every site (researchers, statisticians, admins)."""
        return self.role in ALL_SITE_ROLES

    def may_see_site(self, site_id: int) -> bool:
        """Whether rows of ``site_id`` are visible to this viewer."""
        return self.all_sites or site_id == self.site_id

    def may_edit_site(self, site_id: int) -> bool:
        """Whether this viewer may enter data for ``site_id`` (only its own coordinator)."""
        return self.role == "coordinator" and site_id == self.site_id

    def may_edit_site_code(self, site_code: str) -> bool:
        """:meth:`may_edit_site` by site code (for pages that hold codes, not ids)."""
        return self.role == "coordinator" and site_code == self.site_code

    def may_see_identity(self, site_id: int) -> bool:
        """Identity fields: only the coordinator of the person's own site."""
        return self.may_edit_site(site_id)

    def sees_arm_labels(self, unblinded: bool) -> bool:
        """Coordinators see real arms of their site; everyone else only after unblinding."""
        return self.role == "coordinator" or unblinded

    def require_site(self, site_id: int, what: str) -> None:
        """Raise ``NotAllowed`` unless the viewer may see ``site_id``."""
        if not self.may_see_site(site_id):
            raise NotAllowed(f"{what} belongs to another site; you see only {self.site_code}")

    def require_edit(self, site_id: int, what: str) -> None:
        """Raise ``NotAllowed`` unless the viewer may enter data for ``site_id``."""
        if self.role != "coordinator":
            raise NotAllowed(f"only a site coordinator enters data ({what}); you are {self.role}")
        if site_id != self.site_id:
            raise NotAllowed(f"{what} belongs to another site; you enter data only for {self.site_code}")

    def require_role(self, *roles: str, action: str) -> None:
        """Raise ``NotAllowed`` unless the viewer has one of ``roles``."""
        if self.role not in roles:
            raise NotAllowed(f"{action} is for {' or '.join(roles)}; you are {self.role}")


def log_in(
    engine: Engine, login: str, password: str, study_code: str | None = None, client: str = "dashboard"
) -> Viewer:
    """Check a login and password (argon2) and return the :class:`Viewer`.

    ``client`` is the address the dashboard sees (``st.context.ip_address``). Failures slow
    down further attempts of the login and of the client (:func:`study.users.authenticate`);
    no login is ever locked.

    Raises
    ------
    LoginFailed
        Unknown login, inactive user, wrong password or an attempt too soon after repeated
        failures: one message for all of them.
    """
    login = (login or "").strip().lower()
    if not login or not password:
        raise LoginFailed("enter your login and password")
    user = authenticate(engine, login, password, client=client)
    if user is None:
        raise LoginFailed(LOGIN_FAILED)
    with read_session(engine) as session:
        study = _study_of(session, user, study_code)
        site_code = session.scalar(select(Site.code).where(Site.id == user.site_id)) if user.site_id else None
        return Viewer(user.login, user.role, user.site_id, study.id, site_code)


def _study_of(session, user: User, study_code: str | None) -> Study:
    if user.study_id is not None:
        return session.get(Study, user.study_id)
    return get_study(session, study_code)


def is_expired(
    last_seen: dt.datetime | None, now: dt.datetime | None = None, idle: dt.timedelta = IDLE_TIMEOUT
) -> bool:
    """Whether a session last active at ``last_seen`` (UTC) has been idle longer than ``idle``.

    A session that never recorded activity counts as expired.
    """
    if last_seen is None:
        return True
    return (now or utcnow()) - last_seen > idle


def still_valid(engine: Engine, viewer: Viewer) -> bool:
    """Whether the viewer's user still exists, is active and has the same role and site.

    The router checks it (at most once a minute per session), so that deactivating a user or
    changing their role or site ends their open sessions.
    """
    with read_session(engine) as session:
        row = session.execute(
            select(User.role, User.site_id, User.active).where(User.login == viewer.login)
        ).first()
    return row is not None and row.active and (row.role, row.site_id) == (viewer.role, viewer.site_id)


def viewer_study(session: Session, viewer: Viewer) -> Study:
    """The viewer's study in ``session``; ``NotFound`` if it is gone (a stale login)."""
    study = session.get(Study, viewer.study_id)
    if study is None:
        raise NotFound(f"the study of this login (id {viewer.study_id}) no longer exists; log in again")
    return study


def study_row(engine: Engine, viewer: Viewer) -> Study:
    """The viewer's study (detached; read its columns only)."""
    with read_session(engine) as session:
        return viewer_study(session, viewer)

"""Users and passwords (argon2id via argon2-cffi)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import Study, User
from study.db.types import utcnow
from study.errors import BadInput
from study.studies import site_by_code

__all__ = ["USER_ROLES", "add_user", "authenticate", "MAX_FAILED_LOGINS", "LOCKOUT"]

#: ``dmc``: a member of the data monitoring committee, the one unblinded role before the
#: analysis phase (interim comparisons by real arm, each opening audited).
USER_ROLES = ("coordinator", "researcher", "statistician", "admin", "dmc")
#: After this many wrong passwords in a row the login is locked for ``LOCKOUT``.
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def add_user(
    session: Session,
    login: str,
    role: str,
    password: str,
    study: Optional[Study] = None,
    site: Optional[str] = None,
) -> User:
    """Create a user. A coordinator must have a site (they see only their own site)."""
    if not _LOGIN.match(login):
        raise BadInput(
            f"login {login!r} must be 2-64 characters: lower-case letters, digits, . _ -"
        )
    if role not in USER_ROLES:
        raise BadInput(f"unknown user role {role!r}; roles: {', '.join(USER_ROLES)}")
    if role == "coordinator" and not site:
        raise BadInput("a coordinator needs --site (the site they coordinate)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise BadInput(f"login {login!r} already exists")
    site_id = None
    if site:
        if study is None:
            raise BadInput("--site needs a study")
        site_id = site_by_code(session, study, site).id
    user = User(
        login=login,
        role=role,
        study_id=study.id if study else None,
        site_id=site_id,
        password_hash=_hasher.hash(password),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, login: str, password: str) -> Optional[User]:
    """The user when login and password match and the login is not locked, else ``None``.

    Wrong passwords are counted; after ``MAX_FAILED_LOGINS`` in a row the login is locked for
    ``LOCKOUT`` (throttling guessing). Call inside a unit of work: the counters are written.
    """
    user = session.scalar(select(User).where(User.login == login, User.active.is_(True)))
    if user is None:
        _hasher.hash(password)  # same work as a real check, so timing does not reveal logins
        return None
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        return None
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user

"""Users and passwords (argon2id via argon2-cffi); logins throttled by growing delays."""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from study.db import read_session, unit_of_work
from study.db.models import Study, User
from study.db.types import utcnow
from study.errors import BadInput
from study.login_throttle import clear, record_failure, throttle_state
from study.studies import site_by_code

__all__ = ["DEMO_PASSWORD", "USER_ROLES", "add_user", "authenticate"]

#: ``dmc``: a member of the data monitoring committee, the one unblinded role before the
#: analysis phase (interim comparisons by real arm, each opening audited).
USER_ROLES = ("coordinator", "researcher", "statistician", "admin", "dmc")
MIN_PASSWORD_LENGTH = 8
#: Password of every demo login: public (README, docs/dashboard.md), so it is accepted only
#: for users of a demo study (``Study.is_demo``).
DEMO_PASSWORD = "peerstudy-demo"

_hasher = PasswordHasher()
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def add_user(
    session: Session,
    login: str,
    role: str,
    password: str,
    study: Study | None = None,
    site: str | None = None,
) -> User:
    """Create a user. A coordinator must have a site (they see only their own site)."""
    if not _LOGIN.match(login):
        raise BadInput(f"login {login!r} must be 2-64 characters: lower-case letters, digits, . _ -")
    if role not in USER_ROLES:
        raise BadInput(f"unknown user role {role!r}; roles: {', '.join(USER_ROLES)}")
    if role == "coordinator" and not site:
        raise BadInput("adding a coordinator needs a site (the site they coordinate)")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password == DEMO_PASSWORD and (study is None or not study.is_demo):
        raise BadInput("that is the public demo password; it is allowed only in a demo study")
    if session.scalar(select(User.id).where(User.login == login)) is not None:
        raise BadInput(f"login {login!r} already exists")
    site_id = None
    if site:
        if study is None:
            raise BadInput("a user with a site needs a study (sites belong to a study)")
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


def authenticate(
    engine: Engine,
    login: str,
    password: str,
    client: str = "cli",
    now: dt.datetime | None = None,
) -> User | None:
    """The user when login and password match, else ``None`` — the same answer, after the
    same work, for an unknown login, a wrong password and a throttled attempt.

    Parameters
    ----------
    engine
        The database; the check reads without the write lock, and the outcome (failure
        counters, a password rehash) is written afterwards in its own unit of work.
    login
        As typed (compared trimmed and lower-case).
    password
        As typed.
    client
        Who is trying: the address the dashboard sees, ``cli`` for the command line.
    now
        The current time (tests); default: now.

    Notes
    -----
    Every attempt runs exactly one argon2 verification: against the user's hash, or against a
    dummy hash for unknown and inactive logins and for throttled attempts, so that the time
    taken does not tell them apart. Failures slow down further attempts of the login name and
    of the client (:mod:`study.login_throttle`); nothing locks a login. The public demo
    password works only for users of a demo study.
    """
    login = (login or "").strip().lower()[:255]
    client = (client if isinstance(client, str) and client else "unknown")[:255]
    now = now or utcnow()
    with read_session(engine) as session:
        throttle = throttle_state(session, login, client, now)
        user = session.scalar(select(User).where(User.login == login, User.active.is_(True)))
        demo_study = (
            user is not None
            and user.study_id is not None
            and bool(session.scalar(select(Study.is_demo).where(Study.id == user.study_id)))
        )
    ok = _verify(user.password_hash if user is not None and not throttle.throttled else None, password)
    ok = ok and (password != DEMO_PASSWORD or demo_study)
    if throttle.throttled:
        return None  # refused before the check: not counted, nothing written
    rehash = ok and user is not None and _hasher.check_needs_rehash(user.password_hash)
    if ok and not throttle.counted and not rehash:
        return user  # nothing to record: a login never waits behind an import
    with unit_of_work(engine, actor=f"login:{login}", reason="login") as session:
        if not ok:
            record_failure(session, login, client, now)
            return None
        clear(session, login, client)
        if rehash and user is not None:
            session.get_one(User, user.id).password_hash = _hasher.hash(password)
    return user


@functools.cache
def _dummy_hash() -> str:
    """An argon2 hash with the current parameters of a password nobody has."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str | None, password: str) -> bool:
    """One argon2 verification: against ``password_hash``, or a dummy hash when ``None``."""
    try:
        _hasher.verify(password_hash or _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None

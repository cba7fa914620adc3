"""Users of the platform (coordinators, researchers, statisticians, admins)."""

import datetime as dt
from typing import ClassVar

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from study.db.base import Base, Code, Created, IntPK, Name
from study.db.models.audited import Audited

__all__ = ["LoginThrottle", "User"]


class User(Audited, Base):
    """A login. ``site_id`` restricts a coordinator to one site; ``password_hash`` is argon2id."""

    __tablename__ = "app_user"
    __audit_redact__: ClassVar[frozenset[str]] = frozenset({"password_hash"})

    id: Mapped[IntPK]
    login: Mapped[Code] = mapped_column(unique=True)
    role: Mapped[Code]
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    password_hash: Mapped[Name]
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[Created]


class LoginThrottle(Base):
    """Recent failed logins of one login name or one client (growing delays, no lock).

    ``kind`` is ``login`` (the name typed, known or not) or ``client`` (the address the
    dashboard saw, or ``cli``). Not study data and not audited: it holds what strangers
    typed, which must not reach the audit trail; a successful login clears the login's row.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[Name]
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[dt.datetime]

"""Users for the admin page (never password hashes)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer
from study.db import read_session
from study.db.models import Site, User

__all__ = ["users_frame"]


def users_frame(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Users of the viewer's study (and users without a study); admin only.

    Returns
    -------
    DataFrame
        ``login, role, site, active, locked_until``.
    """
    viewer.require_role("admin", action="managing users")
    with read_session(engine) as session:
        rows = session.execute(
            select(User.login, User.role, Site.code, User.active, User.locked_until)
            .outerjoin(Site, Site.id == User.site_id)
            .where((User.study_id == viewer.study_id) | User.study_id.is_(None))
            .order_by(User.login)
        ).all()
    return pd.DataFrame(rows, columns=["login", "role", "site", "active", "locked_until"])

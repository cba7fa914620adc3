"""Recruitment and retention per site: screening rows from the database, then pandas.

The database functions return one row per screened participant (pseudonymised, filtered to the
viewer's sites); the pure functions below turn them into the RCT page's tables and chart data.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer
from dashboards.queries.scope import site_clause
from study.db import read_session
from study.db.frames import select_frame
from study.db.models import Allocation, Enrolment, Person, Site

__all__ = [
    "SCREENING_COLUMNS",
    "recruitment_over_time",
    "recruitment_summary",
    "retention_summary",
    "screening_frame",
    "site_targets",
]

SCREENING_COLUMNS = [
    "pseudonym",
    "site",
    "screened_on",
    "eligible",
    "consent_on",
    "withdrawn_on",
    "withdrawal_reason",
    "allocated_on",
]


def screening_frame(engine: Engine, viewer: Viewer, phase: str = "rct") -> pd.DataFrame:
    """Every participant screened in ``phase`` at the viewer's sites, one row each.

    Returns
    -------
    DataFrame
        - ``pseudonym``, ``site`` (code)
        - ``screened_on``, ``consent_on``, ``withdrawn_on``, ``allocated_on``: dates
          (``NaT`` when not (yet) happened)
        - ``eligible``: bool
        - ``withdrawal_reason``: text or missing
    """
    with read_session(engine) as session:
        df = select_frame(
            session,
            select(
                Person.pseudonym,
                Site.code,
                Enrolment.screened_on,
                Enrolment.eligible,
                Enrolment.consent_on,
                Enrolment.withdrawn_on,
                Enrolment.withdrawal_reason,
                Allocation.allocated_on,
            )
            .join(Enrolment, Enrolment.person_id == Person.id)
            .join(Site, Site.id == Person.site_id)
            .outerjoin(Allocation, Allocation.person_id == Person.id)
            .where(
                Person.study_id == viewer.study_id,
                Person.role == "participant",
                Enrolment.phase == phase,
                site_clause(viewer, Person.site_id),
            ),
            SCREENING_COLUMNS,
            dates=("screened_on", "consent_on", "withdrawn_on", "allocated_on"),
        )
    df["eligible"] = df["eligible"].astype(bool)
    return df


def site_targets(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """The viewer's sites: columns ``site, name, target`` (participants to randomise)."""
    with read_session(engine) as session:
        rows = session.execute(
            select(Site.code, Site.name, Site.recruitment_target)
            .where(Site.study_id == viewer.study_id, site_clause(viewer, Site.id))
            .order_by(Site.id)
        ).all()
    return pd.DataFrame(rows, columns=["site", "name", "target"])


def recruited(screening: pd.DataFrame) -> pd.Series:
    """Boolean mask: eligible and consented (ready to randomise, or randomised)."""
    return screening["eligible"] & screening["consent_on"].notna()


def recruitment_summary(screening: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Screening funnel per site against its target.

    Returns
    -------
    DataFrame
        One row per site of ``targets`` (in its order): ``site, target, screened, eligible,
        consented, randomised, withdrawn, percent_of_target`` where ``consented`` counts
        eligible consented participants and ``percent_of_target`` = 100 × consented / target
        (missing for a target of 0).
    """
    df = screening.assign(
        screened=1,
        eligible=screening["eligible"].astype(int),
        consented=recruited(screening).astype(int),
        randomised=screening["allocated_on"].notna().astype(int),
        withdrawn=screening["withdrawn_on"].notna().astype(int),
    )
    counts = df.groupby("site")[["screened", "eligible", "consented", "randomised", "withdrawn"]].sum()
    out = targets[["site", "target"]].merge(counts, left_on="site", right_index=True, how="left")
    count_cols = ["screened", "eligible", "consented", "randomised", "withdrawn"]
    out[count_cols] = out[count_cols].fillna(0).astype(int)
    target = out["target"].where(out["target"] > 0)
    out["percent_of_target"] = (100 * out["consented"] / target).round(1)
    return out.reset_index(drop=True)


def recruitment_over_time(
    screening: pd.DataFrame, targets: pd.DataFrame, freq: str = "W-SUN"
) -> pd.DataFrame:
    """Cumulative recruitment per site and period, for the chart with target lines.

    A participant counts as recruited at their consent date when eligible.

    Returns
    -------
    DataFrame
        ``site, date, recruited, target``: ``recruited`` is the cumulative number of eligible
        consented participants of the site up to and including the period ending at ``date``
        (periods of ``freq``: ISO weeks, Monday to Sunday, by default); ``target`` the site's recruitment target.
        Empty when nobody is recruited yet.
    """
    ok = screening[recruited(screening)]
    if ok.empty:
        return pd.DataFrame(columns=["site", "date", "recruited", "target"])
    periods = ok["consent_on"].dt.to_period(freq).dt.end_time.dt.normalize()
    per_period = ok.assign(date=periods).groupby(["site", "date"]).size().rename("new")
    # Every site gets every period, so lines continue flat through weeks without recruitment.
    full = pd.MultiIndex.from_product(
        [targets["site"], pd.date_range(periods.min(), periods.max(), freq="7D")],
        names=["site", "date"],
    )
    counts = per_period.reindex(full, fill_value=0).groupby(level="site").cumsum()
    out = counts.rename("recruited").reset_index()
    return out.merge(targets[["site", "target"]], on="site", how="left")


def retention_summary(screening: pd.DataFrame) -> pd.DataFrame:
    """Retention of recruited participants per site (withdrawals only, for now).

    Follow-up completion joins this table when questionnaires are stored (issue 4).

    Returns
    -------
    DataFrame
        ``site, recruited, withdrawn, retained, retention_percent`` with
        ``retention_percent`` = 100 × retained / recruited.
    """
    ok = screening[recruited(screening)]
    out = (
        ok.assign(withdrawn=ok["withdrawn_on"].notna().astype(int), recruited=1)
        .groupby("site")[["recruited", "withdrawn"]]
        .sum()
    )
    out["retained"] = out["recruited"] - out["withdrawn"]
    out["retention_percent"] = (100 * out["retained"] / out["recruited"]).round(1)
    return out.reset_index()

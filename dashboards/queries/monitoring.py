"""RCT monitoring beyond recruitment: questionnaire completion per timepoint (with the
coordinator's chase list) and fidelity per group and site against the configured thresholds."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer, viewer_study
from dashboards.queries.scope import site_clause
from questionnaires.schedule import study_open_instruments, study_schedule_counts
from study.db import read_session
from study.db.frames import select_frame
from study.db.models import Person, Site
from study.fidelity.report import group_fidelity, observation_scores
from study.studies import config_of

__all__ = [
    "CHASE_COLUMNS",
    "COMPLETION_COLUMNS",
    "FIDELITY_COLUMNS",
    "OBSERVATION_COLUMNS",
    "chase_list",
    "fidelity_by_group",
    "fidelity_by_site",
    "fidelity_observations",
    "fidelity_thresholds",
    "questionnaire_completion",
]

COMPLETION_COLUMNS = ["timepoint", "site", "complete", "due", "overdue", "not_yet_due", "completion_pct"]
CHASE_COLUMNS = ["pseudonym", "timepoint", "instrument", "due_on", "window_end", "status"]
FIDELITY_COLUMNS = [
    "group",
    "site",
    "phase",
    "n_observations",
    "mean_adherence_pct",
    "mean_competence",
    "classification",
    "below_threshold",
    "last_adherence_pct",
    "drift_pct_per_week",
    "never_observed",
]


def _with_sites(session, viewer: Viewer, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with a ``pseudonym`` column) joined to each participant's site code, kept to
    the viewer's sites."""
    sites = select_frame(
        session,
        select(Person.pseudonym, Site.code)
        .join(Site, Site.id == Person.site_id)
        .where(Person.study_id == viewer.study_id, site_clause(viewer, Person.site_id)),
        ["pseudonym", "site"],
    )
    return frame.merge(sites, on="pseudonym", how="inner")


def questionnaire_completion(engine: Engine, viewer: Viewer, today: dt.date | None = None) -> pd.DataFrame:
    """Instruments per timepoint and site by schedule status (counts of participant ×
    instrument), at the viewer's sites.

    Counted from one row per participant × timepoint
    (:func:`questionnaires.schedule.schedule_counts`), not from the full instrument grid, so
    the RCT page stays fast with 10,000 participants.

    Returns
    -------
    DataFrame
        ``timepoint, site, complete, due, overdue, not_yet_due, completion_pct`` where
        ``completion_pct`` = 100 × complete / (complete + due + overdue), i.e. of what has come
        due so far (NaN when nothing has); timepoints in the configured order.
    """
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        if viewer.all_sites:
            counts = _with_sites(
                session, viewer, study_schedule_counts(session, study, today or dt.date.today())
            )
        else:  # one site: read only its participants, no join needed
            counts = study_schedule_counts(session, study, today or dt.date.today(), viewer.site_id)
            counts["site"] = session.get_one(Site, viewer.site_id).code
        order = [t.code for t in config_of(study).timepoints]
    status_columns = ["complete", "due", "overdue", "not_yet_due"]
    out = counts.groupby(["timepoint", "site"], as_index=False)[status_columns].sum()
    came_due = out["complete"] + out["due"] + out["overdue"]
    out["completion_pct"] = (100 * out["complete"] / came_due.where(came_due > 0)).round(1)
    out["_order"] = out["timepoint"].map({tp: k for k, tp in enumerate(order)})
    out = out.sort_values(["_order", "site"])
    return out[COMPLETION_COLUMNS].reset_index(drop=True)


def chase_list(engine: Engine, viewer: Viewer, today: dt.date | None = None) -> pd.DataFrame:
    """The coordinator's list to chase: instruments of their own site's participants that are
    due or overdue, overdue first, then by due date (``NotAllowed`` for other roles).

    Returns ``pseudonym, timepoint, instrument, due_on, window_end, status``.
    """
    viewer.require_role("coordinator", action="the chase list")
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        open_ = study_open_instruments(session, study, today or dt.date.today(), viewer.site_id)
    open_ = open_.assign(rank=(open_["status"] != "overdue").astype(int))
    return open_.sort_values(["rank", "due_on", "pseudonym"])[CHASE_COLUMNS].reset_index(drop=True)


def fidelity_by_group(engine: Engine, viewer: Viewer, phase: str | None = None) -> pd.DataFrame:
    """Fidelity per group at the viewer's sites (:func:`study.fidelity.report.group_fidelity`),
    of the groups of ``phase`` (``pilot``/``rct``) if given:
    ``group, site, phase, n_observations, mean_adherence_pct, mean_competence, classification,
    below_threshold, last_adherence_pct, drift_pct_per_week, never_observed``."""
    with read_session(engine) as session:
        study = viewer_study(session, viewer)
        groups = group_fidelity(session, study)
    if not viewer.all_sites:
        groups = groups[groups["site"] == viewer.site_code]
    if phase is not None:
        groups = groups[groups["phase"] == phase]
    return groups[FIDELITY_COLUMNS].reset_index(drop=True)


#: Columns of :func:`fidelity_observations`.
OBSERVATION_COLUMNS = [
    "group",
    "site",
    "week",
    "observed_on",
    "observer",
    "manual_version",
    "minutes",
    "participants_present",
    "adherence_pct",
    "competence",
    "classification",
]


def fidelity_observations(engine: Engine, viewer: Viewer, phase: str | None = None) -> pd.DataFrame:
    """Every observed session at the viewer's sites (of groups of ``phase`` if given), with
    its scores (:func:`study.fidelity.report.observation_scores`): :data:`OBSERVATION_COLUMNS`,
    ``adherence_pct`` rounded to 1 decimal, ``competence`` to 2."""
    with read_session(engine) as session:
        scores = observation_scores(session, viewer_study(session, viewer))
    if not viewer.all_sites:
        scores = scores[scores["site"] == viewer.site_code]
    if phase is not None:
        scores = scores[scores["phase"] == phase]
    out = scores[OBSERVATION_COLUMNS].copy()
    out["adherence_pct"] = out["adherence_pct"].astype(float).round(1)
    out["competence"] = out["competence"].astype(float).round(2)
    return out.reset_index(drop=True)


def fidelity_thresholds(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """The configured adherence thresholds: ``level`` (high, moderate), ``percent``, and
    ``flag`` (True for the level below which a group is flagged)."""
    with read_session(engine) as session:
        fidelity = config_of(viewer_study(session, viewer)).fidelity
    levels = ["high", "moderate"]
    return pd.DataFrame(
        {
            "level": levels,
            "percent": [float(getattr(fidelity.thresholds, lv)) for lv in levels],
            "flag": [lv == fidelity.flag_below for lv in levels],
        }
    )


def fidelity_by_site(groups: pd.DataFrame) -> pd.DataFrame:
    """Observed groups of :func:`fidelity_by_group` summarised per site: ``site, groups,
    observations, mean_adherence_pct`` (mean of the group means, 1 decimal), ``flagged``
    (groups below the threshold)."""
    observed = groups[~groups["never_observed"].astype(bool)]
    out = observed.groupby("site", as_index=False).agg(
        groups=("group", "count"),
        observations=("n_observations", "sum"),
        mean_adherence_pct=("mean_adherence_pct", "mean"),
        flagged=("below_threshold", "sum"),
    )
    out["mean_adherence_pct"] = out["mean_adherence_pct"].round(1)
    out["flagged"] = out["flagged"].astype(int)
    return out

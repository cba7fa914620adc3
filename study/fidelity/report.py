"""Fidelity tables from the database: scored observations and their summaries.

Thin layer: read rows, hand them to the pure functions of :mod:`study.fidelity.scores` and
:mod:`study.fidelity.reliability`, return DataFrames (``peerstudy fidelity report``, the
pipelines and dashboards use them).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.db.models import (
    CompetenceRating,
    ComponentRating,
    CourseGroup,
    FidelityObservation,
    GroupLeader,
    GroupSession,
    ManualVersion,
    Person,
    Site,
    Study,
)
from study.fidelity.reliability import agreement, icc
from study.fidelity.scores import adherence, classify, competence, drift_slopes, summarise
from study.fidelity.versions import manual_of
from study.studies import config_of

__all__ = [
    "FidelityReport",
    "component_ratings",
    "fidelity_report",
    "group_fidelity",
    "groups_frame",
    "observation_scores",
    "reliability_tables",
    "unobserved_weeks",
]

GROUP_FIDELITY_COLUMNS = [
    "group",
    "site",
    "n_observations",
    "mean_adherence_pct",
    "mean_competence",
    "classification",
    "below_threshold",
]


def groups_frame(session: Session, study: Study) -> pd.DataFrame:
    """Every group: ``group, site, phase, start_date, manual_version, leader_pair``.

    ``leader_pair`` is the leaders' pseudonyms in position order joined by `` + ``.
    """
    groups = pd.DataFrame(
        session.execute(
            select(
                CourseGroup.id,
                CourseGroup.code,
                Site.code,
                CourseGroup.phase,
                CourseGroup.start_date,
                CourseGroup.manual_version,
            )
            .join(Site, Site.id == CourseGroup.site_id)
            .where(CourseGroup.study_id == study.id)
            .order_by(CourseGroup.code)
        ).all(),
        columns=["group_id", "group", "site", "phase", "start_date", "manual_version"],
    )
    leaders = pd.DataFrame(
        session.execute(
            select(GroupLeader.group_id, GroupLeader.position, Person.pseudonym)
            .join(Person, Person.id == GroupLeader.person_id)
            .where(GroupLeader.study_id == study.id)
        ).all(),
        columns=["group_id", "position", "pseudonym"],
    )
    pairs = (
        leaders.sort_values(["group_id", "position"]).groupby("group_id")["pseudonym"].agg(" + ".join)
        if not leaders.empty
        else pd.Series(dtype=object)
    )
    groups["leader_pair"] = groups["group_id"].map(pairs)
    return groups


def _observations(session: Session, study: Study) -> pd.DataFrame:
    return pd.DataFrame(
        session.execute(
            select(
                FidelityObservation.id,
                FidelityObservation.group_id,
                FidelityObservation.week,
                FidelityObservation.observer,
                FidelityObservation.observed_on,
                FidelityObservation.manual_version,
                FidelityObservation.minutes,
                FidelityObservation.participants_present,
            ).where(FidelityObservation.study_id == study.id)
        ).all(),
        columns=[
            "observation",
            "group_id",
            "week",
            "observer",
            "observed_on",
            "manual_version",
            "minutes",
            "participants_present",
        ],
    )


def _weights(session: Session, study: Study) -> pd.DataFrame:
    """``manual_version, component, weight, essential`` of every stored version."""
    frames = []
    for row in session.scalars(select(ManualVersion).where(ManualVersion.study_id == study.id)):
        frame = manual_of(row).components_frame()[["week", "component", "weight", "essential"]]
        frames.append(frame.assign(manual_version=row.version))
    if not frames:
        return pd.DataFrame(columns=["week", "component", "weight", "essential", "manual_version"])
    return pd.concat(frames, ignore_index=True)


def component_ratings(session: Session, study: Study) -> pd.DataFrame:
    """Every component rating: ``observation, group, site, week, observer, component, score,
    weight, essential`` (``score`` missing = not applicable)."""
    obs = _observations(session, study).merge(
        groups_frame(session, study).drop(columns="manual_version"), on="group_id"
    )
    ratings = pd.DataFrame(
        session.execute(
            select(ComponentRating.observation_id, ComponentRating.component, ComponentRating.score).where(
                ComponentRating.study_id == study.id
            )
        ).all(),
        columns=["observation", "component", "score"],
    )
    merged = ratings.merge(
        obs[["observation", "group", "site", "week", "observer", "manual_version"]], on="observation"
    )
    merged = merged.merge(
        _weights(session, study).drop(columns="week"), on=["manual_version", "component"], how="left"
    )
    merged["score"] = merged["score"].astype(float)
    return merged[
        ["observation", "group", "site", "week", "observer", "component", "score", "weight", "essential"]
    ]


def observation_scores(session: Session, study: Study) -> pd.DataFrame:
    """One row per observation with its scores.

    Columns ``observation, group, site, phase, leader_pair, week, observer, observed_on,
    manual_version, minutes, participants_present, adherence_pct, competence,
    classification``.
    """
    config = config_of(study)
    obs = _observations(session, study).merge(
        groups_frame(session, study).drop(columns="manual_version"), on="group_id"
    )
    ratings = component_ratings(session, study)
    comp = pd.DataFrame(
        session.execute(
            select(CompetenceRating.observation_id, CompetenceRating.score).where(
                CompetenceRating.study_id == study.id
            )
        ).all(),
        columns=["observation", "score"],
    )
    scored = obs.merge(adherence(ratings)[["observation", "adherence_pct"]], on="observation", how="left")
    scored = scored.merge(competence(comp)[["observation", "competence"]], on="observation", how="left")
    scored["classification"] = classify(scored["adherence_pct"], config.fidelity.thresholds)
    columns = [
        "observation",
        "group",
        "site",
        "phase",
        "leader_pair",
        "week",
        "observer",
        "observed_on",
        "manual_version",
        "minutes",
        "participants_present",
        "adherence_pct",
        "competence",
        "classification",
    ]
    return scored.sort_values(["group", "week", "observer"])[columns].reset_index(drop=True)


def group_fidelity(session: Session, study: Study, scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fidelity per group, every group of the study (observed or not).

    Returns
    -------
    pandas.DataFrame
        ``group, site, n_observations, mean_adherence_pct, mean_competence, classification,
        below_threshold`` then ``phase, leader_pair, n_sessions_observed,
        last_adherence_pct, drift_pct_per_week, never_observed``.

        ``mean_adherence_pct`` is the mean over observed sessions (double-coded sessions
        averaged first); ``below_threshold`` is true when it is under the threshold of
        ``fidelity.flag_below`` (default: high, 80 %); ``last_adherence_pct`` is the latest
        observed session's; ``drift_pct_per_week`` the least-squares slope over the weeks.
    """
    config = config_of(study)
    thresholds = config.fidelity.thresholds
    scores = observation_scores(session, study) if scores is None else scores
    groups = groups_frame(session, study)
    summary = summarise(scores, ["group"], thresholds)
    last = (
        scores.sort_values("week")
        .groupby(["group", "week"])["adherence_pct"]
        .mean()
        .groupby(level="group")
        .last()
        .rename("last_adherence_pct")
        .reset_index()
        if not scores.empty
        else pd.DataFrame(columns=["group", "last_adherence_pct"])
    )
    out = (
        groups[["group", "site", "phase", "leader_pair"]]
        .merge(summary, on="group", how="left")
        .merge(last, on="group", how="left")
        .merge(drift_slopes(scores), on="group", how="left")
    )
    out["n_observations"] = out["n_observations"].fillna(0).astype(int)
    out["n_sessions_observed"] = out["n_sessions"].fillna(0).astype(int)
    out["never_observed"] = out["n_observations"] == 0
    limit = getattr(thresholds, config.fidelity.flag_below)
    out["below_threshold"] = out["mean_adherence_pct"].lt(limit).fillna(False).astype(bool)
    for col in ("mean_adherence_pct", "mean_competence", "last_adherence_pct", "drift_pct_per_week"):
        out[col] = out[col].astype(float)
    return out[
        GROUP_FIDELITY_COLUMNS
        + [
            "phase",
            "leader_pair",
            "n_sessions_observed",
            "last_adherence_pct",
            "drift_pct_per_week",
            "never_observed",
        ]
    ]


def unobserved_weeks(
    session: Session, study: Study, scores: pd.DataFrame | None = None, as_of: dt.date | None = None
) -> pd.DataFrame:
    """Sessions of the manual (weeks) never observed at a site, among sessions already held.

    Returns ``site, week, sessions_held, observations`` for each site × week where at least
    one non-cancelled session was held on or before ``as_of`` (default today) and none was
    observed: manual content whose delivery nobody has checked.
    """
    as_of = as_of or dt.date.today()
    scores = observation_scores(session, study) if scores is None else scores
    held = pd.DataFrame(
        session.execute(
            select(Site.code, GroupSession.week)
            .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
            .join(Site, Site.id == CourseGroup.site_id)
            .where(
                GroupSession.study_id == study.id,
                GroupSession.cancelled.is_(False),
                GroupSession.held_on <= as_of,
            )
        ).all(),
        columns=["site", "week"],
    )
    held = held.value_counts().rename("sessions_held").reset_index()
    observed = scores.groupby(["site", "week"]).size().rename("observations").reset_index()
    out = held.merge(observed, on=["site", "week"], how="left")
    out["observations"] = out["observations"].fillna(0).astype(int)
    return out[out["observations"] == 0].sort_values(["site", "week"]).reset_index(drop=True)


def reliability_tables(
    session: Session, study: Study, scores: pd.DataFrame | None = None, ci: float = 0.95
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inter-rater reliability on double-coded sessions.

    Returns
    -------
    (icc_table, agreement_table)
        ``icc_table``: :func:`study.fidelity.reliability.icc` of session adherence % with the
        two observers of each double-coded session as raters 1 and 2 (empty when fewer than
        two sessions are double coded). Observers differ between sessions, so ICC1 is the
        form to read. ``agreement_table``: per component, percent agreement and quadratic
        weighted kappa of the two observers' 0/1/2 ratings, plus a pooled ``(all)`` row.
    """
    scores = observation_scores(session, study) if scores is None else scores
    double = scores[scores.groupby(["group", "week"])["observer"].transform("size") >= 2].copy()
    icc_table = pd.DataFrame(columns=["form", "icc", "ci_low", "ci_high", "f", "df1", "df2", "p"])
    if not double.empty:
        double = double.sort_values(["group", "week", "observer"])
        double["target"] = double["group"] + "/" + double["week"].astype(str)
        double["rater"] = double.groupby("target").cumcount() + 1
        double = double[double["rater"] <= 2]
        if double["target"].nunique() >= 2:
            icc_table = icc(
                double, target="target", rater="rater", score="adherence_pct", ci=ci, nan_policy="omit"
            )
    ratings = component_ratings(session, study)
    ratings["target"] = ratings["group"] + "/" + ratings["week"].astype(str)
    agree = agreement(
        ratings, item="component", target="target", rater="observer", score="score", categories=[0, 1, 2]
    )
    return icc_table, agree


class FidelityReport(dict):
    """The tables of ``peerstudy fidelity report`` by name (an ordered dict of DataFrames)."""


def fidelity_report(session: Session, study: Study, as_of: dt.date | None = None) -> FidelityReport:
    """Every fidelity table: ``observations, groups, leader_pairs, sites, weeks,
    unobserved_weeks, icc, agreement`` (DataFrames)."""
    config = config_of(study)
    thresholds = config.fidelity.thresholds
    scores = observation_scores(session, study)
    weeks = summarise(scores, ["week"], thresholds)
    icc_table, agree = reliability_tables(session, study, scores)
    return FidelityReport(
        observations=scores,
        groups=group_fidelity(session, study, scores),
        leader_pairs=summarise(scores, ["leader_pair"], thresholds),
        sites=summarise(scores, ["site"], thresholds),
        weeks=weeks,
        unobserved_weeks=unobserved_weeks(session, study, scores, as_of),
        icc=icc_table,
        agreement=agree,
    )

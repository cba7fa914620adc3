"""Demo step: the manual locked for the RCT, attendance of every RCT group member, and
observed sessions with realistic variation (some double coded, one group drifting), plus a
few observed pilot sessions against the pilot's draft manual.

Runs after the allocation step (which places INT participants into the RCT groups); with no
members yet it still locks the manual and records observations. Everything goes through the
same validated, audited functions as real data entry.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
from sqlalchemy import select

from study.db import read_session, unit_of_work
from study.db.models import CourseGroup, GroupMember, GroupSession, Person, Site
from study.demo.context import DemoContext
from study.demo.people import PILOT_MANUAL_VERSION
from study.demo.questionnaires import attendance_propensity
from study.fidelity.attendance_import import import_attendance
from study.fidelity.manual import shipped_manual_path
from study.fidelity.observations import ObservationInput, record_observation
from study.fidelity.report import group_fidelity
from study.fidelity.versions import lock_manual, manual_of, store_manual_version, stored_manual
from study.studies import config_of, get_study

__all__ = ["fidelity_and_attendance"]

#: Weeks of each pilot group the coordinator observed.
PILOT_OBSERVED_WEEKS = (2, 6)

#: Observers from the research unit who double-code some sessions with the coordinator.
EVALUATORS = ("E01", "E02")
DOUBLE_CODED_SHARE = 0.4
#: Logit of the chance that a component is delivered fully: groups vary around this.
BASE_QUALITY, GROUP_SD, SESSION_SD = 2.7, 0.4, 0.3
#: The drifting group loses this much (logit) per week,
#: from about 95 % adherence in week 2 to about 20 % in week 10.
DRIFT_PER_WEEK = -0.7
#: It starts a little above the others, so that the decline (not a bad first visit) is what
#: the coordinator's repeated observations show.
DRIFT_HEAD_START = 0.8


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def fidelity_and_attendance(ctx: DemoContext) -> list[str]:
    """Lock the manual, record attendance and observations of the RCT groups."""
    today = dt.date.today()
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: course manual locked for the RCT") as s:
        study = get_study(s, ctx.study_code)
        config = config_of(study)
        text = shipped_manual_path(config.fidelity.manual).read_text(encoding="utf-8")
        row, _ = store_manual_version(
            s, study, text, ctx.actor, note="manual revised after the pilot, for the RCT"
        )
        lock_manual(s, study, ctx.actor)
        manual = manual_of(row)

    with read_session(ctx.engine) as s:
        study = get_study(s, ctx.study_code)
        groups = pd.DataFrame(
            s.execute(
                select(CourseGroup.id, CourseGroup.code, Site.code)
                .join(Site, Site.id == CourseGroup.site_id)
                .where(CourseGroup.study_id == study.id, CourseGroup.phase == "rct")
                .order_by(CourseGroup.code)
            ).all(),
            columns=["group_id", "group", "site"],
        )
        sessions = pd.DataFrame(
            s.execute(
                select(GroupSession.group_id, GroupSession.week, GroupSession.held_on).where(
                    GroupSession.study_id == study.id, GroupSession.held_on <= today
                )
            ).all(),
            columns=["group_id", "week", "held_on"],
        ).merge(groups, on="group_id")
        members = pd.DataFrame(
            s.execute(
                select(GroupMember.group_id, Person.pseudonym)
                .join(Person, Person.id == GroupMember.person_id)
                .where(GroupMember.study_id == study.id)
            ).all(),
            columns=["group_id", "pseudonym"],
        ).merge(groups, on="group_id")
        coordinators = dict(
            s.execute(
                select(Site.code, Person.pseudonym)
                .join(Person, Person.site_id == Site.id)
                .where(Person.study_id == study.id, Person.role == "coordinator")
            ).all()
        )

    present, cancelled = _attendance(ctx, groups, sessions, members)
    if cancelled is not None:
        sessions = sessions[~((sessions["group"] == cancelled[0]) & (sessions["week"] == cancelled[1]))]
    n_obs, n_double, drifting = _observations(ctx, manual, groups, sessions, present, coordinators)
    n_pilot = _pilot_observations(ctx, coordinators, today)

    with read_session(ctx.engine) as s:
        study = get_study(s, ctx.study_code)
        fidelity = group_fidelity(s, study)
    flagged = fidelity.loc[fidelity["below_threshold"], "group"].tolist()
    return [
        f"  fidelity: manual {manual.id} {manual.version} locked for the RCT; {n_obs} observations "
        f"({n_double} sessions double coded); below threshold: {', '.join(flagged) or 'none'}"
        + (f" (drifting: {drifting})" if drifting else "")
        + f"; {n_pilot} observations of pilot sessions (manual {PILOT_MANUAL_VERSION})",
        f"  attendance: {int(present['present'].sum()) if not present.empty else 0} present of "
        f"{len(present)} records in {present['group'].nunique() if not present.empty else 0} RCT groups",
    ]


def _attendance(ctx, groups, sessions, members) -> tuple[pd.DataFrame, tuple[str, int] | None]:
    """Attendance of every member of every RCT group, imported as a CSV would be.

    Returns the attendance (``group, week, pseudonym, present``) and the one session that was
    cancelled (a leader fell ill), which has no attendance and cannot be observed.
    """
    rng = ctx.rng
    if sessions.empty:
        return pd.DataFrame(columns=["group", "week", "pseudonym", "present"]), None
    # Each person has their own propensity to come, drawn with the questionnaires (the effect
    # grows with it); about one in ten stops coming early.
    people = members[["group", "pseudonym"]].drop_duplicates().reset_index(drop=True)
    plan = ctx.attendance if ctx.attendance is not None else attendance_propensity(rng, [])
    people = people.merge(plan, on="pseudonym", how="left")
    unplanned = people["propensity"].isna()
    if unplanned.any():  # members the questionnaire step did not know (it did not run)
        extra = attendance_propensity(rng, people.loc[unplanned, "pseudonym"].tolist())
        people.loc[unplanned, ["propensity", "stops_after"]] = extra[["propensity", "stops_after"]].to_numpy()
    grid = people.merge(sessions[["group", "week"]], on="group")
    grid["present"] = (rng.random(len(grid)) < grid["propensity"]) & (grid["week"] <= grid["stops_after"])
    grid["status"] = np.where(grid["present"], "present", "absent")
    held = sessions[sessions["week"].between(3, 8)]
    cancelled = None
    if not held.empty:
        pick = held.iloc[int(rng.integers(len(held)))]
        cancelled = (str(pick["group"]), int(pick["week"]))
        grid = grid[~((grid["group"] == cancelled[0]) & (grid["week"] == cancelled[1]))]
    csv = grid[["group", "week", "pseudonym", "status"]]
    if cancelled is not None:
        mark = pd.DataFrame(
            [{"group": cancelled[0], "week": cancelled[1], "pseudonym": "", "status": "cancelled"}]
        )
        csv = pd.concat([csv, mark], ignore_index=True)
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: attendance of the RCT groups") as s:
        study = get_study(s, ctx.study_code)
        import_attendance(s, study, io.StringIO(csv.to_csv(index=False)))
    return grid[["group", "week", "pseudonym", "present"]], cancelled


def _observations(ctx, manual, groups, sessions, present, coordinators) -> tuple[int, int, str]:
    rng = ctx.rng
    if groups.empty:
        return 0, 0, ""
    held = sessions.set_index(["group", "week"])["held_on"]
    # The drifting group: the first RCT group of the second site that ran (nearly) all its
    # sessions, so the coordinator's repeated visits can show the drift.
    weeks_per_group = pd.Series([g for g, _ in held.index]).value_counts()
    ran = groups[groups["group"].map(weeks_per_group).fillna(0) >= 8]
    candidates = ran if not ran.empty else groups
    sites = list(dict.fromkeys(candidates["site"]))
    drifting = str(candidates.loc[candidates["site"] == sites[min(1, len(sites) - 1)], "group"].iloc[0])
    quality = dict(zip(groups["group"], rng.normal(BASE_QUALITY, GROUP_SD, len(groups))))
    quality[drifting] = BASE_QUALITY + DRIFT_HEAD_START
    leading = dict(zip(groups["group"], rng.normal(4.0, 0.4, len(groups))))
    counts = (
        present.groupby(["group", "week"])["present"].sum() if not present.empty else pd.Series(dtype=int)
    )
    n_obs = n_double = 0
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: fidelity observations") as s:
        study = get_study(s, ctx.study_code)
        for group, site in zip(groups["group"], groups["site"]):
            weeks_held = sorted(w for (g, w) in held.index if g == group)
            if group == drifting:
                # The coordinator noticed and came back more often.
                weeks = [w for w in (2, 4, 6, 8, 10) if w in weeks_held]
            else:
                # Two or three sessions, spread over the course (first course: at least two).
                bands = [(1, 4), (5, 7), (8, 10)][: int(rng.integers(2, 4))]
                weeks = [int(rng.integers(a, b + 1)) for a, b in bands]
                weeks = [w for w in weeks if w in weeks_held]
            for week in weeks:
                drift = DRIFT_PER_WEEK * (week - 1) if group == drifting else 0.0
                true_quality = quality[group] + drift + rng.normal(0, SESSION_SD)
                truth = _true_delivery(rng, manual.session(week).components, true_quality)
                observers = [coordinators.get(site, f"K-{site}")]
                if rng.random() < DOUBLE_CODED_SHARE:
                    observers.append(str(rng.choice(EVALUATORS)))
                    n_double += 1
                n_present = int(counts.get((group, week), rng.integers(5, 11)))
                minutes = int(np.clip(rng.normal(118, 8), 80, 150))
                for observer in observers:
                    obs = ObservationInput(
                        group=group,
                        week=week,
                        observer=observer,
                        observed_on=held[(group, week)],
                        components=_as_seen(rng, truth),
                        competence=_competence(rng, manual, leading[group] + drift / 3),
                        minutes=minutes,
                        participants_present=n_present,
                        notes="leaders gave more advice than the manual asks" if drift < -2 else None,
                    )
                    record_observation(s, study, obs, ctx.actor)
                    n_obs += 1
    return n_obs, n_double, drifting


def _pilot_observations(ctx, coordinators: dict[str, str], today: dt.date) -> int:
    """The coordinators observed weeks :data:`PILOT_OBSERVED_WEEKS` of each pilot group,
    against the draft manual the pilot ran (delivered a little less fully: the leaders were
    still learning it). Draws from a generator of its own, so the demo's other steps stay as
    they were for a seed."""
    rng = np.random.default_rng([ctx.seed, 5])
    n = 0
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: fidelity observations of the pilot") as s:
        study = get_study(s, ctx.study_code)
        manual = manual_of(stored_manual(s, study, PILOT_MANUAL_VERSION))
        held = s.execute(
            select(CourseGroup.code, Site.code, GroupSession.week, GroupSession.held_on)
            .join(Site, Site.id == CourseGroup.site_id)
            .join(GroupSession, GroupSession.group_id == CourseGroup.id)
            .where(
                CourseGroup.study_id == study.id,
                CourseGroup.phase == "pilot",
                GroupSession.cancelled.is_(False),
                GroupSession.held_on <= today,
                GroupSession.week.in_(PILOT_OBSERVED_WEEKS),
            )
            .order_by(CourseGroup.code, GroupSession.week)
        ).all()
        for group, site, week, held_on in held:
            truth = _true_delivery(
                rng, manual.session(week).components, BASE_QUALITY - 0.6 + rng.normal(0, SESSION_SD)
            )
            record_observation(
                s,
                study,
                ObservationInput(
                    group=group,
                    week=week,
                    observer=coordinators.get(site, f"K-{site}"),
                    observed_on=held_on,
                    components=_as_seen(rng, truth),
                    competence=_competence(rng, manual, 3.6),
                    minutes=int(np.clip(rng.normal(125, 10), 90, 150)),
                    participants_present=int(rng.integers(5, 9)),
                    notes="the check-in round ran long; the manual's timing for it is too tight"
                    if week == 2
                    else None,
                ),
                ctx.actor,
            )
            n += 1
    return n


def _true_delivery(rng, components, quality: float) -> dict:
    """What was actually delivered: 2 with chance sigmoid(quality), else 1 or 0; a few NA."""
    out = {}
    # Stratified uniforms (one per n-th of [0, 1), shuffled): the share of fully delivered
    # components follows the session's quality closely, as an observer's tally of a real
    # session would, instead of swinging with a handful of independent draws.
    n = len(components)
    draws = (rng.permutation(n) + rng.random(n)) / n
    for c, u in zip(components, draws):
        p_full = _sigmoid(quality + (0.3 if c.essential else -0.3))
        score = 2 if u < p_full else (1 if u < p_full + (1 - p_full) * 0.55 else 0)
        out[c.id] = None if rng.random() < 0.03 else score
    return out


def _as_seen(rng, truth: dict) -> dict:
    """An observer's ratings: the truth, with one step of disagreement now and then."""
    seen = {}
    for cid, score in truth.items():
        if score is not None and rng.random() < 0.12:
            score = int(np.clip(score + rng.choice([-1, 1]), 0, 2))
        seen[cid] = score
    return seen


def _competence(rng, manual, level: float) -> dict:
    scale = manual.competence.scale
    ratings = np.clip(np.rint(level + rng.normal(0, 0.6, len(manual.competence_ids))), scale.min, scale.max)
    return {item: int(r) for item, r in zip(manual.competence_ids, ratings)}

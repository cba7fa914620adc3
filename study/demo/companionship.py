"""Demo step: volunteers' interviews and training, 1:1 companionship and its waitlist.

Runs last. Peer buddies are interviewed, trained (one per site still lacks the workshop) and
given profiles; a share of the intervention participants (or, before randomisation, of the
ready RCT participants) ask for a buddy. Matches are made in date order from the top
suggestion, with contacts; the first match ends early on chemistry (its recipient goes back to
the top of the waitlist), one match is extended, those past their planned end complete, and
the people still waiting on :data:`DEMO_TODAY` have follow-up calls, some of them overdue.
"""

from __future__ import annotations

import datetime as dt
import heapq
from dataclasses import replace

import numpy as np
from sqlalchemy import func, select

from study.companionship.profiles import AVAILABILITY_SLOTS, ProfileInput, set_profile
from study.companionship.relationships import (
    active_matches_of,
    confirm_match,
    end_match,
    extend_match,
    log_contact,
)
from study.companionship.suggestions import suggest_buddies
from study.companionship.volunteers import record_interview, record_training, set_commitment
from study.companionship.waiting import log_call, open_entry, waitlist_table
from study.db import unit_of_work
from study.db.models import Allocation, CourseGroup, Enrolment, FollowUpCall, Match, Person
from study.demo.context import DemoContext
from study.people import person_by_pseudonym
from study.studies import config_of, get_study

__all__ = ["DEMO_TODAY", "companionship"]

#: The demo's "today" for companionship: mid-RCT. `peerstudy match waitlist --today 2026-04-15`
#: shows the waitlist as the demo left it.
DEMO_TODAY = dt.date(2026, 4, 15)
RECIPIENT_SHARE = 0.25
#: The coordinators moved their call lists from spreadsheets into peerstudy on this day: the
#: demo logs follow-up calls from then on.
CALL_LOG_FROM = dt.date(2026, 1, 5)
VOLUNTEER_START = dt.date(2025, 8, 1)
WORKSHOP = dt.date(2025, 8, 23)
AREAS = {
    "CPH": ["Nørrebro", "Vesterbro", "Amager", "Frederiksberg C", "Valby"],
    "HEL": ["Helsingør C", "Snekkersten", "Espergærde"],
    "FRE": ["Fredericia C", "Erritsø", "Taulov"],
}
ACTIVITIES = ["appointment", "walk", "talk", "phone", "social_activity", "everyday_task"]
ACTIVITY_P = [0.2, 0.3, 0.2, 0.15, 0.1, 0.05]
CALL_OUTCOMES = ["reached", "no_answer", "message_left"]
CALL_P = [0.7, 0.2, 0.1]


def _days(rng: np.random.Generator, low: int, high: int) -> dt.timedelta:
    return dt.timedelta(days=int(rng.integers(low, high + 1)))


def _profile(
    rng: np.random.Generator,
    wishes: list[str],
    site: str,
    n_wishes: tuple[int, int],
    n_slots: tuple[int, int],
    home_p: list[float],
) -> ProfileInput:
    return ProfileInput(
        area=str(rng.choice(AREAS.get(site, ["Centre"]))),
        wishes=list(rng.choice(wishes, int(rng.integers(*n_wishes)), replace=False)),
        availability=list(rng.choice(AVAILABILITY_SLOTS, int(rng.integers(*n_slots)), replace=False)),
        home_visits=str(rng.choice(["wanted", "ok", "no"], p=home_p)),
    )


def companionship(ctx: DemoContext) -> list[str]:
    """Volunteers' records, buddies, recipients, matches, contacts, waitlist and calls."""
    rng = ctx.rng
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: volunteers and companionship") as s:
        study = get_study(s, ctx.study_code)
        cfg = config_of(study).companionship
        _leader_records(ctx, s, study)
        trained = _buddies(ctx, s, study, cfg)
        recipients = _recipients(ctx, s, study, cfg)
        counts = _match_in_date_order(ctx, s, study, recipients)
        _contacts(rng, s, study)
        waiting, overdue = _calls_for_the_waiting(rng, s, study, cfg)
    n_buddies = sum(len(b) for b in ctx.buddies.values())
    return [
        f"  companionship: {n_buddies} peer buddies ({trained} trained), {len(recipients)} "
        f"recipients, {counts['matches']} matches ({counts['chemistry']} ended early on "
        f"chemistry, {counts['extended']} extended, {counts['completed']} completed)",
        f"  waitlist on {DEMO_TODAY}: {waiting} waiting, {overdue} with an overdue follow-up "
        f"call (peerstudy match waitlist --today {DEMO_TODAY})",
    ]


def _leader_records(ctx: DemoContext, s, study) -> None:
    """Interviews of every leader; supervision after the two observed pilot sessions."""
    for site, leaders in ctx.leaders.items():
        for k, pseudonym in enumerate(leaders):
            leader = person_by_pseudonym(s, study, pseudonym)
            day = dt.date(2025, 1, 8) + dt.timedelta(days=k)
            if k == len(leaders) - 1:  # the last leader of each site needed a second talk
                record_interview(s, study, leader, day, "second_interview", today=day)
                day += dt.timedelta(days=7)
            record_interview(s, study, leader, day, "accepted", today=day)
            # Leaders commit to (up to) two courses in the RCT's first half year.
            set_commitment(
                s, study, leader, VOLUNTEER_START, VOLUNTEER_START + dt.timedelta(days=182), courses=2
            )
        pilot = s.scalar(
            select(CourseGroup).where(CourseGroup.study_id == study.id, CourseGroup.code == f"{site}-P1")
        )
        if pilot is None:
            continue
        for week in (2, 6):  # a leader's first course: two observed sessions, then supervision
            day = pilot.start_date + dt.timedelta(weeks=week - 1, days=2)
            for pseudonym in leaders[:2]:
                record_training(
                    s,
                    study,
                    person_by_pseudonym(s, study, pseudonym),
                    "supervision",
                    day,
                    group_code=pilot.code,
                    note=f"after observed session week {week}",
                    today=day,
                )


def _buddies(ctx: DemoContext, s, study, cfg) -> int:
    rng = ctx.rng
    trained = 0
    for site, buddies in ctx.buddies.items():
        for k, pseudonym in enumerate(buddies):
            buddy = person_by_pseudonym(s, study, pseudonym)
            day = VOLUNTEER_START + dt.timedelta(days=k)
            if k % 3 == 2:
                record_interview(s, study, buddy, day, "second_interview", today=day)
                day += dt.timedelta(days=7)
            record_interview(s, study, buddy, day, "accepted", today=day)
            set_commitment(s, study, buddy, VOLUNTEER_START, companionship_months=cfg.planned_months)
            if k != len(buddies) - 1:  # the last buddy of each site has not had the workshop yet
                record_training(s, study, buddy, "companionship_workshop", WORKSHOP, today=WORKSHOP)
                trained += 1
            profile = _profile(rng, cfg.wishes, site, (3, 6), (4, 8), [0.05, 0.65, 0.30])
            if k == 0:  # one buddy per site agrees to be matched on their diagnosis
                profile = replace(profile, diagnosis="F33")
            set_profile(s, study, buddy, profile, waiting_since=WORKSHOP, today=WORKSHOP)
    return trained


def _recipients(ctx: DemoContext, s, study, cfg) -> list[tuple[dt.date, str]]:
    """Participants asking for a buddy: a share of the intervention arm when allocations
    exist, otherwise of the ready RCT participants; never someone who withdrew from the study.
    Returns (waiting since, pseudonym)."""
    rng = ctx.rng
    control = config_of(study).control_arm
    pool = list(
        s.scalars(
            select(Person.pseudonym)
            .join(Allocation, Allocation.person_id == Person.id)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Person.study_id == study.id,
                Allocation.arm != control,
                Enrolment.withdrawn_on.is_(None),
            )
            .order_by(Person.pseudonym)
        )
    ) or sorted(ctx.rct_ready)
    if not pool:
        return []
    n = min(len(pool), max(4, int(round(RECIPIENT_SHARE * len(pool)))))
    chosen = sorted(rng.choice(pool, n, replace=False).tolist())
    out = []
    for pseudonym in chosen:
        person = person_by_pseudonym(s, study, pseudonym)
        consent = s.scalar(select(Enrolment.consent_on).where(Enrolment.person_id == person.id))
        since = min((consent or VOLUNTEER_START) + _days(rng, 3, 20), DEMO_TODAY)
        profile = _profile(
            rng, cfg.wishes, _site_of(ctx, pseudonym, s, study), (1, 4), (3, 7), [0.15, 0.75, 0.10]
        )
        if rng.random() < 0.06:
            profile = replace(profile, same_diagnosis_required=True, diagnosis="F33")
        set_profile(s, study, person, profile, waiting_since=since, today=since)
        out.append((since, pseudonym))
    return out


def _site_of(ctx: DemoContext, pseudonym: str, s, study) -> str:
    person = person_by_pseudonym(s, study, pseudonym)
    return next(site.code for site in study.sites if site.id == person.site_id)


def _calls(rng, s, study, person, until: dt.date, skip_last: bool = False) -> int:
    """Follow-up calls about every 3 weeks of the current waiting period, up to ``until``."""
    entry = open_entry(s, person)
    if entry is None:
        return 0
    last = s.scalar(select(func.max(FollowUpCall.called_on)).where(FollowUpCall.entry_id == entry.id))
    days = []
    day = (last or entry.entered_on) + dt.timedelta(weeks=3) + _days(rng, -2, 3)
    while day <= until:
        days.append(day)
        day += dt.timedelta(weeks=3) + _days(rng, -2, 3)
    if skip_last and days:
        days = days[:-1]
    days = [d for d in days if d >= CALL_LOG_FROM]
    for day in days:
        outcome = str(rng.choice(CALL_OUTCOMES, p=CALL_P))
        log_call(s, study, person, day, outcome, None, "demo coordinator", today=day)
    return len(days)


def _match_in_date_order(ctx: DemoContext, s, study, recipients) -> dict[str, int]:
    """Attempt a match for each recipient 2–6 weeks after they joined, in date order; end
    matches as their time comes (one chemistry, one extension, the rest completed)."""
    rng = ctx.rng
    counts = {"matches": 0, "chemistry": 0, "extended": 0, "completed": 0}
    queue = [(since + _days(rng, 14, 42), pseudonym) for since, pseudonym in recipients]
    heapq.heapify(queue)
    chemistry_match = None
    extended = False

    def settle(day: dt.date, final: bool = False) -> None:
        """End or extend the matches whose moment has come before ``day``; at the end, extend
        the longest-running match if none was extended yet (a small demo has one too)."""
        nonlocal extended
        for match in s.scalars(
            select(Match)
            .where(Match.study_id == study.id, Match.ended_on.is_(None))
            .order_by(Match.started_on, Match.id)
        ):
            decide = min(match.runs_until - dt.timedelta(days=10), DEMO_TODAY)
            if not extended and (decide < day or final):
                extend_match(
                    s,
                    study,
                    match,
                    min(
                        match.planned_end_on + dt.timedelta(days=61),
                        match.started_on + dt.timedelta(days=270),
                    ),
                    decide,
                    "the pair wants to finish tapering together",
                    today=decide,
                )
                extended = True
                counts["extended"] += 1
            elif match.runs_until < day:
                end_match(s, study, match, match.runs_until, "completed", today=match.runs_until)
                counts["completed"] += 1

    while queue:
        day, pseudonym = heapq.heappop(queue)
        if day > DEMO_TODAY:
            continue
        if chemistry_match is not None and chemistry_match.ended_on is None:
            end_on = chemistry_match.started_on + dt.timedelta(days=25)
            if end_on < day:
                end_match(
                    s,
                    study,
                    chemistry_match,
                    end_on,
                    "chemistry",
                    note="agreed together to look for a better fit",
                    today=end_on,
                )
                counts["chemistry"] += 1  # the recipient now waits at the top of the list
        settle(day)
        person = person_by_pseudonym(s, study, pseudonym)
        if active_matches_of(s, person):
            continue
        _calls(rng, s, study, person, day - dt.timedelta(days=1))
        ranked = suggest_buddies(s, study, person, today=day, top=1)
        if ranked.empty:
            continue  # nobody fits yet: the recipient keeps waiting
        buddy = person_by_pseudonym(s, study, ranked.iloc[0]["buddy"])
        match = confirm_match(s, study, person, buddy, day, "demo coordinator", today=day)
        counts["matches"] += 1
        if chemistry_match is None:
            chemistry_match = match
    settle(DEMO_TODAY, final=True)
    return counts


def _contacts(rng, s, study) -> None:
    """Contacts every 1–2 weeks of each match, from its start to its end (or the demo's today)."""
    for match in s.scalars(select(Match).where(Match.study_id == study.id).order_by(Match.id)):
        last = match.ended_on or min(DEMO_TODAY, match.runs_until)
        day = match.started_on + _days(rng, 0, 6)
        while day <= last:
            minutes = int(np.clip(rng.normal(90, 30), 15, 240))
            activity = str(rng.choice(ACTIVITIES, p=ACTIVITY_P))
            log_contact(s, study, match, day, activity, 15 if activity == "phone" else minutes, today=last)
            day += _days(rng, 6, 15)


def _calls_for_the_waiting(rng, s, study, cfg) -> tuple[int, int]:
    """Calls for everyone still waiting; about a third miss their latest call (overdue)."""
    for pseudonym in waitlist_table(s, study, DEMO_TODAY)["pseudonym"]:
        person = person_by_pseudonym(s, study, pseudonym)
        _calls(rng, s, study, person, DEMO_TODAY, skip_last=bool(rng.random() < 0.35))
    table = waitlist_table(s, study, DEMO_TODAY)
    return len(table), int(table["overdue"].sum())

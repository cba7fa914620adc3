"""Demo step: randomise the RCT cohort, place intervention participants in groups, and let a
few participants withdraw (their allocation stays: intention to treat)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from study.db import unit_of_work
from study.db.models import CourseGroup, Enrolment, GroupMember, Person
from study.demo.context import DemoContext
from study.errors import NotAllowed
from study.groups import add_member
from study.people import person_by_pseudonym
from study.randomisation import randomise
from study.randomisation.service import install_secret
from study.studies import config_of, get_study
from study.withdrawal import withdraw

__all__ = ["allocation"]

#: Days between consent and randomisation (baseline questionnaires are filled in between).
DAYS_TO_RANDOMISATION = (2, 8)
WITHDRAWAL_SHARE = 0.04
DEMO_WITHDRAWAL_REASONS = ("participant's own wish", "life circumstances", "moved away", "health reasons")


def allocation(ctx: DemoContext) -> list[str]:
    """Randomise ``ctx.rct_ready`` in consent order with the configured method."""
    rng = ctx.rng
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: randomisation") as s:
        study = get_study(s, ctx.study_code)
        config = config_of(study)
        # A secret derived from the demo seed keeps the demo reproducible; a real study
        # draws its secret from the operating system's CSPRNG at the first randomisation.
        install_secret(s, study, rng.bytes(32), ctx.actor)
        consent_rows = s.execute(
            select(Person.pseudonym, Enrolment.consent_on)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(Person.study_id == study.id, Person.pseudonym.in_(ctx.rct_ready))
        ).all()
        # The demo enrols every RCT-ready person with a consent date; stop clearly if not,
        # rather than randomising someone without consent.
        unconsented = sorted(p for p, on in consent_rows if on is None)
        if unconsented:
            raise NotAllowed(f"demo: RCT-ready people without a consent date: {', '.join(unconsented)}")
        consent = {p: on for p, on in consent_rows if on is not None}
        delays = rng.integers(DAYS_TO_RANDOMISATION[0], DAYS_TO_RANDOMISATION[1] + 1, len(ctx.rct_ready))
        dated = sorted(
            ((consent[p] + dt.timedelta(days=int(d)), consent[p], p) for p, d in zip(ctx.rct_ready, delays)),
            key=lambda t: (t[0], t[1], t[2]),
        )
        today = dt.date.today()
        results = [randomise(s, study, pseudonym, on=min(on, today)) for on, _, pseudonym in dated]
        late = _place_late_joiners(s, study, results, config.control_arm)
        placed = s.scalar(
            select(func.count())
            .select_from(GroupMember)
            .join(CourseGroup)
            .where(CourseGroup.study_id == study.id, CourseGroup.phase == "rct")
        )

    withdrawn = _withdrawals(ctx, results)
    arms = {a: sum(r.arm == a for r in results) for a in config.arm_codes}
    return [
        f"  allocation: {len(results)} randomised by {config.randomisation.method} "
        f"({', '.join(f'{a} {n}' for a, n in arms.items())}), {placed} placed in RCT groups"
        + (f" ({late} in a group already running)" if late else "")
        + f", {withdrawn} withdrew later"
    ]


def _place_late_joiners(s, study, results, control_arm: str) -> int:
    """Intervention participants randomised after the last group's start join the site's
    latest group with room (as a coordinator would arrange)."""
    late = 0
    for r in results:
        if r.arm == control_arm or r.group is not None:
            continue
        person = person_by_pseudonym(s, study, r.pseudonym)
        groups = s.scalars(
            select(CourseGroup)
            .where(
                CourseGroup.study_id == study.id,
                CourseGroup.site_id == person.site_id,
                CourseGroup.phase == "rct",
            )
            .order_by(CourseGroup.start_date.desc())
        ).all()
        for group in groups:
            size = s.scalar(select(func.count()).where(GroupMember.group_id == group.id))
            if size < config_of(study).groups.max_size:
                add_member(s, study, group, person, joined_on=r.allocated_on)
                late += 1
                break
    return late


def _withdrawals(ctx: DemoContext, results) -> int:
    """A few participants withdraw some weeks after randomisation, with neutral reasons."""
    rng = ctx.rng
    n = max(2, int(round(len(results) * WITHDRAWAL_SHARE)))
    chosen = rng.choice(len(results), size=min(n, len(results)), replace=False)
    today = dt.date.today()
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: withdrawals") as s:
        study = get_study(s, ctx.study_code)
        for k in sorted(int(i) for i in chosen):
            r = results[k]
            on = min(r.allocated_on + dt.timedelta(days=int(rng.integers(14, 120))), today)
            reason = str(rng.choice(DEMO_WITHDRAWAL_REASONS))
            withdraw(s, study, person_by_pseudonym(s, study, r.pseudonym), on, reason)
    return len(chosen)

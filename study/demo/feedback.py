"""Demo step: a few notes on the manual from the pilot groups' sessions (the feedback log)."""

from __future__ import annotations

import datetime as dt

from study.db import unit_of_work
from study.demo.context import DemoContext
from study.groups import group_by_code
from study.manual_feedback import add_feedback
from study.studies import config_of, get_study

__all__ = ["manual_feedback"]

#: Synthetic notes (source, kind, text); chosen at random per pilot session.
NOTES = (
    ("leader", "works", "The round of hopes for the week opened the group up."),
    ("leader", "does_not_work", "The exercise on values took too long; we skipped the break."),
    ("participant", "works", "Hearing how the leaders handled setbacks helped me most."),
    ("participant", "does_not_work", "Too much reading aloud from the handout."),
    ("leader", "idea", "Move the session on networks before the one on boundaries."),
    ("participant", "idea", "A short phone call between sessions would keep me going."),
)
NOTES_PER_GROUP = 4


def manual_feedback(ctx: DemoContext) -> list[str]:
    """Log ``NOTES_PER_GROUP`` notes per pilot group, in sessions drawn at random."""
    count = 0
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: feedback on the manual") as session:
        study = get_study(session, ctx.study_code)
        config = config_of(study)
        for site in config.site_codes:
            group = group_by_code(session, study, f"{site}-P1")
            weeks = sorted(
                ctx.rng.choice(range(1, config.groups.sessions + 1), NOTES_PER_GROUP, replace=False)
            )
            for week in weeks:
                source, kind, note = NOTES[int(ctx.rng.integers(len(NOTES)))]
                held = group.start_date + dt.timedelta(weeks=int(week) - 1)
                add_feedback(
                    session,
                    study,
                    group,
                    int(week),
                    source,
                    kind,
                    note,
                    recorded_by=f"{site.lower()}.coordinator",
                    recorded_on=held,
                )
                count += 1
    return [f"  feedback on the manual: {count} notes from the pilot groups"]

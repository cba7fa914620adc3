"""Shared set-up of the fidelity tests: a study in the pilot with groups and members."""

from __future__ import annotations

import datetime as dt

from leaders import add_trained_leader

from study.db import read_session, unit_of_work
from study.fidelity.manual import shipped_manual, shipped_manual_path
from study.fidelity.observations import ObservationInput
from study.groups import add_member, create_group
from study.people import add_person
from study.phases import start_phase
from study.studies import get_study

ACTOR = "test"
MANUAL_TEXT = shipped_manual_path("hope_course").read_text(encoding="utf-8")
MANUAL = shipped_manual("hope_course")
START = dt.date(2025, 2, 3)
TODAY = dt.date(2025, 6, 1)


def pilot_with_groups(engine, members_per_group: int = 3, store_manual: bool = True) -> None:
    """Pilot phase; groups CPH-P1 and HEL-P1 (2 leaders, ``members_per_group`` members each)."""
    with unit_of_work(engine, ACTOR) as s:
        study = get_study(s)
        start_phase(s, study, "pilot", ACTOR)
        if store_manual:
            from study.fidelity.versions import store_manual_version

            store_manual_version(s, study, MANUAL_TEXT, ACTOR)
        for site in ("CPH", "HEL"):
            leaders = [add_trained_leader(s, study, f"L-{site}-{i}", site) for i in (1, 2)]
            group = create_group(
                s,
                study,
                f"{site}-P1",
                site,
                START,
                leaders,
                phase="pilot",
                manual_version="1.0" if store_manual else None,
            )
            for k in range(members_per_group):
                person = add_person(s, study, f"P-{site}-{k + 1}", "participant", site)
                add_member(s, study, group, person, joined_on=START)


def full_ratings(week: int, score=2) -> dict:
    """Every component of ``week`` rated ``score``."""
    return {c.id: score for c in MANUAL.session(week).components}


def observation(group="CPH-P1", week=2, observer="K01", score=2, **changes) -> ObservationInput:
    values = dict(
        group=group,
        week=week,
        observer=observer,
        observed_on=START + dt.timedelta(weeks=week - 1),
        components=full_ratings(week if 1 <= week <= MANUAL.weeks else 2, score),
        competence=dict.fromkeys(MANUAL.competence_ids, 4),
        minutes=115,
        participants_present=3,
        notes=None,
    )
    values.update(changes)
    return ObservationInput(**values)


def counts(engine, *models) -> tuple[int, ...]:
    from sqlalchemy import func, select

    with read_session(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in models)

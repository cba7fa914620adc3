"""A complete synthetic demo study (never real people), built with a fixed seed.

``build_demo`` creates the reference study and runs the demo steps in order, each in its own
audited unit of work, so the demo goes through the same validated, audited functions as real
data entry. Later capabilities add a step to ``STEPS`` (allocation, questionnaires, fidelity,
companionship).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import Engine

from study.demo.allocation import allocation
from study.demo.companionship import companionship
from study.demo.context import DemoContext
from study.demo.estimate import planted_and_estimated
from study.demo.feedback import manual_feedback
from study.demo.fidelity import fidelity_and_attendance
from study.demo.people import people_and_groups
from study.demo.questionnaires import questionnaires
from study.demo.users import demo_users
from study.errors import NotAllowed

__all__ = ["DEMO_ACTOR", "STEPS", "build_demo", "require_demo_database"]

DEMO_ACTOR = "demo"

#: Steps of the demo, in order; each takes the context and returns summary lines.
STEPS: list[Callable[[DemoContext], list[str]]] = [
    people_and_groups,
    allocation,
    questionnaires,
    fidelity_and_attendance,
    companionship,
    demo_users,
    manual_feedback,
    planted_and_estimated,
]


def require_demo_database(engine: Engine) -> None:
    """Refuse a database that holds any study other than a demo study (``NotAllowed``)."""
    from sqlalchemy import select

    from study.db import read_session
    from study.db.models import Study

    with read_session(engine) as session:
        real = session.scalars(select(Study.code).where(Study.is_demo.is_(False)).order_by(Study.code)).all()
    if real:
        raise NotAllowed(
            f"this database holds the study {', '.join(real)}, which is not a demo: the demo goes "
            "only into an empty database or one whose studies are demos (use another --db)"
        )


def build_demo(engine: Engine, participants: int = 296, seed: int = 2026) -> list[str]:
    """Build the demo study in ``engine``'s database (schema must be current).

    Parameters
    ----------
    participants
        Number of eligible, consented RCT participants (the reference trial randomised 296);
        screening adds ineligible and non-consenting people on top, as in a real CONSORT flow.
    seed
        Seed of every random draw: the same seed gives the same study.

    Returns
    -------
    list of str
        Human-readable summary lines.

    Raises
    ------
    NotAllowed
        The database holds a study that is not a demo (synthetic people and public demo
        passwords never go into a real study's database).
    """
    require_demo_database(engine)
    ctx = DemoContext(
        engine=engine, participants=participants, rng=np.random.default_rng(seed), seed=seed, actor=DEMO_ACTOR
    )
    lines: list[str] = []
    for step in STEPS:
        lines += step(ctx)
    return lines

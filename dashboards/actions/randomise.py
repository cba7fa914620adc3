"""Randomisation from the dashboard (as ``peerstudy randomise PSEUDONYM``)."""

from __future__ import annotations

from sqlalchemy import Engine

from dashboards.access import Viewer
from dashboards.actions.unit import study_write
from study.codes import Phase
from study.people import person_by_pseudonym
from study.phase_guard import require_phase
from study.randomisation import AllocationResult, randomise

__all__ = ["randomise_participant"]


def randomise_participant(engine: Engine, viewer: Viewer, pseudonym: str) -> AllocationResult:
    """Randomise one participant of the coordinator's own site today, exactly as
    ``peerstudy randomise PSEUDONYM`` (:func:`study.randomisation.randomise`, intervention
    participants placed in the next group with room); the login is ``allocated_by`` and the
    audit actor.

    Raises ``NotAllowed`` outside the RCT phase, for a viewer who is not a coordinator or a
    participant of another site; ``BadInput`` when the participant may not be randomised
    (already allocated — also a double submit —, not consented, withdrawn, ...).
    """
    viewer.require_role("coordinator", action="randomisation")
    # As the command: prepared before the writers' lock, which randomise takes only to claim
    # the slot (the person's site, enrolment and strata are re-read under it).
    with study_write(engine, viewer, f"dashboard: randomise {pseudonym}", lock_at_start=False) as (
        session,
        study,
    ):
        # The phase is checked before the person is looked up (the refusal names the phase).
        require_phase(study, Phase.RCT, action="randomisation")
        person = person_by_pseudonym(session, study, pseudonym)
        viewer.require_edit(person.site_id, f"person {pseudonym}")
        return randomise(session, study, pseudonym, actor=viewer.login)

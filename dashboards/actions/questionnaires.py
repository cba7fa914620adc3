"""Questionnaire entry by a coordinator from the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import Engine

from dashboards.access import Viewer
from dashboards.actions.unit import person_write
from questionnaires.capture import record_response

__all__ = ["save_questionnaire"]


def save_questionnaire(
    engine: Engine,
    viewer: Viewer,
    pseudonym: str,
    timepoint: str,
    instrument: str,
    completed_on: dt.date,
    values: Mapping[str, int | None],
) -> int:
    """Enter one participant's answers to one instrument at one timepoint
    (:func:`questionnaires.capture.record_response`: every item checked against its range and
    the declared missing codes; a changed answer is an audited correction); returns the
    response id. Only the coordinator of the participant's site.

    Raises ``NotAllowed`` (other role, other site), ``BadInput``/``RowErrors`` naming every
    bad item; nothing is written then.
    """
    viewer.require_role("coordinator", action="questionnaire entry")
    reason = f"dashboard: questionnaire {instrument} {timepoint} for {pseudonym}"
    with person_write(engine, viewer, pseudonym, reason) as (session, study, _person):
        return record_response(session, study, pseudonym, timepoint, instrument, completed_on, values).id

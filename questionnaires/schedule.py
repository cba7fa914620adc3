"""Timepoint schedules: what each participant is due to answer when, and how it stands.

Pure pandas: :func:`compute_schedule` takes the participants' anchor dates, the configured
timepoints and the responses received, and a ``today`` (never read from the clock here), and
returns one row per participant × timepoint × instrument. :func:`study_schedule` gathers the
inputs from the database (randomisation dates from ``Allocation.allocated_on``, group starts
from ``GroupMember`` → ``CourseGroup.start_date``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.config.timepoints import ANCHORS, TimepointConfig
from study.db.models import (
    Allocation,
    CourseGroup,
    Enrolment,
    GroupMember,
    Person,
    QuestionnaireResponse,
    Study,
)
from study.studies import config_of

__all__ = [
    "SCHEDULE_COLUMNS",
    "STATUSES",
    "compute_schedule",
    "participant_anchors",
    "received_responses",
    "study_schedule",
]

#: Columns of the schedule.
SCHEDULE_COLUMNS = [
    "pseudonym", "timepoint", "instrument", "anchor", "anchor_date", "due_on", "window_start",
    "window_end", "completed_on", "status", "outside_window",
]
#: Statuses, in the order a coordinator reads them.
STATUSES = ("complete", "overdue", "due", "not_yet_due", "withdrawn", "not_scheduled")


def compute_schedule(
    participants: pd.DataFrame,
    timepoints: Sequence[TimepointConfig],
    responses: pd.DataFrame,
    today: dt.date,
) -> pd.DataFrame:
    """The questionnaire schedule of every participant.

    Parameters
    ----------
    participants
        One row per participant: ``pseudonym`` and the anchor dates ``screening``,
        ``consent``, ``randomisation``, ``group_start`` (missing → NaT/None), optionally
        ``withdrawn_on``.
    timepoints
        From ``study.yaml``: anchor (and fallback anchor), ``offset_weeks``, window in weeks
        before and after the due date, instruments.
    responses
        Responses received: ``pseudonym, timepoint, instrument, completed_on``.
    today
        The reference date for due/overdue (a parameter so that results are reproducible).

    Returns
    -------
    pandas.DataFrame
        One row per participant × timepoint × instrument (:data:`SCHEDULE_COLUMNS`):

        - ``anchor`` (the anchor used, the fallback when the first has no date) and
          ``anchor_date``; ``due_on`` = anchor date + offset; ``window_start``/``window_end``
          (inclusive); dates as ``datetime.date`` or None
        - ``completed_on``: date of the response, None if none
        - ``status``: ``complete``; else ``withdrawn`` (withdrew on or before today);
          ``not_scheduled`` (no anchor date, e.g. not yet randomised); ``not_yet_due``
          (before the window); ``due`` (inside the window); ``overdue`` (after it)
        - ``outside_window``: a response answered outside its window (kept, flagged);
          False for everything else
    """
    for col in ("pseudonym", *ANCHORS):
        if col not in participants.columns:
            raise ValueError(f"participants need a column {col!r}")
    for col in ("pseudonym", "timepoint", "instrument", "completed_on"):
        if col not in responses.columns:
            raise ValueError(f"responses need a column {col!r}")
    plan = pd.DataFrame(
        [
            {
                "timepoint": t.code,
                "instrument": i,
                "anchor_1": t.anchor,
                "anchor_2": t.fallback_anchor,
                "offset": 7.0 * t.offset_weeks,
                "before": 7.0 * t.window_before_weeks,
                "after": 7.0 * t.window_after_weeks,
                "order": k,
            }
            for k, t in enumerate(timepoints)
            for i in t.instruments
        ],
        columns=["timepoint", "instrument", "anchor_1", "anchor_2", "offset", "before", "after", "order"],
    )
    for col in ("offset", "before", "after"):  # days → timedeltas (typed even when empty)
        plan[col] = pd.to_timedelta(plan[col].astype(float), unit="D")
    people = participants.copy()
    for col in ANCHORS:
        people[col] = pd.to_datetime(people[col])
    people["withdrawn_on"] = pd.to_datetime(people["withdrawn_on"]) if "withdrawn_on" in people else pd.NaT
    grid = people.merge(plan, how="cross")

    # The first anchor with a date: each anchor column picked by a vectorised lookup.
    anchor_values = grid[list(ANCHORS)].to_numpy(dtype="datetime64[ns]")
    pick = {name: k for k, name in enumerate(ANCHORS)}
    rows = np.arange(len(grid))
    first = anchor_values[rows, grid["anchor_1"].map(pick).to_numpy(dtype=int)] if len(grid) else anchor_values[:, 0]
    fallback_idx = grid["anchor_2"].map(pick)
    second = np.full(len(grid), np.datetime64("NaT"), dtype="datetime64[ns]")
    has_fallback = fallback_idx.notna().to_numpy()
    second[has_fallback] = anchor_values[rows[has_fallback], fallback_idx[has_fallback].astype(int).to_numpy()]
    use_first = ~np.isnat(first)
    grid["anchor"] = np.where(use_first, grid["anchor_1"], np.where(~np.isnat(second), grid["anchor_2"], None))
    anchor_date = pd.Series(np.where(use_first, first, second), index=grid.index, dtype="datetime64[ns]")
    due = anchor_date + grid["offset"]
    start, end = due - grid["before"], due + grid["after"]

    done = responses[["pseudonym", "timepoint", "instrument", "completed_on"]].copy()
    done["completed_on"] = pd.to_datetime(done["completed_on"])
    grid = grid.merge(done, on=["pseudonym", "timepoint", "instrument"], how="left")
    completed = grid["completed_on"]
    now = pd.Timestamp(today)

    status = np.select(
        [
            completed.notna(),
            grid["withdrawn_on"].notna() & (grid["withdrawn_on"] <= now),
            anchor_date.isna(),
            now < start,
            now <= end,
        ],
        ["complete", "withdrawn", "not_scheduled", "not_yet_due", "due"],
        default="overdue",
    )
    outside = completed.notna() & ((completed < start) | (completed > end)).fillna(False)

    def as_date(s: pd.Series) -> pd.Series:
        return pd.Series(
            np.where(s.isna(), None, s.dt.date.to_numpy(dtype=object)), index=s.index, dtype=object
        )

    out = pd.DataFrame(
        {
            "pseudonym": grid["pseudonym"],
            "timepoint": grid["timepoint"],
            "instrument": grid["instrument"],
            "anchor": grid["anchor"],
            "anchor_date": as_date(anchor_date),
            "due_on": as_date(due),
            "window_start": as_date(start),
            "window_end": as_date(end),
            "completed_on": as_date(completed),
            "status": status,
            "outside_window": outside.to_numpy(dtype=bool),
            "_order": grid["order"],
        }
    )
    return (
        out.sort_values(["pseudonym", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def participant_anchors(session: Session, study: Study) -> pd.DataFrame:
    """Anchor dates of every consented participant of a study.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, phase, screening, consent, randomisation, group_start, withdrawn_on``.
    """
    rows = session.execute(
        select(
            Person.pseudonym,
            Enrolment.phase,
            Enrolment.screened_on,
            Enrolment.consent_on,
            Allocation.allocated_on,
            CourseGroup.start_date,
            Enrolment.withdrawn_on,
        )
        .join(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(Allocation, Allocation.person_id == Person.id)
        .outerjoin(GroupMember, GroupMember.person_id == Person.id)
        .outerjoin(CourseGroup, CourseGroup.id == GroupMember.group_id)
        .where(
            Person.study_id == study.id,
            Person.role == "participant",
            Enrolment.consent_on.is_not(None),
            Enrolment.eligible.is_(True),
        )
        .order_by(Person.pseudonym)
    ).all()
    return pd.DataFrame(
        rows,
        columns=["pseudonym", "phase", "screening", "consent", "randomisation", "group_start", "withdrawn_on"],
    )


def received_responses(session: Session, study: Study) -> pd.DataFrame:
    """Responses stored for a study: ``pseudonym, timepoint, instrument, completed_on``."""
    rows = session.execute(
        select(
            Person.pseudonym,
            QuestionnaireResponse.timepoint,
            QuestionnaireResponse.instrument,
            QuestionnaireResponse.completed_on,
        )
        .join(Person, Person.id == QuestionnaireResponse.person_id)
        .where(QuestionnaireResponse.study_id == study.id)
    ).all()
    return pd.DataFrame(rows, columns=["pseudonym", "timepoint", "instrument", "completed_on"])


def study_schedule(session: Session, study: Study, today: dt.date) -> pd.DataFrame:
    """:func:`compute_schedule` for a study in the database (see there for the columns)."""
    config = config_of(study)
    return compute_schedule(
        participant_anchors(session, study), config.timepoints, received_responses(session, study), today
    )

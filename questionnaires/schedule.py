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
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from study.codes import QUESTIONNAIRE_STATUSES, Role
from study.config.timepoints import ANCHORS, TimepointConfig
from study.db.frames import select_frame
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
    "answered_counts",
    "compute_schedule",
    "open_instruments",
    "participant_anchors",
    "received_responses",
    "schedule_counts",
    "study_open_instruments",
    "study_schedule",
    "study_schedule_counts",
]

#: Columns of the schedule.
SCHEDULE_COLUMNS = [
    "pseudonym",
    "timepoint",
    "instrument",
    "anchor",
    "anchor_date",
    "due_on",
    "window_start",
    "window_end",
    "completed_on",
    "status",
    "outside_window",
]
#: Statuses, in the order a coordinator reads them.
STATUSES = QUESTIONNAIRE_STATUSES


def _open_statuses(
    participants: pd.DataFrame, timepoints: Sequence[TimepointConfig], today: dt.date
) -> pd.DataFrame:
    """One row per participant × timepoint: the dates of the timepoint and the status an
    instrument of it has while unanswered.

    The dates and that status depend only on the participant and the timepoint, never on the
    instrument, so they are computed on this grid (participants × timepoints) and not on the
    larger one with every instrument.

    Returns ``pseudonym, timepoint, order, anchor, anchor_date, due_on, window_start,
    window_end`` (``datetime64``, ``NaT`` when unscheduled) and ``open_status`` (withdrawn,
    not_scheduled, not_yet_due, due or overdue).
    """
    for col in ("pseudonym", *ANCHORS):
        if col not in participants.columns:
            raise ValueError(f"participants need a column {col!r}")
    # A participants × timepoints matrix in numpy, flattened participant by participant: the
    # per-element string lookups of a pandas cross join cost ten times more at 10,000 people.
    n_people, n_times = len(participants), len(timepoints)
    pick = {name: k for k, name in enumerate(ANCHORS)}
    anchors = np.column_stack(
        [pd.to_datetime(participants[col]).to_numpy(dtype="datetime64[ns]") for col in ANCHORS]
    ).reshape(n_people, len(ANCHORS))
    nat = np.datetime64("NaT", "ns")
    first = anchors[:, [pick[t.anchor] for t in timepoints]]
    fallback = np.array([pick.get(t.fallback_anchor or "", -1) for t in timepoints], dtype=int)
    second = np.where(fallback >= 0, anchors[:, np.maximum(fallback, 0)], nat)
    use_first = ~np.isnat(first)
    anchor_date = np.where(use_first, first, second)
    names_1 = np.array([t.anchor for t in timepoints], dtype=object)
    names_2 = np.array([t.fallback_anchor for t in timepoints], dtype=object)
    anchor = np.where(use_first, names_1, np.where(~np.isnat(second), names_2, np.array(None, dtype=object)))

    def weeks(attr: str) -> np.ndarray:
        return np.array([7 * 86_400 * getattr(t, attr) for t in timepoints], dtype=float).astype(
            "timedelta64[s]"
        )

    due = anchor_date + weeks("offset_weeks")
    start, end = due - weeks("window_before_weeks"), due + weeks("window_after_weeks")
    withdrawn = (
        pd.to_datetime(participants["withdrawn_on"]).to_numpy(dtype="datetime64[ns]")
        if "withdrawn_on" in participants
        else np.full(n_people, nat)
    )[:, None]
    now = np.datetime64(pd.Timestamp(today).to_datetime64(), "ns")
    # NaT compares False, so a missing date never counts as withdrawn, not yet due or due.
    open_status = np.select(
        [~np.isnat(withdrawn) & (withdrawn <= now), np.isnat(anchor_date), now < start, now <= end],
        ["withdrawn", "not_scheduled", "not_yet_due", "due"],
        default="overdue",
    )
    return pd.DataFrame(
        {
            "pseudonym": np.repeat(participants["pseudonym"].to_numpy(dtype=object), n_times),
            "timepoint": np.tile(np.array([t.code for t in timepoints], dtype=object), n_people),
            "order": np.tile(np.arange(n_times), n_people),
            "anchor": anchor.ravel(),
            "anchor_date": pd.to_datetime(anchor_date.ravel()),
            "due_on": pd.to_datetime(due.ravel()),
            "window_start": pd.to_datetime(start.ravel()),
            "window_end": pd.to_datetime(end.ravel()),
            "open_status": open_status.ravel(),
        }
    )


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

    See Also
    --------
    schedule_counts : the same statuses counted per participant and timepoint, cheaply.
    """
    for col in ("pseudonym", "timepoint", "instrument", "completed_on"):
        if col not in responses.columns:
            raise ValueError(f"responses need a column {col!r}")
    grid = _with_instruments(_open_statuses(participants, timepoints, today), timepoints)
    done = responses[["pseudonym", "timepoint", "instrument", "completed_on"]].copy()
    done["completed_on"] = pd.to_datetime(done["completed_on"])
    grid = grid.merge(done, on=["pseudonym", "timepoint", "instrument"], how="left")
    completed = grid["completed_on"]
    outside = completed.notna() & (
        (completed < grid["window_start"]) | (completed > grid["window_end"])
    ).fillna(False)
    return _schedule_frame(
        grid, completed, np.where(completed.notna(), "complete", grid["open_status"]), outside
    )


def _with_instruments(dates: pd.DataFrame, timepoints: Sequence[TimepointConfig]) -> pd.DataFrame:
    """:func:`_open_statuses`' rows expanded to each timepoint's instruments (with their
    order in the timepoint)."""
    plan = pd.DataFrame(
        [(t.code, i, j) for t in timepoints for j, i in enumerate(t.instruments)],
        columns=["timepoint", "instrument", "instrument_order"],
    )
    return dates.merge(plan, on="timepoint", how="inner")


def _as_dates(values: pd.Series) -> pd.Series:
    """``datetime64`` values as ``datetime.date`` objects (``None`` for NaT)."""
    return pd.Series(
        np.where(values.isna(), None, values.dt.date.to_numpy(dtype=object)), index=values.index, dtype=object
    )


def _schedule_frame(grid: pd.DataFrame, completed: pd.Series, status, outside: pd.Series) -> pd.DataFrame:
    """The schedule's rows (:data:`SCHEDULE_COLUMNS`) from an instrument grid, sorted by
    pseudonym, then timepoint and instrument in their configured order."""
    out = pd.DataFrame(
        {
            "pseudonym": grid["pseudonym"],
            "timepoint": grid["timepoint"],
            "instrument": grid["instrument"],
            "anchor": grid["anchor"],
            "anchor_date": _as_dates(grid["anchor_date"]),
            "due_on": _as_dates(grid["due_on"]),
            "window_start": _as_dates(grid["window_start"]),
            "window_end": _as_dates(grid["window_end"]),
            "completed_on": _as_dates(completed),
            "status": status,
            "outside_window": outside.to_numpy(dtype=bool),
            "_order": grid["order"],
            "_instrument_order": grid["instrument_order"],
        }
    )
    return (
        out.sort_values(["pseudonym", "_order", "_instrument_order"], kind="stable")
        .drop(columns=["_order", "_instrument_order"])
        .reset_index(drop=True)
    )


def schedule_counts(
    participants: pd.DataFrame,
    timepoints: Sequence[TimepointConfig],
    answered: pd.DataFrame,
    today: dt.date,
) -> pd.DataFrame:
    """How many instruments of each participant and timepoint stand in each status.

    The counts equal those of :func:`compute_schedule` (``status`` counted per pseudonym and
    timepoint) but come from one row per participant × timepoint: an unanswered instrument
    has the status of its timepoint, so only the number answered is needed. Monitoring pages
    use this for thousands of participants (``benchmarks/dashboard_rct_page.py``).

    Parameters
    ----------
    participants
        As for :func:`compute_schedule`.
    timepoints
        As for :func:`compute_schedule`.
    answered
        ``pseudonym, timepoint, answered``: the number of *that timepoint's* instruments with
        a response (:func:`answered_counts` reads it from the database).
    today
        The reference date for due/overdue.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, timepoint`` and one integer column per status of :data:`STATUSES`.
    """
    dates = _open_statuses(participants, timepoints, today)
    expected = pd.Series({t.code: len(t.instruments) for t in timepoints}, dtype=int)
    grid = dates.merge(
        answered[["pseudonym", "timepoint", "answered"]], on=["pseudonym", "timepoint"], how="left"
    )
    done = grid["answered"].fillna(0).astype(int).to_numpy()
    open_ = grid["timepoint"].map(expected).fillna(0).astype(int).to_numpy() - done
    out = grid[["pseudonym", "timepoint"]].copy()
    out["complete"] = done
    for status in STATUSES[1:]:
        out[status] = np.where(grid["open_status"].to_numpy() == status, open_, 0)
    return out.reset_index(drop=True)


def open_instruments(
    participants: pd.DataFrame,
    timepoints: Sequence[TimepointConfig],
    responses: pd.DataFrame,
    today: dt.date,
    statuses: Sequence[str] = ("overdue", "due"),
    answered: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The unanswered instruments whose status is one of ``statuses`` (by default what a
    coordinator chases): the rows of :func:`compute_schedule` with those statuses, found
    without building the full instrument grid (only the participant × timepoint pairs in
    those statuses are expanded to their instruments).

    ``answered`` (optional, as for :func:`schedule_counts`) lets the caller pass fewer
    responses: pairs with every instrument answered are dropped by their count, pairs with
    none answered need no response, so ``responses`` need only cover the partly answered
    pairs (:func:`study_open_instruments` reads no more than that).

    Returns the columns of :data:`SCHEDULE_COLUMNS`, sorted by pseudonym and timepoint order.
    """
    unknown = set(statuses) - set(STATUSES[1:])
    if unknown:
        raise ValueError(f"open statuses are {', '.join(STATUSES[1:])}; not {', '.join(sorted(unknown))}")
    dates = _open_statuses(participants, timepoints, today)
    dates = dates[dates["open_status"].isin(list(statuses))]
    if answered is not None:
        expected = pd.Series({t.code: len(t.instruments) for t in timepoints}, dtype=int)
        counts = (
            dates[["pseudonym", "timepoint"]]
            .merge(
                answered[["pseudonym", "timepoint", "answered"]], on=["pseudonym", "timepoint"], how="left"
            )["answered"]
            .fillna(0)
            .to_numpy()
        )
        dates = dates[counts < dates["timepoint"].map(expected).to_numpy()]
    grid = _with_instruments(dates, timepoints)
    answered = responses[["pseudonym", "timepoint", "instrument"]].drop_duplicates().assign(_answered=True)
    grid = grid.merge(answered, on=["pseudonym", "timepoint", "instrument"], how="left")
    grid = grid[grid["_answered"].isna()]
    unanswered = pd.Series(pd.NaT, index=grid.index, dtype="datetime64[ns]")
    return _schedule_frame(
        grid, unanswered, grid["open_status"].to_numpy(), pd.Series(False, index=grid.index)
    )


def _site_filter(site_id: int | None, person_id: int | None = None) -> list:
    """WHERE clauses keeping one site's (or one person's) participants; none for the study."""
    clauses = [] if site_id is None else [Person.site_id == site_id]
    return clauses + ([] if person_id is None else [Person.id == person_id])


def participant_anchors(
    session: Session, study: Study, site_id: int | None = None, person_id: int | None = None
) -> pd.DataFrame:
    """Anchor dates of every consented participant of a study (of one site if ``site_id``,
    of one person if ``person_id``).

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, phase, screening, consent, randomisation, group_start, withdrawn_on``.
    """
    return select_frame(
        session,
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
            Person.role == Role.PARTICIPANT,
            Enrolment.consent_on.is_not(None),
            Enrolment.eligible.is_(True),
            *_site_filter(site_id, person_id),
        )
        .order_by(Person.pseudonym),
        ["pseudonym", "phase", "screening", "consent", "randomisation", "group_start", "withdrawn_on"],
    )


def received_responses(
    session: Session,
    study: Study,
    site_id: int | None = None,
    person_id: int | None = None,
    pseudonyms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Responses stored for a study (of one site's participants if ``site_id``, of one person
    if ``person_id``, of the listed ``pseudonyms`` if given): ``pseudonym, timepoint,
    instrument, completed_on``."""
    columns = ["pseudonym", "timepoint", "instrument", "completed_on"]
    statement = (
        select(
            Person.pseudonym,
            QuestionnaireResponse.timepoint,
            QuestionnaireResponse.instrument,
            QuestionnaireResponse.completed_on,
        )
        .join(Person, Person.id == QuestionnaireResponse.person_id)
        .where(QuestionnaireResponse.study_id == study.id, *_site_filter(site_id, person_id))
    )
    if pseudonyms is None:
        return select_frame(session, statement, columns)
    wanted = sorted(set(pseudonyms))
    chunk = 900  # well below every backend's limit of bound parameters per statement
    parts = [
        select_frame(session, statement.where(Person.pseudonym.in_(wanted[k : k + chunk])), columns)
        for k in range(0, len(wanted), chunk)
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def answered_counts(session: Session, study: Study, site_id: int | None = None) -> pd.DataFrame:
    """Per participant and timepoint, how many of the timepoint's configured instruments have
    a response (counted in the database): ``pseudonym, timepoint, answered``. The input of
    :func:`schedule_counts`."""
    pairs = [(t.code, i) for t in config_of(study).timepoints for i in t.instruments]
    if not pairs:
        return pd.DataFrame(columns=["pseudonym", "timepoint", "answered"])
    return select_frame(
        session,
        select(Person.pseudonym, QuestionnaireResponse.timepoint, func.count())
        .join(QuestionnaireResponse, QuestionnaireResponse.person_id == Person.id)
        .where(
            Person.study_id == study.id,
            tuple_(QuestionnaireResponse.timepoint, QuestionnaireResponse.instrument).in_(pairs),
            *_site_filter(site_id),
        )
        # One response per person × timepoint × instrument (unique constraint), so a count of
        # rows is a count of answered instruments; grouping by the person's id and the
        # timepoint walks that constraint's index in order (no sort of 100,000s of rows).
        .group_by(Person.id, QuestionnaireResponse.timepoint),
        ["pseudonym", "timepoint", "answered"],
    )


def study_schedule(
    session: Session,
    study: Study,
    today: dt.date,
    site_id: int | None = None,
    person_id: int | None = None,
) -> pd.DataFrame:
    """:func:`compute_schedule` for a study in the database (of one site's participants if
    ``site_id``, of one person if ``person_id``; see there for the columns)."""
    config = config_of(study)
    return compute_schedule(
        participant_anchors(session, study, site_id, person_id),
        config.timepoints,
        received_responses(session, study, site_id, person_id),
        today,
    )


def study_open_instruments(
    session: Session,
    study: Study,
    today: dt.date,
    site_id: int | None = None,
    statuses: Sequence[str] = ("overdue", "due"),
) -> pd.DataFrame:
    """:func:`open_instruments` for a study in the database (of one site if ``site_id``).

    Answered instruments are counted in the database first; responses are read only for the
    participants with a partly answered timepoint, so the response table of a large trial
    need not be read.
    """
    config = config_of(study)
    anchors = participant_anchors(session, study, site_id)
    answered = answered_counts(session, study, site_id)
    expected = {t.code: len(t.instruments) for t in config.timepoints}
    partly = answered[answered["answered"] < answered["timepoint"].map(expected).fillna(0)]
    responses = received_responses(session, study, site_id, pseudonyms=partly["pseudonym"].unique().tolist())
    return open_instruments(anchors, config.timepoints, responses, today, statuses, answered=answered)


def study_schedule_counts(
    session: Session, study: Study, today: dt.date, site_id: int | None = None
) -> pd.DataFrame:
    """:func:`schedule_counts` for a study in the database (of one site's participants if
    ``site_id``)."""
    config = config_of(study)
    return schedule_counts(
        participant_anchors(session, study, site_id),
        config.timepoints,
        answered_counts(session, study, site_id),
        today,
    )

"""The dose of 1:1 companionship each participant received, for the analysis dataset.

Dose has three measures: the number of contacts, the hours of contact (sum of minutes / 60),
and the months of active relationship (from each match's start to its end, or while it runs
to the earlier of ``today`` and its planned end; a month is 365.25 / 12 days). Participants
who were never matched have zero dose and ``matched`` False.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.codes import Role
from study.companionship.calendar import DAYS_PER_MONTH
from study.db.models import Match, MatchContact, Person, Study

__all__ = ["DOSE_COLUMNS", "companionship_dose", "dose_from"]

#: Columns of the dose table (a contract with the analysis dataset).
DOSE_COLUMNS: list[str] = ["pseudonym", "matched", "contacts", "hours", "months"]


def dose_from(
    participants: pd.Series,
    matches: pd.DataFrame,
    contacts: pd.DataFrame,
    today: dt.date,
) -> pd.DataFrame:
    """Companionship dose per participant from plain tables.

    Parameters
    ----------
    participants
        Pseudonyms of every participant to report (one row each in the result).
    matches
        One row per match: ``match_id, pseudonym`` (the recipient), ``started_on``,
        ``ended_on`` (empty while active), ``runs_until`` (planned end, extension included).
    contacts
        One row per contact: ``match_id, minutes``.
    today
        Active matches count up to the earlier of ``today`` and their planned end.

    Returns
    -------
    DataFrame
        :data:`DOSE_COLUMNS`, one row per participant, in the order given:

        - ``matched``: ever matched with a buddy
        - ``contacts``: number of contacts over all their matches
        - ``hours``: minutes of contact / 60, two decimals
        - ``months``: months of active relationship over all their matches, two decimals

    Examples
    --------
    >>> matches = pd.DataFrame({"match_id": [1], "pseudonym": ["P1"],
    ...     "started_on": [dt.date(2025, 1, 1)], "ended_on": [dt.date(2025, 4, 1)],
    ...     "runs_until": [dt.date(2025, 7, 1)]})
    >>> contacts = pd.DataFrame({"match_id": [1, 1], "minutes": [90, 60]})
    >>> dose_from(pd.Series(["P1", "P2"]), matches, contacts, dt.date(2026, 1, 1)).to_dict("records")
    [{'pseudonym': 'P1', 'matched': True, 'contacts': 2, 'hours': 2.5, 'months': 2.96}, {'pseudonym': 'P2', 'matched': False, 'contacts': 0, 'hours': 0.0, 'months': 0.0}]
    """
    for name, frame, needed in (
        ("matches", matches, {"match_id", "pseudonym", "started_on", "ended_on", "runs_until"}),
        ("contacts", contacts, {"match_id", "minutes"}),
    ):
        missing = needed - set(frame.columns)
        if missing:
            raise ValueError(f"{name} lack column(s) {', '.join(sorted(missing))}")

    # Months of each match: start → end, or → min(today, planned end) while it runs.
    started = pd.to_datetime(matches["started_on"])
    running_until = pd.to_datetime(matches["runs_until"]).clip(upper=pd.Timestamp(today))
    stop = pd.to_datetime(matches["ended_on"]).fillna(running_until)
    months = ((stop - started).dt.days.clip(lower=0) / DAYS_PER_MONTH).rename("months")
    per_match = pd.DataFrame(
        {"match_id": matches["match_id"], "pseudonym": matches["pseudonym"], "months": months}
    )
    minutes = contacts.groupby("match_id")["minutes"].agg(["size", "sum"])
    per_match = per_match.join(minutes, on="match_id").fillna({"size": 0, "sum": 0})
    per_person = per_match.groupby("pseudonym").agg(
        contacts=("size", "sum"), minutes=("sum", "sum"), months=("months", "sum")
    )

    out = pd.DataFrame({"pseudonym": participants.to_numpy()})
    out = out.join(per_person, on="pseudonym")
    out["matched"] = out["pseudonym"].isin(per_match["pseudonym"])
    out["contacts"] = out["contacts"].fillna(0).astype(int)
    out["hours"] = (out["minutes"].fillna(0).astype(float) / 60).round(2)
    out["months"] = out["months"].fillna(0).astype(float).round(2)
    return out[DOSE_COLUMNS]


def companionship_dose(session: Session, study: Study, today: dt.date | None = None) -> pd.DataFrame:
    """Dose of companionship of every participant of ``study`` (see :func:`dose_from`).

    Returns a DataFrame with columns ``pseudonym, matched, contacts, hours, months``, one row
    per participant (role ``participant``), ordered by pseudonym.
    """
    today = today or dt.date.today()
    participants = pd.Series(
        session.scalars(
            select(Person.pseudonym)
            .where(Person.study_id == study.id, Person.role == Role.PARTICIPANT)
            .order_by(Person.pseudonym)
        ).all(),
        dtype=object,
    )
    matches = pd.DataFrame(
        session.execute(
            select(
                Match.id,
                Person.pseudonym,
                Match.started_on,
                Match.ended_on,
                Match.planned_end_on,
                Match.extended_until,
            )
            .join(Person, Person.id == Match.person_id)
            .where(Match.study_id == study.id)
        ).all(),
        columns=["match_id", "pseudonym", "started_on", "ended_on", "planned_end_on", "extended_until"],
    )
    matches["runs_until"] = matches["extended_until"].where(
        matches["extended_until"].notna(), matches["planned_end_on"]
    )
    contacts = pd.DataFrame(
        session.execute(
            select(MatchContact.match_id, MatchContact.minutes).where(MatchContact.study_id == study.id)
        ).all(),
        columns=["match_id", "minutes"],
    )
    return dose_from(participants, matches, contacts, today)

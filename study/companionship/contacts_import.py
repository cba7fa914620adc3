"""``peerstudy import contacts FILE.csv``: the contacts of matched pairs, from a contact log.

Buddies often keep their contact log on paper or in a spreadsheet; the coordinator enters it
in one go. Columns: ``recipient, buddy, contact_on, activity, minutes`` and optionally
``note``. Each row is one contact of the pair's match (the active one, else the latest), with
the same checks as ``peerstudy match contact`` (:func:`~study.companionship.relationships.log_contact`:
a configured activity, 1–1440 minutes, a date inside the match and not in the future).

Transactional (any bad row: nothing written, every problem named by row and column; the file
is read a chunk at a time and the reading stops after 50 problems unless ``--all-errors``) and
idempotent: a contact already stored (same match, date, activity, minutes and note) is not
stored again, so the same file imported twice changes nothing; a row listed twice in the file
is two contacts. New contacts are written in one audited bulk insert (:mod:`study.bulk_write`).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.bulk_write import insert_rows
from study.companionship.match_lookup import matches_by_pair
from study.companionship.relationships import contact_problem
from study.db.models import Match, MatchContact, Person, Study
from study.errors import RowProblem
from study.fidelity.observation_import import ImportSummary
from study.imports import normalise_pseudonyms, parse_date, parse_int
from study.imports.bounded import BoundedCsv
from study.imports.cells import date_hint
from study.studies import config_of

__all__ = ["CONTACT_COLUMNS", "contacts_template", "import_contacts"]

CONTACT_COLUMNS: tuple[str, ...] = ("recipient", "buddy", "contact_on", "activity", "minutes")
OPTIONAL_COLUMNS: tuple[str, ...] = ("note",)


def _column_of(message: str) -> str:
    """The file column a message of :func:`contact_problem` is about."""
    if message.startswith("unknown activity"):
        return "activity"
    if message.startswith("minutes"):
        return "minutes"
    return "contact_on"


@dataclass
class _Check:
    """What the chunks of one contact log are checked against, and what they gathered."""

    study: Study
    today: dt.date
    date_format: str
    #: pseudonym -> person id of the study's people
    people: dict[str, int]
    #: (recipient id, buddy id) -> the pair's match (:func:`matches_by_pair`)
    matches: dict[tuple[int, int], Match]
    #: contacts stored before, counted per identical (match, date, activity, minutes, note):
    #: a file imported again finds all of its rows here
    stored: Counter
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0


def import_contacts(
    session: Session,
    study: Study,
    source: str | Path | io.StringIO,
    today: dt.date | None = None,
    *,
    all_errors: bool = False,
) -> ImportSummary:
    """Import a contact log in the caller's unit of work (see the module docstring).

    Returns the rows read and the contacts ``created`` and ``unchanged`` (already stored).
    The file is read and checked a chunk at a time; after 50 problems the reading stops
    (``all_errors``: never).

    Raises
    ------
    RowErrors
        Every bad row (at most 50, with how many rows were not checked, unless
        ``all_errors``); the caller's unit of work then writes nothing.
    """
    read = BoundedCsv(source, CONTACT_COLUMNS, OPTIONAL_COLUMNS, all_errors=all_errors)
    check = _Check(
        study=study,
        today=today or dt.date.today(),
        date_format=config_of(study).imports.date_format,
        people=dict(
            session.execute(select(Person.pseudonym, Person.id).where(Person.study_id == study.id)).all()
        ),
        matches=matches_by_pair(session, study),
        stored=Counter(
            tuple(r)
            for r in session.execute(
                select(
                    MatchContact.match_id,
                    MatchContact.contact_on,
                    MatchContact.activity,
                    MatchContact.minutes,
                    MatchContact.note,
                ).where(MatchContact.study_id == study.id)
            )
        ),
    )
    for chunk in read.chunks():
        read.add(_chunk_problems(chunk, check, keep=not read.failed))
    read.finish()
    # one audited bulk insert (the caller's unit of work commits or rolls back it all)
    insert_rows(session, MatchContact, check.new_rows)
    return ImportSummary(rows=read.rows, created=len(check.new_rows), corrected=0, unchanged=check.unchanged)


def _chunk_problems(df: pd.DataFrame, check: _Check, keep: bool) -> list[RowProblem]:
    """The problems of one chunk's rows; its new contacts join ``check.new_rows`` while
    ``keep`` (no problem so far: once there is one, nothing will be written)."""
    study, date_format = check.study, check.date_format
    df["recipient"], df["buddy"] = normalise_pseudonyms(df["recipient"]), normalise_pseudonyms(df["buddy"])
    problems: list[RowProblem] = []
    for r in df.itertuples():
        row_problems = []
        recipient, buddy = check.people.get(r.recipient), check.people.get(r.buddy)
        for column, value, person in (("recipient", r.recipient, recipient), ("buddy", r.buddy, buddy)):
            if person is None:
                row_problems.append(
                    RowProblem(r.line, column, value, f"no person {value!r} in study {study.code}")
                )
        day, minutes = parse_date(r.contact_on, date_format), parse_int(r.minutes)
        if day is None:
            row_problems.append(
                RowProblem(r.line, "contact_on", r.contact_on, f"must be a date {date_hint(date_format)}")
            )
        if minutes is None:
            row_problems.append(RowProblem(r.line, "minutes", r.minutes, "must be a whole number of minutes"))
        # every None here was reported as a row problem above; naming them narrows the types
        if row_problems or recipient is None or buddy is None or day is None or minutes is None:
            problems += row_problems
            continue
        match = check.matches.get((recipient, buddy))
        if match is None:
            problems.append(
                RowProblem(r.line, "buddy", r.buddy, f"{r.recipient} has no match with {r.buddy}")
            )
            continue
        note = r.note or None
        key = (match.id, day, r.activity, minutes, note)
        if check.stored[key] > 0:
            check.stored[key] -= 1  # this row is already in the database
            check.unchanged += 1
            continue
        problem = contact_problem(study, match, day, r.activity, minutes, check.today)
        if problem is not None:
            problems.append(RowProblem(r.line, _column_of(problem), getattr(r, _column_of(problem)), problem))
            continue
        if keep:
            check.new_rows.append(
                dict(
                    study_id=study.id,
                    person_id=match.person_id,
                    match_id=match.id,
                    contact_on=day,
                    activity=r.activity,
                    minutes=minutes,
                    note=note,
                )
            )
    return problems


def contacts_template(session: Session, study: Study) -> pd.DataFrame:
    """A contact log to fill in: one row per active match (recipient and buddy filled, the
    rest empty)."""
    buddy = Person.__table__.alias("buddy")
    rows = session.execute(
        select(Person.pseudonym, buddy.c.pseudonym)
        .join(Match, Match.person_id == Person.id)
        .join(buddy, buddy.c.id == Match.buddy_id)
        .where(Match.study_id == study.id, Match.ended_on.is_(None))
        .order_by(Person.pseudonym)
    ).all()
    columns = list(CONTACT_COLUMNS) + list(OPTIONAL_COLUMNS)
    return pd.DataFrame([(rec, bud, "", "", "", "") for rec, bud in rows], columns=columns)

"""``peerstudy import contacts FILE.csv``: the contacts of matched pairs, from a contact log.

Buddies often keep their contact log on paper or in a spreadsheet; the coordinator enters it
in one go. Columns: ``recipient, buddy, contact_on, activity, minutes`` and optionally
``note``. Each row is one contact of the pair's match (the active one, else the latest), with
the same checks as ``peerstudy match contact`` (:func:`~study.companionship.relationships.log_contact`:
a configured activity, 1–1440 minutes, a date inside the match and not in the future).

Transactional (any bad row: nothing written, every problem named by row and column) and
idempotent: a contact already stored (same match, date, activity, minutes and note) is not
stored again, so the same file imported twice changes nothing; a row listed twice in the file
is two contacts.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.companionship.relationships import find_match, log_contact
from study.db.models import Match, MatchContact, Person, Study
from study.errors import BadInput, RowErrors, RowProblem
from study.fidelity.observation_import import ImportSummary
from study.imports import normalise_pseudonyms, parse_date, parse_int, read_table, source_name
from study.imports.cells import date_hint
from study.people import people_by_pseudonym
from study.studies import config_of

__all__ = ["CONTACT_COLUMNS", "contacts_template", "import_contacts"]

CONTACT_COLUMNS: tuple[str, ...] = ("recipient", "buddy", "contact_on", "activity", "minutes")
OPTIONAL_COLUMNS: tuple[str, ...] = ("note",)


def _column_of(message: str) -> str:
    """The file column a message of :func:`log_contact` is about."""
    if message.startswith("unknown activity"):
        return "activity"
    if message.startswith("minutes"):
        return "minutes"
    return "contact_on"


def import_contacts(
    session: Session,
    study: Study,
    source: str | Path | io.StringIO,
    today: dt.date | None = None,
) -> ImportSummary:
    """Import a contact log in the caller's unit of work (see the module docstring).

    Returns the rows read and the contacts ``created`` and ``unchanged`` (already stored).

    Raises
    ------
    RowErrors
        Every bad row; the caller's unit of work then writes nothing.
    """
    name = source_name(source)
    today = today or dt.date.today()
    date_format = config_of(study).imports.date_format
    df = read_table(source, CONTACT_COLUMNS, OPTIONAL_COLUMNS)
    df["recipient"], df["buddy"] = normalise_pseudonyms(df["recipient"]), normalise_pseudonyms(df["buddy"])
    problems: list[RowProblem] = []
    people = people_by_pseudonym(session, study, set(df["recipient"]) | set(df["buddy"]))
    # Contacts stored before, counted per identical (match, date, activity, minutes, note):
    # a file imported again finds all of its rows here.
    stored = Counter(
        session.execute(
            select(
                MatchContact.match_id,
                MatchContact.contact_on,
                MatchContact.activity,
                MatchContact.minutes,
                MatchContact.note,
            )
            .join(Match, Match.id == MatchContact.match_id)
            .where(MatchContact.study_id == study.id)
        )
        .tuples()
        .all()
    )
    created = unchanged = 0
    for r in df.itertuples():
        row_problems = []
        recipient, buddy = people.get(r.recipient), people.get(r.buddy)
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
        try:
            match = find_match(session, recipient, buddy)
        except BadInput as exc:
            problems.append(RowProblem(r.line, "buddy", r.buddy, str(exc)))
            continue
        note = r.note or None
        key = (match.id, day, r.activity, minutes, note)
        if stored[key] > 0:
            stored[key] -= 1  # this row is already in the database
            unchanged += 1
            continue
        try:
            log_contact(session, study, match, day, r.activity, minutes, note, today=today)
        except BadInput as exc:
            problems.append(
                RowProblem(r.line, _column_of(str(exc)), getattr(r, _column_of(str(exc))), str(exc))
            )
            continue
        created += 1
    if problems:
        raise RowErrors(name, sorted(problems, key=lambda p: (p.row, p.column)))
    return ImportSummary(rows=len(df), created=created, corrected=0, unchanged=unchanged)


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

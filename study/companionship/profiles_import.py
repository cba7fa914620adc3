"""``peerstudy import profiles FILE.csv``: companionship profiles of recipients and buddies.

The columns are the options of ``peerstudy match profile``: ``pseudonym, area, availability``
and optionally ``wishes, home_visits, prefer_gender, age_min, age_max, same_diagnosis,
diagnosis, max_matches, since``. Lists (availability slots, wishes, genders) are separated by
``;`` inside their cell (``mon_pm;thu_eve``); ``same_diagnosis`` is ``yes``/``no`` (empty:
no); ``since`` is the date a new profile joined the waitlist (empty: today).

Every row is checked as :func:`~study.companionship.profiles.set_profile` checks it (its
validation names every problem of a row; a new profile must be able to join the waitlist), and
the profiles and waitlist entries are written in audited bulk writes (:mod:`study.bulk_write`). Transactional (any bad row: nothing written, every problem
reported with its row; the file is read a chunk at a time and the reading stops after 50
problems unless ``--all-errors``) and idempotent: an unchanged profile is left alone, a changed one is
an audited correction, a new one joins the waitlist. The diagnosis, sensitive, is stored
only where matching uses it and redacted in the audit trail, as in the command.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.bulk_write import RowUpdate, insert_rows, update_rows
from study.codes import Role
from study.companionship.profiles import ProfileInput, ProfileProblems, profile_values
from study.companionship.waiting import waitlist_problem
from study.db.models import CompanionProfile, Match, Person, Study, WaitlistEntry
from study.errors import RowProblem
from study.fidelity.observation_import import ImportSummary
from study.imports import normalise_pseudonyms, parse_date, parse_int
from study.imports.bounded import BoundedCsv
from study.imports.cells import date_hint
from study.imports.keys import SeenKeys
from study.people import people_by_pseudonym
from study.studies import config_of

__all__ = ["PROFILE_COLUMNS", "import_profiles", "profiles_template"]

PROFILE_COLUMNS: tuple[str, ...] = ("pseudonym", "area", "availability")
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "wishes",
    "home_visits",
    "prefer_gender",
    "age_min",
    "age_max",
    "same_diagnosis",
    "diagnosis",
    "max_matches",
    "since",
)
_YES, _NO = frozenset({"yes", "y", "true", "1"}), frozenset({"no", "n", "false", "0", ""})


def _items(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _row_input(r, date_format: str = "iso") -> tuple[ProfileInput | None, dt.date | None, list[RowProblem]]:
    """The profile and waiting date of one row, or the problems of its cells."""
    problems = []
    numbers = {}
    for column in ("age_min", "age_max", "max_matches"):
        text = getattr(r, column)
        numbers[column] = parse_int(text) if text else None
        if text and numbers[column] is None:
            problems.append(RowProblem(r.line, column, text, "must be a whole number (or empty)"))
    same = r.same_diagnosis.lower()
    if same not in _YES | _NO:
        problems.append(
            RowProblem(r.line, "same_diagnosis", r.same_diagnosis, "must be yes or no (or empty)")
        )
    since = parse_date(r.since, date_format) if r.since else None
    if r.since and since is None:
        problems.append(
            RowProblem(r.line, "since", r.since, f"must be a date {date_hint(date_format)} (or empty)")
        )
    if problems:
        return None, None, problems
    profile = ProfileInput(
        area=r.area,
        wishes=_items(r.wishes),
        availability=_items(r.availability),
        home_visits=r.home_visits or "ok",
        preferred_genders=_items(r.prefer_gender),
        preferred_age_min=numbers["age_min"],
        preferred_age_max=numbers["age_max"],
        same_diagnosis_required=same in _YES,
        diagnosis=r.diagnosis or None,
        max_matches=numbers["max_matches"],
    )
    return profile, since, []


@dataclass
class _Check:
    """What the chunks of one profiles file are checked against, and what they gathered."""

    study: Study
    today: dt.date
    date_format: str
    #: pseudonyms of the study's people
    known: set[str]
    #: person id -> the stored profile's columns (:data:`_COLUMNS` and ``id``)
    stored: dict[int, dict[str, Any]]
    #: people with an open waiting period
    waiting: set[int]
    #: people in an active match
    matched: set[int]
    seen: SeenKeys = field(default_factory=SeenKeys)
    new_profiles: list[dict[str, Any]] = field(default_factory=list)
    new_entries: list[dict[str, Any]] = field(default_factory=list)
    updates: list[RowUpdate] = field(default_factory=list)
    unchanged: int = 0


#: The profile columns a file sets.
_COLUMNS = [c.key for c in CompanionProfile.__table__.columns if c.key not in ("id", "study_id", "person_id")]
#: The file's column of each :class:`ProfileInput` field (``person``: the row's pseudonym), so that a
#: profile's problems are named by the cell they are about.
_COLUMN_OF_FIELD = {
    "person": "pseudonym",
    "area": "area",
    "wishes": "wishes",
    "availability": "availability",
    "home_visits": "home_visits",
    "preferred_genders": "prefer_gender",
    "preferred_age_min": "age_min",
    "preferred_age_max": "age_max",
    "same_diagnosis_required": "same_diagnosis",
    "diagnosis": "diagnosis",
    "max_matches": "max_matches",
}


def import_profiles(
    session: Session,
    study: Study,
    source: str | Path | io.StringIO,
    today: dt.date | None = None,
    *,
    all_errors: bool = False,
) -> ImportSummary:
    """Import profiles in the caller's unit of work (see the module docstring).

    Returns the rows read and the profiles created, corrected and left unchanged. The file is
    read and checked a chunk at a time; after 50 problems the reading stops (``all_errors``:
    never).

    Raises
    ------
    RowErrors
        Every bad row (at most 50, with how many rows were not checked, unless
        ``all_errors``); the caller's unit of work then writes nothing.
    """
    profile = CompanionProfile.__table__
    check = _Check(
        study=study,
        today=today or dt.date.today(),
        date_format=config_of(study).imports.date_format,
        known=set(session.scalars(select(Person.pseudonym).where(Person.study_id == study.id))),
        stored={
            r.person_id: dict(r._mapping)
            for r in session.execute(
                select(profile.c.id, profile.c.person_id, *(profile.c[c] for c in _COLUMNS)).where(
                    profile.c.study_id == study.id
                )
            )
        },
        waiting=set(
            session.scalars(
                select(WaitlistEntry.person_id).where(
                    WaitlistEntry.study_id == study.id, WaitlistEntry.left_on.is_(None)
                )
            )
        ),
        matched={
            person_id
            for pair in session.execute(
                select(Match.person_id, Match.buddy_id).where(
                    Match.study_id == study.id, Match.ended_on.is_(None)
                )
            )
            for person_id in pair
        },
    )
    read = BoundedCsv(source, PROFILE_COLUMNS, OPTIONAL_COLUMNS, all_errors=all_errors)
    for chunk in read.chunks():
        read.add(_chunk_problems(session, chunk, check))
    read.finish()
    # audited bulk writes; a new profile joins the waitlist (the caller's unit of work
    # commits or rolls back it all)
    insert_rows(session, CompanionProfile, check.new_profiles)
    update_rows(session, CompanionProfile, check.updates)
    insert_rows(session, WaitlistEntry, check.new_entries)
    return ImportSummary(
        rows=read.rows,
        created=len(check.new_profiles),
        corrected=len(check.updates),
        unchanged=check.unchanged,
    )


def _chunk_problems(session: Session, df: pd.DataFrame, check: _Check) -> list[RowProblem]:
    """The problems of one chunk's rows; its new and changed profiles join ``check``."""
    study = check.study
    df["pseudonym"] = normalise_pseudonyms(df["pseudonym"])
    problems = check.seen.problems(df[["pseudonym"]], df["line"], "pseudonym", df["pseudonym"], "pseudonym")
    repeated = {p.row for p in problems}
    people = people_by_pseudonym(session, study, set(df["pseudonym"]) & check.known)
    for r in df[~df["line"].isin(repeated)].itertuples():
        person = people.get(r.pseudonym)
        if person is None:
            problems.append(
                RowProblem(
                    r.line, "pseudonym", r.pseudonym, f"no person {r.pseudonym!r} in study {study.code}"
                )
            )
            continue
        profile, since, cell_problems = _row_input(r, check.date_format)
        if cell_problems:
            problems += cell_problems
            continue
        # cannot be None: _row_input gives no profile only together with cell problems
        assert profile is not None
        try:
            values = profile_values(study, person, profile)
        except ProfileProblems as exc:
            problems += [
                RowProblem(r.line, _COLUMN_OF_FIELD[field], getattr(r, _COLUMN_OF_FIELD[field]), text)
                for field, text in exc.problems
            ]
            continue
        stored = check.stored.get(person.id)
        if stored is not None:
            old = {c: stored[c] for c in _COLUMNS}
            new = {c: v for c, v in values.items() if old[c] != v}
            if new:
                check.updates.append(
                    RowUpdate(stored["id"], {c: old[c] for c in new}, new, study.id, person.id)
                )
            else:
                check.unchanged += 1
            continue
        since = since or check.today
        problem = waitlist_problem(
            person,
            since,
            since,
            check.today,
            waiting=person.id in check.waiting,
            matched=person.role == Role.PARTICIPANT and person.id in check.matched,
        )
        if problem is not None:
            # a date in the future is the since cell's; already waiting or matched, the person's
            column = "since" if since > check.today else "pseudonym"
            problems.append(RowProblem(r.line, column, getattr(r, column), problem))
            continue
        check.new_profiles.append(dict(study_id=study.id, person_id=person.id, **values))
        check.new_entries.append(
            dict(study_id=study.id, person_id=person.id, since=since, entered_on=since, top=False)
        )
    return problems


def profiles_template(session: Session, study: Study) -> pd.DataFrame:
    """A profile sheet: the columns of the import, one row per participant and peer buddy
    without a profile yet (pseudonym filled in)."""
    have = select(CompanionProfile.person_id).where(CompanionProfile.study_id == study.id)
    pseudonyms = session.scalars(
        select(Person.pseudonym)
        .where(
            Person.study_id == study.id,
            Person.role.in_(["participant", "peer_buddy"]),
            Person.id.not_in(have),
        )
        .order_by(Person.role.desc(), Person.pseudonym)
    ).all()
    columns = list(PROFILE_COLUMNS) + list(OPTIONAL_COLUMNS)
    frame = pd.DataFrame("", index=range(len(pseudonyms)), columns=columns)
    frame["pseudonym"] = pseudonyms
    return frame

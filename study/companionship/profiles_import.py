"""``peerstudy import profiles FILE.csv``: companionship profiles of recipients and buddies.

The columns are the options of ``peerstudy match profile``: ``pseudonym, area, availability``
and optionally ``wishes, home_visits, prefer_gender, age_min, age_max, same_diagnosis,
diagnosis, max_matches, since``. Lists (availability slots, wishes, genders) are separated by
``;`` inside their cell (``mon_pm;thu_eve``); ``same_diagnosis`` is ``yes``/``no`` (empty:
no); ``since`` is the date a new profile joined the waitlist (empty: today).

Every row goes through :func:`~study.companionship.profiles.set_profile` (its validation
names every problem of a row). Transactional (any bad row: nothing written, every problem
reported with its row; the file is read a chunk at a time and the reading stops after 50
problems unless ``--all-errors``) and idempotent: an unchanged profile is left alone, a changed one is
an audited correction, a new one joins the waitlist. The diagnosis, sensitive, is stored
only where matching uses it and redacted in the audit trail, as in the command.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.companionship.profiles import ProfileInput, set_profile
from study.db.models import CompanionProfile, Person, Study
from study.errors import BadInput, RowProblem
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
    today = today or dt.date.today()
    read = BoundedCsv(source, PROFILE_COLUMNS, OPTIONAL_COLUMNS, all_errors=all_errors)
    date_format = config_of(study).imports.date_format
    known = set(session.scalars(select(Person.pseudonym).where(Person.study_id == study.id)))
    seen = SeenKeys()
    columns = [
        c.key for c in CompanionProfile.__table__.columns if c.key not in ("id", "study_id", "person_id")
    ]
    counts = {"created": 0, "corrected": 0, "unchanged": 0}
    for df in read.chunks():
        df["pseudonym"] = normalise_pseudonyms(df["pseudonym"])
        problems = seen.problems(df[["pseudonym"]], df["line"], "pseudonym", df["pseudonym"], "pseudonym")
        repeated = {p.row for p in problems}
        people = people_by_pseudonym(session, study, set(df["pseudonym"]) & known)
        for r in df[~df["line"].isin(repeated)].itertuples():
            person = people.get(r.pseudonym)
            if person is None:
                problems.append(
                    RowProblem(
                        r.line, "pseudonym", r.pseudonym, f"no person {r.pseudonym!r} in study {study.code}"
                    )
                )
                continue
            profile, since, cell_problems = _row_input(r, date_format)
            if cell_problems:
                problems += cell_problems
                continue
            # cannot be None: _row_input gives no profile only together with cell problems
            assert profile is not None
            before = session.scalar(select(CompanionProfile).where(CompanionProfile.person_id == person.id))
            old = None if before is None else {c: getattr(before, c) for c in columns}
            try:
                row = set_profile(session, study, person, profile, waiting_since=since, today=today)
            except BadInput as exc:
                problems.append(RowProblem(r.line, "(row)", r.pseudonym, str(exc)))
                continue
            new = {c: getattr(row, c) for c in columns}
            counts["created" if old is None else ("unchanged" if old == new else "corrected")] += 1
        read.add(problems)
    read.finish()
    return ImportSummary(rows=read.rows, **counts)


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

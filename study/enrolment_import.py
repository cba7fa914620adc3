"""Import of screened people from CSV: ``peerstudy import participants FILE.csv``.

The file has exactly the columns
``pseudonym,site,role,birth_date,municipality,screened_on,consent_on,exclusions`` followed by
the stratification columns the study's configuration names (e.g. ``gender``). Dates are ISO
8601 (``2025-09-14``; ``DD-MM-YYYY`` too when ``imports.date_format`` says so); ``exclusions``
holds ``;``-separated flags and may be empty. Pseudonyms are stored trimmed and upper-case.
The file is read by the shared import kit (:mod:`study.imports`: UTF-8, ``,`` or ``;``, cell
length limits, no control characters).

Two layers: :func:`participant_problems` is pure (a DataFrame in, every problem out, checked
column by column with pandas), :func:`import_participants` writes. The import is one
transaction: one bad row rejects the whole file. Re-importing the same file changes nothing
(and writes no audit event); a changed value for a known person is an audited correction.
Birth dates go to the identity table, stratification values to person attributes, and the
eligibility result with every reason to the enrolment.
"""

from __future__ import annotations

__all__ = [
    "BASE_COLUMNS",
    "ImportSummary",
    "expected_columns",
    "import_participant_file",
    "import_participants",
    "participant_problems",
    "read_participants_csv",
]

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.bulk_write import RowUpdate, insert_rows, update_rows
from study.config import ROLE_CODES, StudyConfig
from study.corrections import WATCHED_FACTS, changed_facts, stored_facts
from study.db.models import Allocation, Enrolment, Person, PersonAttribute, PersonIdentity, Study
from study.eligibility import age_on, ineligibility_reasons
from study.errors import RowErrors, RowProblem
from study.imports import cell_problems, normalise_pseudonyms, parse_dates, read_csv_table
from study.imports.bounded import read_bounded
from study.imports.cells import date_hint
from study.imports.limits import CODE_LIMIT
from study.people import Identity
from study.phase_guard import require_phase
from study.sap import record_deviation
from study.stratification import allowed_levels, normalise_levels
from study.studies import config_of, sites_by_id

#: The fixed columns of the file, in order (a contract).
BASE_COLUMNS = [
    "pseudonym",
    "site",
    "role",
    "birth_date",
    "municipality",
    "screened_on",
    "consent_on",
    "exclusions",
]
_PSEUDONYM = r"^[A-Z0-9][A-Z0-9_-]{0,63}$"
_FLAG = r"^[a-z][a-z0-9_]*$"
#: Columns of the ``existing`` frame :func:`participant_problems` compares with.
EXISTING_COLUMNS = ["pseudonym", "site", "role", "allocated"]


def expected_columns(config: StudyConfig) -> list[str]:
    """The file's columns for this study: the fixed ones, then the stratification columns."""
    return BASE_COLUMNS + list(config.stratification)


def read_participants_csv(path: str | Path) -> pd.DataFrame:
    """Read the file with every cell as text (empty cells as ``""``, nothing guessed) and
    the file's row numbers in ``line`` (:func:`study.imports.read_csv_table`)."""
    return read_csv_table(path, require_rows=False).frame


def import_participant_file(
    session: Session,
    study: Study,
    path: str | Path,
    *,
    today: dt.date | None = None,
    reason: str | None = None,
    actor: str = "import",
    all_errors: bool = False,
) -> ImportSummary:
    """:func:`import_participants` of a file read in chunks, each checked as it is read: after
    50 problems the reading stops (``all_errors``: never) and :class:`RowErrors` says how many
    rows were not checked."""
    config = config_of(study)
    table = read_bounded(
        path,
        lambda chunk: participant_problems(chunk, config, today=today),
        all_errors=all_errors,
        require_rows=False,
    )
    return import_participants(
        session, study, table.frame, source=table.source, today=today, reason=reason, actor=actor
    )


def participant_problems(
    data: pd.DataFrame,
    config: StudyConfig,
    existing: pd.DataFrame | None = None,
    today: dt.date | None = None,
) -> list[RowProblem]:
    """Every problem of a participants file (empty list: the file is good).

    Parameters
    ----------
    data
        The file read with :func:`read_participants_csv` (text cells).
    config
        The study's configuration (sites, roles, exclusion flags, stratification).
    existing
        People already in the study named in the file, columns ``pseudonym, site, role,
        allocated`` (a person's site and role cannot change by import; consent of a
        randomised person cannot be removed).
    today
        The date after which no date may lie (default: today).

    Returns
    -------
    list of RowProblem
        Sorted by row and column; row numbers are the file's (the header is row 1).
    """
    today = pd.Timestamp(today or dt.date.today())
    wanted = expected_columns(config)
    header = [RowProblem(1, c, "", "required column is missing") for c in wanted if c not in data.columns]
    header += [
        RowProblem(1, c, "", f"unknown column (the columns are {','.join(wanted)})")
        for c in data.columns
        if c not in wanted and c != "line"
    ]
    if header:
        return header
    if data.empty:
        return [RowProblem(2, "(file)", "", "the file has a header but no rows: nothing to import")]
    df = data[wanted].astype(str).apply(lambda s: s.str.strip())
    row = data["line"].astype(int) if "line" in data else pd.Series(range(2, len(df) + 2), index=df.index)
    # Cells too long or with control characters are reported alone: nothing else is sure of them.
    problems: list[RowProblem] = cell_problems(
        df, row, wanted, extra_limits=dict.fromkeys(config.stratification, CODE_LIMIT)
    )
    if problems:
        return sorted(problems, key=lambda p: (p.row, wanted.index(p.column)))
    df["pseudonym"] = normalise_pseudonyms(df["pseudonym"])
    date_format = config.imports.date_format

    def flag(column: str, bad, reason: str | pd.Series) -> None:
        bad = pd.Series(bad, index=df.index).fillna(False).astype(bool)
        for i in df.index[bad]:
            text = reason if isinstance(reason, str) else str(reason[i])
            problems.append(RowProblem(int(row[i]), column, df.at[i, column], text))

    # pseudonym: present, well formed, once per file
    flag("pseudonym", df["pseudonym"] == "", "required")
    flag(
        "pseudonym",
        (df["pseudonym"] != "") & ~df["pseudonym"].str.match(_PSEUDONYM),
        "letters, digits, '-' and '_' only (at most 64)",
    )
    first_row = row.groupby(df["pseudonym"]).transform("min")
    flag(
        "pseudonym",
        (df["pseudonym"] != "") & df["pseudonym"].duplicated(),
        "duplicate in this file (first on row " + first_row.astype(str) + "); pseudonyms ignore case",
    )
    # site and role: known codes
    flag("site", ~df["site"].isin(config.site_codes), f"unknown site (sites: {', '.join(config.site_codes)})")
    flag("role", ~df["role"].isin(ROLE_CODES), f"unknown role (roles: {', '.join(ROLE_CODES)})")
    # dates: strict ISO, none in the future, in order
    birth, screened, consent = (
        parse_dates(df[c], date_format) for c in ("birth_date", "screened_on", "consent_on")
    )
    for col, parsed, required in (
        ("birth_date", birth, False),
        ("screened_on", screened, True),
        ("consent_on", consent, False),
    ):
        given = df[col] != ""
        flag(col, given & parsed.isna(), f"not an ISO 8601 date ({date_hint(date_format)}, e.g. 2026-02-03)")
        flag(col, parsed > today, "in the future")
        if required:
            flag(col, ~given, "required")
    flag("birth_date", birth > screened, "after the screening date")
    flag("consent_on", consent < screened, "before the screening date")
    # exclusions: known flags only (a misspelt flag would silently let someone in)
    known = sorted({f for role in config.roles.values() for f in role.eligibility.exclusions})
    flags = df["exclusions"].str.split(";").explode().str.strip()
    flags = flags[flags != ""]
    bad_flags = flags[~flags.str.match(_FLAG) | ~flags.isin(known)]
    flag(
        "exclusions",
        df.index.isin(bad_flags.index),
        f"unknown exclusion flag (known: {', '.join(known) or 'none'})",
    )
    # stratification: no separator; declared levels only; factors required for participants
    for col in config.stratification:
        flag(col, df[col].str.contains("|", regex=False), "must not contain '|'")
        allowed = allowed_levels(col, config)
        flag(col, normalise_levels(df[col], col, config).isna(), f"not a declared level (allowed: {allowed})")
        if col in config.randomisation.factors:
            flag(
                col,
                (df["role"] == "participant") & (df[col] == ""),
                "required for participants (a stratification factor"
                + (f"; allowed: {allowed})" if allowed else ")"),
            )
    # people already in the study
    if existing is not None and not existing.empty:
        known_people = existing.set_index("pseudonym")
        here = df["pseudonym"].isin(known_people.index)
        for col in ("site", "role"):
            was = df["pseudonym"].map(known_people[col])
            flag(
                col,
                here & (df[col] != was),
                f"differs from the stored {col} "
                + was.fillna("").astype(str)
                + f" (a person's {col} cannot be changed by import)",
            )
        allocated = df["pseudonym"].map(known_people["allocated"]).fillna(False).astype(bool)
        flag(
            "consent_on",
            allocated & (df["consent_on"] == ""),
            "this person is randomised: consent cannot be removed",
        )
    return sorted(
        problems, key=lambda p: (p.row, BASE_COLUMNS.index(p.column) if p.column in BASE_COLUMNS else 99)
    )


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: people added, people corrected, rows unchanged, and how many of
    the rows' people are eligible."""

    added: int
    corrected: int
    unchanged: int
    eligible: int
    ineligible: int

    def __str__(self) -> str:
        return (
            f"{self.added} added, {self.corrected} corrected, {self.unchanged} unchanged "
            f"({self.eligible} eligible, {self.ineligible} ineligible)"
        )


def _existing(
    session: Session, study: Study, pseudonyms: list[str]
) -> tuple[pd.DataFrame, dict[str, Person]]:
    sites = {s.id: s.code for s in sites_by_id(session, study).values()}
    # The study's people, kept when named in the file (no IN list of every pseudonym: SQLite
    # takes at most 32,766 parameters in a statement).
    wanted = set(pseudonyms)
    people = {
        p.pseudonym: p
        for p in session.scalars(select(Person).where(Person.study_id == study.id))
        if p.pseudonym in wanted
    }
    allocated = set(session.scalars(select(Allocation.person_id).where(Allocation.study_id == study.id)))
    frame = pd.DataFrame(
        [(p.pseudonym, sites[p.site_id], p.role, p.id in allocated) for p in people.values()],
        columns=EXISTING_COLUMNS,
    )
    return frame, people


def _screening(
    config: StudyConfig,
    site: str,
    role: str,
    birth: dt.date | None,
    screened_on: dt.date,
    municipality: str | None,
    flags: list[str],
):
    """(age at screening, eligible, reasons as JSON) by the role's rules."""
    age = age_on(birth, screened_on) if birth else None
    rules = config.roles.get(role)
    reasons = (
        ineligibility_reasons(rules.eligibility, age, municipality, config.site(site).municipalities, flags)
        if rules
        else []
    )
    return age, not reasons, json.dumps(reasons, ensure_ascii=False)


def _as_stored(df: pd.DataFrame, date_format: str) -> pd.DataFrame:
    """The file's watched dates written as they are stored (ISO), whatever format the file
    used, so a Danish-format date that names the same day is not taken for a correction."""
    if date_format == "iso":
        return df
    out = df.copy()
    for col in ("birth_date", "screened_on", "consent_on"):
        parsed = parse_dates(out[col], date_format)
        out[col] = parsed.dt.strftime("%Y-%m-%d").fillna("")
    return out


def import_participants(
    session: Session,
    study: Study,
    data: pd.DataFrame,
    source: str = "participants file",
    today: dt.date | None = None,
    reason: str | None = None,
    actor: str = "import",
) -> ImportSummary:
    """Validate and import a participants file in the caller's unit of work.

    New people are added, screened and (when consent is given) consented in the study's
    current phase (pilot or rct); known people are corrected where a value differs. Raises
    :class:`~study.errors.RowErrors` with every problem and writes nothing when any row is bad.
    A correction of a *randomised* participant's consent date, eligibility facts or
    stratification factors needs ``reason``; it is then recorded as a protocol deviation
    (:mod:`study.corrections`).
    """
    require_phase(study, "pilot", "rct", action="importing participants")
    config = config_of(study)
    pseudonyms = normalise_pseudonyms(data["pseudonym"]).tolist() if "pseudonym" in data else []
    existing, people = _existing(session, study, pseudonyms)
    problems = participant_problems(data, config, existing, today=today)
    if problems:
        raise RowErrors(source, problems)
    df = data[expected_columns(config)].astype(str).apply(lambda s: s.str.strip())
    df["pseudonym"] = normalise_pseudonyms(df["pseudonym"])
    date_format = config.imports.date_format
    for col in config.stratification:  # stored as the declared level's code
        df[col] = normalise_levels(df[col], col, config)
    watched = [*WATCHED_FACTS, *config.stratification]
    corrections = changed_facts(
        stored_facts(session, study, pseudonyms, config), _as_stored(df, date_format), watched
    )
    if not corrections.empty and not (reason or "").strip():
        rows = {p: i + 2 for i, p in enumerate(df["pseudonym"])}
        raise RowErrors(
            source,
            [
                RowProblem(
                    rows[c.pseudonym],
                    c.column,
                    c.new,
                    f"{c.pseudonym} is randomised: changing {c.old or 'nothing'!r} needs a reason (--reason)",
                )
                for c in corrections.itertuples(index=False)
            ],
        )
    site_ids = {site.code: site_id for site_id, site in sites_by_id(session, study).items()}
    # Dates parsed column by column (strict, as the checks above read them), as date or None.
    dates = {
        col: _date_objects(parse_dates(df[col], date_format))
        for col in ("birth_date", "screened_on", "consent_on")
    }
    columns = {
        col: df[col].tolist()
        for col in ["pseudonym", "site", "role", "municipality", "exclusions", *config.stratification]
    }
    screenings = []
    for k, pseudonym in enumerate(columns["pseudonym"]):
        site, role = columns["site"][k], columns["role"][k]
        birth, screened_on = dates["birth_date"][k], dates["screened_on"][k]
        # cannot be None: participant_problems rejects an empty or unparsable screened_on
        assert screened_on is not None
        municipality = columns["municipality"][k] or None
        flags = [f.strip() for f in columns["exclusions"][k].split(";") if f.strip()]
        age, is_eligible, reasons = _screening(config, site, role, birth, screened_on, municipality, flags)
        screenings.append(
            dict(
                pseudonym=pseudonym,
                site=site,
                role=role,
                birth_date=birth,
                attributes={c: columns[c][k] for c in config.stratification if columns[c][k]},
                screening=dict(
                    screened_on=screened_on,
                    age_at_screening=age,
                    municipality=municipality,
                    eligible=is_eligible,
                    ineligibility_reasons=reasons,
                    consent_on=dates["consent_on"][k],
                ),
            )
        )
    eligible = sum(r["screening"]["eligible"] for r in screenings)
    new_people = [r for r in screenings if r["pseudonym"] not in people]
    _add_people(session, study, new_people, site_ids)
    corrected = _correct_people(session, study, [r for r in screenings if r["pseudonym"] in people], people)
    added = len(new_people)
    for c in corrections.itertuples(index=False):
        # cannot be None: corrections without a reason were raised as row errors above
        assert reason is not None
        record_deviation(
            session,
            study,
            "correction_after_allocation",
            f"{c.column} corrected after allocation: {c.old or '(empty)'} → {c.new or '(empty)'}",
            reason,
            actor,
            person=people[c.pseudonym],
        )
    session.flush()
    return ImportSummary(added, corrected, len(df) - added - corrected, eligible, len(df) - eligible)


def _date_objects(parsed: pd.Series) -> list[dt.date | None]:
    """``datetime64`` values as ``datetime.date`` (``None`` for ``NaT``), as the ORM holds them."""
    return [None if pd.isna(v) else v.date() for v in parsed.dt.to_pydatetime()]


def _add_people(session: Session, study: Study, records: list[dict], site_ids: dict[str, int]) -> None:
    """Register new people with identity, attributes and enrolment: four audited bulk
    inserts (the same rows and events as :func:`study.people.add_person` and an
    ``Enrolment`` per person)."""
    if not records:
        return
    ids = insert_rows(
        session,
        Person,
        [
            dict(study_id=study.id, pseudonym=r["pseudonym"], role=r["role"], site_id=site_ids[r["site"]])
            for r in records
        ],
    )
    blank = Identity()
    insert_rows(
        session,
        PersonIdentity,
        [
            dict(blank.__dict__, person_id=person_id, study_id=study.id, birth_date=r["birth_date"])
            for person_id, r in zip(ids, records)
        ],
    )
    insert_rows(
        session,
        PersonAttribute,
        [
            dict(study_id=study.id, person_id=person_id, name=name, value=value)
            for person_id, r in zip(ids, records)
            for name, value in r["attributes"].items()
        ],
    )
    insert_rows(
        session,
        Enrolment,
        [
            dict(
                study_id=study.id,
                person_id=person_id,
                phase=study.current_phase,
                withdrawn_on=None,
                withdrawal_reason=None,
                **r["screening"],
            )
            for person_id, r in zip(ids, records)
        ],
    )


def _correct_people(session: Session, study: Study, records: list[dict], people: dict[str, Person]) -> int:
    """Bring known people's identity, attributes and screening in line with the file, in
    audited bulk writes; returns how many people changed (an unchanged row writes nothing)."""
    if not records:
        return 0
    person_ids = [people[r["pseudonym"]].id for r in records]
    identity_table, attribute_table, enrolment_table = (
        PersonIdentity.__table__,
        PersonAttribute.__table__,
        Enrolment.__table__,
    )
    births = {
        row.person_id: row.birth_date
        for row in session.execute(
            select(identity_table.c.person_id, identity_table.c.birth_date).where(
                identity_table.c.study_id == study.id
            )
        )
    }
    stored_attributes = {
        (row.person_id, row.name): row
        for row in session.execute(
            select(
                attribute_table.c.id,
                attribute_table.c.person_id,
                attribute_table.c.name,
                attribute_table.c.value,
            ).where(attribute_table.c.study_id == study.id)
        )
    }
    screening_fields = list(records[0]["screening"])
    enrolments = {
        row.person_id: row
        for row in session.execute(
            select(
                enrolment_table.c.id,
                enrolment_table.c.person_id,
                *(enrolment_table.c[f] for f in screening_fields),
            ).where(enrolment_table.c.study_id == study.id)
        )
    }
    changed: set[int] = set()
    new_identities, identity_updates, new_attributes, attribute_updates = [], [], [], []
    new_enrolments, enrolment_updates = [], []
    for person_id, r in zip(person_ids, records):
        scope = dict(study_id=study.id, person_id=person_id)
        if person_id not in births:
            new_identities.append(
                dict(Identity().__dict__, person_id=person_id, study_id=study.id, birth_date=r["birth_date"])
            )
            if r["birth_date"] is not None:
                changed.add(person_id)
        elif births[person_id] != r["birth_date"]:
            identity_updates.append(
                RowUpdate(
                    key=person_id,
                    old={"birth_date": births[person_id]},
                    new={"birth_date": r["birth_date"]},
                    **scope,
                )
            )
            changed.add(person_id)
        for name, value in r["attributes"].items():
            stored = stored_attributes.get((person_id, name))
            if stored is None:
                new_attributes.append(dict(name=name, value=value, **scope))
                changed.add(person_id)
            elif stored.value != value:
                attribute_updates.append(
                    RowUpdate(key=stored.id, old={"value": stored.value}, new={"value": value}, **scope)
                )
                changed.add(person_id)
        enrolment = enrolments.get(person_id)
        if enrolment is None:
            new_enrolments.append(
                dict(
                    phase=study.current_phase,
                    withdrawn_on=None,
                    withdrawal_reason=None,
                    **scope,
                    **r["screening"],
                )
            )
            changed.add(person_id)
            continue
        old = {f: getattr(enrolment, f) for f in screening_fields}
        new = {f: v for f, v in r["screening"].items() if old[f] != v}
        if new:
            enrolment_updates.append(RowUpdate(key=enrolment.id, old=old, new=new, **scope))
            changed.add(person_id)
    insert_rows(session, PersonIdentity, new_identities)
    update_rows(session, PersonIdentity, identity_updates)
    insert_rows(session, PersonAttribute, new_attributes)
    update_rows(session, PersonAttribute, attribute_updates)
    insert_rows(session, Enrolment, new_enrolments)
    update_rows(session, Enrolment, enrolment_updates)
    return len(changed)

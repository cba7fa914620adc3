"""``peerstudy import attendance FILE.csv``: who came to which session.

Columns: ``group, week, pseudonym, status`` and optionally ``held_on``.

- ``status`` ``present`` or ``absent`` for a member of the group;
- ``status`` ``cancelled`` marks the whole session as cancelled (``pseudonym`` may be empty;
  every row of a cancelled session must say ``cancelled``); attendance recorded earlier for
  that session is removed (audited);
- ``held_on`` (YYYY-MM-DD, optional) the date the session was actually held, when it differs
  from the planned weekly date.

Transactional (any bad row: nothing written, every problem reported; the file is read a chunk
at a time and the reading stops after 50 problems unless ``--all-errors``) and idempotent (the
same file again changes nothing; a changed status is an audited correction).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from study.bulk_write import RowUpdate, insert_rows, update_rows
from study.db.models import Attendance, CourseGroup, GroupMember, GroupSession, Person, Site, Study
from study.errors import RowProblem
from study.fidelity.observation_import import ImportSummary
from study.fidelity.session_dates import group_window
from study.imports import normalise_pseudonyms, parse_date, parse_ints
from study.imports.bounded import BoundedCsv
from study.imports.cells import date_hint
from study.imports.keys import SeenKeys
from study.studies import config_of

__all__ = ["ATTENDANCE_COLUMNS", "ATTENDANCE_STATUSES", "attendance_template", "import_attendance"]

ATTENDANCE_COLUMNS: tuple[str, ...] = ("group", "week", "pseudonym", "status")
OPTIONAL_COLUMNS: tuple[str, ...] = ("held_on",)
ATTENDANCE_STATUSES: tuple[str, ...] = ("present", "absent", "cancelled")


@dataclass
class _Check:
    """What the chunks of one file are checked against, and what they gathered so far."""

    study: Study
    restrict_to_site: str | None
    today: dt.date
    date_format: str
    #: group code -> (group, site code)
    groups: dict[str, tuple[CourseGroup, str]]
    #: (group id, week) -> session
    sessions: dict[tuple[int, int], GroupSession]
    #: (group id, pseudonym) -> person id of the group's members
    member_ids: dict[tuple[int, str], int]
    #: (group code, week) -> what the file says of that session (rows of every chunk)
    plans: dict[tuple[str, int], dict] = field(default_factory=dict)
    seen: SeenKeys = field(default_factory=SeenKeys)


def import_attendance(
    session: Session,
    study: Study,
    source: str | Path | io.StringIO,
    restrict_to_site: str | None = None,
    today: dt.date | None = None,
    *,
    all_errors: bool = False,
) -> ImportSummary:
    """Import an attendance CSV in the caller's unit of work (see the module docstring).

    ``restrict_to_site``: site code of a coordinator who may record only their own site.
    Counts in the summary are attendance records (and cancelled sessions). The file is read
    and checked a chunk at a time; after 50 problems the reading stops (``all_errors``: never).

    Raises
    ------
    RowErrors
        Every bad row (at most 50, with how many rows were not checked, unless
        ``all_errors``); nothing is written.
    """
    read = BoundedCsv(source, ATTENDANCE_COLUMNS, OPTIONAL_COLUMNS, all_errors=all_errors)
    check = _Check(
        study=study,
        restrict_to_site=restrict_to_site,
        today=today or dt.date.today(),
        date_format=config_of(study).imports.date_format,
        groups={
            g.code: (g, site)
            for g, site in session.execute(
                select(CourseGroup, Site.code)
                .join(Site, Site.id == CourseGroup.site_id)
                .where(CourseGroup.study_id == study.id)
            ).all()
        },
        sessions={
            (s.group_id, s.week): s
            for s in session.scalars(select(GroupSession).where(GroupSession.study_id == study.id))
        },
        member_ids={
            (group_id, pseudonym): person_id
            for group_id, pseudonym, person_id in session.execute(
                select(GroupMember.group_id, Person.pseudonym, Person.id)
                .join(Person, Person.id == GroupMember.person_id)
                .where(GroupMember.study_id == study.id)
            ).all()
        },
    )
    for chunk in read.chunks():
        read.add(_chunk_problems(chunk, check))
    read.finish()
    return _write(session, study, check, read.rows)


def _chunk_problems(df: pd.DataFrame, check: _Check) -> list[RowProblem]:
    """The problems of one chunk's rows; the rows that are right join their session's plan."""
    study, groups, sessions, plans = check.study, check.groups, check.sessions, check.plans
    date_format = check.date_format
    df["pseudonym"] = normalise_pseudonyms(df["pseudonym"])
    problems: list[RowProblem] = []
    bad = lambda row, col, val, why: problems.append(RowProblem(int(row), col, str(val), why))  # noqa: E731

    # 1. cell checks (vectorised where it is a plain lookup)
    df["status"] = df["status"].str.lower()
    weeks = parse_ints(df["week"])
    df["week_n"] = weeks.astype(object).where(weeks.notna(), None)
    df["held_date"] = df["held_on"].map(lambda t: parse_date(t, date_format) if t else None)
    for r in df[df["week"].ne("") & df["week_n"].isna()].itertuples():
        bad(r.line, "week", r.week, "must be a whole number (the week of the course)")
    for r in df[~df["group"].isin(groups)].itertuples():
        bad(r.line, "group", r.group, f"no group {r.group!r} in study {study.code}")
    for r in df[~df["status"].isin(ATTENDANCE_STATUSES)].itertuples():
        bad(r.line, "status", r.status, f"must be one of {', '.join(ATTENDANCE_STATUSES)}")
    for r in df[df["held_on"].ne("") & df["held_date"].isna()].itertuples():
        bad(r.line, "held_on", r.held_on, f"must be a date {date_hint(date_format)} (or empty)")
    for r in df[(df["pseudonym"] == "") & df["status"].isin(["present", "absent"])].itertuples():
        bad(r.line, "pseudonym", "", "is required for present and absent")
    named = df[df["pseudonym"] != ""]
    problems += check.seen.problems(
        named[["group", "week_n", "pseudonym"]].astype(object),
        named["line"],
        "pseudonym",
        named["pseudonym"],
        "group, week and pseudonym",
    )

    # 2. row checks that need the group
    for r in df.itertuples():
        if r.group not in groups or r.status not in ATTENDANCE_STATUSES or r.week_n is None:
            continue
        group, site = groups[r.group]
        if check.restrict_to_site is not None and site != check.restrict_to_site:
            bad(
                r.line,
                "group",
                r.group,
                f"group {r.group} is at site {site}; you may record only {check.restrict_to_site}",
            )
            continue
        gs = sessions.get((group.id, r.week_n)) if r.week_n is not None else None
        if gs is None:
            bad(
                r.line,
                "week",
                r.week,
                f"group {r.group} has no session in week {r.week} (weeks 1–{_weeks(sessions, group.id)})",
            )
            continue
        if r.pseudonym and (group.id, r.pseudonym) not in check.member_ids:
            bad(r.line, "pseudonym", r.pseudonym, f"is not a member of group {r.group}")
            continue
        plan = plans.setdefault(
            (r.group, r.week_n),
            {"session": gs, "group": group, "held_on": None, "statuses": {}, "cancelled": None},
        )
        cancelled = r.status == "cancelled"
        if plan["cancelled"] is None:
            plan["cancelled"] = (cancelled, r.line)
        elif plan["cancelled"][0] != cancelled:
            bad(
                r.line,
                "status",
                r.status,
                f"row {plan['cancelled'][1]} says the session was "
                f"{'cancelled' if plan['cancelled'][0] else 'held'}; a session is either held or cancelled",
            )
            continue
        if r.held_date is not None:
            window = group_window(group.start_date, _weeks(sessions, group.id))
            if not window.contains(r.held_date):
                bad(r.line, "held_on", r.held_on, f"outside the dates of group {r.group} ({window})")
                continue
            if plan["held_on"] is not None and plan["held_on"][0] != r.held_date:
                bad(r.line, "held_on", r.held_on, f"row {plan['held_on'][1]} gives {plan['held_on'][0]}")
                continue
            plan["held_on"] = (r.held_date, r.line)
        held_on = plan["held_on"][0] if plan["held_on"] else gs.held_on
        if not cancelled and held_on > check.today:
            column, value = ("held_on", r.held_on) if r.held_on else ("week", r.week)
            bad(
                r.line,
                column,
                value,
                f"the session of {r.group} week {r.week_n} is dated {held_on}, in the future",
            )
            continue
        if not cancelled:
            plan["statuses"][r.pseudonym] = r.status
    return problems


def _write(session: Session, study: Study, check: _Check, rows: int) -> ImportSummary:
    """Write the checked plans; how many records were created, corrected and left alone."""
    plans, member_ids = check.plans, check.member_ids
    # Session dates and cancellations through the ORM (a few rows), attendance records in
    # audited bulk writes (the caller's unit of work commits or rolls back all).
    counts = {"created": 0, "corrected": 0, "unchanged": 0}
    table = Attendance.__table__
    session_ids = {plan["session"].id for plan in plans.values()}
    stored = {
        (r.session_id, r.person_id): r
        for r in session.execute(
            select(table.c.id, table.c.session_id, table.c.person_id, table.c.status).where(
                table.c.study_id == study.id
            )
        )
        if r.session_id in session_ids
    }
    new_rows: list[dict] = []
    updates: list[RowUpdate] = []
    for plan in plans.values():
        gs = plan["session"]
        cancelled = plan["cancelled"][0]
        if plan["held_on"] is not None and gs.held_on != plan["held_on"][0]:
            gs.held_on = plan["held_on"][0]
        if cancelled:
            existing = session.scalars(select(Attendance).where(Attendance.session_id == gs.id)).all()
            for record in existing:
                session.delete(record)  # the session did not take place: audited delete
            counts["corrected" if (existing or not gs.cancelled) else "unchanged"] += 1
            gs.cancelled = True
            continue
        if gs.cancelled:
            gs.cancelled = False
        for pseudonym, status in plan["statuses"].items():
            person_id = member_ids[(plan["group"].id, pseudonym)]
            old = stored.get((gs.id, person_id))
            if old is None:
                new_rows.append(dict(study_id=study.id, session_id=gs.id, person_id=person_id, status=status))
                counts["created"] += 1
            elif old.status == status:
                counts["unchanged"] += 1
            else:
                updates.append(
                    RowUpdate(old.id, {"status": old.status}, {"status": status}, study.id, person_id)
                )
                counts["corrected"] += 1
    insert_rows(session, Attendance, new_rows)
    update_rows(session, Attendance, updates)
    session.flush()
    return ImportSummary(rows=rows, **counts)


def _weeks(sessions: dict, group_id: int) -> int:
    return max((week for gid, week in sessions if gid == group_id), default=0)


def attendance_template(session: Session, study: Study, group: str | None = None) -> pd.DataFrame:
    """An attendance sheet: one row per member × week of ``group`` with ``status`` empty
    (without a group: the header only)."""
    columns = list(ATTENDANCE_COLUMNS) + list(OPTIONAL_COLUMNS)
    if group is None:
        return pd.DataFrame(columns=columns)
    from study.groups import group_by_code

    g = group_by_code(session, study, group)
    pseudonyms = session.scalars(
        select(Person.pseudonym)
        .join(GroupMember, GroupMember.person_id == Person.id)
        .where(GroupMember.group_id == g.id)
        .order_by(Person.pseudonym)
    ).all()
    weeks = session.scalars(
        select(GroupSession.week).where(GroupSession.group_id == g.id).order_by(GroupSession.week)
    ).all()
    return pd.DataFrame([(g.code, w, p, "", "") for w in weeks for p in pseudonyms], columns=columns)

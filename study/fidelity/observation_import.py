"""``peerstudy import fidelity FILE.csv``: observations in long format, one rating a row.

Columns (header required, order free):

``group, week, observer, observed_on, kind, item, value``

- ``kind`` ``component``: ``item`` a component id of that week's session, ``value`` 2 / 1 /
  0 / NA. Every component of the session must have a row.
- ``kind`` ``competence``: ``item`` a competence item, ``value`` 1–5 (empty or NA: not rated).
- ``kind`` ``session``: ``item`` ``minutes``, ``participants_present`` or ``notes``.

Rows with the same ``group, week, observer`` form one observation. The import is
transactional (any bad row: nothing written, every problem reported with row, column, value
and reason; the file is read a chunk at a time and the reading stops after 50 problems unless
``--all-errors``) and idempotent (an observation already stored is corrected where values
differ, each change an audited update, and otherwise left alone). Observations and ratings are
written in audited bulk writes (:mod:`study.bulk_write`).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from study.db.models import Study
from study.errors import RowProblem
from study.fidelity.manual import Manual
from study.fidelity.observations import (
    SESSION_FIELDS,
    ObservationInput,
    check_observation,
    write_observations,
)
from study.imports import parse_date, parse_int
from study.imports.bounded import BoundedCsv
from study.imports.cells import date_hint
from study.studies import config_of

__all__ = ["FIDELITY_COLUMNS", "ImportSummary", "fidelity_template", "import_observations"]

FIDELITY_COLUMNS: tuple[str, ...] = ("group", "week", "observer", "observed_on", "kind", "item", "value")
KINDS = ("component", "competence", "session")
#: Cell values meaning "not applicable" (case-insensitive).
NA_VALUES = frozenset({"na", "n/a"})


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: rows read and records created, corrected or left unchanged."""

    rows: int
    created: int
    corrected: int
    unchanged: int

    def __str__(self) -> str:
        return (
            f"{self.rows} rows: {self.created} created, {self.corrected} corrected, "
            f"{self.unchanged} unchanged"
        )


def import_observations(
    session: Session,
    study: Study,
    source: str | Path | io.StringIO,
    actor: str,
    restrict_to_site: str | None = None,
    today: dt.date | None = None,
    *,
    all_errors: bool = False,
) -> ImportSummary:
    """Import a fidelity CSV in the caller's unit of work (see the module docstring).

    ``restrict_to_site``: site code of a coordinator who may observe only their own site.
    The rows are read and checked a chunk at a time and gathered into observations, which are
    checked against the manual once the file is read; after 50 problems the reading stops
    (``all_errors``: never).

    Raises
    ------
    RowErrors
        Every bad row (at most 50, with how many rows were not checked, unless
        ``all_errors``); nothing is written (the caller's transaction rolls back).
    """
    read = BoundedCsv(source, FIDELITY_COLUMNS, all_errors=all_errors)
    date_format = config_of(study).imports.date_format
    # (group, week, observer) -> the rows' values gathered by kind, with their line numbers
    observations: dict[tuple[str, int, str], dict[str, Any]] = {}
    for chunk in read.chunks():
        read.add(_gather(chunk, date_format, observations))

    # domain checks of each observation, mapped back to rows
    problems: list[RowProblem] = []
    checked = []
    for (group, week, observer), o in observations.items():
        obs = ObservationInput(
            group=group,
            week=week,
            observer=observer,
            observed_on=o["date"][0],
            components=o["component"],
            competence=o["competence"],
            minutes=o["session"].get("minutes"),
            participants_present=o["session"].get("participants_present"),
            notes=o["session"].get("notes"),
        )
        found, target = check_observation(
            session, study, obs, actor, restrict_to_site, replace=True, today=today
        )
        for prob in found:
            row = o["rows"].get(prob.field, o["first"])
            column = prob.field if prob.field in ("group", "week", "observer", "observed_on") else None
            if column is None:
                named_item = prob.field.split(":", 1)[-1] == str(prob.value)
                column = "item" if named_item or prob.field not in o["rows"] else "value"
            problems.append(RowProblem(int(row), column, str(prob.value), prob.reason))
        if target is not None:
            checked.append((obs, target))
    read.finish(problems)

    # write in audited bulk writes (the caller's unit of work commits or rolls back as a whole)
    statuses = write_observations(session, study, checked)
    return ImportSummary(
        rows=read.rows,
        created=statuses.count("created"),
        corrected=statuses.count("corrected"),
        unchanged=statuses.count("unchanged"),
    )


def _gather(
    df: pd.DataFrame, date_format: str, observations: dict[tuple[str, int, str], dict[str, Any]]
) -> list[RowProblem]:
    """Check one chunk's cells and add its good rows to their observation (one per group,
    week and observer; an observation's rows may lie in several chunks); the problems found."""
    problems: list[RowProblem] = []
    bad = lambda row, col, val, why: problems.append(RowProblem(int(row), col, str(val), why))  # noqa: E731

    # 1. cell checks, row by row (one row per rating)
    parsed = []
    for r in df.itertuples(index=False):
        row = r._asdict()
        n = row["line"]
        week = parse_int(row["week"])
        if week is None:
            bad(n, "week", row["week"], "must be a whole number (week of the course)")
        observed_on = parse_date(row["observed_on"], date_format)
        if observed_on is None:
            bad(n, "observed_on", row["observed_on"], f"must be a date {date_hint(date_format)}")
        for col in ("group", "observer", "item"):
            if not row[col]:
                bad(n, col, "", "is required")
        kind = row["kind"].lower()
        if kind not in KINDS:
            bad(n, "kind", row["kind"], f"must be one of {', '.join(KINDS)}")
            continue
        value, reason = _value(kind, row["item"], row["value"])
        if reason:
            if kind == "session" and row["item"] not in SESSION_FIELDS:
                bad(n, "item", row["item"], reason)
            else:
                bad(n, "value", row["value"], reason)
            continue
        parsed.append(dict(row, week=week, observed_on=observed_on, kind=kind, parsed=value))

    # 2. assemble one observation per group, week and observer
    for p in parsed:
        if (
            p["week"] is None
            or p["observed_on"] is None
            or not p["group"]
            or not p["observer"]
            or not p["item"]
        ):
            continue
        key = (p["group"], p["week"], p["observer"])
        o = observations.setdefault(
            key,
            {
                "first": p["line"],
                "date": (p["observed_on"], p["line"]),
                "component": {},
                "competence": {},
                "session": {},
                "rows": {},
            },
        )
        if p["observed_on"] != o["date"][0]:
            bad(
                p["line"],
                "observed_on",
                p["observed_on"],
                f"{p['observer']} dated this observation {o['date'][0]} in row {o['date'][1]}; "
                "an observer scores a session once (one date)",
            )
            continue
        field = f"{p['kind']}:{p['item']}" if p["kind"] != "session" else p["item"]
        if field in o["rows"]:
            bad(p["line"], "item", p["item"], f"already given in row {o['rows'][field]} for this observation")
            continue
        o["rows"][field] = p["line"]
        if p["parsed"] is not None or p["kind"] == "component":
            o[p["kind"]][p["item"]] = p["parsed"]
    return problems


def _value(kind: str, item: str, text: str) -> tuple[object, str | None]:
    """The parsed cell and, when it is bad, why."""
    na = text.lower() in NA_VALUES
    if kind == "component":
        if na:
            return None, None
        value = parse_int(text)
        if value not in (0, 1, 2):
            return None, "must be 2 (fully), 1 (partially), 0 (not) or NA (not applicable)"
        return value, None
    if kind == "competence":
        if na or text == "":
            return None, None
        value = parse_int(text)
        if value is None:
            return None, "must be a whole number on the competence scale (1–5) or NA"
        return value, None  # the scale itself is checked against the manual
    if item not in SESSION_FIELDS:
        return None, f"session items are {', '.join(SESSION_FIELDS)}"
    if item == "notes":
        return (text or None), None
    if text == "" or na:
        return None, None
    value = parse_int(text)
    if value is None:
        return None, "must be a whole number"
    return value, None


def fidelity_template(
    manual: Manual, week: int = 1, group: str = "", observer: str = "", observed_on: str = ""
) -> pd.DataFrame:
    """The rows an observer fills in for one session: every component of ``week``, every
    competence item and the session fields, with ``value`` empty."""
    session = manual.session(week)
    items = (
        [("component", c.id) for c in session.components]
        + [("competence", i) for i in manual.competence_ids]
        + [("session", f) for f in SESSION_FIELDS]
    )
    return pd.DataFrame(
        [(group, week, observer, observed_on, kind, item, "") for kind, item in items],
        columns=list(FIDELITY_COLUMNS),
    )

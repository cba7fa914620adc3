"""Attendance import (present / absent / cancelled session) and the dose per participant."""

from __future__ import annotations

import io

import pytest
from fidelity_helpers import ACTOR, TODAY, counts, pilot_with_groups
from sqlalchemy import select

from study.db import read_session, unit_of_work
from study.db.models import Attendance, AuditEvent, GroupSession
from study.errors import RowErrors
from study.fidelity.attendance_import import attendance_template, import_attendance
from study.fidelity.dose import attendance_dose
from study.studies import get_study


@pytest.fixture
def pilot(study_db):
    pilot_with_groups(study_db)
    return study_db


def _import(engine, text, site=None):
    with unit_of_work(engine, ACTOR) as s:
        return import_attendance(s, get_study(s), io.StringIO(text), restrict_to_site=site, today=TODAY)


def _sheet(weeks=range(1, 8), absent=(), cancelled_week=None) -> str:
    rows = ["group,week,pseudonym,status"]
    for week in weeks:
        if week == cancelled_week:
            rows.append(f"CPH-P1,{week},,cancelled")
            continue
        for k in (1, 2, 3):
            status = "absent" if (f"P-CPH-{k}", week) in absent else "present"
            rows.append(f"CPH-P1,{week},P-CPH-{k},{status}")
    return "\n".join(rows) + "\n"


def test_attendance_import_dose_and_idempotency(pilot):
    absent = {("P-CPH-2", w) for w in (1, 2, 3)} | {("P-CPH-3", w) for w in range(1, 8)}
    summary = _import(pilot, _sheet(absent=absent, cancelled_week=4))
    assert summary.created == 6 * 3
    events = counts(pilot, AuditEvent)
    summary = _import(pilot, _sheet(absent=absent, cancelled_week=4))
    assert (summary.created, summary.corrected) == (0, 0) and counts(pilot, AuditEvent) == events
    with read_session(pilot) as s:
        study = get_study(s)
        dose = attendance_dose(s, study).set_index("pseudonym")
        cancelled = s.scalars(select(GroupSession.week).where(GroupSession.cancelled.is_(True))).all()
    assert cancelled == [4]
    # 7 weeks recorded, one cancelled → 6 sessions held; threshold 6 (groups.per_protocol_min_sessions)
    assert dose.loc["P-CPH-1", ["group", "sessions_held", "sessions_attended", "per_protocol"]].tolist() == [
        "CPH-P1",
        6,
        6,
        True,
    ]
    assert dose.loc["P-CPH-2", ["sessions_attended", "per_protocol"]].tolist() == [3, False]
    assert dose.loc["P-CPH-3", "sessions_attended"] == 0
    # HEL members exist but no attendance was taken: nothing held yet.
    assert dose.loc["P-HEL-1", ["sessions_held", "sessions_attended"]].tolist() == [0, 0]
    # A correction: the cancelled week took place after all, and P-CPH-3 came in week 1.
    summary = _import(
        pilot, "group,week,pseudonym,status\nCPH-P1,4,P-CPH-1,present\nCPH-P1,1,P-CPH-3,present\n"
    )
    assert (summary.created, summary.corrected) == (1, 1)
    with read_session(pilot) as s:
        dose = attendance_dose(s, get_study(s)).set_index("pseudonym")
    assert dose.loc["P-CPH-1", ["sessions_held", "sessions_attended"]].tolist() == [7, 7]
    assert dose.loc["P-CPH-3", "sessions_attended"] == 1


def test_cancelling_a_recorded_session_removes_its_attendance(pilot):
    _import(pilot, _sheet(weeks=[1, 2]))
    assert counts(pilot, Attendance) == (6,)
    _import(pilot, "group,week,pseudonym,status\nCPH-P1,2,,cancelled\n")
    assert counts(pilot, Attendance) == (3,)


def test_bad_attendance_rows_all_reported_nothing_written(pilot):
    text = (
        "group,week,pseudonym,status,held_on\n"
        "CPH-P1,1,P-CPH-1,present,\n"  # fine
        "CPH-P1,11,P-CPH-1,present,\n"  # week outside the course
        "CPH-P1,2,P-HEL-1,present,\n"  # not a member of this group
        "CPH-P1,2,P-CPH-1,maybe,\n"  # unknown status
        "NOPE,2,P-CPH-1,present,\n"  # unknown group
        "CPH-P1,1,P-CPH-1,absent,\n"  # same person and week twice
        "CPH-P1,3,P-CPH-1,present,\n"
        "CPH-P1,3,,cancelled,\n"  # held and cancelled at once
        "CPH-P1,5,P-CPH-1,present,2025-13-01\n"  # not a date
        "CPH-P1,10,P-CPH-1,present,2031-01-01\n"  # in the future
    )
    with pytest.raises(RowErrors) as err:
        _import(pilot, text)
    found = {(p.row, p.column) for p in err.value.problems}
    assert found == {
        (3, "week"),
        (4, "pseudonym"),
        (5, "status"),
        (6, "group"),
        (7, "pseudonym"),
        (9, "status"),
        (10, "held_on"),
        (11, "held_on"),
    }
    assert "not a member of group CPH-P1" in str(err.value)
    assert "either held or cancelled" in str(err.value)
    assert counts(pilot, Attendance) == (0,)


def test_attendance_site_restriction_and_template(pilot):
    with pytest.raises(RowErrors, match="you may record only CPH"):
        _import(pilot, "group,week,pseudonym,status\nHEL-P1,1,P-HEL-1,present\n", site="CPH")
    with read_session(pilot) as s:
        frame = attendance_template(s, get_study(s), "HEL-P1")
    assert list(frame.columns) == ["group", "week", "pseudonym", "status", "held_on"]
    assert len(frame) == 10 * 3 and set(frame["pseudonym"]) == {"P-HEL-1", "P-HEL-2", "P-HEL-3"}

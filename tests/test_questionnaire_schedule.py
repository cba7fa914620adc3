"""The timepoint schedule (pure pandas): due dates, windows, statuses, flags."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from questionnaires.schedule import SCHEDULE_COLUMNS, compute_schedule, study_schedule
from study.config.timepoints import TimepointConfig
from study.db import read_session, unit_of_work
from study.db.models import Allocation
from study.people import Identity, add_person, enrol
from study.studies import get_study

D = dt.date
TIMEPOINTS = [
    TimepointConfig(code="baseline", label="b", anchor="consent", offset_weeks=0,
                    window_before_weeks=0, window_after_weeks=3, instruments=["who5"]),
    TimepointConfig(code="post", label="p", anchor="randomisation", fallback_anchor="group_start",
                    offset_weeks=13, window_before_weeks=2, window_after_weeks=2,
                    instruments=["who5", "qpr15"]),
]


def _people():
    return pd.DataFrame(
        {
            "pseudonym": ["A", "B", "C", "D"],
            "screening": [D(2025, 1, 1)] * 4,
            "consent": [D(2025, 1, 6)] * 4,
            "randomisation": [D(2025, 1, 13), D(2025, 1, 13), None, None],
            "group_start": [None, None, D(2025, 2, 3), None],
            "withdrawn_on": [None, D(2025, 3, 1), None, None],
        }
    )


def test_due_dates_windows_and_statuses():
    responses = pd.DataFrame(
        {
            "pseudonym": ["A", "A", "B"],
            "timepoint": ["baseline", "post", "baseline"],
            "instrument": ["who5", "who5", "who5"],
            # A answered post 3 weeks after its window closed: kept, flagged
            "completed_on": [D(2025, 1, 10), D(2025, 5, 5), D(2025, 1, 27)],
        }
    )
    s = compute_schedule(_people(), TIMEPOINTS, responses, today=D(2025, 4, 20))
    assert list(s.columns) == SCHEDULE_COLUMNS
    s = s.set_index(["pseudonym", "timepoint", "instrument"])
    a = s.loc[("A", "post", "who5")]
    # randomised 2025-01-13 + 13 weeks = 2025-04-14; window 2025-03-31 .. 2025-04-28
    assert (a.due_on, a.window_start, a.window_end) == (D(2025, 4, 14), D(2025, 3, 31), D(2025, 4, 28))
    assert a.status == "complete" and a.outside_window
    assert s.loc[("A", "baseline", "who5")].status == "complete"
    assert not s.loc[("A", "baseline", "who5")].outside_window
    assert s.loc[("A", "post", "qpr15")].status == "due"
    # B: baseline answered on the last day of its 3-week window (inclusive)
    assert s.loc[("B", "baseline", "who5")].status == "complete"
    assert not s.loc[("B", "baseline", "who5")].outside_window
    assert s.loc[("B", "post", "who5")].status == "withdrawn"
    # C: no randomisation, post falls back to the group start (2025-02-03 + 13 weeks)
    c = s.loc[("C", "post", "who5")]
    assert c.anchor == "group_start" and c.due_on == D(2025, 5, 5) and c.status == "not_yet_due"
    assert s.loc[("C", "baseline", "who5")].status == "overdue"  # window ended 2025-01-27
    # D: neither anchor -> not scheduled
    d = s.loc[("D", "post", "who5")]
    assert d.status == "not_scheduled" and d.due_on is None and pd.isna(d.anchor)


def test_status_moves_with_today():
    empty = pd.DataFrame(columns=["pseudonym", "timepoint", "instrument", "completed_on"])
    people = _people().iloc[:1]
    statuses = [
        compute_schedule(people, TIMEPOINTS, empty, today=day).set_index(["timepoint", "instrument"])
        .loc[("post", "who5"), "status"]
        for day in (D(2025, 3, 30), D(2025, 3, 31), D(2025, 4, 28), D(2025, 4, 29))
    ]
    assert statuses == ["not_yet_due", "due", "due", "overdue"]


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="group_start"):
        compute_schedule(_people().drop(columns="group_start"), TIMEPOINTS,
                         pd.DataFrame(columns=["pseudonym", "timepoint", "instrument", "completed_on"]),
                         today=D(2025, 1, 1))


def test_study_schedule_reads_allocation_dates(study_db):
    with unit_of_work(study_db, "test") as s:
        study = get_study(s)
        for p in ("P1", "P2"):
            person = add_person(s, study, p, "participant", "CPH", identity=Identity(birth_date=D(1990, 1, 1)))
            enrol(s, study, person, D(2025, 9, 1), "København", consent_on=D(2025, 9, 2), phase="rct")
            if p == "P1":
                s.add(Allocation(study_id=study.id, person_id=person.id, arm="INT", stratum="CPH",
                                 method="blocks", allocated_on=D(2025, 9, 10), allocated_by="test"))
    with read_session(study_db) as s:
        sched = study_schedule(s, get_study(s), today=D(2025, 12, 10))
    post = sched[(sched.timepoint == "post") & (sched.instrument == "qpr15")].set_index("pseudonym")
    assert post.loc["P1", "due_on"] == D(2025, 12, 10) and post.loc["P1", "status"] == "due"
    assert post.loc["P2", "status"] == "not_scheduled"
    assert set(sched["timepoint"]) == {"baseline", "post", "followup"}


def test_empty_inputs_give_an_empty_schedule_with_its_columns():
    empty = pd.DataFrame(columns=["pseudonym", "timepoint", "instrument", "completed_on"])
    no_people = _people().iloc[:0]
    assert list(compute_schedule(no_people, TIMEPOINTS, empty, today=D(2025, 1, 1)).columns) == SCHEDULE_COLUMNS
    assert compute_schedule(_people(), [], empty, today=D(2025, 1, 1)).empty

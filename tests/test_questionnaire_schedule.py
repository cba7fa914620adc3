"""The timepoint schedule (pure pandas): due dates, windows, statuses, flags."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from questionnaires.schedule import (
    SCHEDULE_COLUMNS,
    STATUSES,
    compute_schedule,
    open_instruments,
    schedule_counts,
    study_schedule,
    study_schedule_counts,
)
from study.config.timepoints import TimepointConfig
from study.db import read_session, unit_of_work
from study.db.models import Allocation, Person, Site
from study.people import Identity, add_person, enrol
from study.studies import get_study

D = dt.date
TIMEPOINTS = [
    TimepointConfig(
        code="baseline",
        label="b",
        anchor="consent",
        offset_weeks=0,
        window_before_weeks=0,
        window_after_weeks=3,
        instruments=["who5"],
    ),
    TimepointConfig(
        code="post",
        label="p",
        anchor="randomisation",
        fallback_anchor="group_start",
        offset_weeks=13,
        window_before_weeks=2,
        window_after_weeks=2,
        instruments=["who5", "qpr15"],
    ),
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
        compute_schedule(people, TIMEPOINTS, empty, today=day)
        .set_index(["timepoint", "instrument"])
        .loc[("post", "who5"), "status"]
        for day in (D(2025, 3, 30), D(2025, 3, 31), D(2025, 4, 28), D(2025, 4, 29))
    ]
    assert statuses == ["not_yet_due", "due", "due", "overdue"]


def test_missing_columns_are_refused():
    with pytest.raises(ValueError, match="group_start"):
        compute_schedule(
            _people().drop(columns="group_start"),
            TIMEPOINTS,
            pd.DataFrame(columns=["pseudonym", "timepoint", "instrument", "completed_on"]),
            today=D(2025, 1, 1),
        )


def test_study_schedule_reads_allocation_dates(study_db):
    with unit_of_work(study_db, "test") as s:
        study = get_study(s)
        for p in ("P1", "P2"):
            person = add_person(
                s, study, p, "participant", "CPH", identity=Identity(birth_date=D(1990, 1, 1))
            )
            enrol(s, study, person, D(2025, 9, 1), "København", consent_on=D(2025, 9, 2), phase="rct")
            if p == "P1":
                s.add(
                    Allocation(
                        study_id=study.id,
                        person_id=person.id,
                        arm="INT",
                        stratum="CPH",
                        method="blocks",
                        allocated_on=D(2025, 9, 10),
                        allocated_by="test",
                    )
                )
    with read_session(study_db) as s:
        sched = study_schedule(s, get_study(s), today=D(2025, 12, 10))
    post = sched[(sched.timepoint == "post") & (sched.instrument == "qpr15")].set_index("pseudonym")
    assert post.loc["P1", "due_on"] == D(2025, 12, 10) and post.loc["P1", "status"] == "due"
    assert post.loc["P2", "status"] == "not_scheduled"
    assert set(sched["timepoint"]) == {"baseline", "post", "followup"}


def test_empty_inputs_give_an_empty_schedule_with_its_columns():
    empty = pd.DataFrame(columns=["pseudonym", "timepoint", "instrument", "completed_on"])
    no_people = _people().iloc[:0]
    assert (
        list(compute_schedule(no_people, TIMEPOINTS, empty, today=D(2025, 1, 1)).columns) == SCHEDULE_COLUMNS
    )
    assert compute_schedule(_people(), [], empty, today=D(2025, 1, 1)).empty


def _counts_from_schedule(schedule: pd.DataFrame) -> pd.DataFrame:
    counts = pd.crosstab([schedule["pseudonym"], schedule["timepoint"]], schedule["status"])
    return counts.reindex(columns=list(STATUSES), fill_value=0)


def _random_trial(seed: int, today_offset: int, n: int = 12, p_answer: float = 0.5):
    """Participants with any mix of missing anchors and withdrawals, a random half of their
    instruments answered, and a ``today`` from before the first to long after the last date."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2025-01-01")

    def dates(p_missing):
        days = rng.integers(0, 200, n)
        return [
            None if rng.random() < p_missing else (start + pd.Timedelta(days=int(d))).date() for d in days
        ]

    people = pd.DataFrame(
        {
            "pseudonym": [f"P{k:02d}" for k in range(n)],
            "screening": dates(0),
            "consent": dates(0.1),
            "randomisation": dates(0.4),
            "group_start": dates(0.5),
            "withdrawn_on": dates(0.8),
        }
    )
    pairs = [(p, t.code, i) for p in people["pseudonym"] for t in TIMEPOINTS for i in t.instruments]
    keep = rng.random(len(pairs)) < p_answer
    responses = pd.DataFrame(
        [pr for pr, k in zip(pairs, keep) if k], columns=["pseudonym", "timepoint", "instrument"]
    )
    responses["completed_on"] = start.date()
    answered = responses.groupby(["pseudonym", "timepoint"]).size().rename("answered").reset_index()
    return people, responses, answered, (start + pd.Timedelta(days=today_offset)).date()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), today_offset=st.integers(-30, 500))
def test_schedule_counts_equal_the_counts_of_the_full_schedule(seed, today_offset):
    """The cheap per-timepoint counts agree with counting the full instrument grid, whatever
    mix of missing anchors, withdrawals, answered and unanswered instruments."""
    people, responses, answered, today = _random_trial(seed, today_offset)
    full = _counts_from_schedule(compute_schedule(people, TIMEPOINTS, responses, today))
    cheap = schedule_counts(people, TIMEPOINTS, answered, today).set_index(["pseudonym", "timepoint"])
    cheap = cheap[list(STATUSES)].rename_axis(columns="status")
    pd.testing.assert_frame_equal(cheap.sort_index(), full.sort_index(), check_names=False, check_dtype=False)


def test_study_schedule_counts_and_site_filter_agree_with_the_schedule(demo_engine):
    today = D(2026, 11, 25)
    with read_session(demo_engine) as s:
        study = get_study(s)
        full = study_schedule(s, study, today)
        counts = study_schedule_counts(s, study, today).set_index(["pseudonym", "timepoint"])
        site = s.scalar(select(Site).where(Site.study_id == study.id, Site.code == "CPH"))
        own = study_schedule(s, study, today, site_id=site.id)
        cph = set(s.scalars(select(Person.pseudonym).where(Person.site_id == site.id)))
    assert (full["status"] == "complete").any() and (full["status"] != "complete").any()
    expected = _counts_from_schedule(full)
    got = counts[list(STATUSES)].loc[expected.index]
    assert (got.to_numpy() == expected.to_numpy()).all()
    assert set(own["pseudonym"]) == cph & set(full["pseudonym"]) and len(own) < len(full)
    pd.testing.assert_frame_equal(
        own.reset_index(drop=True), full[full["pseudonym"].isin(cph)].reset_index(drop=True)
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), today_offset=st.integers(-30, 500))
def test_open_instruments_are_the_open_rows_of_the_full_schedule(seed, today_offset):
    people, responses, answered, today = _random_trial(seed, today_offset, n=10, p_answer=0.4)
    full = compute_schedule(people, TIMEPOINTS, responses, today)
    for statuses in (("overdue", "due"), ("not_yet_due",)):
        expected = full[full["status"].isin(statuses)].reset_index(drop=True)
        got = open_instruments(people, TIMEPOINTS, responses, today, statuses)
        assert list(got.columns) == SCHEDULE_COLUMNS
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
        # With the counts, the responses of fully answered or unanswered pairs are not needed.
        sizes = {t.code: len(t.instruments) for t in TIMEPOINTS}
        partly = answered[answered["answered"] < answered["timepoint"].map(sizes)]
        fewer = responses.merge(partly[["pseudonym", "timepoint"]])
        got = open_instruments(people, TIMEPOINTS, fewer, today, statuses, answered=answered)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    with pytest.raises(ValueError, match="complete"):
        open_instruments(people, TIMEPOINTS, responses, today, ("complete",))

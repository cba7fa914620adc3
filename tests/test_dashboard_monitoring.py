"""RCT page additions: questionnaire completion per timepoint, the coordinator's chase list,
fidelity per group and site with thresholds and flags (data layer and AppTest)."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards.i18n import translate
from dashboards.queries.monitoring import (
    chase_list,
    fidelity_by_group,
    fidelity_by_site,
    fidelity_thresholds,
    questionnaire_completion,
)
from questionnaires.schedule import study_schedule
from study.db import read_session
from study.errors import NotAllowed
from study.studies import get_study
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import open_app, page_text  # noqa: F401  (fixture)


def test_completion_counts_match_the_schedule(demo_engine):
    today = dt.date.today()
    researcher = questionnaire_completion(demo_engine, viewer_of(demo_engine, "researcher"), today)
    with read_session(demo_engine) as s:
        schedule = study_schedule(s, get_study(s, None), today)
    # Independent count: every participant × instrument row of the schedule, by status.
    for status in ("complete", "due", "overdue", "not_yet_due"):
        assert researcher[status].sum() == (schedule["status"] == status).sum()
    came_due = researcher[["complete", "due", "overdue"]].sum(axis=1)
    ok = came_due > 0
    assert (
        researcher.loc[ok, "completion_pct"] - 100 * researcher.loc[ok, "complete"] / came_due[ok]
    ).abs().max() < 0.06
    cph = questionnaire_completion(demo_engine, viewer_of(demo_engine, "cph.coordinator"), today)
    assert set(cph["site"]) == {"CPH"}
    assert cph["complete"].sum() == researcher.loc[researcher["site"] == "CPH", "complete"].sum()


def test_chase_list_is_the_own_sites_open_instruments(demo_engine):
    viewer = viewer_of(demo_engine, "cph.coordinator")
    chase = chase_list(demo_engine, viewer)
    assert set(chase["status"]) <= {"due", "overdue"}
    if (chase["status"] == "overdue").any() and (chase["status"] == "due").any():
        assert chase["status"].tolist().index("due") > max(
            i for i, s in enumerate(chase["status"]) if s == "overdue"
        )
    completion = questionnaire_completion(demo_engine, viewer)
    assert len(chase) == completion["due"].sum() + completion["overdue"].sum()
    with pytest.raises(NotAllowed):
        chase_list(demo_engine, viewer_of(demo_engine, "researcher"))


def test_fidelity_per_group_is_site_scoped_and_flags_below_threshold(demo_engine):
    everyone = fidelity_by_group(demo_engine, viewer_of(demo_engine, "researcher"))
    thresholds = fidelity_thresholds(demo_engine, viewer_of(demo_engine, "researcher"))
    limit = thresholds.loc[thresholds["flag"], "percent"].iloc[0]
    observed = everyone[~everyone["never_observed"]]
    assert not observed.empty
    assert (observed["below_threshold"] == (observed["mean_adherence_pct"] < limit)).all()
    hel = fidelity_by_group(demo_engine, viewer_of(demo_engine, "hel.coordinator"))
    assert set(hel["site"]) == {"HEL"} and set(hel["group"]) < set(everyone["group"])
    sites = fidelity_by_site(everyone)
    for _, row in sites.iterrows():
        mine = observed[observed["site"] == row["site"]]
        assert row["groups"] == len(mine) and row["flagged"] == mine["below_threshold"].sum()
        assert abs(row["mean_adherence_pct"] - mine["mean_adherence_pct"].mean()) < 0.06


@pytest.mark.parametrize("login", ["cph.coordinator", "researcher"])
def test_rct_page_shows_completion_and_fidelity(open_app, demo_engine, login):
    at = open_app(demo_engine, login)
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert translate("rct.completion") in headers and translate("rct.fidelity") in headers
    text = page_text(at)
    assert (translate("rct.chase") in text) == (login == "cph.coordinator")
    if login == "cph.coordinator":
        assert "HEL-R" not in text and "FRE-R" not in text


def test_pilot_observations_are_site_scoped_and_on_the_pilot_page(open_app, demo_engine):
    from dashboards.queries.monitoring import OBSERVATION_COLUMNS, fidelity_observations

    everyone = fidelity_observations(demo_engine, viewer_of(demo_engine, "researcher"), "pilot")
    assert list(everyone.columns) == OBSERVATION_COLUMNS
    assert not everyone.empty and set(everyone["manual_version"]) == {"0.1"}  # the pilot's draft
    assert everyone["adherence_pct"].between(0, 100).all()
    rct = fidelity_observations(demo_engine, viewer_of(demo_engine, "researcher"), "rct")
    assert set(rct["manual_version"]) == {"1.0"} and not set(rct["group"]) & set(everyone["group"])
    own = fidelity_observations(demo_engine, viewer_of(demo_engine, "hel.coordinator"), "pilot")
    assert set(own["site"]) == {"HEL"} and len(own) < len(everyone)

    at = open_app(demo_engine, "hel.coordinator")
    at.switch_page("views/pilot.py").run()
    assert not at.exception
    assert translate("pilot.fidelity") in page_text(at)
    shown = [df.value for df in at.dataframe if translate("column.observer") in df.value.columns]
    assert (
        len(shown) == 1 and set(shown[0][translate("column.site")]) == {"HEL"} and len(shown[0]) == len(own)
    )


# --- defaults follow the phase ----------------------------------------------------------------
def test_the_rct_page_fidelity_leaves_out_the_pilot_groups(open_app, demo_engine):
    researcher = viewer_of(demo_engine, "researcher")
    everyone = fidelity_by_group(demo_engine, researcher)
    assert set(everyone["phase"]) == {"pilot", "rct"}  # the demo has both
    rct = fidelity_by_group(demo_engine, researcher, "rct")
    assert set(rct["phase"]) == {"rct"} and set(rct["group"]) == set(
        everyone.loc[everyone["phase"] == "rct", "group"]
    )
    at = open_app(demo_engine, "researcher")
    assert not at.exception
    pilot_groups = set(everyone.loc[everyone["phase"] == "pilot", "group"])
    charts = at.get("vega_lite_chart")
    assert charts, "the fidelity chart is shown"
    shown = "\n".join(str(c.proto) for c in charts) + page_text(at)
    assert not [g for g in pilot_groups if g in shown]


@pytest.mark.parametrize(
    ("page", "key"),
    [("views/attendance.py", "attendance_group"), ("views/fidelity_observation.py", "fidelity_group")],
)
def test_coordinator_forms_open_on_an_rct_group_during_the_rct(open_app, demo_engine, page, key):
    at = open_app(demo_engine, "cph.coordinator")
    at.switch_page(page).run()
    assert not at.exception
    box = at.selectbox(key=key)
    assert box.value == "CPH-R01"  # not the finished pilot group CPH-P1
    assert "CPH-P1" in box.options  # still there, after the RCT's groups
    assert box.options.index("CPH-P1") > box.options.index("CPH-R01")

"""Runs of the data-quality checks kept in the database: recorded by `peerstudy check` and the
dashboard, shown on the analysis page, marked out of date when study data changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dashboards.actions import log_feedback, run_quality_checks
from dashboards.i18n import translate
from dashboards.i18n.formats import format_datetime
from dashboards.queries.quality import quality_status
from pipelines.quality.history import latest_quality_run
from pipelines.quality.study_checks import check_study
from study.cli import app
from study.db import read_session
from study.db.models import AuditEvent, CourseGroup, GroupSession, Site
from study.errors import NotAllowed
from study.studies import get_study
from tests.test_dashboard_access import viewer_of
from tests.test_dashboard_app import open_app, page_text  # noqa: F401  (fixture)


def _latest(engine):
    with read_session(engine) as session:
        return latest_quality_run(session, get_study(session))


def _held_session(engine, site="CPH"):
    with read_session(engine) as s:
        return s.execute(
            select(CourseGroup.code, GroupSession.week)
            .join(GroupSession, GroupSession.group_id == CourseGroup.id)
            .join(Site, Site.id == CourseGroup.site_id)
            .where(Site.code == site, GroupSession.cancelled.is_(False))
            .limit(1)
        ).one()


def test_a_recorded_run_is_the_latest_until_study_data_changes(dashboard_db):
    snap, results = check_study(dashboard_db, None, "tester")
    status = _latest(dashboard_db)
    assert status.run_by == "tester" and status.taken_at == snap.taken_at
    assert status.checks == len(results) and status.passed == int(results["success"].sum())
    assert status.errors + status.warnings == status.checks - status.passed
    assert list(status.results["check"]) == list(results["check"])
    assert not status.out_of_date
    with read_session(dashboard_db) as s:  # the run itself is audited
        assert s.scalar(
            select(AuditEvent).where(AuditEvent.table_name == "quality_run", AuditEvent.actor == "tester")
        )
    group, week = _held_session(dashboard_db)
    log_feedback(
        dashboard_db,
        viewer_of(dashboard_db, "cph.coordinator"),
        group,
        week,
        "leader",
        "works",
        "quality-history test note",
    )
    assert _latest(dashboard_db).out_of_date


def test_cli_check_records_a_run_unless_told_not_to(dashboard_db, tmp_path, monkeypatch):
    url = dashboard_db.url.render_as_string(hide_password=False)
    monkeypatch.setenv("PEERSTUDY_USER", "cli-quality-test")
    result = CliRunner().invoke(app, ["check", "--db", url, "--html", str(tmp_path / "q.html")])
    assert result.exit_code in (0, 1), result.output
    latest = _latest(dashboard_db)
    assert latest.run_by == "cli-quality-test" and not latest.out_of_date
    monkeypatch.setenv("PEERSTUDY_USER", "cli-not-recorded")
    result = CliRunner().invoke(
        app, ["check", "--db", url, "--html", str(tmp_path / "q.html"), "--no-record"]
    )
    assert result.exit_code in (0, 1), result.output
    assert _latest(dashboard_db).run_by == "cli-quality-test"


@pytest.mark.parametrize("login", ["cph.coordinator", "admin"])
def test_quality_status_and_running_the_checks_are_for_analysts(dashboard_db, login):
    viewer = viewer_of(dashboard_db, login)
    with pytest.raises(NotAllowed):
        quality_status(dashboard_db, viewer)
    with pytest.raises(NotAllowed):
        run_quality_checks(dashboard_db, viewer)


def test_analysis_page_runs_the_checks_and_shows_the_status(open_app, dashboard_db):
    at = open_app(dashboard_db, "researcher")
    at.switch_page("views/analysis.py").run()
    assert not at.exception
    at.button(key="run_quality").click().run()
    assert not at.exception
    text = page_text(at)
    status = _latest(dashboard_db)
    assert status.run_by == "researcher"
    assert (
        translate("analysis.quality_run", when=f"{format_datetime(status.taken_at)} UTC", who="researcher")
        in text
    )
    assert f"{status.passed} / {status.checks}" in text
    assert translate("analysis.quality_out_of_date") not in text
    # Failed checks (the demo plants late answers: warnings) are listed with pseudonyms only.
    assert status.passed < status.checks
    shown = at.dataframe[-1].value
    assert set(shown.columns) == {
        translate(f"column.{c}") for c in ("table", "check", "severity", "failing_rows", "rows", "examples")
    }
    assert len(shown) == status.checks - status.passed

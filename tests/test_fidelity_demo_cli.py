"""Fidelity in the demo study and on the command line."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from fidelity_helpers import MANUAL_TEXT, pilot_with_groups
from sqlalchemy import func, select
from typer.testing import CliRunner

from study.audit import verify_chain
from study.cli import app
from study.db import read_session, unit_of_work
from study.db.models import Attendance, CourseGroup, FidelityObservation, GroupSession
from study.fidelity.dose import attendance_dose
from study.fidelity.report import fidelity_report
from study.fidelity.versions import current_version, group_version_problems
from study.studies import get_study

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_demo_has_locked_manual_and_observations(demo_engine):
    with read_session(demo_engine) as s:
        study = get_study(s)
        version = current_version(s, study)
        assert version is not None and version.locked_at is not None
        assert group_version_problems(s, study).empty
        rct_versions = s.scalars(select(CourseGroup.manual_version).where(CourseGroup.phase == "rct")).all()
        assert rct_versions and set(rct_versions) == {version.version}
        report = fidelity_report(s, study)
    observations = report["observations"]
    assert len(observations) > 0 and observations["adherence_pct"].between(0, 100).all()
    per_session = observations.groupby(["group", "week"]).size()
    assert (per_session == 2).sum() >= 2  # some sessions double coded
    groups = report["groups"]
    assert list(groups.columns[:7]) == [
        "group",
        "site",
        "n_observations",
        "mean_adherence_pct",
        "mean_competence",
        "classification",
        "below_threshold",
    ]
    rct = groups[groups["phase"] == "rct"]
    assert rct["below_threshold"].any() and not rct["below_threshold"].all()
    # The flagged group is the drifting one: its adherence falls week by week.
    drifting = rct[rct["below_threshold"]].sort_values("drift_pct_per_week").iloc[0]
    assert drifting["drift_pct_per_week"] < -3
    assert set(report["icc"]["form"]) == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}


def _allocate_into_groups(ctx):
    """Stand-in for the allocation step: half of the ready participants into the RCT groups."""
    from study.groups import add_member, group_by_code
    from study.people import person_by_pseudonym

    with unit_of_work(ctx.engine, ctx.actor) as s:
        study = get_study(s, ctx.study_code)
        for pseudonym in ctx.rct_ready[::2]:
            person = person_by_pseudonym(s, study, pseudonym)
            site = next(site.code for site in study.sites if site.id == person.site_id)
            for code in ctx.rct_groups[site]:
                group = group_by_code(s, study, code)
                try:
                    add_member(s, study, group, person, joined_on=group.start_date)
                    break
                except Exception:
                    continue
    return []


def test_demo_step_records_attendance_for_every_member(db_factory, monkeypatch):
    from study import demo
    from study.demo.fidelity import fidelity_and_attendance
    from study.demo.people import people_and_groups

    monkeypatch.setattr(demo, "STEPS", [people_and_groups, _allocate_into_groups, fidelity_and_attendance])
    engine = db_factory.new_engine()
    lines = demo.build_demo(engine, participants=40, seed=5)
    assert any("attendance:" in line for line in lines)
    with read_session(engine) as s:
        study = get_study(s)
        dose = attendance_dose(s, study)
        rct = dose[dose["group"].str.contains("-R")]
        assert len(rct) == 20
        # Every member has a record for every non-cancelled session held so far.
        held = dict(
            s.execute(
                select(CourseGroup.code, func.count())
                .join(GroupSession, GroupSession.group_id == CourseGroup.id)
                .where(
                    CourseGroup.phase == "rct",
                    GroupSession.cancelled.is_(False),
                    GroupSession.held_on <= dt.date.today(),
                )
                .group_by(CourseGroup.code)
            ).all()
        )
        assert (rct["sessions_held"] == rct["group"].map(held)).all()
        rct_records = s.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(GroupSession, GroupSession.id == Attendance.session_id)
            .join(CourseGroup, CourseGroup.id == GroupSession.group_id)
            .where(CourseGroup.phase == "rct")
        )
        assert rct_records == rct["sessions_held"].sum() > 0
        # One session was cancelled (and has no attendance).
        assert (
            s.scalar(select(func.count()).select_from(GroupSession).where(GroupSession.cancelled.is_(True)))
            == 1
        )
        assert rct["sessions_attended"].between(0, 10).all()
        assert 0 < rct["per_protocol"].mean() < 1  # realistic: most, not all, per protocol
        # The pilot's attendance is kept.
        pilot = dose[dose["group"].str.contains("-P")]
        assert len(pilot) == 24 and pilot["sessions_held"].eq(10).all()
        # Observations report the people present from the attendance.
        present = s.scalars(select(FidelityObservation.participants_present)).all()
        assert all(0 <= p <= 12 for p in present)
    assert verify_chain(engine).intact


def test_fidelity_commands_have_help():
    for args in (
        ["fidelity"],
        ["fidelity", "manual"],
        ["import"],
        ["template"],
        ["fidelity", "report"],
        ["fidelity", "reliability"],
        ["import", "attendance"],
    ):
        result = run(*args, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, args


def test_cli_reliability_prints_icc_csv(tmp_path):
    sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    path = tmp_path / "sf.csv"
    pd.DataFrame(
        [(t, r, s) for t, row in enumerate(sf) for r, s in enumerate(row)],
        columns=["target", "rater", "score"],
    ).to_csv(path, index=False)
    result = run("fidelity", "reliability", path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "form,icc,ci_low,ci_high"
    assert [l.split(",")[0] for l in lines[1:]] == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    values = {l.split(",")[0]: float(l.split(",")[1]) for l in lines[1:]}
    assert round(values["ICC3k"], 2) == 0.91 and round(values["ICC1"], 2) == 0.17  # Shrout & Fleiss


@pytest.mark.parametrize(
    "content, message",
    [
        ("target,rater\n1,a\n", "column(s) not in data"),
        ("target,rater,score\n1,a,3\n1,b,4\n2,a,5\n", "balanced design"),
        ("target,rater,score\n1,a,x\n1,b,4\n2,a,5\n2,b,3\n", "not numbers"),
        ("", "not a readable CSV"),
    ],
)
def test_cli_reliability_bad_csv_exits_2(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = run("fidelity", "reliability", path)
    assert result.exit_code == 2 and message in result.output
    assert run("fidelity", "reliability", tmp_path / "missing.csv").exit_code == 2


def test_cli_manual_import_template_and_report(study_db, tmp_path):
    url = _url(study_db)
    pilot_with_groups(study_db, store_manual=False)
    manual = tmp_path / "hope_course.yaml"
    manual.write_text(MANUAL_TEXT, encoding="utf-8")
    result = run("fidelity", "manual", "show", "--db", url)
    assert result.exit_code == 0 and "not stored yet" in result.output
    result = run("fidelity", "manual", "update", manual, "--db", url)
    assert result.exit_code == 0 and "stored manual hope_course version 1.0" in result.output
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        MANUAL_TEXT.replace('version: "1.0"', 'version: "1.1"').replace(
            'Closing round"', 'Closing round."', 1
        ),
        encoding="utf-8",
    )
    result = run("fidelity", "manual", "update", changed, "--db", url)
    assert result.exit_code == 2 and "change note" in result.output
    assert run("fidelity", "manual", "update", changed, "--note", "punctuation", "--db", url).exit_code == 0
    history = run("fidelity", "manual", "history", "--db", url).output
    assert "1.0" in history and "punctuation" in history
    result = run("fidelity", "manual", "lock", "--db", url)
    assert result.exit_code == 2 and "only in the rct or analysis phase" in result.output

    # template → fill in → import; bad file → exit 2 and nothing written
    result = run("template", "fidelity", "--week", 2, "--group", "CPH-P1", "--observer", "K01", "--db", url)
    assert result.exit_code == 0
    sheet = pd.read_csv(__import__("io").StringIO(result.stdout), dtype=str, keep_default_na=False)
    sheet["observed_on"] = "2025-02-10"
    sheet.loc[sheet["kind"] == "component", "value"] = "2"
    sheet.loc[sheet["kind"] == "competence", "value"] = "4"
    sheet.loc[sheet["item"] == "minutes", "value"] = "120"
    good = tmp_path / "obs.csv"
    sheet.to_csv(good, index=False)
    result = run("import", "fidelity", good, "--db", url)
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert "0 created, 0 corrected, 1 unchanged" in run("import", "fidelity", good, "--db", url).output
    bad = tmp_path / "bad.csv"
    sheet.assign(week="12").to_csv(bad, index=False)
    result = run("import", "fidelity", bad, "--db", url)
    assert result.exit_code == 2 and "nothing was imported" in result.output
    result = run("import", "fidelity", good, "--site", "HEL", "--db", url)
    assert result.exit_code == 2 and "only groups at HEL" in result.output
    # A coordinator acting under their login is restricted to their site without --site.
    assert (
        run(
            "users",
            "add",
            "hanne.hel",
            "--role",
            "coordinator",
            "--site",
            "HEL",
            "--password-stdin",
            "--db",
            url,
            input="s3cret-pass\n",
        ).exit_code
        == 0
    )
    result = runner.invoke(
        app, ["import", "fidelity", str(good), "--db", url], env={"PEERSTUDY_USER": "hanne.hel"}
    )
    assert result.exit_code == 2 and "only groups at HEL" in result.output
    result = runner.invoke(
        app,
        ["import", "fidelity", str(good), "--site", "CPH", "--db", url],
        env={"PEERSTUDY_USER": "hanne.hel"},
    )
    assert result.exit_code == 2 and "hanne.hel coordinates HEL" in result.output

    att = tmp_path / "att.csv"
    att.write_text(
        "group,week,pseudonym,status\nCPH-P1,1,P-CPH-1,present\nCPH-P1,1,P-CPH-2,absent\n", encoding="utf-8"
    )
    result = run("import", "attendance", att, "--db", url)
    assert result.exit_code == 0 and "2 created" in result.output
    att.write_text("group,week,pseudonym,status\nCPH-P1,1,P-CPH-9,present\n", encoding="utf-8")
    result = run("import", "attendance", att, "--db", url)
    assert result.exit_code == 2 and "row 2, column 'pseudonym'" in result.output
    result = run("template", "attendance", "--group", "CPH-P1", "--db", url)
    assert result.stdout.splitlines()[0] == "group,week,pseudonym,status,held_on"

    result = run("fidelity", "report", "--db", url, "--as-of", "2025-06-01", "--csv-dir", tmp_path / "out")
    assert result.exit_code == 0, result.output
    for title in ("Groups:", "Leader pairs:", "Sites:", "Weeks (drift", "never observed", "Inter-rater"):
        assert title in result.output
    assert (tmp_path / "out" / "fidelity_groups.csv").exists()


def test_demo_pilot_runs_a_stored_draft_and_its_groups_can_be_observed(demo_engine):
    """The pilot groups' manual version is stored (the draft 0.1, before the RCT locked 1.0),
    so a coordinator can open the observation checklist of a pilot session."""
    from dashboards.queries.fidelity import observation_form
    from study.db.models import ManualVersion
    from tests.test_dashboard_access import viewer_of

    with read_session(demo_engine) as s:
        study = get_study(s)
        stored = dict(s.execute(select(ManualVersion.version, ManualVersion.locked_at)).all())
        pilot = s.execute(
            select(CourseGroup.code, CourseGroup.manual_version, GroupSession.week)
            .join(GroupSession, GroupSession.group_id == CourseGroup.id)
            .where(
                CourseGroup.phase == "pilot",
                CourseGroup.code.like("CPH-%"),
                GroupSession.cancelled.is_(False),
            )
            .order_by(GroupSession.week)
            .limit(1)
        ).one()
        assert current_version(s, study).version == "1.0"
    assert set(stored) == {"0.1", "1.0"} and stored["0.1"] is None and stored["1.0"] is not None
    assert pilot.manual_version == "0.1"
    form = observation_form(demo_engine, viewer_of(demo_engine, "cph.coordinator"), pilot.code, pilot.week)
    assert form.manual_version == "0.1" and form.components

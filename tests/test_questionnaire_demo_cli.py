"""The questionnaire demo step (planted effect, drop-out, late answers) and the CLI commands."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from questionnaires.schedule import study_schedule
from questionnaires.store import load_items, load_scores
from study.cli import app
from study.db import read_session, unit_of_work
from study.db.models import Allocation, Enrolment, Person
from study.people import add_person, enrol
from study.studies import get_study

runner = CliRunner()
SCORE_HEADER = "pseudonym,timepoint,instrument,version,scale,score,band,missing_reason"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _randomised_study(engine, n: int) -> None:
    """The reference study with ``n`` consented RCT participants, allocated 1:1 by a random
    permutation a week after consent (a stand-in for the allocation step), written in bulk."""
    from study.config import example_config_path, load_config
    from study.studies import create_study, site_by_code

    rng = np.random.default_rng(99)
    path = example_config_path()
    with unit_of_work(engine, "test") as s:
        study = create_study(s, load_config(path), path.read_text(encoding="utf-8"))
        site = site_by_code(s, study, "CPH")
        people = [
            Person(study_id=study.id, pseudonym=f"P{k:04d}", role="participant", site_id=site.id)
            for k in range(n)
        ]
        s.add_all(people)
        s.flush()
        consent = [dt.date(2025, 9, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 150, n)]
        arms = rng.permutation(["INT", "CTL"] * (n // 2))
        s.add_all(
            Enrolment(
                study_id=study.id,
                person_id=p.id,
                phase="rct",
                screened_on=c,
                age_at_screening=40,
                municipality="København",
                eligible=True,
                ineligibility_reasons="[]",
                consent_on=c,
            )
            for p, c in zip(people, consent)
        )
        s.add_all(
            Allocation(
                study_id=study.id,
                person_id=p.id,
                arm=str(arm),
                stratum="CPH",
                method="test",
                allocated_on=c + dt.timedelta(days=7),
                allocated_by="test",
            )
            for p, c, arm in zip(people, consent, arms)
        )


def test_demo_plants_the_qpr15_effect_for_int(tmp_path):
    # Data generation does not depend on the backend (the demo on PostgreSQL is covered by
    # test_demo_has_questionnaires), so this statistical check runs once, on SQLite.
    from study.db import make_engine
    from study.db.schema import upgrade
    from study.demo.context import DemoContext
    from study.demo.questionnaires import questionnaires

    engine = make_engine(f"sqlite:///{tmp_path / 'effect.db'}")
    upgrade(engine)
    _randomised_study(engine, 400)
    ctx = DemoContext(engine=engine, participants=400, rng=np.random.default_rng(5), seed=5, actor="demo")
    lines = questionnaires(ctx)
    assert "planted effect for 200 INT participants" in lines[0]
    with read_session(engine) as s:
        study = get_study(s)
        scores = load_scores(s, study)
        arms = dict(s.execute(select(Person.pseudonym, Allocation.arm).join(Allocation)).all())
    total = scores[scores.scale == "total"]
    qpr = total[total.instrument == "qpr15"].pivot(index="pseudonym", columns="timepoint", values="score")
    qpr["arm"] = qpr.index.map(arms)
    # Independent check of the planted effect (about +5 points, SD about 10: with about 170 per
    # arm at post the standard error of a difference is about 1.1, so 3..7 is a ±2 SE band).
    post = qpr.dropna(subset=["post"]).groupby("arm")["post"].agg(["mean", "std", "size"])
    change = (qpr["post"] - qpr["baseline"]).groupby(qpr["arm"]).mean()
    assert 3 < post.loc["INT", "mean"] - post.loc["CTL", "mean"] < 7, post
    assert 3 < change["INT"] - change["CTL"] < 7
    assert 7 < post["std"].mean() < 13  # SD about 10, as in the reference trial
    base = qpr.dropna(subset=["baseline"]).groupby("arm")["baseline"].mean()
    assert abs(base["INT"] - base["CTL"]) < 2.5  # no effect at baseline (±2.5 SE)
    follow = qpr.dropna(subset=["followup"]).groupby("arm")["followup"].mean()
    assert 1.5 < follow["INT"] - follow["CTL"] < 6.5  # smaller at follow-up
    # Secondary effects smaller than the primary (in SD units), in the right direction for WSAS.
    wide = total[total.timepoint == "post"].pivot(index="pseudonym", columns="instrument", values="score")
    wide["arm"] = wide.index.map(arms)

    def smd(col):
        return (wide.loc[wide.arm == "INT", col].mean() - wide.loc[wide.arm == "CTL", col].mean()) / wide[
            col
        ].std()

    assert smd("qpr15") > smd("who5") > 0 and smd("wsas") < 0


def test_demo_has_questionnaires(demo_engine):
    with read_session(demo_engine) as s:
        study = get_study(s)
        scores = load_scores(s, study)
        items = load_items(s, study)
        schedule = study_schedule(s, study, today=dt.date(2026, 11, 25))
    assert set(scores["instrument"]) == {
        "who5",
        "qpr15",
        "state_hope",
        "adult_hope",
        "herth_hope",
        "ucla3",
        "gse",
        "wsas",
        "mansa",
    }
    per_tp = scores[(scores.instrument == "qpr15")].groupby("timepoint").size()
    assert per_tp["baseline"] > per_tp["post"] > per_tp["followup"] > 0  # drop-out rises
    # Pilot participants answer at baseline and post only.
    pilot = scores[scores.pseudonym.str.startswith("PP")]
    assert set(pilot["timepoint"]) == {"baseline", "post"}
    assert (items["value"] < 0).any()  # missing codes present
    assert items["value"].isna().any()  # empty items present
    assert schedule["outside_window"].any()  # a few late answers, kept and flagged
    # Instruments correlate through the latent factor (higher WSAS = worse functioning).
    base = scores[(scores.timepoint == "baseline") & (scores.scale == "total")].pivot(
        index="pseudonym", columns="instrument", values="score"
    )
    assert base["qpr15"].corr(base["who5"]) > 0.25
    assert base["qpr15"].corr(base["wsas"]) < -0.2


def test_scores_command_prints_and_writes_the_long_table(demo_engine, tmp_path):
    url = _url(demo_engine)
    result = runner.invoke(
        app, ["scores", "--instrument", "adult_hope", "--timepoint", "baseline", "--db", url]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == SCORE_HEADER
    assert {line.split(",")[4] for line in lines[1:]} == {"pathways", "agency", "total"}
    out = tmp_path / "scores.csv"
    result = runner.invoke(app, ["scores", "--out", str(out), "--db", url])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert ",".join(table.columns) == SCORE_HEADER
    assert table.groupby(["pseudonym", "timepoint", "instrument", "scale"]).size().max() == 1
    result = runner.invoke(app, ["scores", "--timepoint", "week7", "--db", url])
    assert result.exit_code == 2 and "unknown timepoint" in result.output


def test_schedule_and_instruments_commands(demo_engine):
    url = _url(demo_engine)
    result = runner.invoke(
        app, ["questionnaires", "schedule", "--summary", "--today", "2026-01-10", "--db", url]
    )
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "baseline" in result.output
    result = runner.invoke(app, ["questionnaires", "instruments"])
    assert result.exit_code == 0 and "who5" in result.output and "total 0-100" in result.output


def test_import_and_template_commands(study_db, tmp_path):
    url = _url(study_db)
    with unit_of_work(study_db, "test") as s:
        study = get_study(s)
        from study.people import Identity

        for p in ("P1", "P2"):
            person = add_person(
                s, study, p, "participant", "CPH", identity=Identity(birth_date=dt.date(1990, 1, 1))
            )
            enrol(
                s,
                study,
                person,
                dt.date(2025, 9, 1),
                "København",
                consent_on=dt.date(2025, 9, 1),
                phase="rct",
            )
    # At 2025-09-10 both are due at baseline (window: consent + 3 weeks).
    template = tmp_path / "baseline.csv"
    result = runner.invoke(
        app,
        [
            "template",
            "questionnaires",
            "--timepoint",
            "baseline",
            "--today",
            "2025-09-10",
            "--out",
            str(template),
            "--db",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(template, dtype=str, keep_default_na=False)
    assert list(frame.columns[:5]) == ["pseudonym", "timepoint", "completed_on", "qpr15_1", "qpr15_2"]
    assert "mansa_16" in frame.columns and frame["pseudonym"].tolist() == ["P1", "P2"]
    # Fill in P1's WHO-5 and import; the unfilled P2 row is skipped.
    frame.loc[0, "completed_on"] = "2025-09-05"
    for i, v in enumerate([5, 4, 3, 2, 1], start=1):
        frame.loc[0, f"who5_{i}"] = str(v)
    frame.to_csv(template, index=False)
    result = runner.invoke(app, ["import", "questionnaires", str(template), "--db", url])
    assert result.exit_code == 0, result.output
    assert "1 responses created" in result.output and "1 empty rows skipped" in result.output
    result = runner.invoke(app, ["import", "questionnaires", str(template), "--db", url])
    assert "0 responses created" in result.output and "1 unchanged" in result.output
    # A bad cell: exit 2, every problem listed, nothing written.
    frame.loc[1, ["completed_on", "who5_1", "who5_2"]] = ["2025-09-06", "7", "x"]
    frame.to_csv(template, index=False)
    result = runner.invoke(app, ["import", "questionnaires", str(template), "--db", url])
    assert result.exit_code == 2
    assert "2 problem(s)" in result.output and "who5_1" in result.output and "who5_2" in result.output
    with read_session(study_db) as s:
        assert len(load_scores(s, get_study(s))) == 2  # who5 raw and total of P1 only
    result = runner.invoke(app, ["template", "questionnaires", "--timepoint", "later", "--db", url])
    assert result.exit_code == 2 and "unknown timepoint" in result.output

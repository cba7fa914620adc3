"""Data-quality checks: generated from the config, they catch planted defects and name them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pipelines.quality.run import run_checks
from pipelines.quality.suites import checks_for
from pipelines.quality.tables import check_tables
from pipelines.simulate import simulate_trial
from study.cli import app
from study.config import example_config_path, load_config
from study.db import read_session
from study.db.models import QualityRun


@pytest.fixture(scope="module")
def results():
    config = load_config(example_config_path())
    src = simulate_trial(config, n=60, seed=4)
    participants, allocations, scores = src["participants"], src["allocations"], src["scores"]
    # Planted defects, each with a known pseudonym
    allocations = pd.concat([allocations, allocations.iloc[[0]]])  # allocated twice
    dup = scores.iloc[[5]]
    scores = pd.concat([scores, dup])  # duplicate score
    late = scores.index[(scores.timepoint == "post")][0]
    scores.loc[late, "completed_on"] = dt.date(2030, 1, 1)  # outside its window
    attendance = pd.DataFrame(
        {
            "pseudonym": ["S00001", "S00002"],
            "group": ["CPH-R01", "CPH-R01"],
            "week": [1, 11],
            "status": ["present", "present"],
            "session_exists": [True, True],
            "session_held": [True, True],
            "member_of_group": [True, False],
        }
    )
    items = pd.DataFrame(
        {
            "pseudonym": ["S00003", "S00004", "S00005"],
            "timepoint": "baseline",
            "instrument": "who5",
            "version": "1.0",
            "item": ["1", "1", "1"],
            "value": [3, 9, -9],
            "completed_on": dt.date(2025, 9, 1),
        }
    )
    tables = check_tables(
        participants,
        allocations,
        scores,
        attendance,
        src["group_fidelity"],
        items,
        config,
        item_rules={"who5": {"min": 0, "max": 5, "missing_codes": [-9, -8]}},
    )
    frame = run_checks(tables, checks_for(config))
    return frame.set_index("check"), {
        "double": allocations.iloc[0]["pseudonym"],
        "dup": dup.iloc[0]["pseudonym"],
        "late": scores.loc[late, "pseudonym"].iloc[0]
        if hasattr(scores.loc[late, "pseudonym"], "iloc")
        else scores.loc[late, "pseudonym"],
    }


def test_planted_defects_fail_with_examples(results):
    frame, who = results
    double = frame.loc["every RCT participant is allocated exactly once"]
    assert not double["success"] and double["failing_rows"] == 1 and who["double"] in double["examples"]
    dup = frame.loc["scores: unique per participant × instrument × timepoint (× scale)"]
    assert not dup["success"] and dup["failing_rows"] == 2 and who["dup"] in dup["examples"]
    late = frame.loc["scores: questionnaire not answered after its timepoint window"]
    assert not late["success"] and late["failing_rows"] >= 1 and who["late"] in late["examples"]
    member = frame.loc["attendance: only for members of the session's group"]
    assert not member["success"] and member["examples"] == "S00002"
    assert not frame.loc["attendance: week within 1–10", "success"]
    # 9 is outside WHO-5's 0–5; -9 is a declared missing code and passes
    items = frame.loc["items: value within the response scale or a declared missing code"]
    assert items["failing_rows"] == 1 and items["examples"] == "S00004"


def test_clean_parts_pass(results):
    frame, _ = results
    assert frame.loc["participants: one record per pseudonym", "success"]
    assert frame.loc["scores: timepoint is configured", "success"]
    assert frame.loc["fidelity: adherence within 0–100 %", "success"]


def test_cli_check_on_demo_passes_and_writes_html(demo_engine, tmp_path):
    url = demo_engine.url.render_as_string(hide_password=False)
    report = tmp_path / "quality.html"
    # demo_engine is shared read-only: --no-record keeps the run out of it (and is tested so)
    result = CliRunner().invoke(app, ["check", "--db", url, "--html", str(report), "--no-record"])
    assert result.exit_code == 0, result.output
    assert "checks passed" in result.output
    with read_session(demo_engine) as session:
        assert session.scalar(select(func.count()).select_from(QualityRun)) == 0
    # The demo plants a few late answers: kept, flagged as a warning, not a failure.
    assert "WARN  scores: questionnaire not answered after its timepoint window" in result.output
    assert "<table>" in report.read_text() and "<script" not in report.read_text()

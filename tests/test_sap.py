"""The statistical analysis plan: shown with its hash, locked before unblinding, amendments
recorded as deviations, and the analysis after unblinding runs the locked plan."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from trial_db import build_trial_db
from typer.testing import CliRunner

from pipelines.analysis.plan import AnalysisPlan, analysis_plan
from pipelines.sap import current_sap, plan_from_json, plan_to_json, sap_document, sap_sha256
from study.cli import app
from study.config import example_config_path, load_config
from study.db import read_session, unit_of_work
from study.sap import deviations_frame, latest_sap, lock_sap
from study.studies import get_study

runner = CliRunner()


@pytest.fixture(scope="module")
def config():
    return load_config(example_config_path())


def test_document_is_deterministic_and_names_every_setting(config):
    sap = current_sap(config)
    assert current_sap(config).sha256 == sap.sha256 == sap_sha256(sap.document)
    for f in dataclasses.fields(AnalysisPlan):
        assert f"[{f.name}]" in sap.document
    assert "Primary outcome [primary]: qpr15.total" in sap.document
    assert "Intervention arm [treatment]: INT (Peer group course)" in sap.document
    assert "Holm" in sap.document and "CACE" in sap.document


def test_a_setting_added_to_the_plan_appears_without_edits(config):
    """A setting added to the plan later is rendered (by name until it has a label) and
    changes the hash; a known setting is rendered with its label."""
    Extended = dataclasses.make_dataclass(
        "Extended",
        [("mice_method", str, dataclasses.field(default="pmm"))],
        bases=(AnalysisPlan,),
        frozen=True,
    )
    plan = analysis_plan(config, unblinded=True)
    extended = Extended(**{f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)})
    text = sap_document(extended, "HOPE", "Hope", {})
    assert "Primary method [primary_method]: mixed_partially_nested" in text  # a known label
    assert "mice_method [mice_method]: pmm" in text  # unknown: by name
    assert sap_sha256(text) != sap_sha256(sap_document(plan, "HOPE", "Hope", {}))


def test_plan_round_trips_through_json(config):
    plan = analysis_plan(config, unblinded=True)
    back, notes = plan_from_json(plan_to_json(plan))
    assert back == plan and notes == []
    stored = plan_to_json(plan).replace('"seed"', '"retired_setting": 1, "seed"')
    _, notes = plan_from_json(stored)
    assert any("retired_setting" in n for n in notes)


@pytest.fixture
def trial(db_factory):
    engine = db_factory.new_engine()
    build_trial_db(engine, participants=40)
    yield engine
    engine.dispose()


def run(engine, *args, input=None):
    return runner.invoke(app, [*args, "--db", engine.url.render_as_string(hide_password=False)], input=input)


def test_unblinding_needs_the_lock_and_the_analysis_runs_the_locked_plan(trial, tmp_path):
    assert run(trial, "phase", "start", "analysis").exit_code == 0
    refused = run(trial, "unblind")
    assert refused.exit_code == 2 and "sap lock" in refused.output
    locked = run(trial, "sap", "lock", "--reason", "signed off")
    assert locked.exit_code == 0, locked.output
    with read_session(trial) as s:
        study = get_study(s)
        first = latest_sap(s, study)
        assert first.version == 1 and first.kind == "lock" and deviations_frame(s, study).empty
    # An amendment after the lock: a new version and a protocol deviation with the reason
    with unit_of_work(trial, "stat") as s:
        study = get_study(s)
        amended = first.document + "   - note: per-protocol threshold discussed\n"
        lock_sap(
            s, study, amended, sap_sha256(amended), first.plan_json, "stat", "DMC asked for a clarification"
        )
    with read_session(trial) as s:
        deviations = deviations_frame(s, get_study(s))
    assert deviations["kind"].tolist() == ["sap_amendment"]
    assert deviations["reason"].iloc[0] == "DMC asked for a clarification"
    assert first.sha256 in deviations["detail"].iloc[0]
    assert "CHANGED since version 2" in run(trial, "sap", "show").output
    assert run(trial, "unblind").exit_code == 0
    # After unblinding: the real allocation, no watermark, the locked plan's hash in the header
    out = tmp_path / "analysis"
    result = run(trial, "analyse", "--out", str(out), "--no-mice")
    assert result.exit_code in (0, 2), result.output
    with read_session(trial) as s:
        sha = latest_sap(s, get_study(s)).sha256
    assert f"SAP SHA-256 {sha}" in result.output
    assert not any(p.name.startswith("DUMMY_") for p in out.iterdir())
    report = run(trial, "report", "--out", str(tmp_path / "report.html"), "--no-quality", "--lang", "en")
    assert report.exit_code == 0, report.output
    html = (tmp_path / "report.html").read_text()
    assert sha in html and "Appendix A. Statistical analysis plan" in html
    assert "DMC asked for a clarification" in html and "DUMMY ALLOCATION" not in html
    assert isinstance(pd.read_csv(out / "consort.csv"), pd.DataFrame)

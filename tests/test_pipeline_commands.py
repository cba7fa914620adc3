"""The pipeline commands end to end on a database (SQLite and PostgreSQL): analyse, export,
check, report. Questionnaire scores come from the simulator until the questionnaire store is
merged (the one source function is replaced for the test)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from catalogue_walk import ENGLISH_NUMBERS, english_shown, split_markup
from trial_db import allocations_of, build_trial_db
from typer.testing import CliRunner

import pipelines.sources as sources
from dashboards.i18n import translate
from pipelines.simulate import simulate_scores
from study.cli import app
from study.config import example_config_path, load_config

RESULT_COLUMNS = [
    "outcome",
    "timepoint",
    "estimand",
    "method",
    "estimate",
    "se",
    "df",
    "ci_low",
    "ci_high",
    "p",
    "n",
    "effect_size",
    "effect_size_ci_low",
    "effect_size_ci_high",
]


@pytest.fixture(scope="module")
def trial_url(db_factory):
    engine = db_factory.new_engine()
    build_trial_db(engine, participants=48)
    config = load_config(example_config_path())
    from study.db import read_session
    from study.studies import get_study

    with read_session(engine) as s:
        dose = sources.dose_source(s, get_study(s))
    scores = simulate_scores(config, allocations_of(engine), dose, np.random.default_rng(1))
    yield engine.url.render_as_string(hide_password=False), scores
    engine.dispose()


@pytest.fixture
def with_scores(trial_url, monkeypatch):
    url, scores = trial_url
    monkeypatch.setattr(sources, "scores_source", lambda session, study: scores.copy())
    return url


def test_analyse_writes_results_with_the_contract_columns(with_scores, tmp_path):
    result = CliRunner().invoke(app, ["analyse", "--db", with_scores, "--out", str(tmp_path), "--no-mice"])
    assert result.exit_code == 0, result.output
    # Blinded study: the dummy allocation, watermarked in file names, columns and the diagram
    assert not (tmp_path / "results.csv").exists()
    tmp_path = _Prefixed(tmp_path)
    table = pd.read_csv(tmp_path / "results.csv")
    assert (table.pop("dummy_allocation") == "DUMMY ALLOCATION: not the trial result").all()
    assert list(table.columns) == RESULT_COLUMNS
    assert set(table["estimand"]) == {"itt", "per_protocol", "cace"}
    assert {"ancova", "mixed_repeated", "complete_case", "2sls"} <= set(table["method"])
    assert json.loads((tmp_path / "results.json").read_text())[0].keys() == {
        "dummy_allocation",
        *RESULT_COLUMNS,
    }
    assert "ANCOVA of qpr15.total" in (tmp_path / "model_summaries.txt").read_text()
    flow = pd.read_csv(tmp_path / "consort.csv")
    allocated = flow[(flow.stage == "allocated") & flow.reason.isna()]
    assert set(allocated["arm"]) == {"INT", "CTL"} and allocated["n"].sum() == 48  # dummy arms
    withdrawn = flow[(flow.stage == "discontinued") & flow.reason.isna()]["n"].sum()
    assert withdrawn == 2
    assert (tmp_path / "consort.svg").read_text().startswith("<svg")
    assert "DUMMY ALLOCATION: not the trial result" in (tmp_path / "consort.svg").read_text()


class _Prefixed(type(__import__("pathlib").Path())):
    """A directory whose files are looked up with the dummy allocation's prefix."""

    def __truediv__(self, name):
        return super().__truediv__(f"DUMMY_ALLOCATION_{name}")


def test_analyse_without_participants_says_why(study_db, tmp_path):
    url = study_db.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["analyse", "--db", url, "--out", str(tmp_path), "--no-mice"])
    assert result.exit_code == 2
    assert "no randomised (RCT) participants" in result.output


def test_report_is_self_contained(with_scores, tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["report", "--db", with_scores, "--out", str(out), "--no-quality", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert not out.exists()  # blinded: the dummy allocation, named so
    html = (tmp_path / "DUMMY_ALLOCATION_report.html").read_text()
    assert html.count("DUMMY ALLOCATION: not the trial result") >= 5  # banner and every arm-wise title
    for part in ("Table 1", "CONSORT", "Forest plot", "trajectories", "Fidelity", "Data quality", "snapshot"):
        assert part in html, part
    assert "<script" not in html and 'src="http' not in html and 'href="http' not in html


def test_report_in_danish_by_default_for_a_danish_study(with_scores, tmp_path):
    """The reference study addresses participants in Danish (``study.language: da``): its report
    is Danish unless ``--lang en``, with no English catalogue text, decimal commas, p as
    ``<0,001``/``0,xxx`` (never ``0.000``) and Danish dates."""
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", "--db", with_scores, "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "DUMMY_ALLOCATION_report.html").read_text()
    assert '<html lang="da">' in html
    texts = split_markup(html.split("<body>", 1)[1])
    assert not english_shown(texts), english_shown(texts)
    for heading in ("report.table_one", "report.consort", "report.trajectories", "report.quality"):
        assert translate(heading, "da") in html, heading
    assert "Vurderet for egnethed" in html and "Forest plot" in html  # the CONSORT and forest SVGs
    # The watermark verbatim with the Danish wording beside it: banner, arm-wise titles, CONSORT.
    danish_mark = "DUMMY ALLOCATION: not the trial result (dummy-allokering: ikke forsøgets resultat)"
    assert html.count(danish_mark) >= 5 and html.count(danish_mark) == html.count("DUMMY ALLOCATION")
    assert not ENGLISH_NUMBERS.search("\n".join(texts)), ENGLISH_NUMBERS.search("\n".join(texts))
    assert re.search(r"\d+,\d %", html) and re.search(r"<td class=\"num\">-?\d+,\d\d</td>", html)
    assert "0.000" not in html and re.search(r"<td class=\"num\">(&lt;0,001|0,\d{3})</td>", html)
    assert re.search(r"\b\d{1,2}\. (jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)\.? \d{4}", html)
    assert not re.search(r"<text[^>]*>-?\d+\.\d+</text>", html)  # SVG axis ticks with a decimal comma
    bad = CliRunner().invoke(app, ["report", "--db", with_scores, "--out", str(out), "--lang", "fr"])
    assert bad.exit_code == 2 and "unknown language" in bad.output


def test_export_spss_of_the_trial(with_scores, tmp_path):
    result = CliRunner().invoke(
        app, ["export", "--db", with_scores, "--format", "spss", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    import pyreadstat

    data, meta = pyreadstat.read_sav(str(tmp_path / "DUMMY_ALLOCATION_analysis_dataset.sav"))
    assert len(data) == 48 * 3 and data["qpr15_total"].notna().sum() > 0
    assert all("DUMMY ALLOCATION" in label for label in meta.variable_value_labels["arm"].values())


def test_exports_of_a_populated_trial_hold_no_identity_value(with_scores, tmp_path):
    """Every participant here has a synthetic name, birth date, e-mail, phone and address:
    none of them may appear in any exported file, in any format."""
    from sqlalchemy import select

    from study.db import make_engine, read_session
    from study.db.models import PersonIdentity

    engine = make_engine(with_scores)
    with read_session(engine) as session:
        identities = session.scalars(select(PersonIdentity)).all()
    engine.dispose()
    secrets = {v for i in identities for v in (i.full_name, i.email, i.phone, i.address) if v}
    secrets |= {i.birth_date.isoformat() for i in identities if i.birth_date}
    assert len(secrets) > 100
    for fmt in ("csv", "parquet", "stata", "spss"):
        out = tmp_path / fmt
        result = CliRunner().invoke(
            app, ["export", "--db", with_scores, "--format", fmt, "--out", str(out), "--items"]
        )
        assert result.exit_code == 0, result.output
        blob = b"".join(p.read_bytes() for p in out.iterdir())
        assert b"P0001" in blob or b"P0002" in blob  # the pseudonyms are there
        leaked = [s for s in secrets if s.encode() in blob]
        assert not leaked, leaked[:3]


def test_check_fails_with_exit_1_and_names_the_participant(trial_url, monkeypatch, tmp_path):
    url, scores = trial_url
    broken = scores.copy()
    row = broken.index[broken.timepoint == "followup"][0]
    broken.loc[row, "timepoint"] = "week99"  # not a configured timepoint: wrong data
    monkeypatch.setattr(sources, "scores_source", lambda session, study: broken.copy())
    result = CliRunner().invoke(app, ["check", "--db", url, "--html", str(tmp_path / "q.html")])
    assert result.exit_code == 1
    assert "FAIL  scores: timepoint is configured: 1 of" in result.output
    assert broken.loc[row, "pseudonym"] in result.output


def test_late_answer_is_a_warning_naming_the_participant(trial_url, monkeypatch, tmp_path):
    import datetime as dt

    url, scores = trial_url
    late = scores.copy()
    row = late.index[late.timepoint == "followup"][0]
    late.loc[row, "completed_on"] = dt.date(2031, 1, 1)  # far outside the follow-up window
    monkeypatch.setattr(sources, "scores_source", lambda session, study: late.copy())
    result = CliRunner().invoke(app, ["check", "--db", url, "--html", str(tmp_path / "q.html")])
    # Kept and flagged for review, as the questionnaire rules say: not a failure.
    assert result.exit_code == 0, result.output
    assert "WARN  scores: questionnaire not answered after its timepoint window: 1 of" in result.output
    assert late.loc[row, "pseudonym"] in result.output

"""Exports: every format round-trips with its labels; identity fields can never appear."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from pipelines.dataset import build_analysis_dataset
from pipelines.exports.privacy import require_pseudonymised
from pipelines.exports.write import export_study, sha256_of
from pipelines.simulate import simulate_trial
from study.cli import app
from study.config import example_config_path, load_config

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def config():
    return load_config(example_config_path())


@pytest.fixture(scope="module")
def dataset(config):
    return build_analysis_dataset(**simulate_trial(config, n=40, seed=8), config=config, unblinded=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "stata", "spss"])
def test_export_round_trips_with_codebook_and_manifest(fmt, config, dataset, tmp_path):
    paths = export_study(dataset, config, False, fmt, tmp_path, "HOPE", NOW, versions={"qpr15": "1.0"})
    data_file = paths[0]
    assert data_file.name.startswith("DUMMY_ALLOCATION_analysis_dataset.")  # blinded: the dummy
    if fmt == "csv":
        back = pd.read_csv(data_file)
    elif fmt == "parquet":
        back = pd.read_parquet(data_file)
    elif fmt == "stata":
        back, meta = pyreadstat.read_dta(str(data_file))
    else:
        back, meta = pyreadstat.read_sav(str(data_file))
    assert len(back) == len(dataset)
    score = "qpr15.total" if fmt in ("csv", "parquet") else "qpr15_total"
    assert back[score].sum() == pytest.approx(dataset["qpr15.total"].sum())
    if fmt in ("stata", "spss"):
        # Value labels on coded variables, variable labels from the codebook; dummy arms say so
        assert meta.variable_value_labels["arm"] == {
            1: "Peer group course (DUMMY ALLOCATION: not the trial result)",
            2: "Services as usual (DUMMY ALLOCATION: not the trial result)",
        }
        assert meta.column_names_to_labels["dose"] == "Sessions attended (dose)"
        assert back["allocated_on"].dropna().iloc[0] == dataset["allocated_on"].iloc[0]
    codebook = pd.read_csv(tmp_path / "DUMMY_ALLOCATION_codebook.csv")
    assert list(codebook.columns) == ["variable", "label", "type", "values", "instrument", "version", "missing_codes"]
    assert set(codebook["variable"]) == set(back.columns)
    qpr = codebook.set_index("variable").loc[score]
    assert qpr["instrument"] == "qpr15" and str(qpr["version"]) == "1.0"
    assert (back["dummy_allocation"] == "DUMMY ALLOCATION: not the trial result").all()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for entry in manifest["files"]:
        assert sha256_of(tmp_path / entry["file"]) == entry["sha256"]
    assert (tmp_path / "DUMMY_ALLOCATION_codebook.md").read_text().startswith("# Codebook")


def test_identity_columns_are_refused(dataset):
    for column in ("full_name", "birth_date", "Birth-Date", "email", "e.mail", "phone", "address"):
        with pytest.raises(ValueError, match="identity field"):
            require_pseudonymised(dataset.assign(**{column: "x"}))
    require_pseudonymised(dataset)  # the dataset itself passes


def test_cli_export_of_demo_holds_no_identity_value(demo_engine, tmp_path):
    """The demo people have synthetic identities: none of their values may reach a file."""
    from sqlalchemy import select

    from study.db import read_session
    from study.db.models import PersonIdentity

    with read_session(demo_engine) as session:
        identities = session.scalars(select(PersonIdentity)).all()
        secrets = {v for i in identities for v in (i.full_name, i.email, i.phone, i.address) if v}
        secrets |= {i.birth_date.isoformat() for i in identities if i.birth_date}
    assert secrets
    url = demo_engine.url.render_as_string(hide_password=False)
    for fmt in ("csv", "stata"):
        result = CliRunner().invoke(app, ["export", "--db", url, "--format", fmt, "--out", str(tmp_path / fmt), "--items"])
        assert result.exit_code == 0, result.output
        blob = b"".join(p.read_bytes() for p in (tmp_path / fmt).iterdir())
        leaked = [s for s in secrets if s.encode() in blob]
        assert not leaked, leaked[:3]

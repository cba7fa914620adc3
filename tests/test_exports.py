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

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


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
    assert list(codebook.columns) == [
        "variable",
        "label",
        "type",
        "values",
        "instrument",
        "version",
        "missing_codes",
    ]
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
        result = CliRunner().invoke(
            app, ["export", "--db", url, "--format", fmt, "--out", str(tmp_path / fmt), "--items"]
        )
        assert result.exit_code == 0, result.output
        blob = b"".join(p.read_bytes() for p in (tmp_path / fmt).iterdir())
        leaked = [s for s in secrets if s.encode() in blob]
        assert not leaked, leaked[:3]


def test_spss_export_carries_measurement_levels(config, dataset, tmp_path):
    # Read back with pyreadstat (ReadStat, as PSPP and SPSS read the dictionary): scores, ages,
    # dose and dates are Scale, codes Nominal or Ordinal, not everything Nominal.
    from pipelines.exports.codebook import instrument_meta
    from questionnaires.definitions import shipped_instruments

    items = pd.DataFrame(
        {
            "pseudonym": ["P0001", "P0001", "P0002"],
            "timepoint": ["baseline"] * 3,
            "instrument": ["who5", "state_hope", "who5"],
            "item": ["1", "2", "1"],
            "value": [3.0, 7.0, -9.0],
        }
    )
    paths = export_study(
        dataset,
        config,
        False,
        "spss",
        tmp_path,
        "HOPE",
        NOW,
        items=items,
        instruments=instrument_meta(shipped_instruments()),
    )
    _, meta = pyreadstat.read_sav(str(paths[0]), metadataonly=True)
    level = meta.variable_measure
    for scale in (
        "qpr15_total",
        "state_hope_total",
        "age",
        "dose",
        "sessions_held",
        "group_fidelity",
        "companion_hours",
        "allocated_on",
        "completed_on",
    ):
        assert level[scale] == "scale", scale
    for nominal in ("site", "arm", "pseudonym", "group", "per_protocol", "gender", "dummy_allocation"):
        assert level[nominal] == "nominal", nominal
    assert level["timepoint"] == "ordinal" and level["group_fidelity_class"] == "ordinal"
    # codes and counts shown as whole numbers, scores with decimals
    assert meta.original_variable_types["site"] == "F8.0" and meta.original_variable_types["age"] == "F8.0"
    assert meta.original_variable_types["qpr15_total"] != "F8.0"
    item_file = next(p for p in paths if p.name == "items.sav")
    _, item_meta = pyreadstat.read_sav(str(item_file), metadataonly=True, user_missing=True)
    assert item_meta.variable_measure["who5_1"] == "ordinal"
    assert item_meta.variable_measure["state_hope_2"] == "ordinal"
    assert item_meta.variable_measure["pseudonym"] == "nominal"
    for item in ("who5_1", "state_hope_2"):  # the missing codes stay user-missing
        assert {r["lo"] for r in item_meta.missing_ranges[item]} == {-9.0, -8.0, -7.0}, item

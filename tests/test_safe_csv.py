"""Formula neutralisation of every CSV peerstudy writes (OWASP CSV injection, issue 15 case 5)."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from pipelines.dataset import build_analysis_dataset
from pipelines.dummy_allocation import DUMMY_FILE_PREFIX
from pipelines.exports.codebook import FORMULA_NOTE
from pipelines.exports.write import export_study
from pipelines.simulate import simulate_trial
from study.config import example_config_path, load_config
from study.safe_csv import neutralise_cell, neutralise_formulas, to_csv

HOSTILE = [
    '=HYPERLINK("http://evil","x")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("cell", HOSTILE)
def test_formula_cells_get_a_leading_quote(cell):
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-9", "-0.5", "+2", "1e3", "P0001", "", "a=b", None, -9, 2.5])
def test_numbers_and_ordinary_text_stay_as_they_are(cell):
    assert neutralise_cell(cell) == cell


def test_a_frame_keeps_its_numbers_and_dtypes():
    notes = HOSTILE[:5]  # (a bare CR inside a cell is a line break to pandas' reader)
    frame = pd.DataFrame(
        {"note": notes, "score": [-9, -1, 0, 1, 2], "level": pd.Categorical(["@x", "a", "a", "a", "a"])}
    )
    safe = neutralise_formulas(frame)
    assert safe["score"].tolist() == frame["score"].tolist() and safe["score"].dtype == frame["score"].dtype
    assert all(v.startswith("'") for v in safe["note"]) and safe["level"][0] == "'@x"
    back = pd.read_csv(io.StringIO(to_csv(frame)))
    assert back["score"].tolist() == [-9, -1, 0, 1, 2]
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in back["note"])


def test_exports_and_their_codebook_neutralise_formulas(tmp_path):
    config = load_config(example_config_path())
    dataset = build_analysis_dataset(**simulate_trial(config, n=20, seed=3), config=config, unblinded=False)
    dataset["group"] = dataset["group"].astype(object)
    dataset.loc[dataset.index[0], "group"] = HOSTILE[0]
    export_study(dataset, config, False, "csv", tmp_path, "HOPE", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    # A blinded export (dummy allocation): its file names carry the watermark
    text = (tmp_path / f"{DUMMY_FILE_PREFIX}analysis_dataset.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and ',"=HYPERLINK' not in text and ",=HYPERLINK" not in text
    assert FORMULA_NOTE in (tmp_path / f"{DUMMY_FILE_PREFIX}codebook.md").read_text(encoding="utf-8")


def test_dashboard_downloads_neutralise_formulas(monkeypatch):
    from dashboards.ui import widgets

    downloads = []

    import streamlit

    class FakeStreamlit:
        session_state: dict = {}  # the table is shown in the session's language (English here)
        column_config = streamlit.column_config  # numbers right-aligned

        def dataframe(self, *args, **kwargs):
            pass

        def download_button(self, label, data, **kwargs):
            downloads.append(data().decode("utf-8"))  # written when clicked

    monkeypatch.setattr(widgets, "st", FakeStreamlit())
    widgets.table(pd.DataFrame({"observer": ["@SUM(1)"], "minutes": [-5]}), "obs")
    assert downloads == ["observer,minutes\n'@SUM(1),-5\n"]


def test_templates_and_scores_use_the_safe_writer():
    import inspect

    from study.cli import questionnaires, templates

    assert "to_csv(frame)" in inspect.getsource(templates)
    assert ".to_csv(" not in inspect.getsource(questionnaires.scores)

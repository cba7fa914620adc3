"""Write a trial analysis to a directory: results.csv/json, model summaries and side tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.analysis.trial import RESULT_COLUMNS, TrialAnalysis
from study.safe_csv import to_csv

__all__ = ["write_analysis"]


def _records(frame: pd.DataFrame) -> list[dict]:
    # NaN is not JSON: write null.
    return json.loads(frame.replace({np.nan: None}).to_json(orient="records", double_precision=10))


def write_analysis(analysis: TrialAnalysis, out_dir: str | Path, header: str = "") -> list[Path]:
    """Write the files of ``peerstudy analyse`` and return their paths.

    * ``results.csv``, ``results.json`` – :data:`~pipelines.analysis.trial.RESULT_COLUMNS`
    * ``model_summaries.txt`` – every model's summary text
    * ``multiplicity.csv`` – Holm-adjusted p-values of the secondary outcomes
    * ``moderation.csv`` – exploratory fidelity moderation in the intervention arm
    * ``icc.csv`` – group-level ICCs and variances (per arm) of the partially nested models
    * ``problems.txt`` – analyses that could not run and why, and notes on the data
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # A watermark column (dummy allocation, study still blinded) is written first when present.
    results = analysis.results[
        [c for c in analysis.results.columns if c == "dummy_allocation"] + RESULT_COLUMNS
    ]
    paths = [out / "results.csv", out / "results.json"]
    to_csv(results, paths[0])
    paths[1].write_text(json.dumps(_records(results), indent=2), encoding="utf-8")
    text = [header] if header else []
    for key, summary in analysis.summaries.items():
        text += ["=" * 78, key, "=" * 78, summary, ""]
    paths.append(out / "model_summaries.txt")
    paths[-1].write_text("\n".join(text), encoding="utf-8")
    for name, frame in (
        ("multiplicity.csv", analysis.multiplicity),
        ("moderation.csv", analysis.moderation),
        ("icc.csv", analysis.icc),
    ):
        paths.append(out / name)
        to_csv(frame, paths[-1])
    paths.append(out / "problems.txt")
    lines = [f"could not run: {p}" for p in analysis.problems] + [f"note: {n}" for n in analysis.notes]
    paths[-1].write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return paths

"""Write the analysis dataset (and item-level data) as CSV, Parquet, Stata or SPSS files with
their codebook (CSV and Markdown) and a manifest of SHA-256 checksums."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd

from pipelines.dummy_allocation import DUMMY_FILE_PREFIX, DUMMY_WATERMARK, is_dummy
from pipelines.exports.codebook import (
    InstrumentMeta,
    build_codebook,
    codebook_markdown,
    value_labels,
)
from pipelines.exports.measures import measure_levels
from pipelines.exports.privacy import require_pseudonymised
from study.checksums import file_sha256
from study.config import StudyConfig
from study.safe_csv import to_csv

__all__ = ["FORMATS", "export_study", "items_wide", "sha256_of"]

#: Export formats and their file extension.
FORMATS = {"csv": "csv", "parquet": "parquet", "stata": "dta", "spss": "sav"}


#: SHA-256 of a file's bytes, hex (the manifest's checksum; shared with backups).
sha256_of = file_sha256


def items_wide(items: pd.DataFrame) -> pd.DataFrame:
    """Long item answers (``pseudonym, timepoint, instrument, item, value``) → one row per
    participant × timepoint with ``<instrument>_<item>`` columns (missing codes kept as given)."""
    if items.empty:
        return pd.DataFrame(columns=["pseudonym", "timepoint"])
    wide = items.assign(variable=items["instrument"] + "_" + items["item"].astype(str)).pivot(
        index=["pseudonym", "timepoint"], columns="variable", values="value"
    )
    wide.columns.name = None
    return wide.reset_index()


def _safe_name(name: str, taken: set[str]) -> str:
    """Stata/SPSS variable name: letters, digits, underscore, ≤ 32 characters, unique."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not re.match(r"[A-Za-z]", base):
        base = "v_" + base
    base = base[:32]
    candidate, k = base, 1
    while candidate.lower() in taken:
        k += 1
        candidate = f"{base[:29]}_{k}"
    taken.add(candidate.lower())
    return candidate


def _for_stat_package(frame: pd.DataFrame, labels: dict[str, dict[str, str]]):
    """Rename to safe names; code labelled text columns as integers with value labels;
    booleans as 0/1; dates as datetimes."""
    taken: set[str] = set()
    names = {c: _safe_name(c, taken) for c in frame.columns}
    out = pd.DataFrame(index=frame.index)
    value_label_map: dict[str, dict[int, str]] = {}
    for column in frame.columns:
        series, name = frame[column], names[column]
        if column in labels:
            codes = list(labels[column]) + sorted(set(series.dropna().astype(str)) - set(labels[column]))
            mapping = {code: i + 1 for i, code in enumerate(codes)}
            out[name] = series.astype("string").map(mapping).astype(float)
            value_label_map[name] = {i + 1: labels[column].get(code, code) for i, code in enumerate(codes)}
        elif pd.api.types.is_bool_dtype(series):
            out[name] = series.astype(float)
            value_label_map[name] = {0: "no", 1: "yes"}
        elif series.dropna().map(lambda v: isinstance(v, dt.date)).all() and series.notna().any():
            # Python dates are written as Stata %td / SPSS DATE formats (datetime64 columns
            # come out as 1970 in pyreadstat 1.3 under pandas 3).
            out[name] = series.astype(object).where(series.notna(), None)
        elif pd.api.types.is_numeric_dtype(series):
            out[name] = series.astype(float)
        else:
            out[name] = series.astype("string").fillna("").astype(object)
    return out, names, value_label_map


def _write(
    frame: pd.DataFrame,
    path: Path,
    fmt: str,
    labels: dict[str, dict[str, str]],
    column_labels: dict[str, str],
    missing: dict[str, list],
    measures: dict[str, str] | None = None,
) -> dict[str, str]:
    """Write one table; returns original → written column names. ``measures`` (original
    column → nominal/ordinal/scale) are written as SPSS measurement levels."""
    if fmt == "csv":
        to_csv(frame, path)
        return {c: c for c in frame.columns}
    if fmt == "parquet":
        frame.to_parquet(path, index=False)
        return {c: c for c in frame.columns}
    import pyreadstat

    data, names, vlabels = _for_stat_package(frame, labels)
    var_labels: list[str | None] = [column_labels.get(names_inv, "")[:80] for names_inv in frame.columns]
    if fmt == "stata":
        pyreadstat.write_dta(
            data, str(path), column_labels=var_labels, variable_value_labels=vlabels, version=15
        )
    else:
        user_missing = {names[c]: codes for c, codes in missing.items() if c in names and codes}
        levels = {names[c]: level for c, level in (measures or {}).items() if c in names}
        # Codes, yes/no and counts are whole numbers: shown as 1, not 1.00.
        whole = {
            names[c]: "F8.0"
            for c in frame.columns
            if names[c] in vlabels or pd.api.types.is_integer_dtype(frame[c])
        }
        pyreadstat.write_sav(
            data,
            str(path),
            column_labels=var_labels,
            variable_value_labels=vlabels,
            missing_ranges=user_missing or None,
            variable_measure=levels or None,
            variable_format=whole or None,
        )
    return names


def export_study(
    dataset: pd.DataFrame,
    config: StudyConfig,
    unblinded: bool,
    fmt: str,
    out_dir: str | Path,
    study_code: str,
    taken_at: dt.datetime,
    versions: dict[str, str] | None = None,
    items: pd.DataFrame | None = None,
    instruments: dict[str, InstrumentMeta] | None = None,
    software_version: str = "",
) -> list[Path]:
    """Export the analysis dataset (and item-level data when ``items`` is given).

    Writes ``analysis_dataset.<ext>``, ``codebook.csv``, ``codebook.md`` (and
    ``items.<ext>``, ``items_codebook.csv/md``), then ``manifest.json`` and ``SHA256SUMS``
    (``sha256sum -c SHA256SUMS`` verifies the files). Every table passes
    :func:`pipelines.exports.privacy.require_pseudonymised` first.

    Returns the paths written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = value_labels(config, unblinded)
    # A dataset on the dummy allocation says so in its file names too.
    prefix = DUMMY_FILE_PREFIX if is_dummy(dataset) else ""
    tables = [
        (
            f"{prefix}analysis_dataset",
            f"{prefix}codebook",
            require_pseudonymised(dataset, "the analysis dataset export"),
        )
    ]
    if items is not None:
        tables.append(
            ("items", "items_codebook", require_pseudonymised(items_wide(items), "the item export"))
        )
    written: list[Path] = []
    rows: dict[str, int] = {}
    known = instruments or {}
    for stem, codebook_stem, frame in tables:
        # Codebook first (labels), then the data with the same names.
        book = build_codebook(frame, config, unblinded, versions=versions, instruments=instruments)
        column_labels = dict(zip(frame.columns, book["label"]))
        missing = {}
        for column in frame.columns:
            # the longest instrument id the column starts with (state_hope_2 is state_hope's)
            inst = max((i for i in known if column.startswith(f"{i}_")), key=len, default=None)
            if inst is not None and column not in labels:
                missing[column] = [float(code) for code in known[inst].missing_codes]
        path = out / f"{stem}.{FORMATS[fmt]}"
        measures = measure_levels(frame, labels, set(config.instruments) | set(instruments or {}))
        names = _write(frame, path, fmt, labels, column_labels, missing, measures)
        book["variable"] = [names[c] for c in frame.columns]
        to_csv(book, out / f"{codebook_stem}.csv")
        (out / f"{codebook_stem}.md").write_text(
            codebook_markdown(book, f"Codebook: {stem} of study {study_code}"), encoding="utf-8"
        )
        written += [path, out / f"{codebook_stem}.csv", out / f"{codebook_stem}.md"]
        rows[path.name] = len(frame)
    files = [
        {"file": p.name, "bytes": p.stat().st_size, "sha256": sha256_of(p), "rows": rows.get(p.name)}
        for p in written
    ]
    manifest = {
        "study": study_code,
        "format": fmt,
        "database_snapshot_utc": taken_at.isoformat(),
        "arms": "unblinded" if unblinded else DUMMY_WATERMARK,
        "software": f"peerstudy {software_version}".strip(),
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (out / "SHA256SUMS").write_text("".join(f"{f['sha256']}  {f['file']}\n" for f in files), encoding="utf-8")
    return written + [out / "manifest.json", out / "SHA256SUMS"]

"""The codebook of an export: one row per variable with its label, type, values and origin."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipelines.dummy_allocation import DUMMY_WATERMARK
from study.config import StudyConfig

__all__ = [
    "CODEBOOK_COLUMNS",
    "FORMULA_NOTE",
    "InstrumentMeta",
    "build_codebook",
    "codebook_markdown",
    "instrument_meta",
    "value_labels",
]

#: What the codebook says about formula neutralisation in CSV files (study.safe_csv).
FORMULA_NOTE = (
    "In CSV files a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return "
    "is written with a leading `'` so that no spreadsheet runs it as a formula (OWASP, CSV "
    "injection); remove that `'` to get the value as entered. Numbers, including negative "
    "missing codes such as -9, are written unchanged."
)
CODEBOOK_COLUMNS = ["variable", "label", "type", "values", "instrument", "version", "missing_codes"]

_FIXED_LABELS = {
    "dummy_allocation": f"Watermark: {DUMMY_WATERMARK} (arms are a random re-allocation until unblinding)",
    "pseudonym": "Participant pseudonym",
    "site": "Site",
    "age": "Age at screening (years)",
    "arm": "Allocated arm",
    "allocated_on": "Date of randomisation",
    "group": "Course group (intervention arm)",
    "sessions_held": "Sessions held by the participant's group",
    "dose": "Sessions attended (dose)",
    "per_protocol": "Per protocol (attended at least the configured minimum of sessions)",
    "group_fidelity": "Group fidelity: mean adherence over observed sessions (%)",
    "group_fidelity_class": "Group fidelity classification",
    "companion_matched": "Matched with a peer buddy (1:1 companionship)",
    "companion_contacts": "Companionship contacts (number)",
    "companion_hours": "Companionship hours",
    "companion_months": "Companionship months",
    "withdrawn_on": "Date of withdrawal",
    "timepoint": "Assessment timepoint",
    "completed_on": "Earliest questionnaire completion date at the timepoint",
}


@dataclass(frozen=True)
class InstrumentMeta:
    """What the codebook needs to know of an instrument definition (questionnaires YAML)."""

    name: str
    version: str = ""
    scale_labels: dict[str, str] = field(default_factory=dict)
    item_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[float, str] = field(default_factory=dict)
    missing_codes: dict[float, str] = field(default_factory=dict)


def instrument_meta(definitions: dict) -> dict[str, InstrumentMeta]:
    """Codebook metadata from instrument definitions (``questionnaires.definitions``)."""
    return {
        inst_id: InstrumentMeta(
            name=inst.name,
            version=inst.version,
            scale_labels={name: scale.label for name, scale in inst.scales.items()},
            item_labels={item.id: item.label for item in inst.items},
            value_labels={float(k): v for k, v in inst.response_scale.labels.items()},
            missing_codes={float(k): v for k, v in inst.missing_codes.items()},
        )
        for inst_id, inst in definitions.items()
    }


def value_labels(config: StudyConfig, unblinded: bool) -> dict[str, dict[str, str]]:
    """Labels of the coded text variables: arm, site, timepoint, booleans, fidelity class.

    Until unblinding the dataset holds the dummy allocation, and the arm labels say so."""
    arms = {a.code: (a.label if unblinded else f"{a.label} ({DUMMY_WATERMARK})") for a in config.arms}
    return {
        "arm": arms,
        "site": {s.code: s.name for s in config.sites},
        "timepoint": {t.code: t.label for t in config.timepoints},
        "group_fidelity_class": {"high": "high", "moderate": "moderate", "low": "low"},
    }


def _type_of(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    sample = series.dropna()
    if len(sample) and hasattr(sample.iloc[0], "isoformat"):
        return "date"
    return "text"


def build_codebook(
    frame: pd.DataFrame,
    config: StudyConfig,
    unblinded: bool,
    versions: dict[str, str] | None = None,
    instruments: dict[str, InstrumentMeta] | None = None,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The codebook of ``frame`` (the analysis dataset or the wide item table).

    Parameters
    ----------
    frame
        What is exported, with its original column names.
    versions
        Instrument → scoring version(s) found in the data (e.g. ``{"qpr15": "1.0"}``).
    instruments
        Instrument definitions (labels, value labels, missing codes) when available.
    names
        Original → exported column name (Stata/SPSS names cannot hold dots).

    Returns
    -------
    pandas.DataFrame
        :data:`CODEBOOK_COLUMNS`: ``variable`` (as in the file), ``label``, ``type``,
        ``values`` (``code = label; …``), ``instrument``, ``version``, ``missing_codes``.
    """
    versions = versions or {}
    instruments = instruments or {}
    names = names or {}
    labels = value_labels(config, unblinded)
    rows = []
    for column in frame.columns:
        # value codes: text for derived labels, numbers for an instrument's response scale
        values: Mapping[str, str] | Mapping[float, str]
        instrument, label, values, missing = "", _FIXED_LABELS.get(column, ""), labels.get(column, {}), {}
        if column in config.stratification:
            label = f"Stratification factor: {column}"
        elif "." in column:  # a score: instrument.scale
            instrument, scale = column.split(".", 1)
            meta = instruments.get(instrument)
            name = meta.name if meta else instrument
            label = f"{name}: {(meta.scale_labels.get(scale) if meta else None) or scale} score"
        elif "_" in column and column.split("_", 1)[0] in (set(config.instruments) | set(instruments)):
            instrument, item = column.split("_", 1)  # an item: instrument_item
            meta = instruments.get(instrument)
            label = f"{meta.name if meta else instrument} item {item}" + (
                f": {meta.item_labels[item]}" if meta and item in meta.item_labels else ""
            )
            if meta:
                values, missing = meta.value_labels, meta.missing_codes
        if not values and pd.api.types.is_bool_dtype(frame[column]):
            values = {"1": "yes", "0": "no"}
        rows.append(
            {
                "variable": names.get(column, column),
                "label": label or column,
                "type": _type_of(frame[column]),
                "values": "; ".join(f"{k} = {v}" for k, v in values.items()),
                "instrument": instrument,
                "version": versions.get(
                    instrument, instruments[instrument].version if instrument in instruments else ""
                )
                if instrument
                else "",
                "missing_codes": "; ".join(f"{k} = {v}" for k, v in missing.items())
                or ("empty = not answered or not scorable" if instrument else ""),
            }
        )
    return pd.DataFrame(rows, columns=CODEBOOK_COLUMNS)


def codebook_markdown(codebook: pd.DataFrame, title: str) -> str:
    """The codebook as a Markdown table."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        f"# {title}",
        "",
        FORMULA_NOTE,
        "",
        "| " + " | ".join(CODEBOOK_COLUMNS) + " |",
        "|" + "---|" * len(CODEBOOK_COLUMNS),
    ]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |"
        for row in codebook[CODEBOOK_COLUMNS].itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"

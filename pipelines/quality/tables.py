"""The tables the data-quality suites run on, derived in pandas from the study's sources.

Pure: sources and config in, one DataFrame per table out. Every table carries ``pseudonym``
(examples in the report) and the derived columns the generated expectations test.
"""

from __future__ import annotations

import pandas as pd

from pipelines.dataset import SCORE_COLUMNS
from study.config import StudyConfig

__all__ = ["ItemRule", "check_tables"]


class ItemRule(dict):
    """Per instrument: ``{"min": .., "max": .., "missing_codes": [..]}`` (from its definition)."""


def _window(
    scores: pd.DataFrame,
    participants: pd.DataFrame,
    allocations: pd.DataFrame,
    dose: pd.DataFrame,
    config: StudyConfig,
) -> pd.DataFrame:
    """Due window of every score row from the configured anchor, offset and window."""
    participants = participants.drop_duplicates("pseudonym")
    anchors = pd.DataFrame({"pseudonym": participants["pseudonym"]})
    anchors["screening"] = pd.to_datetime(participants["screened_on"])
    anchors["consent"] = pd.to_datetime(participants["consent_on"])
    anchors = anchors.merge(
        # A double allocation is its own check: it must not duplicate score rows here.
        allocations[["pseudonym", "allocated_on"]]
        .drop_duplicates("pseudonym")
        .assign(randomisation=lambda f: pd.to_datetime(f["allocated_on"]))
        .drop(columns="allocated_on"),
        on="pseudonym",
        how="left",
    )
    spec = pd.DataFrame(
        [
            {
                "timepoint": t.code,
                "anchor": t.anchor,
                "offset": t.offset_weeks,
                "before": t.window_before_weeks,
                "after": t.window_after_weeks,
            }
            for t in config.timepoints
        ]
    )
    frame = scores.merge(spec, on="timepoint", how="left").merge(anchors, on="pseudonym", how="left")
    # group_start is not a participant date here: fall back to randomisation for the window.
    frame["group_start"] = frame["randomisation"]
    anchor_date = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for name in ("screening", "consent", "randomisation", "group_start"):
        hit = frame["anchor"] == name
        anchor_date[hit] = frame.loc[hit, name].astype("datetime64[ns]")
    due = anchor_date + pd.to_timedelta(frame["offset"].fillna(0) * 7, unit="D")
    frame["window_start"] = due - pd.to_timedelta(frame["before"].fillna(0) * 7, unit="D")
    frame["window_end"] = due + pd.to_timedelta(frame["after"].fillna(0) * 7, unit="D")
    frame["completed_on"] = pd.to_datetime(frame["completed_on"]).astype("datetime64[ns]")
    return frame


def check_tables(
    participants: pd.DataFrame,
    allocations: pd.DataFrame,
    scores: pd.DataFrame,
    attendance: pd.DataFrame,
    group_fidelity: pd.DataFrame,
    items: pd.DataFrame,
    config: StudyConfig,
    dose: pd.DataFrame | None = None,
    item_rules: dict[str, dict] | None = None,
) -> dict[str, pd.DataFrame]:
    """Build the check tables.

    Returns
    -------
    dict
        ``participants`` (RCT participants), ``allocations`` (one row per allocated pseudonym
        with ``n_allocations``, ``eligible``, ``consented``, ``is_rct_participant``),
        ``scores`` (with ``window_start``/``window_end``), ``attendance`` (with
        ``session_exists``, ``session_held``, ``member_of_group``), ``items`` (with
        ``value_ok``), ``group_fidelity``. Empty sources give empty tables (their checks then
        pass vacuously and are reported as "no data").
    """
    tables: dict[str, pd.DataFrame] = {"participants": participants.copy()}
    counts = allocations.groupby("pseudonym").size().rename("n_allocations").reset_index()
    alloc = counts.merge(
        participants[["pseudonym", "eligible", "consent_on"]], on="pseudonym", how="left", indicator=True
    )
    alloc["is_rct_participant"] = alloc["_merge"] == "both"
    alloc["consented"] = alloc["consent_on"].notna()
    alloc["eligible"] = alloc["eligible"].fillna(False).astype(bool)
    tables["allocations"] = alloc.drop(columns=["_merge", "consent_on"])
    scored = scores[scores["score"].notna()] if not scores.empty else scores
    tables["scores"] = _window(scored[SCORE_COLUMNS], participants, allocations, dose, config)
    tables["attendance"] = attendance.copy()
    items = items.copy()
    rules = item_rules or {}
    if not items.empty:
        value = pd.to_numeric(items["value"], errors="coerce")
        # An item with its own response scale (e.g. MANSA's yes/no items) has a rule under
        # "instrument.item"; every other item uses its instrument's rule.
        key = items["instrument"] + "." + items["item"].astype(str)
        key = key.where(key.isin(list(rules)), items["instrument"])
        low = key.map({k: r.get("min") for k, r in rules.items()})
        high = key.map({k: r.get("max") for k, r in rules.items()})
        in_scale = value.between(low.astype(float), high.astype(float)) | low.isna()
        declared = [(k, float(c)) for k, r in rules.items() for c in r.get("missing_codes", [])]
        is_code = pd.MultiIndex.from_arrays([items["instrument"], value]).isin(declared)
        items["value_ok"] = in_scale | is_code
    else:
        items["value_ok"] = pd.Series(dtype=bool)
    tables["items"] = items
    tables["group_fidelity"] = group_fidelity.copy()
    return tables

"""Checks of one study snapshot: tables from the sources, suites from the config, GX run."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from pipelines.quality.run import run_checks
from pipelines.quality.suites import checks_for
from pipelines.quality.tables import check_tables
from pipelines.snapshot import StudySnapshot

__all__ = ["check_snapshot", "item_rules_source"]


def item_rules_source() -> dict[str, dict]:
    """Response-scale ranges and missing codes from the shipped instrument definitions.

    Keys are instrument ids (``{"min", "max", "missing_codes"}``) and, for items with a
    response scale of their own, ``"<instrument>.<item>"``.
    """
    from questionnaires.definitions import shipped_instruments

    rules: dict[str, dict] = {}
    for inst_id, inst in shipped_instruments().items():
        codes = sorted(inst.missing_codes)
        scale = inst.response_scale
        rules[inst_id] = {"min": scale.min, "max": scale.max, "missing_codes": codes}
        for item in inst.items:
            if item.response_scale is not None:
                rules[f"{inst_id}.{item.id}"] = {
                    "min": item.response_scale.min,
                    "max": item.response_scale.max,
                    "missing_codes": codes,
                }
    return rules


def check_snapshot(snap: StudySnapshot, attendance: pd.DataFrame) -> pd.DataFrame:
    """Run every generated check on a snapshot (see :func:`pipelines.quality.run.run_checks`)."""
    items = snap.items if snap.items is not None else pd.DataFrame(
        columns=["pseudonym", "timepoint", "instrument", "version", "item", "value", "completed_on"]
    )
    tables = check_tables(
        snap.sources.participants, snap.sources.allocations, snap.sources.scores, attendance,
        snap.sources.group_fidelity, items, snap.config, dose=snap.sources.dose, item_rules=item_rules_source(),
    )
    return run_checks(tables, checks_for(snap.config))

"""Allocations as the viewer may see them, and balance.

A blinded viewer (researcher, statistician, admin until unblinding) never sees a
participant's arm next to their pseudonym (outcomes could then be compared by code): the
allocation list shows ``<blinded>``, and the blinded codes (drawn per study,
:func:`study.blinding.code_mapping`) appear only in counts per stratum
(:func:`allocation_balance_for`)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from dashboards.access import Viewer
from dashboards.queries.people import viewer_is_blinded
from dashboards.queries.scope import arm_view, site_clause
from study.blinding import BLINDED_VALUE
from study.db import read_session
from study.db.frames import select_frame
from study.db.models import Allocation, Person, Site

__all__ = ["ALLOCATION_COLUMNS", "allocation_balance", "allocation_balance_for", "allocation_frame"]

ALLOCATION_COLUMNS = ["pseudonym", "site", "stratum", "arm", "method", "allocated_on"]


def allocation_frame(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Allocations at the viewer's sites.

    Returns
    -------
    DataFrame
        ``pseudonym, site, stratum, arm, method, allocated_on``; ``arm`` is what the viewer
        may see: ``<blinded>`` for researchers, statisticians and admins until the study is
        unblinded, the real code for coordinators of the site.
    """
    frame = _displayed_allocations(engine, viewer)
    with read_session(engine) as session:
        blinded = viewer_is_blinded(session, viewer)
    if blinded and not frame.empty:
        frame["arm"] = BLINDED_VALUE
    return frame


def allocation_balance_for(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """:func:`allocation_balance` of the viewer's allocations, arms as blinded codes for a
    blinded viewer (counts only)."""
    return allocation_balance(_displayed_allocations(engine, viewer))


def _displayed_allocations(engine: Engine, viewer: Viewer) -> pd.DataFrame:
    """Allocations with ``arm`` as the viewer's code (blinded code or real); internal: a
    blinded viewer may see these codes only aggregated."""
    with read_session(engine) as session:
        df = select_frame(
            session,
            select(
                Person.pseudonym,
                Site.code,
                Allocation.stratum,
                Allocation.arm,
                Allocation.method,
                Allocation.allocated_on,
            )
            .join(Person, Person.id == Allocation.person_id)
            .join(Site, Site.id == Person.site_id)
            .where(Allocation.study_id == viewer.study_id, site_clause(viewer, Person.site_id))
            .order_by(Allocation.allocated_on, Person.pseudonym),
            ALLOCATION_COLUMNS,
        )
    if not df.empty:
        df["arm"] = arm_view(engine, viewer, df["arm"])
    return df


def allocation_balance(allocations: pd.DataFrame) -> pd.DataFrame:
    """Counts per stratum and (displayed) arm, with the imbalance.

    Returns
    -------
    DataFrame
        ``stratum``, one count column per arm (as displayed), ``total`` and ``imbalance``
        (largest minus smallest arm count in the stratum).
    """
    if allocations.empty:
        return pd.DataFrame(columns=["stratum", "total", "imbalance"])
    table = pd.crosstab(allocations["stratum"], allocations["arm"])
    out = table.copy()
    out["total"] = table.sum(axis=1)
    out["imbalance"] = table.max(axis=1) - table.min(axis=1)
    out.columns.name = None
    return out.reset_index()

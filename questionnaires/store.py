"""Reading questionnaire data back: item values and scores, as tidy DataFrames.

This is the contract the analysis pipeline, the exports and the dashboards build on. Scores are
never stored: they are computed on read from the stored item values with the definition
version each response was recorded with, so a score cannot drift from its items.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires.scoring import score_instrument
from questionnaires.versions import stored_definitions
from study.db.models import Person, QuestionnaireItem, QuestionnaireResponse, Study

__all__ = ["ITEM_COLUMNS", "SCORE_COLUMNS", "load_items", "load_scores"]

#: Columns of :func:`load_items`.
ITEM_COLUMNS = ["pseudonym", "timepoint", "instrument", "version", "item", "value", "completed_on"]
#: Columns of :func:`load_scores`.
SCORE_COLUMNS = [
    "pseudonym", "timepoint", "instrument", "version", "scale", "score", "band", "missing_reason",
    "completed_on",
]


def _item_rows(
    session: Session, study: Study, instrument: Optional[str], timepoint: Optional[str]
) -> pd.DataFrame:
    query = (
        select(
            QuestionnaireResponse.id.label("response_id"),
            Person.pseudonym,
            QuestionnaireResponse.timepoint,
            QuestionnaireResponse.instrument,
            QuestionnaireResponse.version,
            QuestionnaireItem.item,
            QuestionnaireItem.value,
            QuestionnaireResponse.completed_on,
        )
        .join(Person, Person.id == QuestionnaireResponse.person_id)
        .join(QuestionnaireItem, QuestionnaireItem.response_id == QuestionnaireResponse.id)
        .where(QuestionnaireResponse.study_id == study.id)
        .order_by(QuestionnaireResponse.id, QuestionnaireItem.id)
    )
    if instrument is not None:
        query = query.where(QuestionnaireResponse.instrument == instrument)
    if timepoint is not None:
        query = query.where(QuestionnaireResponse.timepoint == timepoint)
    rows = session.execute(query).all()
    df = pd.DataFrame(rows, columns=["response_id", *ITEM_COLUMNS])
    df["value"] = df["value"].astype("Int64")
    return df


def load_items(
    session: Session,
    study: Study,
    *,
    instrument: Optional[str] = None,
    timepoint: Optional[str] = None,
) -> pd.DataFrame:
    """Every stored item value, long: one row per response × item.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, timepoint, instrument, version, item, value, completed_on``; ``value`` is
        nullable integer: the answer, a declared missing code (e.g. -9, see the definition's
        ``missing_codes``), or <NA> when not answered.
    """
    return _item_rows(session, study, instrument, timepoint)[ITEM_COLUMNS].reset_index(drop=True)


def load_scores(
    session: Session,
    study: Study,
    *,
    instrument: Optional[str] = None,
    timepoint: Optional[str] = None,
) -> pd.DataFrame:
    """Scores of every stored response, long: one row per participant × timepoint × instrument
    × scale, each scored with the definition version it was recorded with.

    Returns
    -------
    pandas.DataFrame
        - ``pseudonym``, ``timepoint``, ``instrument``, ``version``
        - ``scale`` (``total`` for every instrument; subscales such as ``pathways``; WHO-5
          also ``raw``)
        - ``score`` (float, NaN when missing), ``band`` (interpretation band or None)
        - ``missing_reason`` (None when scored, see :func:`questionnaires.scoring.score_instrument`)
        - ``completed_on`` (date)
    """
    items = _item_rows(session, study, instrument, timepoint)
    if items.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    definitions = stored_definitions(session, study)
    frames = []
    for (instrument_id, version), block in items.groupby(["instrument", "version"], sort=True):
        definition = definitions[(instrument_id, version)]
        block = block.assign(column=instrument_id + "_" + block["item"])
        wide = block.pivot(index="response_id", columns="column", values="value")
        wide = wide.reindex(columns=definition.columns).astype("float64")
        keys = block.drop_duplicates("response_id").set_index("response_id")[
            ["pseudonym", "timepoint", "completed_on"]
        ]
        wide = keys.join(wide)
        scored = score_instrument(
            definition, wide.reset_index(drop=True), id_columns=["pseudonym", "timepoint", "completed_on"]
        )
        frames.append(scored)
    out = pd.concat(frames, ignore_index=True)
    return out[SCORE_COLUMNS].sort_values(
        ["pseudonym", "timepoint", "instrument"], kind="stable"
    ).reset_index(drop=True)

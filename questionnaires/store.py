"""Reading questionnaire data back: item values and scores, as tidy DataFrames.

This is the contract the analysis pipeline, the exports and the dashboards build on. Scores are
never stored: they are computed on read from the stored item values with the definition
version each response was recorded with, so a score cannot drift from its items.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires.scoring import score_instrument
from questionnaires.versions import stored_definitions
from study.db.models import Person, QuestionnaireResponse, Study
from study.studies import config_of

__all__ = ["ITEM_COLUMNS", "SCORE_COLUMNS", "load_items", "load_scores"]

#: Columns of :func:`load_items`.
ITEM_COLUMNS = ["pseudonym", "timepoint", "instrument", "version", "item", "value", "completed_on"]
#: Columns of :func:`load_scores`.
SCORE_COLUMNS = [
    "pseudonym",
    "timepoint",
    "instrument",
    "version",
    "scale",
    "score",
    "band",
    "missing_reason",
    "completed_on",
]


def _responses(session: Session, study: Study, instrument: str | None, timepoint: str | None) -> pd.DataFrame:
    query = (
        select(
            Person.pseudonym,
            QuestionnaireResponse.timepoint,
            QuestionnaireResponse.instrument,
            QuestionnaireResponse.version,
            QuestionnaireResponse.completed_on,
            QuestionnaireResponse.item_values,
        )
        .join(Person, Person.id == QuestionnaireResponse.person_id)
        .where(QuestionnaireResponse.study_id == study.id)
        .order_by(QuestionnaireResponse.id)
    )
    if instrument is not None:
        query = query.where(QuestionnaireResponse.instrument == instrument)
    if timepoint is not None:
        query = query.where(QuestionnaireResponse.timepoint == timepoint)
    rows = session.execute(query).all()
    return pd.DataFrame(
        rows, columns=["pseudonym", "timepoint", "instrument", "version", "completed_on", "item_values"]
    )


def _wide_blocks(responses: pd.DataFrame):
    """Per (instrument, version): the responses' keys and their items as a wide float frame
    with columns ``<instrument>_<item>`` (NaN = not answered)."""
    for (instrument_id, version), block in responses.groupby(["instrument", "version"], sort=True):
        # Parsing the stored JSON is the one step that touches each response in Python.
        items = pd.DataFrame.from_records([json.loads(v) for v in block["item_values"]])
        items = items.astype("float64")
        items.columns = [f"{instrument_id}_{c}" for c in items.columns]
        keys = block[["pseudonym", "timepoint", "completed_on"]].reset_index(drop=True)
        yield instrument_id, version, keys, items


def load_items(
    session: Session,
    study: Study,
    *,
    instrument: str | None = None,
    timepoint: str | None = None,
) -> pd.DataFrame:
    """Every stored item value, long: one row per response × item.

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, timepoint, instrument, version, item, value, completed_on``; ``value`` is
        nullable integer: the answer, a declared missing code (e.g. -9, see the definition's
        ``missing_codes``), or <NA> when not answered.
    """
    frames = []
    for instrument_id, version, keys, items in _wide_blocks(
        _responses(session, study, instrument, timepoint)
    ):
        wide = pd.concat([keys, items], axis=1)
        long = wide.melt(
            id_vars=["pseudonym", "timepoint", "completed_on"], var_name="item", value_name="value"
        )
        long["item"] = long["item"].str.removeprefix(f"{instrument_id}_")
        long["instrument"] = instrument_id
        long["version"] = version
        frames.append(long)
    if not frames:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype("Int64")
    return _in_study_order(out[ITEM_COLUMNS], study)


def load_scores(
    session: Session,
    study: Study,
    *,
    instrument: str | None = None,
    timepoint: str | None = None,
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
        - ``missing_reason`` (missing when scored, see :func:`questionnaires.scoring.score_instrument`)
        - ``completed_on`` (date)
    """
    responses = _responses(session, study, instrument, timepoint)
    if responses.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    definitions = stored_definitions(session, study)
    frames = []
    for instrument_id, version, keys, items in _wide_blocks(responses):
        definition = definitions[(instrument_id, version)]
        wide = pd.concat([keys, items.reindex(columns=definition.columns)], axis=1)
        frames.append(
            score_instrument(definition, wide, id_columns=["pseudonym", "timepoint", "completed_on"])
        )
    return _in_study_order(pd.concat(frames, ignore_index=True)[SCORE_COLUMNS], study)


def _in_study_order(df: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Sort by pseudonym, then timepoints and instruments in the order of the configuration
    (items and scales keep their definition order)."""
    config = config_of(study)
    tp_rank = {t.code: k for k, t in enumerate(config.timepoints)}
    inst_rank = {i: k for k, i in enumerate(config.instruments)}
    keys = pd.DataFrame(
        {
            "p": df["pseudonym"],
            "t": df["timepoint"].map(tp_rank).fillna(len(tp_rank)),
            "i": df["instrument"].map(inst_rank).fillna(len(inst_rank)),
        }
    )
    order = keys.sort_values(["p", "t", "i"], kind="stable").index
    return df.loc[order].reset_index(drop=True)

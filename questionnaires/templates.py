"""Empty questionnaire CSVs for the participants who are due (``peerstudy template``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy.orm import Session

from questionnaires.capture import ID_COLUMNS, study_instruments
from questionnaires.schedule import study_schedule
from study.db.models import Study
from study.errors import BadInput
from study.studies import config_of

__all__ = ["questionnaire_template"]


def questionnaire_template(
    session: Session,
    study: Study,
    timepoint: str,
    today: dt.date,
    *,
    include_not_yet_due: bool = False,
) -> pd.DataFrame:
    """An empty wide questionnaire table for one timepoint.

    Returns
    -------
    pandas.DataFrame
        Columns ``pseudonym, timepoint, completed_on`` and every item column of the
        instruments scheduled at ``timepoint`` (``<instrument>_<item>``); one row per
        participant with at least one of them ``due`` or ``overdue`` on ``today`` (and
        ``not_yet_due`` when asked), sorted by pseudonym; every other cell empty.
    """
    config = config_of(study)
    tp = next((t for t in config.timepoints if t.code == timepoint), None)
    if tp is None:
        codes = ", ".join(t.code for t in config.timepoints)
        raise BadInput(f"unknown timepoint {timepoint!r}; timepoints: {codes}")
    instruments = study_instruments(config)
    columns = ID_COLUMNS + [c for i in tp.instruments for c in instruments[i].columns]
    wanted = {"due", "overdue"} | ({"not_yet_due"} if include_not_yet_due else set())
    schedule = study_schedule(session, study, today)
    open_rows = schedule[(schedule["timepoint"] == timepoint) & schedule["status"].isin(wanted)]
    pseudonyms = sorted(open_rows["pseudonym"].unique())
    frame = pd.DataFrame("", index=range(len(pseudonyms)), columns=columns)
    frame["pseudonym"] = pseudonyms
    frame["timepoint"] = timepoint
    return frame

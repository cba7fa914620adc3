"""What a participant completing questionnaires alone (the survey link) is offered.

Pure Python/pandas, no database and no clock:

- :func:`survey_offer` picks from a participant's schedule the one timepoint a survey link
  offers: the link's own timepoint, or else the *current* one (the latest whose window has
  opened), never an assessment meant to precede randomisation once the participant is
  randomised (a baseline answered after allocation is no baseline), and says how far the
  participant has come ("2 of 4").
- :func:`answer_options` lists the answers a self-reporting person may give to an item: the
  response scale, plus "prefer not to answer" only where the instrument declares it
  (:class:`questionnaires.definitions.PreferNotToAnswer`). The other missing codes (refused,
  don't know, not asked) are what an interviewer records and are never offered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from questionnaires.definitions import Instrument
from study.codes import QuestionnaireStatus
from study.errors import BadInput

__all__ = ["OPEN_STATUSES", "SurveyOffer", "answer_options", "check_self_reported", "survey_offer"]

#: Schedule statuses a participant may still answer through a link.
OPEN_STATUSES = (QuestionnaireStatus.DUE, QuestionnaireStatus.OVERDUE)
#: Statuses of a timepoint whose window has opened.
_STARTED = (*OPEN_STATUSES, QuestionnaireStatus.COMPLETE)


@dataclass(frozen=True)
class SurveyOffer:
    """What a link offers now.

    ``timepoint`` is ``None`` when nothing is offered. ``open`` holds the unanswered
    instruments of that timepoint in their configured order (``timepoint, instrument,
    status``); ``total`` is the number of instruments of the timepoint and ``answered`` how
    many of them have a response, so the instrument on screen is number ``answered + 1`` of
    ``total``.
    """

    timepoint: str | None
    open: pd.DataFrame
    total: int
    answered: int

    @property
    def position(self) -> int:
        """The number (1-based) of the instrument the participant answers next."""
        return self.answered + 1


def survey_offer(
    schedule: pd.DataFrame,
    randomised_on: dt.date | None,
    link_timepoint: str | None = None,
) -> SurveyOffer:
    """The timepoint and instruments a participant's survey link offers.

    Parameters
    ----------
    schedule
        One participant's rows of :func:`questionnaires.schedule.compute_schedule`
        (``timepoint, instrument, due_on, status``), in configured order.
    randomised_on
        The participant's randomisation date, ``None`` if not randomised.
    link_timepoint
        The timepoint the link was created for; ``None`` for "whatever is current".

    Returns
    -------
    SurveyOffer
        Nothing (``timepoint`` ``None``) when the chosen timepoint has no due or overdue
        instrument left, when the link names a timepoint that is not open, or when it is
        an assessment due on or before the randomisation date of a randomised participant.

    Notes
    -----
    Without a link timepoint the offer is the *latest* timepoint whose window has opened
    (due, overdue or complete): an earlier timepoint left unanswered is not offered any more
    once a later one has come, so a participant is never handed months-old questionnaires.
    """
    rows = schedule.reset_index(drop=True)
    if randomised_on is not None:
        due = pd.to_datetime(rows["due_on"])
        rows = rows[~(due.notna() & (due <= pd.Timestamp(randomised_on)))]
    chosen: str | None
    if link_timepoint is not None:
        chosen = link_timepoint
    else:
        started = rows.loc[rows["status"].isin(_STARTED), "timepoint"]
        chosen = started.iloc[-1] if not started.empty else None
    mine = rows[rows["timepoint"] == chosen]
    open_rows = mine.loc[mine["status"].isin(OPEN_STATUSES), ["timepoint", "instrument", "status"]]
    if chosen is None or open_rows.empty:
        return SurveyOffer(None, open_rows.iloc[0:0].reset_index(drop=True), 0, 0)
    return SurveyOffer(
        chosen,
        open_rows.reset_index(drop=True),
        total=len(mine),
        answered=int((mine["status"] == "complete").sum()),
    )


def answer_options(instrument: Instrument, item_id: str) -> list[int]:
    """The values a self-completing participant may give to one item, in display order.

    The item's response scale (``min``..``max``), then the instrument's "prefer not to
    answer" code where it allows one for this item.

    >>> from questionnaires.definitions import shipped_instruments
    >>> answer_options(shipped_instruments()["who5"], "1")
    [0, 1, 2, 3, 4, 5]
    """
    scale = instrument.item_scale(item_id)
    options = list(range(scale.min, scale.max + 1))
    pnta = instrument.prefer_not_to_answer
    if pnta is not None and instrument.allows_prefer_not_to_answer(item_id):
        options.append(pnta.code)
    return options


def check_self_reported(instrument: Instrument, item_id: str, value: int | None) -> None:
    """Raise ``BadInput`` naming the item when ``value`` is not an answer a self-completing
    participant may give (an interviewer's missing code, or off the scale); ``None`` (not
    answered) passes."""
    if item_id not in instrument.item_ids:
        raise BadInput(f"{instrument.id} has no item {item_id!r}")
    if value is None:
        return
    if isinstance(value, bool) or value not in answer_options(instrument, item_id):
        scale = instrument.item_scale(item_id)
        raise BadInput(
            f"{instrument.id} item {item_id}: {value!r} is not an answer ({scale.min}–{scale.max})"
        )

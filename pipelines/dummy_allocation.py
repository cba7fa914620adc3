"""The dummy allocation: what blinded roles analyse before the study is unblinded.

Until ``peerstudy unblind``, every analysis output a blinded role can reach (``analyse``,
``export``, ``report``, CONSORT, the dashboard's analysis page and downloads) is computed on a
*dummy allocation* instead of the real one, so the statistician can write and test the whole
analysis while nobody can tell which blinded code is the intervention:

* **Dummy arms.** A fresh stratified allocation: within each stratum the participants, in
  random order, get permuted blocks of the arms in their ratio (one block = the ratio sum,
  e.g. 2 for 1:1), the last block cut short. The dummy arm is drawn without looking at the
  real arms, so it is independent of them; in particular its counts per stratum are *not*
  the real ones (those are printed, under the blinded codes, by ``allocation report``: equal
  counts would let anyone match the codes to the dummy's arm names).
* **Treatment received travels with the arm.** Everything only the intervention produces
  (course group, sessions held, attendance/dose, per-protocol, group fidelity, 1:1
  companionship) is handed to each participant from a *donor*: a real participant of their
  dummy arm in the same stratum (donors in random order, each used once before any is used
  again; from the whole study when the stratum has nobody in that arm). Dummy intervention
  participants thus carry real-looking courses and controls nothing, so per-protocol, CACE,
  moderation and the CONSORT "received" boxes run exactly as they will after unblinding.
* **Outcomes stay with the person.** Questionnaire scores, withdrawal, age and strata are the
  participant's own, so missingness and the outcome model are real, while any difference
  between dummy arms is chance.
* **Watermark.** The dataset gets a first column ``dummy_allocation`` holding
  :data:`DUMMY_WATERMARK`; every writer repeats it (table titles, CSV comment, HTML banner,
  ``DUMMY_`` file names).

The draws come from ``numpy.random.default_rng(seed)``; the pipelines pass a seed derived from
the concealed randomisation secret (:func:`study.blinding.dummy_allocation_seed`), so the dummy is stable from run to run
(results can be compared while the analysis is developed) and cannot be re-derived by a
blinded reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboards.i18n import translate

__all__ = [
    "DUMMY_COLUMN",
    "DUMMY_FILE_PREFIX",
    "DUMMY_WATERMARK",
    "DummyAllocation",
    "draw_dummy_allocation",
    "is_dummy",
    "watermark",
    "watermark_text",
]

#: The watermark of every output computed on the dummy allocation.
DUMMY_WATERMARK = "DUMMY ALLOCATION: not the trial result"
#: The analysis dataset's watermark column (present only in dummy datasets).
DUMMY_COLUMN = "dummy_allocation"
#: Prefix of every file written from a dummy dataset (``DUMMY_ALLOCATION_results.csv``).
DUMMY_FILE_PREFIX = "DUMMY_ALLOCATION_"


@dataclass(frozen=True)
class DummyAllocation:
    """A dummy allocation and who hands their treatment received to whom.

    ``allocations`` has the columns of the real allocations with ``arm`` replaced by the dummy
    arm; ``donor_of`` maps every allocated pseudonym to the allocated pseudonym whose group,
    dose and companionship records it carries in the dummy (a real participant of its dummy
    arm).
    """

    allocations: pd.DataFrame
    donor_of: dict[str, str]

    def move_records(self, frame: pd.DataFrame, column: str = "pseudonym") -> pd.DataFrame:
        """``frame`` (keyed by ``column``) with every allocated participant's rows replaced by
        a copy of their donor's rows; rows of people never allocated are unchanged."""
        if frame.empty or not self.donor_of:
            return frame.copy()
        pairs = pd.DataFrame({"_recipient": list(self.donor_of), column: list(self.donor_of.values())})
        allocated = frame[column].isin(pairs["_recipient"])
        given = (
            pairs.merge(frame, on=column, how="inner")
            .drop(columns=column)
            .rename(columns={"_recipient": column})
        )
        return pd.concat([frame[~allocated], given[frame.columns]], ignore_index=True)


def draw_dummy_allocation(allocations: pd.DataFrame, ratios: Mapping[str, int], seed: int) -> DummyAllocation:
    """Re-allocate at random within strata (see the module docstring).

    Parameters
    ----------
    allocations
        The real allocations: ``pseudonym``, ``arm`` (true arm codes) and ``stratum``, one
        row per allocated participant; other columns are kept.
    ratios
        Arm code → allocation ratio share (``StudyConfig.arm_ratios``).
    seed
        Seed of ``numpy.random.default_rng`` (any non-negative integer).

    Returns
    -------
    DummyAllocation
        Same rows and order as ``allocations``, ``arm`` the dummy arm; within a stratum the
        dummy arms follow the ratio in complete blocks (1:1: counts differ by at most one).
    """
    rng = np.random.default_rng(seed)
    frame = allocations.reset_index(drop=True)
    if frame.empty:
        return DummyAllocation(frame.copy(), {})
    block = np.repeat(np.array(list(ratios), dtype=object), list(ratios.values()))
    # Participants in random order within their stratum; the k-th gets slot k % size of
    # block k // size of the stratum's own list of permuted blocks.
    order = frame.assign(_key=rng.random(len(frame))).sort_values(["stratum", "_key"], kind="stable")
    position = order.groupby("stratum", sort=False).cumcount().to_numpy()
    stratum_no = order.groupby("stratum", sort=False).ngroup().to_numpy()
    blocks = int(position.max()) // len(block) + 1
    lists = rng.permuted(np.tile(block, (int(stratum_no.max()) + 1, blocks, 1)), axis=2)
    dummy_arm = pd.Series(lists[stratum_no, position // len(block), position % len(block)], index=order.index)
    dummy = frame.assign(arm=dummy_arm.sort_index().to_numpy())
    return DummyAllocation(dummy, _donors(frame, dummy, rng))


def _donors(real: pd.DataFrame, dummy: pd.DataFrame, rng: np.random.Generator) -> dict[str, str]:
    """Each participant's donor: a real participant of their dummy arm in their stratum
    (each used once before reuse), else of their dummy arm anywhere in the study."""
    donor_of: dict[str, str] = {}
    real_by_cell = real.groupby(["stratum", "arm"])["pseudonym"].agg(list).to_dict()
    real_by_arm = real.groupby("arm")["pseudonym"].agg(list).to_dict()
    # One loop per stratum × arm (a few dozen cells), not per participant.
    for (stratum, arm), takers in dummy.groupby(["stratum", "arm"])["pseudonym"]:
        pool = real_by_cell.get((stratum, arm)) or real_by_arm.get(arm) or real["pseudonym"].tolist()
        cycles = -(-len(takers) // len(pool))
        donors = np.concatenate([rng.permutation(pool) for _ in range(cycles)])[: len(takers)]
        donor_of.update(zip(takers, map(str, donors)))
    return donor_of


def watermark(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the watermark column :data:`DUMMY_COLUMN` first (a table computed on
    the dummy allocation, e.g. ``results.csv``)."""
    marked = frame.copy()
    if DUMMY_COLUMN not in marked.columns:
        marked.insert(0, DUMMY_COLUMN, DUMMY_WATERMARK)
    return marked


def watermark_text(language: str = "en") -> str:
    """The watermark as a reader of ``language`` sees it: :data:`DUMMY_WATERMARK` verbatim,
    in Danish with its Danish wording beside it.

    The catalogue entry ``code.dummy_allocation.<watermark>`` also words the watermark
    column's cells in tables shown to people (the downloads keep the bare watermark).

    Examples
    --------
    >>> watermark_text("da")
    'DUMMY ALLOCATION: not the trial result (dummy-allokering: ikke forsøgets resultat)'
    """
    return translate(f"code.{DUMMY_COLUMN}.{DUMMY_WATERMARK}", language)


def is_dummy(dataset: pd.DataFrame) -> bool:
    """Whether an analysis dataset was built on the dummy allocation."""
    return DUMMY_COLUMN in dataset.columns

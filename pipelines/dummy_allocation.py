"""The dummy allocation: what blinded roles analyse before the study is unblinded.

Until ``peerstudy unblind``, every analysis output a blinded role can reach (``analyse``,
``export``, ``report``, CONSORT, the dashboard's analysis page and downloads) is computed on a
*dummy allocation* instead of the real one, so the statistician can write and test the whole
analysis while nobody can tell which blinded code is the intervention:

* **Dummy arms.** Within each stratum the real arms are shuffled over the stratum's
  participants (a uniformly random arrangement with the stratum's real arm counts). The dummy
  arm is therefore independent of the real arm: its agreement with the real allocation is
  chance, and every arm keeps its size (a 2:1 ratio stays 2:1).
* **Treatment received travels with the arm.** Everything only the intervention produces
  (course group, sessions held, attendance/dose, per-protocol, group fidelity, 1:1
  companionship) is handed, within the stratum, from a real participant of an arm to a
  participant with that dummy arm (a random one-to-one pairing). Dummy intervention
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

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DUMMY_COLUMN", "DUMMY_FILE_PREFIX", "DUMMY_WATERMARK", "DummyAllocation", "draw_dummy_allocation", "is_dummy", "watermark"]

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
    arm; ``donor_to_recipient`` maps each allocated pseudonym whose group, dose and
    companionship records move to the pseudonym that carries them in the dummy (a bijection
    over the allocated participants).
    """

    allocations: pd.DataFrame
    donor_to_recipient: dict[str, str]

    def move_records(self, frame: pd.DataFrame, column: str = "pseudonym") -> pd.DataFrame:
        """``frame`` (keyed by ``column``) with each allocated donor's rows given to its
        recipient; rows of people who were never allocated are unchanged."""
        moved = frame.copy()
        moved[column] = moved[column].map(self.donor_to_recipient).fillna(moved[column])
        return moved


def draw_dummy_allocation(allocations: pd.DataFrame, seed: int) -> DummyAllocation:
    """Re-allocate at random within strata (see the module docstring).

    Parameters
    ----------
    allocations
        The real allocations: ``pseudonym``, ``arm`` (true arm codes) and ``stratum``, one
        row per allocated participant; other columns are kept.
    seed
        Seed of ``numpy.random.default_rng`` (any non-negative integer).

    Returns
    -------
    DummyAllocation
        Same rows and order as ``allocations``, ``arm`` the dummy arm; per stratum, every
        arm has as many dummy as real participants.
    """
    rng = np.random.default_rng(seed)
    frame = allocations.reset_index(drop=True)
    n = len(frame)
    # Recipients: the stratum's participants in random order receive its real arms in a fixed
    # (sorted) order, i.e. a uniformly random arrangement of the stratum's arms.
    recipients = frame.assign(_key=rng.random(n)).sort_values(["stratum", "_key"], kind="stable")
    arms_sorted = frame.sort_values(["stratum", "arm"], kind="stable")["arm"].to_numpy()
    dummy_arm = pd.Series(arms_sorted, index=recipients.index)
    # Donors: real participants of each stratum × arm in random order; the k-th donor of a
    # stratum × arm hands its records to the k-th recipient with that dummy arm.
    donors = frame.assign(_key=rng.random(n)).sort_values(["stratum", "arm", "_key"], kind="stable")
    takers = (
        frame.assign(_dummy=dummy_arm, _key=rng.random(n))
        .sort_values(["stratum", "_dummy", "_key"], kind="stable")
    )
    pairs = dict(zip(donors["pseudonym"], takers["pseudonym"]))
    dummy = frame.assign(arm=dummy_arm.sort_index().to_numpy())
    return DummyAllocation(dummy, pairs)


def watermark(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the watermark column :data:`DUMMY_COLUMN` first (a table computed on
    the dummy allocation, e.g. ``results.csv``)."""
    marked = frame.copy()
    if DUMMY_COLUMN not in marked.columns:
        marked.insert(0, DUMMY_COLUMN, DUMMY_WATERMARK)
    return marked


def is_dummy(dataset: pd.DataFrame) -> bool:
    """Whether an analysis dataset was built on the dummy allocation."""
    return DUMMY_COLUMN in dataset.columns

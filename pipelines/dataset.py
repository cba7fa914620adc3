"""The analysis dataset: one row per randomised participant × timepoint.

The single source for every analysis, export, report and dashboard. :func:`build_analysis_dataset`
is pure (DataFrames in, DataFrame out); :mod:`pipelines.sources` reads its inputs from the
database.

Columns, in this order (``DATASET_COLUMNS`` then the score columns):

* ``pseudonym`` – the participant's pseudonym (never an identity field)
* ``site`` – site code
* one column per stratification factor of the study config (e.g. ``gender``)
* ``age`` – whole years at screening
* ``arm`` – arm code (``INT``/``CTL``): the real allocation once the study is unblinded,
  until then the **dummy allocation** (:mod:`pipelines.dummy_allocation`), and the dataset
  starts with the watermark column ``dummy_allocation`` (``DUMMY ALLOCATION: not the trial
  result``)
* ``allocated_on`` – date of randomisation
* ``group`` – course group of intervention participants (empty for controls)
* ``sessions_held`` – sessions the group held (not cancelled)
* ``dose`` – sessions attended (0 for controls and for those who never came)
* ``per_protocol`` – dose ≥ the configured per-protocol minimum (``groups.per_protocol_min_sessions``)
* ``group_fidelity`` – mean adherence (%) of the participant's group over observed sessions
* ``group_fidelity_class`` – high / moderate / low
* ``companion_matched``, ``companion_contacts``, ``companion_hours``, ``companion_months`` –
  1:1 companionship received (0 when never matched)
* ``withdrawn_on`` – date of withdrawal, empty when still in the study
* ``timepoint`` – timepoint code, in the config's order
* ``completed_on`` – earliest completion date of a questionnaire at this timepoint
* ``<instrument>.<scale>`` – every scored scale, e.g. ``qpr15.total``, ``who5.raw``
  (empty when not answered or not scored)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipelines.dummy_allocation import DUMMY_COLUMN, DUMMY_WATERMARK, draw_dummy_allocation
from study.config import StudyConfig

__all__ = [
    "ALLOCATION_COLUMNS",
    "COMPANIONSHIP_COLUMNS",
    "DATASET_COLUMNS",
    "DOSE_COLUMNS",
    "GROUP_FIDELITY_COLUMNS",
    "PARTICIPANT_COLUMNS",
    "SCORE_COLUMNS",
    "build_analysis_dataset",
    "empty_frame",
    "score_columns",
]

#: Columns of the inputs (the contracts of the modules that produce them).
PARTICIPANT_COLUMNS = [
    "pseudonym",
    "site",
    "phase",
    "age",
    "screened_on",
    "eligible",
    "ineligibility_reasons",
    "consent_on",
    "withdrawn_on",
    "withdrawal_reason",
]  # plus one column per stratification factor
ALLOCATION_COLUMNS = ["pseudonym", "arm", "stratum", "allocated_on"]
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
DOSE_COLUMNS = ["pseudonym", "group", "sessions_held", "sessions_attended", "per_protocol"]
GROUP_FIDELITY_COLUMNS = [
    "group",
    "site",
    "n_observations",
    "mean_adherence_pct",
    "mean_competence",
    "classification",
    "below_threshold",
]
COMPANIONSHIP_COLUMNS = ["pseudonym", "matched", "contacts", "hours", "months"]

#: Columns of the analysis dataset before the score columns (``{strata}`` expands to the
#: study's stratification factors).
DATASET_COLUMNS = [
    "pseudonym",
    "site",
    "{strata}",
    "age",
    "arm",
    "allocated_on",
    "group",
    "sessions_held",
    "dose",
    "per_protocol",
    "group_fidelity",
    "group_fidelity_class",
    "companion_matched",
    "companion_contacts",
    "companion_hours",
    "companion_months",
    "withdrawn_on",
    "timepoint",
    "completed_on",
]


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    """An empty DataFrame with these columns (a source that has no data yet)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def score_columns(dataset: pd.DataFrame) -> list[str]:
    """The ``<instrument>.<scale>`` columns of an analysis dataset, in order."""
    return [c for c in dataset.columns if "." in c]


def _check(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}")


def build_analysis_dataset(
    participants: pd.DataFrame,
    allocations: pd.DataFrame,
    scores: pd.DataFrame,
    dose: pd.DataFrame,
    group_fidelity: pd.DataFrame,
    companionship: pd.DataFrame,
    config: StudyConfig,
    unblinded: bool,
    dummy_seed: int = 0,
) -> pd.DataFrame:
    """Build the analysis dataset (see the module docstring for its columns).

    Parameters
    ----------
    participants
        One row per screened person (:data:`PARTICIPANT_COLUMNS` plus the stratification
        factors); only those with an allocation enter the dataset (intention to treat: a
        withdrawal keeps them in).
    allocations
        :data:`ALLOCATION_COLUMNS`; ``arm`` holds the true arm codes (``INT``/``CTL``).
    scores
        Long scores (:data:`SCORE_COLUMNS`), one row per participant × timepoint ×
        instrument × scale.
    dose
        :data:`DOSE_COLUMNS`, intervention participants placed in a group.
    group_fidelity
        :data:`GROUP_FIDELITY_COLUMNS`, one row per group.
    companionship
        :data:`COMPANIONSHIP_COLUMNS`.
    config
        The study configuration (timepoints, stratification factors, per-protocol minimum).
    unblinded
        Whether the study is unblinded. Until then the dataset is built on the dummy
        allocation (:func:`pipelines.dummy_allocation.draw_dummy_allocation`): dummy arms
        within strata, the real groups, dose and companionship handed to the dummy arms,
        and the watermark column ``dummy_allocation`` first.
    dummy_seed
        Seed of the dummy allocation; the pipelines pass one derived from the concealed
        randomisation secret (:func:`pipelines.dummy_allocation.dummy_seed`).

    Returns
    -------
    pandas.DataFrame
        One row per allocated participant × configured timepoint, sorted by pseudonym and
        timepoint order; score columns empty where nothing was answered.
    """
    # Check the inputs
    strata = list(config.stratification)
    _check(participants, ["pseudonym", "site", "age", "withdrawn_on"] + strata, "participants")
    _check(allocations, ALLOCATION_COLUMNS, "allocations")
    _check(scores, SCORE_COLUMNS, "scores")
    _check(dose, DOSE_COLUMNS, "dose")
    _check(group_fidelity, GROUP_FIDELITY_COLUMNS, "group_fidelity")
    _check(companionship, COMPANIONSHIP_COLUMNS, "companionship")
    if allocations["pseudonym"].duplicated().any():
        dupes = allocations.loc[allocations["pseudonym"].duplicated(), "pseudonym"].head(5).tolist()
        raise ValueError(f"allocations list participants more than once: {', '.join(dupes)}")
    timepoints = [tp.code for tp in config.timepoints]
    if not unblinded:
        dummy = draw_dummy_allocation(allocations[ALLOCATION_COLUMNS], config.arm_ratios, dummy_seed)
        allocations = dummy.allocations
        dose = dummy.move_records(dose)
        companionship = dummy.move_records(companionship)

    # Participant level: allocated people with site, strata, arm, dose, fidelity, companionship
    people = allocations[["pseudonym", "arm", "allocated_on"]].merge(
        participants[["pseudonym", "site", *strata, "age", "withdrawn_on"]], on="pseudonym", how="left"
    )
    dose_part = dose[DOSE_COLUMNS].rename(columns={"sessions_attended": "dose"})
    people = people.merge(dose_part.drop(columns="per_protocol"), on="pseudonym", how="left")
    people["dose"] = people["dose"].fillna(0).astype(int)
    people["sessions_held"] = people["sessions_held"].fillna(0).astype(int)
    people["per_protocol"] = people["dose"] >= config.groups.per_protocol_min_sessions
    fidelity = group_fidelity[["group", "mean_adherence_pct", "classification"]].rename(
        columns={"mean_adherence_pct": "group_fidelity", "classification": "group_fidelity_class"}
    )
    people = people.merge(fidelity, on="group", how="left")
    companion = companionship[COMPANIONSHIP_COLUMNS].rename(
        columns={c: f"companion_{c}" for c in COMPANIONSHIP_COLUMNS[1:]}
    )
    people = people.merge(companion, on="pseudonym", how="left")
    people["companion_matched"] = people["companion_matched"].fillna(False).astype(bool)
    for c in ("companion_contacts", "companion_hours", "companion_months"):
        people[c] = pd.to_numeric(people[c], errors="coerce").fillna(0.0)

    # Participant × timepoint grid, then the scores as wide columns
    grid = people.merge(pd.DataFrame({"timepoint": timepoints}), how="cross")
    scored = scores[scores["pseudonym"].isin(people["pseudonym"]) & scores["timepoint"].isin(timepoints)]
    if scored.duplicated(["pseudonym", "timepoint", "instrument", "scale"]).any():
        raise ValueError("scores hold more than one row per participant × timepoint × instrument × scale")
    order = _score_order(scored, config)
    if not scored.empty:
        wide = (
            scored.assign(variable=scored["instrument"] + "." + scored["scale"])
            .pivot(index=["pseudonym", "timepoint"], columns="variable", values="score")
            .reindex(columns=order)
            .astype(float)
        )
        wide.columns.name = None
        completed = (
            scored.assign(completed_on=pd.to_datetime(scored["completed_on"]))
            .groupby(["pseudonym", "timepoint"])["completed_on"]
            .min()
            .dt.date
        )
        wide = wide.join(completed).reset_index()
        grid = grid.merge(wide, on=["pseudonym", "timepoint"], how="left")
    else:
        grid["completed_on"] = None
    for column in order:
        if column not in grid.columns:
            grid[column] = np.nan

    # Order rows and columns
    grid["_tp"] = grid["timepoint"].map({t: i for i, t in enumerate(timepoints)})
    grid = grid.sort_values(["pseudonym", "_tp"]).drop(columns="_tp").reset_index(drop=True)
    leading = [c for c in DATASET_COLUMNS if c != "{strata}"]
    leading[2:2] = strata
    grid = grid[leading + order]
    if not unblinded:
        grid.insert(0, DUMMY_COLUMN, DUMMY_WATERMARK)
    return grid


def _score_order(scores: pd.DataFrame, config: StudyConfig) -> list[str]:
    """Score columns ordered by the config's instruments, ``total`` first within each."""
    found = (scores["instrument"] + "." + scores["scale"]).unique().tolist() if not scores.empty else []
    rank = {inst: i for i, inst in enumerate(config.instruments)}

    def key(name: str) -> tuple:
        inst, scale = name.split(".", 1)
        return (rank.get(inst, len(rank)), inst, scale != "total", scale)

    wanted = {f"{o}" for o in _configured_outcomes(config)}
    return sorted(set(found) | wanted, key=key)


def _configured_outcomes(config: StudyConfig) -> list[str]:
    """Outcomes named in the config (``instrument.scale``), so they exist as columns even
    before any score is stored."""
    return list(config.outcomes.names) if config.outcomes is not None else []

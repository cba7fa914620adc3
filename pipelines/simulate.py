"""Synthetic trials with a known effect, shaped like the sources of the analysis dataset.

Used by the tests (simulation of bias, coverage and type-I error; the pipeline end to end)
and by the benchmarks. Never real people: pseudonyms ``S00001``…, no identity fields at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from study.config import StudyConfig

__all__ = [
    "INSTRUMENT_SCALES",
    "InstrumentScale",
    "SimulatedBatch",
    "simulate_outcome_batch",
    "simulate_outcomes",
    "simulate_scores",
    "simulate_trial",
]


@dataclass(frozen=True)
class InstrumentScale:
    """Score range and plausible distribution of an instrument's ``total`` score.

    ``effect_sd`` is the planted intervention effect in baseline-SD units (negative where a
    higher score is worse, e.g. loneliness and impairment).
    """

    low: float
    high: float
    mean: float
    sd: float
    effect_sd: float
    decimals: int = 0


#: Totals of the reference instruments (ranges from ``instruments.md``).
INSTRUMENT_SCALES: dict[str, InstrumentScale] = {
    "qpr15": InstrumentScale(0, 60, 32, 10, 0.45),
    "who5": InstrumentScale(0, 100, 44, 20, 0.30),
    "state_hope": InstrumentScale(6, 48, 28, 8, 0.30),
    "adult_hope": InstrumentScale(8, 64, 40, 10, 0.20),
    "herth_hope": InstrumentScale(12, 48, 32, 6, 0.20),
    "ucla3": InstrumentScale(3, 9, 6.5, 1.7, -0.20),
    "gse": InstrumentScale(10, 40, 27, 5, 0.20),
    "wsas": InstrumentScale(0, 40, 20, 9, -0.20),
    "mansa": InstrumentScale(1, 7, 4.2, 0.9, 0.20, decimals=2),
}


def simulate_outcomes(
    n: int,
    effect: float,
    rng: np.random.Generator,
    sites: Sequence[str] = ("CPH", "HEL", "FRE"),
    mean: float = 32.0,
    sd: float = 10.0,
    correlation: float = 0.5,
    group_size: int = 10,
    icc: float = 0.05,
    missing: float = 0.0,
    n_groups: int | None = None,
    sd_ratio: float = 1.0,
) -> pd.DataFrame:
    """One simulated two-arm trial, one row per participant (wide), no bounds on scores.

    Parameters
    ----------
    n
        Participants, allocated 1:1 (``arm`` ``INT``/``CTL``) by a random permutation.
    effect
        True difference INT − CTL at follow-up, in outcome units.
    rng
        Random generator (the only source of randomness).
    mean, sd
        Baseline mean and SD of the outcome; the follow-up has the same marginal SD in the
        control arm.
    correlation
        Correlation of baseline and follow-up.
    group_size, icc
        Intervention participants are in groups of ``group_size`` whose random effect has
        variance ``icc``·sd² (partially nested design).
    missing
        Share of follow-up values missing completely at random.
    n_groups
        When given, intervention participants are dealt round-robin into this many groups
        (sizes differ by at most one) instead of groups of ``group_size``.
    sd_ratio
        Residual SD of the intervention arm relative to the control arm (1: equal variances).

    Returns
    -------
    pandas.DataFrame
        ``pseudonym, site, gender, arm, group, y0, y`` (``group`` is empty for controls).
    """
    arm = np.where(rng.permutation(n) < (n + 1) // 2, "INT", "CTL")
    site = rng.choice(np.asarray(sites), n)
    gender = rng.choice(np.array(["female", "male"]), n, p=[0.6, 0.4])
    site_shift = dict(zip(sites, np.linspace(-1.5, 1.5, len(sites))))
    y0 = mean + sd * rng.standard_normal(n)
    is_int = arm == "INT"
    group = np.full(n, None, dtype=object)
    n_int = int(is_int.sum())
    group_index = np.arange(n_int) % n_groups if n_groups else np.arange(n_int) // group_size
    group[is_int] = np.array([f"G{g + 1:03d}" for g in group_index], dtype=object)
    u = np.zeros(n)
    u[is_int] = (rng.standard_normal(group_index.max() + 1 if n_int else 1) * sd * np.sqrt(icc))[group_index]
    resid_sd = sd * np.sqrt(1 - correlation**2 - icc)
    y = (
        mean
        + correlation * (y0 - mean)
        + pd.Series(site).map(site_shift).to_numpy()
        + effect * is_int
        + u
        + resid_sd * np.where(is_int, sd_ratio, 1.0) * rng.standard_normal(n)
    )
    y[rng.random(n) < missing] = np.nan
    return pd.DataFrame(
        {
            "pseudonym": [f"S{i + 1:05d}" for i in range(n)],
            "site": site,
            "gender": gender,
            "arm": arm,
            "group": group,
            "y0": y0,
            "y": y,
        }
    )


@dataclass(frozen=True)
class SimulatedBatch:
    """Many simulated partially nested trials as arrays (leading axis: replicate), ready for
    :func:`pipelines.analysis.partially_nested.fit_partially_nested` and OLS.

    ``X`` holds the constant, the treatment indicator, the baseline and two site dummies.
    """

    y: np.ndarray  # (R, n) follow-up, NaN where missing
    X: np.ndarray  # (R, n, 5)
    treated: np.ndarray  # (R, n) bool
    cluster: np.ndarray  # (R, n) group code 0…G−1 of intervention participants, −1 for controls
    observed: np.ndarray  # (R, n) bool


def simulate_outcome_batch(
    replicates: int,
    n: int,
    effect: float,
    rng: np.random.Generator,
    n_groups: int = 18,
    sd: float = 10.0,
    correlation: float = 0.5,
    icc: float = 0.05,
    sd_ratio: float = 1.0,
    missing: float = 0.0,
) -> SimulatedBatch:
    """``replicates`` trials of the design of :func:`simulate_outcomes` drawn at once.

    Allocation 1:1 (the first half of each trial's rows are intervention participants,
    dealt round-robin into ``n_groups`` groups); three sites with shifts −1.5, 0, 1.5; group
    effects N(0, icc·sd²); residual SD sd·√(1 − correlation² − icc), times ``sd_ratio`` in the
    intervention arm; follow-up missing completely at random with probability ``missing``.
    """
    r = replicates
    treated = np.broadcast_to(np.arange(n) < (n + 1) // 2, (r, n))
    cluster = np.where(treated, np.arange(n) % n_groups, -1)
    site = rng.integers(0, 3, (r, n))
    y0 = sd * rng.standard_normal((r, n))
    u = rng.standard_normal((r, n_groups)) * sd * np.sqrt(icc)
    group_effect = np.where(treated, np.take_along_axis(u, np.clip(cluster, 0, None), axis=1), 0.0)
    resid_sd = sd * np.sqrt(1 - correlation**2 - icc) * np.where(treated, sd_ratio, 1.0)
    y = (
        correlation * y0
        + (site - 1) * 1.5
        + effect * treated
        + group_effect
        + resid_sd * rng.standard_normal((r, n))
    )
    observed = rng.random((r, n)) >= missing
    X = np.stack(
        [np.ones((r, n)), treated.astype(float), y0, (site == 1).astype(float), (site == 2).astype(float)],
        axis=-1,
    )
    return SimulatedBatch(
        y=np.where(observed, y, np.nan), X=X, treated=np.array(treated), cluster=cluster, observed=observed
    )


def simulate_trial(
    config: StudyConfig,
    n: int = 296,
    seed: int = 1,
    effect_scale: float = 1.0,
    screened_extra: float = 0.15,
    group_size: int = 10,
    dropout: dict[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """A whole synthetic RCT as the frames :func:`pipelines.dataset.build_analysis_dataset`
    takes, with a planted effect on every configured instrument's ``total``.

    Parameters
    ----------
    config
        The study (sites, arms, timepoints and their instruments, stratification factors).
    n
        Randomised participants (1:1 to the first two arms; the control arm is
        ``config.control_arm``).
    seed
        Seed of every draw.
    effect_scale
        Multiplies the planted effects of :data:`INSTRUMENT_SCALES` (0 → no effect anywhere).
        The effect grows with dose (sessions attended), so the per-protocol and CACE
        estimates exceed the ITT one.
    screened_extra
        Share of screened people on top of ``n`` who were not randomised (ineligible or no
        consent), for the CONSORT flow.
    group_size
        Intervention participants per course group.
    dropout
        Share of missing questionnaires per timepoint (default: none at the first timepoint,
        then 12 % and 22 %).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``participants``, ``allocations``, ``scores``, ``dose``, ``group_fidelity``,
        ``companionship`` with the columns documented in :mod:`pipelines.dataset`.
    """
    rng = np.random.default_rng(seed)
    timepoints = config.timepoints
    treatment = next(a for a in config.arm_codes if a != config.control_arm)
    control = config.control_arm
    n_screened = n + int(round(n * screened_extra))
    start = dt.date(2025, 8, 15)

    # Screening and enrolment: the last `n_screened - n` people are not randomised.
    pseudonyms = np.array([f"S{i + 1:05d}" for i in range(n_screened)], dtype=object)
    site = rng.choice(np.asarray(config.site_codes), n_screened)
    screened_on = pd.to_datetime(start) + pd.to_timedelta(np.sort(rng.integers(0, 170, n_screened)), unit="D")
    randomised = np.zeros(n_screened, dtype=bool)
    randomised[rng.permutation(n_screened)[:n]] = True
    reasons = np.full(n_screened, None, dtype=object)
    not_rand = ~randomised
    kind = rng.random(n_screened)
    ineligible = not_rand & (kind < 0.7)
    reasons[ineligible] = np.where(
        kind[ineligible] < 0.25, "age below 18", "lives outside the site's municipalities"
    )
    consent_on = screened_on + pd.to_timedelta(rng.integers(0, 10, n_screened), unit="D")
    consent_on = pd.Series(consent_on).where(randomised).to_numpy()
    participants = pd.DataFrame(
        {
            "pseudonym": pseudonyms,
            "site": site,
            "phase": "rct",
            "age": np.clip(rng.normal(38, 12, n_screened), 18, 80).astype(int),
            "screened_on": screened_on.date,
            "eligible": ~ineligible,
            "ineligibility_reasons": [[r] if r else [] for r in reasons],
            "consent_on": pd.Series(consent_on).dt.date.to_numpy(),
        }
    )
    for factor in config.stratification:
        levels = np.array(["female", "male", "other"]) if factor == "gender" else np.array(["a", "b"])
        probs = [0.6, 0.37, 0.03] if factor == "gender" else None
        participants[factor] = rng.choice(levels, n_screened, p=probs)

    # Allocation 1:1 within site by random permutation.
    rand = participants[randomised].reset_index(drop=True)
    arm = np.where(rng.permutation(n) < (n + 1) // 2, treatment, control)
    allocated_on = pd.to_datetime(rand["consent_on"]) + pd.to_timedelta(rng.integers(1, 8, n), unit="D")
    allocations = pd.DataFrame(
        {
            "pseudonym": rand["pseudonym"],
            "arm": arm,
            "stratum": rand["site"]
            + "|"
            + rand.get("gender", pd.Series("all", index=rand.index)).astype(str),
            "allocated_on": allocated_on.dt.date,
        }
    )

    # Groups (per site, in allocation order) and attendance: propensity Beta(4, 1.5), 8 % never come.
    is_int = arm == treatment
    sessions = config.groups.sessions
    group = np.full(n, None, dtype=object)
    int_idx = np.flatnonzero(is_int)
    order = int_idx[np.lexsort((allocated_on.to_numpy()[int_idx], rand["site"].to_numpy()[int_idx]))]
    ordinal = (
        pd.Series(rand["site"].to_numpy()[order])
        .groupby(rand["site"].to_numpy()[order])
        .cumcount()
        .to_numpy()
    )
    group[order] = [
        f"{s}-R{k // group_size + 1:02d}" for s, k in zip(rand["site"].to_numpy()[order], ordinal)
    ]
    propensity = rng.beta(4, 1.5, n) * (rng.random(n) > 0.08)
    attended = np.where(is_int, rng.binomial(sessions, propensity), 0)
    dose = pd.DataFrame(
        {
            "pseudonym": rand["pseudonym"],
            "group": group,
            "sessions_held": np.where(is_int, sessions, 0),
            "sessions_attended": attended,
            "per_protocol": is_int & (attended >= config.groups.per_protocol_min_sessions),
        }
    )[is_int].reset_index(drop=True)

    # Group fidelity: most groups high, some moderate; it nudges outcomes a little.
    groups = pd.Series(group[is_int]).dropna().unique()
    adherence = np.clip(rng.normal(82, 9, len(groups)), 30, 100)
    high, moderate = config.fidelity.thresholds.high, config.fidelity.thresholds.moderate
    group_fidelity = pd.DataFrame(
        {
            "group": groups,
            "site": [g.split("-")[0] for g in groups],
            "n_observations": rng.integers(1, 4, len(groups)),
            "mean_adherence_pct": adherence.round(1),
            "mean_competence": np.clip(rng.normal(3.2, 0.4, len(groups)), 1, 4).round(2),
            "classification": np.where(
                adherence >= high, "high", np.where(adherence >= moderate, "moderate", "low")
            ),
            "below_threshold": adherence < high,
        }
    )

    # Companionship: about 40 % of intervention participants are matched with a buddy.
    matched = is_int & (rng.random(n) < 0.4)
    months = np.where(matched, np.clip(rng.normal(5, 1.5, n), 0.5, 9), 0).round(1)
    contacts = np.where(matched, rng.poisson(months * 3), 0)
    companionship = pd.DataFrame(
        {
            "pseudonym": rand["pseudonym"],
            "matched": matched,
            "contacts": contacts,
            "hours": (contacts * rng.uniform(1, 2.5, n)).round(1),
            "months": months,
        }
    )[is_int].reset_index(drop=True)

    scores = simulate_scores(
        config,
        allocations.assign(site=rand["site"].to_numpy(), consent_on=rand["consent_on"].to_numpy()),
        dose,
        rng,
        effect_scale=effect_scale,
        dropout=dropout,
        group_fidelity=group_fidelity,
    )
    timepoints = config.timepoints
    anchor = pd.to_datetime(allocations["allocated_on"])

    # Withdrawals: some of those who stopped answering withdrew with a reason.
    participants["withdrawn_on"] = None
    participants["withdrawal_reason"] = None
    last_tp = timepoints[-1].code if timepoints else None
    answered_last = set(scores.loc[scores["timepoint"] == last_tp, "pseudonym"])
    lost = ~rand["pseudonym"].isin(answered_last).to_numpy()
    withdrew = lost & (rng.random(n) < 0.4)
    withdrawn_on = (anchor + pd.to_timedelta(rng.integers(20, 200, n), unit="D")).dt.date
    reason = rng.choice(np.array(["no longer wishes to take part", "moved away", "health reasons"]), n)
    index_of = pd.Series(np.arange(n_screened), index=participants["pseudonym"])
    rows = index_of.loc[rand["pseudonym"][withdrew]].to_numpy()
    participants.loc[rows, "withdrawn_on"] = withdrawn_on[withdrew].to_numpy()
    participants.loc[rows, "withdrawal_reason"] = reason[withdrew]
    return {
        "participants": participants,
        "allocations": allocations,
        "scores": scores,
        "dose": dose,
        "group_fidelity": group_fidelity,
        "companionship": companionship,
    }


def simulate_scores(
    config: StudyConfig,
    allocations: pd.DataFrame,
    dose: pd.DataFrame,
    rng: np.random.Generator,
    effect_scale: float = 1.0,
    dropout: dict[str, float] | None = None,
    group_fidelity: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Questionnaire scores (long, :data:`pipelines.dataset.SCORE_COLUMNS`) for allocated
    participants, with the planted effects of :data:`INSTRUMENT_SCALES`.

    ``allocations`` needs ``pseudonym, arm, allocated_on, site`` (``consent_on`` optional: the
    baseline is dated from it, else from a few days before allocation); ``arm`` holds true
    codes. The effect grows with the sessions attended in ``dose``; drop-out is monotone.
    """
    treatment = next(a for a in config.arm_codes if a != config.control_arm)
    timepoints = config.timepoints
    n = len(allocations)
    rand = allocations.reset_index(drop=True)
    is_int = (rand["arm"] == treatment).to_numpy()
    attended = (
        rand["pseudonym"]
        .map(dose.set_index("pseudonym")["sessions_attended"])
        .fillna(0)
        .to_numpy(dtype=float)
    )
    attended = np.where(is_int, attended, 0.0)
    fid_of = np.full(n, np.nan)
    if group_fidelity is not None and not group_fidelity.empty:
        group_of = rand["pseudonym"].map(dose.set_index("pseudonym")["group"])
        fid_of = group_of.map(group_fidelity.set_index("group")["mean_adherence_pct"]).to_numpy(dtype=float)
    consent = (
        pd.to_datetime(rand["consent_on"])
        if "consent_on" in rand
        else pd.to_datetime(rand["allocated_on"]) - pd.to_timedelta(5, unit="D")
    )
    # Scores: person level shared across instruments, effect growing with dose.
    dropout = dropout or {tp.code: share for tp, share in zip(timepoints, [0.0, 0.12, 0.22, 0.3, 0.35])}
    latent = rng.standard_normal(n)
    dose_factor = np.where(is_int, attended / max(np.mean(attended[is_int]) if is_int.any() else 1, 1e-9), 0)
    fid_shift = np.nan_to_num((fid_of - 80) / 10 * 0.05)
    site_shift = (
        pd.Series(rand["site"])
        .map(dict(zip(config.site_codes, np.linspace(-0.1, 0.1, len(config.site_codes)))))
        .to_numpy()
    )
    frames = []
    responded_before = np.ones(n, dtype=bool)
    anchor = pd.to_datetime(rand["allocated_on"])
    for k, tp in enumerate(timepoints):
        # Drop-out is monotone: once missing, mostly stays missing.
        responded = responded_before & (rng.random(n) >= dropout.get(tp.code, 0.0))
        responded_before = responded
        base = consent if k == 0 else anchor + pd.to_timedelta(tp.offset_weeks, unit="W")
        jitter = rng.integers(0, 10, n) if k == 0 else rng.integers(-10, 12, n)
        completed_on = (base + pd.to_timedelta(jitter, unit="D")).dt.date
        for instrument in tp.instruments:
            scale = INSTRUMENT_SCALES.get(instrument, InstrumentScale(0, 100, 50, 15, 0.2))
            z = 0.6 * latent + 0.8 * rng.standard_normal(n)
            if k > 0:
                z = (
                    z
                    + site_shift
                    + effect_scale * scale.effect_sd * dose_factor
                    + np.sign(scale.effect_sd) * fid_shift * is_int
                )
            score = np.clip(scale.mean + scale.sd * z, scale.low, scale.high).round(scale.decimals)
            frames.append(
                pd.DataFrame(
                    {
                        "pseudonym": rand["pseudonym"],
                        "timepoint": tp.code,
                        "instrument": instrument,
                        "version": "1.0",
                        "scale": "total",
                        "score": np.where(responded, score, np.nan),
                        "band": None,
                        "missing_reason": np.where(responded, np.array(None, dtype=object), "not answered"),
                        "completed_on": np.where(responded, completed_on, None),
                    }
                )
            )
    scores = pd.concat(frames, ignore_index=True)
    scores = scores[scores["completed_on"].notna()].reset_index(drop=True)

    return scores

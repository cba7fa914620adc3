"""Demo step: questionnaire answers at every timepoint, with a planted intervention effect.

Each participant has a latent recovery/well-being factor that persists over time (so the
instruments correlate with each other and with themselves over time), plus an
instrument-specific part. Item answers are the latent value on the item's scale plus noise,
rounded and clipped. Drop-out rises over time and is more likely for people faring worse
(missing at random given earlier scores), a few answers come late (outside the window),
a few items are left empty or carry missing codes, and WSAS's work item is "not asked" for
people without work.

The planted effect mirrors the reference trial (QPR-15 difference 5.1 points, d ≈ 0.43): for
participants allocated to ``INT`` the QPR-15 latent is raised so that the expected total is
about 5 points higher at post (SD ≈ 10), a little less at follow-up, with smaller effects on
the secondary instruments. Without allocations (the allocation step has not run) no effect
is planted and post/follow-up dates hang on a stand-in randomisation date one week after
consent.

Answers go through :func:`questionnaires.capture.import_questionnaires`: the same validated,
audited path as a real file.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select

from questionnaires.capture import import_questionnaires, study_instruments
from questionnaires.definitions import Instrument
from questionnaires.schedule import participant_anchors
from study.db import read_session, unit_of_work
from study.db.models import Allocation, Person
from study.demo.context import DemoContext
from study.studies import config_of, get_study

__all__ = ["INTERVENTION_ARM", "PLANTED_EFFECTS", "questionnaires"]

INTERVENTION_ARM = "INT"
#: Shift of the instrument's latent (in SD units of the latent) for INT at post/follow-up.
#: QPR-15: 15 items × 0.6 points per latent SD ≈ 9 points per SD, so 0.6 SD ≈ +5 points.
PLANTED_EFFECTS: dict[str, dict[str, float]] = {
    "post": {"qpr15": 0.6, "_other": 0.2},
    "followup": {"qpr15": 0.45, "_other": 0.15},
}
#: Where the average answer lies on each instrument's response scale (0 = min, 1 = max).
CENTRE = {
    "who5": 0.48, "qpr15": 0.55, "state_hope": 0.55, "adult_hope": 0.58, "herth_hope": 0.6,
    "ucla3": 0.6, "gse": 0.6, "wsas": 0.5, "mansa": 0.55,
}
#: Probability that someone still in the study stops answering before this timepoint.
DROP_OUT = {"baseline": 0.01, "post": 0.12, "followup": 0.14}
LATE_SHARE = 0.04
EMPTY_ITEM_SHARE = 0.012
DONT_KNOW_SHARE = 0.004
REFUSED_SHARE = 0.004
NO_WORK_SHARE = 0.15


def questionnaires(ctx: DemoContext) -> list[str]:
    """Answer every scheduled instrument for the demo's participants."""
    rng = ctx.rng
    with read_session(ctx.engine) as s:
        study = get_study(s, ctx.study_code)
        config = config_of(study)
        instruments = study_instruments(config)
        people = participant_anchors(s, study)
        arms = dict(
            s.execute(
                select(Person.pseudonym, Allocation.arm)
                .join(Allocation, Allocation.person_id == Person.id)
                .where(Person.study_id == study.id)
            ).all()
        )
    if people.empty:
        return ["questionnaires: no consented participants"]
    n = len(people)
    intervention = people["pseudonym"].map(arms).eq(INTERVENTION_ARM).to_numpy()
    pilot = (people["phase"] == "pilot").to_numpy()
    consent = pd.to_datetime(people["consent"])
    # Stand-in randomisation date when the allocation step has not run.
    randomised = pd.to_datetime(people["randomisation"]).fillna(consent + pd.Timedelta(days=7))
    group_start = pd.to_datetime(people["group_start"])

    latent = rng.normal(0.0, 1.0, n)
    in_study = np.ones(n, dtype=bool)
    frames, counts = [], {}
    for k, tp in enumerate(config.timepoints):
        if k > 0:
            # Persistence of the latent factor with a small improvement in everyone.
            latent = 0.75 * latent + np.sqrt(1 - 0.75**2) * rng.normal(0.0, 1.0, n) + 0.1
        # People faring worse drop out more often (missing at random given earlier scores).
        p_drop = DROP_OUT.get(tp.code, 0.15) * 2 / (1 + np.exp(0.6 * latent))
        in_study &= rng.random(n) >= p_drop
        anchors = {
            "consent": consent,
            "screening": pd.to_datetime(people["screening"]),
            "randomisation": np.where(pilot, pd.NaT, randomised),
            "group_start": group_start,
        }
        anchor = pd.to_datetime(pd.Series(anchors[tp.anchor]))
        if tp.fallback_anchor is not None:
            anchor = anchor.fillna(pd.to_datetime(pd.Series(anchors[tp.fallback_anchor])))
        answering = in_study & anchor.notna().to_numpy()
        if not answering.any():
            continue
        completed = _completion_dates(rng, anchor, tp, consent, n)
        withdrawn = pd.to_datetime(people["withdrawn_on"])
        answering &= ~(completed > withdrawn).to_numpy()  # nobody answers after withdrawing
        frame = pd.DataFrame(
            {
                "pseudonym": people["pseudonym"],
                "timepoint": tp.code,
                "completed_on": completed.dt.strftime("%Y-%m-%d"),
            }
        )
        effects = PLANTED_EFFECTS.get(tp.code, {})
        for instrument_id in tp.instruments:
            inst = instruments[instrument_id]
            shift = effects.get(instrument_id, effects.get("_other", 0.0)) * intervention
            z = np.sqrt(0.6) * latent + np.sqrt(0.4) * rng.normal(0.0, 1.0, n) + shift
            cells = _answers(rng, inst, z)
            frame = pd.concat([frame, pd.DataFrame(cells, columns=inst.columns)], axis=1)
        frames.append(frame[answering])
        counts[tp.code] = int(answering.sum())

    wide = pd.concat(frames, ignore_index=True).fillna("")
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: questionnaires") as s:
        summary = import_questionnaires(s, get_study(s, ctx.study_code), wide, source="demo")
    effect = (
        f"planted effect for {int(intervention.sum())} {INTERVENTION_ARM} participants "
        "(QPR-15 about +5 at post)"
        if intervention.any()
        else "no allocations yet: no effect planted"
    )
    per_tp = ", ".join(f"{tp} {c}" for tp, c in counts.items())
    return [f"  questionnaires: {summary.responses_created} responses ({per_tp} participants); {effect}"]


def _completion_dates(rng, anchor: pd.Series, tp, consent: pd.Series, n: int) -> pd.Series:
    """Mostly inside the window around the due date, a few late; never before consent."""
    due = anchor + pd.Timedelta(days=7 * tp.offset_weeks)
    before, after = 7 * tp.window_before_weeks, 7 * tp.window_after_weeks
    spread = max(before + after, 1) / 4
    centre = (after - before) / 2
    offset = np.clip(np.round(rng.normal(centre, spread, n)), -before, after)
    late = rng.random(n) < LATE_SHARE
    offset = np.where(late, after + rng.integers(3, 21, n), offset)
    completed = due + pd.to_timedelta(offset, unit="D")
    return completed.where(completed >= consent, consent)


def _answers(rng, inst: Instrument, z: np.ndarray) -> np.ndarray:
    """Item answers as CSV text: latent → item scale, plus missing items and codes."""
    n, k = len(z), len(inst.items)
    sign = 1.0 if inst.higher_is == "better" else -1.0
    values = np.empty((n, k))
    for j, item in enumerate(inst.items):
        scale = item.response_scale or inst.response_scale
        width = scale.max - scale.min
        scored = any(item.id in inst.scale_items(name) for name in inst.scales)
        if width == 1:  # yes/no items: more "yes" to a close friend with higher well-being
            values[:, j] = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.5 * z)))).astype(float)
            continue
        centre = scale.min + CENTRE.get(inst.id, 0.55) * width
        slope = 0.15 * width * sign if scored else 0.0  # fillers carry no signal
        raw = centre + slope * z + rng.normal(0.0, 0.19 * width, n)
        if item.id in inst.reverse:
            raw = scale.min + scale.max - raw  # stored as answered: reversed wording
        values[:, j] = np.clip(np.round(raw), scale.min, scale.max)
    cells = values.astype(int).astype(str).astype(object)
    cells[rng.random((n, k)) < EMPTY_ITEM_SHARE] = ""
    if -8 in inst.missing_codes:
        cells[rng.random((n, k)) < DONT_KNOW_SHARE] = "-8"
    if inst.id == "wsas" and -7 in inst.missing_codes:
        cells[rng.random(n) < NO_WORK_SHARE, 0] = "-7"
    if -9 in inst.missing_codes:
        cells[rng.random(n) < REFUSED_SHARE, :] = "-9"
    return cells

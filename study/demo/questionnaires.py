"""Demo step: questionnaire answers at every timepoint, with a planted intervention effect.

Each participant has a latent recovery/well-being factor that persists over time (so the
instruments correlate with each other and with themselves over time), plus an
instrument-specific part. Item answers are the latent value on the item's scale plus noise,
rounded and clipped. Drop-out rises over time and is more likely for people faring worse
(missing at random given earlier scores), a few answers come late (outside the window),
a few items are left empty or carry missing codes, and WSAS's work item is "not asked" for
people without work.

The planted effect mirrors the reference trial (QPR-15 difference 5.1 points, d ≈ 0.43): the
QPR-15 total has an SD of about 11.9 and, for participants allocated to ``INT``, its latent
is raised so that the expected total is 5.1 points higher at post (averaged over the arm),
three quarters of that at follow-up, with smaller effects on the secondary instruments
(calibrated on 400,000 simulated answer sets; ``tests/test_demo_calibration.py``).

Dose-response: the effect grows in proportion to the share of the 10 course sessions a
participant is expected to attend, propensity × min(weeks before stopping, 10) / 10, and is
scaled so that its mean over the intervention arm is the planted ITT effect: someone who
never comes gains nothing, a full attender about 1.3 times the ITT effect. The propensity
(Beta(7, 2.2); one in ten stops after 1–5 weeks) is drawn here and handed to the attendance
step, so per-protocol and CACE estimates exceed the ITT one for a stated reason, not by
construction. Members of a course group share a group effect after the course (variance
0.05 of the latent: a group-level ICC of about .05, which the partially nested model
estimates). Without allocations (the allocation step has not run) no effect is planted and
post/follow-up dates hang on a stand-in randomisation date one week after consent.

Answers go through :func:`questionnaires.capture.import_questionnaires`: the same validated,
audited path as a real file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select

from questionnaires.capture import import_questionnaires, study_instruments
from questionnaires.definitions import Instrument
from questionnaires.schedule import participant_anchors
from study.db import read_session, unit_of_work
from study.db.models import Allocation, CourseGroup, GroupMember, Person
from study.demo.context import DemoContext
from study.studies import config_of, get_study

__all__ = [
    "ATTENDANCE_PROPENSITY",
    "INTERVENTION_ARM",
    "PLANTED_EFFECTS",
    "PLANTED_QPR15_POINTS",
    "SLOPE",
    "attendance_propensity",
    "questionnaires",
]

INTERVENTION_ARM = "INT"
#: Mean shift of the instrument's latent (in latent SD units) in the INT arm at post/follow-up.
#: QPR-15: 15 items × 0.82 points per latent SD (slope 0.205 × range 4) give a total SD of
#: 11.9, and a shift of 0.45 SD raises the expected total by 5.1 points (d ≈ 0.43).
PLANTED_EFFECTS: dict[str, dict[str, float]] = {
    "post": {"qpr15": 0.45, "_other": 0.2},
    "followup": {"qpr15": 0.34, "_other": 0.15},
}
#: The planted ITT difference of the QPR-15 total at post, in points (what the demo reports).
PLANTED_QPR15_POINTS = 5.1
#: Attendance propensity of a course participant: Beta(a, b); share stopping early (weeks 1–5).
ATTENDANCE_PROPENSITY = (7.0, 2.2)
EARLY_STOP_SHARE = 0.1
#: Variance of a course group's effect on the latent after the course (latent variance 1): a
#: group-level ICC of about .05 in the intervention arm, as in the partially nested model.
GROUP_VARIANCE = 0.05
#: Change of an item's expected answer per latent SD, as a share of its response range.
SLOPE = {"qpr15": 0.205, "_other": 0.15}
#: Where the average answer lies on each instrument's response scale (0 = min, 1 = max).
CENTRE = {
    "who5": 0.48,
    "qpr15": 0.55,
    "state_hope": 0.55,
    "adult_hope": 0.58,
    "herth_hope": 0.6,
    "ucla3": 0.6,
    "gse": 0.6,
    "wsas": 0.5,
    "mansa": 0.55,
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
        members = dict(
            s.execute(
                select(Person.pseudonym, CourseGroup.code)
                .join(GroupMember, GroupMember.person_id == Person.id)
                .join(CourseGroup, CourseGroup.id == GroupMember.group_id)
                .where(Person.study_id == study.id, CourseGroup.phase == "rct")
            ).all()
        )
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
    ctx.attendance = attendance_propensity(rng, sorted(members))
    dose = _dose_factor(people["pseudonym"], intervention, ctx.attendance)
    group_effect = _group_effects(rng, people["pseudonym"].map(members))
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
            shift = effects.get(instrument_id, effects.get("_other", 0.0)) * dose
            z = np.sqrt(0.6) * latent + np.sqrt(0.4) * rng.normal(0.0, 1.0, n) + shift
            if k > 0:
                z = z + group_effect
            cells = _answers(rng, inst, z)
            frame = pd.concat([frame, pd.DataFrame(cells, columns=inst.columns)], axis=1)
        frames.append(frame[answering])
        counts[tp.code] = int(answering.sum())

    wide = pd.concat(frames, ignore_index=True).fillna("")
    with unit_of_work(ctx.engine, ctx.actor, reason="demo: questionnaires") as s:
        summary = import_questionnaires(s, get_study(s, ctx.study_code), wide, source="demo")
    effect = (
        f"planted effect for {int(intervention.sum())} {INTERVENTION_ARM} participants "
        f"(QPR-15 +{PLANTED_QPR15_POINTS} points at post, SD 11.9, growing with expected attendance)"
        if intervention.any()
        else "no allocations yet: no effect planted"
    )
    per_tp = ", ".join(f"{tp} {c}" for tp, c in counts.items())
    return [f"  questionnaires: {summary.responses_created} responses ({per_tp} participants); {effect}"]


def attendance_propensity(rng: np.random.Generator, pseudonyms: list[str]) -> pd.DataFrame:
    """Each course participant's propensity to come and the week after which they stop
    (99: never stops early): ``pseudonym, propensity, stops_after``."""
    n = len(pseudonyms)
    return pd.DataFrame(
        {
            "pseudonym": pseudonyms,
            "propensity": rng.beta(*ATTENDANCE_PROPENSITY, n),
            "stops_after": np.where(rng.random(n) < EARLY_STOP_SHARE, rng.integers(1, 6, n), 99),
        }
    )


def _group_effects(rng: np.random.Generator, groups: pd.Series) -> np.ndarray:
    """A shared N(0, GROUP_VARIANCE) shift for the members of each course group (0 outside)."""
    codes, uniques = pd.factorize(groups)
    effects = rng.normal(0.0, np.sqrt(GROUP_VARIANCE), len(uniques))
    return np.where(codes >= 0, effects[np.clip(codes, 0, None)] if len(uniques) else 0.0, 0.0)


def _dose_factor(pseudonyms: pd.Series, intervention: np.ndarray, attendance: pd.DataFrame) -> np.ndarray:
    """Multiplier of the planted effect: expected share of sessions attended over its mean in
    the intervention arm (mean 1 over INT; 0 for controls and INT participants in no group)."""
    plan = attendance.set_index("pseudonym")
    share = (plan["propensity"] * np.minimum(plan["stops_after"], 10) / 10).reindex(pseudonyms).fillna(0.0)
    share = np.where(intervention, share.to_numpy(), 0.0)
    mean = share[intervention].mean() if intervention.any() else 0.0
    return share / mean if mean > 0 else intervention.astype(float)


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
        slope = SLOPE.get(inst.id, SLOPE["_other"]) * width * sign if scored else 0.0  # fillers: no signal
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

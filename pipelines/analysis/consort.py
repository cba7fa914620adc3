"""The CONSORT 2010 participant flow: a tidy table and an SVG diagram (English or Danish).

The flow table keeps its reasons in English (a data contract of the exports); the diagram
words them in the reader's language through the message catalogue
(:mod:`dashboards.i18n`, ``consort.*``; pure YAML, no Streamlit).
"""

from __future__ import annotations

import re
from html import escape

import numpy as np
import pandas as pd

from dashboards.i18n import catalogue, translate
from study.eligibility import reason_categories

__all__ = [
    "CONSORT_COLUMNS",
    "PERSON_FLOW_COLUMNS",
    "consort_flow",
    "consort_people",
    "consort_svg",
    "reason_text",
]

#: Columns of :func:`consort_flow`.
CONSORT_COLUMNS = ["stage", "arm", "reason", "n"]
#: Columns of :func:`consort_people`.
PERSON_FLOW_COLUMNS = [
    "pseudonym",
    "arm",
    "received",
    "withdrawn",
    "withdrawal_reason",
    "has_outcome",
    "has_baseline",
    "analysed",
    "exclusion_reason",
]
#: Stages in flow order (CONSORT 2010 flow diagram, Schulz et al. 2010).
STAGES = [
    "assessed",
    "excluded",
    "randomised",
    "allocated",
    "received_allocated",
    "did_not_receive_allocated",
    "lost_to_follow_up",
    "discontinued",
    "analysed",
    "excluded_from_analysis",
]


def consort_flow(
    participants: pd.DataFrame,
    dataset: pd.DataFrame,
    outcome: str,
    timepoint: str,
    arms: list[str],
    intervention_arms: list[str],
    baseline: str | None = None,
) -> pd.DataFrame:
    """Counts of the CONSORT flow, per arm where the diagram splits by arm.

    Parameters
    ----------
    participants
        Every screened RCT participant (``pseudonym, eligible, ineligibility_reasons,
        consent_on, withdrawn_on, withdrawal_reason``).
    dataset
        The analysis dataset (allocated participants × timepoints, ``arm`` as displayed,
        ``dose``).
    outcome, timepoint
        The primary outcome and the timepoint of the primary analysis: "lost to follow-up"
        (everyone without the outcome at the timepoint, withdrawn or not, by whether they
        withdrew) and "analysed" refer to it.
    arms
        Arm codes as displayed in ``dataset``, in diagram order.
    intervention_arms
        Displayed codes of arms with a delivered intervention: "received" is dose > 0 there;
        in a services-as-usual arm every allocated participant received the allocation.
    baseline
        Baseline timepoint; when given, "analysed" requires the baseline value as well (the
        ANCOVA's sample).

    Returns
    -------
    pandas.DataFrame
        ``stage`` (see ``STAGES``), ``arm`` (``all`` before randomisation), ``reason`` (empty
        for the stage's total, else one row per reason) and ``n``. Per arm: allocated =
        analysed + excluded from analysis; the exclusion reasons add up to the excluded; the
        lost to follow-up equal the excluded for "no <outcome> at <timepoint>"
        (:func:`consort_people` places each person).

    References
    ----------
    Schulz KF, Altman DG, Moher D. CONSORT 2010 Statement: updated guidelines for reporting
    parallel group randomised trials. BMJ 2010;340:c332.
    """
    rows: list[dict] = []

    def add(stage: str, arm: str, n: int, reason: str = "") -> None:
        rows.append({"stage": stage, "arm": arm, "reason": reason, "n": int(n)})

    people = dataset.drop_duplicates("pseudonym")
    randomised = set(people["pseudonym"])
    add("assessed", "all", len(participants))
    not_randomised = participants[~participants["pseudonym"].isin(randomised)]
    add("excluded", "all", len(not_randomised))
    ineligible = not_randomised[~not_randomised["eligible"].astype(bool)]
    # By category, as CONSORT reports them (the person's own age or town is record detail).
    reasons = reason_categories(ineligible["ineligibility_reasons"].explode().dropna())
    for reason, n in reasons.value_counts().items():
        add("excluded", "all", n, f"not meeting inclusion criteria: {reason}")
    eligible = not_randomised[not_randomised["eligible"].astype(bool)]
    no_consent = eligible["consent_on"].isna()
    if no_consent.any():
        add("excluded", "all", no_consent.sum(), "declined to participate (no consent)")
    if (~no_consent).any():
        add("excluded", "all", (~no_consent).sum(), "other reasons (consented, not randomised)")
    add("randomised", "all", len(randomised))

    flow = consort_people(participants, dataset, outcome, timepoint, intervention_arms, baseline)
    for arm in arms:
        members = flow[flow["arm"] == arm]
        add("allocated", arm, len(members))
        received = int(members["received"].sum())
        add("received_allocated", arm, received)
        add("did_not_receive_allocated", arm, len(members) - received)
        if len(members) - received:
            add("did_not_receive_allocated", arm, len(members) - received, "attended no session")
        # Lost to follow-up: everyone without the primary outcome at its timepoint, withdrawn or not.
        lost = members[~members["has_outcome"]]
        add("lost_to_follow_up", arm, len(lost))
        for withdrew, label in ((True, "withdrew from the study"), (False, "did not answer (not withdrawn)")):
            n = int((lost["withdrawn"] == withdrew).sum())
            if n:
                add("lost_to_follow_up", arm, n, f"{label}: no {outcome} at {timepoint}")
        gone = members[members["withdrawn"]]
        add("discontinued", arm, len(gone))
        for reason, n in gone["withdrawal_reason"].value_counts().items():
            add("discontinued", arm, n, f"withdrew: {reason}")
        add("analysed", arm, int(members["analysed"].sum()))
        excluded = members[~members["analysed"]]
        add("excluded_from_analysis", arm, len(excluded))
        for reason, n in excluded["exclusion_reason"].value_counts(sort=False).items():
            add("excluded_from_analysis", arm, n, reason)
    return pd.DataFrame(rows, columns=CONSORT_COLUMNS)


def consort_people(
    participants: pd.DataFrame,
    dataset: pd.DataFrame,
    outcome: str,
    timepoint: str,
    intervention_arms: list[str],
    baseline: str | None = None,
) -> pd.DataFrame:
    """Where every allocated participant stands in the CONSORT flow (one row each).

    Returns
    -------
    pandas.DataFrame
        :data:`PERSON_FLOW_COLUMNS`: ``received`` (dose > 0 in an intervention arm; true in
        services as usual), ``withdrawn`` and ``withdrawal_reason`` ("reason not given" when
        empty), ``has_outcome`` (the primary outcome at ``timepoint``), ``has_baseline``
        (true when no baseline is required), ``analysed`` (both) and ``exclusion_reason``
        (empty when analysed, else exactly one: no outcome at the timepoint, or no baseline
        value). Every allocated person is analysed or excluded with one reason, so the
        diagram's boxes add up by construction.
    """
    people = dataset.drop_duplicates("pseudonym").set_index("pseudonym")
    ids = people.index
    at_tp = dataset[dataset["timepoint"] == timepoint].set_index("pseudonym")
    has_outcome = at_tp[outcome].reindex(ids).notna() if outcome in at_tp else pd.Series(False, index=ids)
    if baseline is not None:
        at_base = dataset[dataset["timepoint"] == baseline].set_index("pseudonym")
        has_baseline = (
            at_base[outcome].reindex(ids).notna() if outcome in at_base else pd.Series(False, index=ids)
        )
    else:
        has_baseline = pd.Series(True, index=ids)
    withdrawal = participants.set_index("pseudonym")[["withdrawn_on", "withdrawal_reason"]].reindex(ids)
    withdrawn = withdrawal["withdrawn_on"].notna()
    in_intervention = people["arm"].isin(intervention_arms)
    dose = (
        pd.to_numeric(people["dose"], errors="coerce").fillna(0)
        if "dose" in people
        else pd.Series(0, index=ids)
    )
    analysed = has_outcome & has_baseline
    reason = np.where(
        analysed, "", np.where(~has_outcome, f"no {outcome} at {timepoint}", "no baseline value")
    )
    return pd.DataFrame(
        {
            "pseudonym": ids,
            "arm": people["arm"].to_numpy(),
            "received": (~in_intervention | (dose > 0)).to_numpy(),
            "withdrawn": withdrawn.to_numpy(),
            "withdrawal_reason": np.where(
                withdrawn, withdrawal["withdrawal_reason"].fillna("reason not given"), None
            ),
            "has_outcome": has_outcome.to_numpy(),
            "has_baseline": has_baseline.to_numpy(),
            "analysed": analysed.to_numpy(),
            "exclusion_reason": reason,
        },
        columns=PERSON_FLOW_COLUMNS,
    )


#: The English reasons of :func:`consort_flow` (and the eligibility categories inside them)
#: → their catalogue key ``consort.reason.<key>``; more specific patterns first.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), k)
    for p, k in (
        (r"^not meeting inclusion criteria: (?P<reason>.+)$", "not_meeting"),
        (r"^age below the minimum of (?P<n>\d+)$", "age_below"),
        (r"^age above the maximum of (?P<n>\d+)$", "age_above"),
        (r"^lives outside the site's municipalities$", "outside"),
        (r"^age unknown$", "age_unknown"),
        (r"^exclusion: (?P<flag>.+)$", "exclusion"),
        (r"^declined to participate \(no consent\)$", "declined"),
        (r"^other reasons \(consented, not randomised\)$", "other"),
        (r"^attended no session$", "no_session"),
        (r"^withdrew from the study: no (?P<outcome>.+) at (?P<timepoint>[^ ]+)$", "withdrew_no_outcome"),
        (r"^did not answer \(not withdrawn\): no (?P<outcome>.+) at (?P<timepoint>[^ ]+)$", "no_answer"),
        (r"^withdrew: (?P<reason>.+)$", "withdrew"),
        (r"^reason not given$", "not_given"),
        (r"^no baseline value$", "no_baseline"),
        (r"^no (?P<outcome>.+) at (?P<timepoint>[^ ]+)$", "no_outcome"),
    )
)


def reason_text(reason: str, language: str = "en") -> str:
    """A reason of :func:`consort_flow` in ``language`` (English as it is; a reason without a
    catalogue pattern, e.g. an exclusion flag of the study's own, stays as written).

    >>> reason_text("withdrew: moved away", "da"), reason_text("no qpr_total at post", "da")
    ('udtrådt: fraflyttet', 'ingen qpr_total ved Efter kurset')
    """
    if language == "en":
        return reason
    words = catalogue(language)
    for pattern, key in _REASONS:
        match = pattern.match(reason)
        if match is None:
            continue
        values = dict(match.groupdict())
        if "reason" in values:
            inner = values["reason"]
            values["reason"] = words.get(f"code.withdrawal_reason.{inner}") or reason_text(inner, language)
        if "timepoint" in values:
            values["timepoint"] = words.get(f"code.timepoint.{values['timepoint']}", values["timepoint"])
        return translate(f"consort.reason.{key}", language, **values)
    return reason


def _total(flow: pd.DataFrame, stage: str, arm: str) -> int:
    hit = flow[(flow["stage"] == stage) & (flow["arm"] == arm) & (flow["reason"] == "")]
    return int(hit["n"].iloc[0]) if len(hit) else 0


def _reasons(flow: pd.DataFrame, stage: str, arm: str, language: str = "en") -> list[str]:
    hit = flow[(flow["stage"] == stage) & (flow["arm"] == arm) & (flow["reason"] != "")]
    return [f"• {reason_text(r, language)} (n = {n})" for r, n in zip(hit["reason"], hit["n"])]


def _text_width(lines: list[str]) -> float:
    # About 6.6 px per character of 12 px Helvetica, plus the padding.
    return max(len(line) for line in lines) * 6.6 + 20


def _box(x: float, y: float, w: float, lines: list[str], bold_first: bool = True) -> tuple[str, float]:
    height = 14 + 16 * len(lines)
    parts = [f'<rect x="{x}" y="{y}" width="{w}" height="{height}" fill="#ffffff" stroke="#333" rx="3"/>']
    for i, line in enumerate(lines):
        weight = ' font-weight="bold"' if bold_first and i == 0 else ""
        parts.append(f'<text x="{x + 8}" y="{y + 20 + 16 * i}"{weight}>{escape(line)}</text>')
    return "\n".join(parts), height


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" marker-end="url(#arrow)"/>'


def consort_svg(flow: pd.DataFrame, arm_labels: dict[str, str] | None = None, language: str = "en") -> str:
    """The CONSORT diagram of :func:`consort_flow` as a standalone SVG document (no scripts,
    no external resources: it opens anywhere and embeds in HTML), worded in ``language``
    (``en`` or ``da``, catalogue keys ``consort.*``)."""
    arms = list(dict.fromkeys(flow.loc[flow["arm"] != "all", "arm"]))
    labels = arm_labels or {}

    def say(key: str, **values: object) -> str:
        return translate(f"consort.{key}", language, **values)

    def reasons(stage: str, arm: str) -> list[str]:
        return _reasons(flow, stage, arm, language)

    arm_lines = [
        line
        for arm in arms
        for stage in (
            "did_not_receive_allocated",
            "lost_to_follow_up",
            "discontinued",
            "excluded_from_analysis",
        )
        for line in reasons(stage, arm)
    ] + [say("received", n=_total(flow, "randomised", "all"))]
    width_box, gap = max(360.0, _text_width(arm_lines)), 40
    excluded_lines = [say("excluded", n=_total(flow, "excluded", "all"))] + reasons("excluded", "all")
    excluded_width = _text_width(excluded_lines)
    arms_width = max(2, len(arms)) * (width_box + gap) + gap
    center = arms_width / 2
    total_width = max(arms_width, center + 40 + excluded_width + 20)
    parts: list[str] = []
    y = 20.0
    box, h = _box(center - 180, y, 360, [say("assessed", n=_total(flow, "assessed", "all"))])
    parts.append(box)
    ex_box, ex_h = _box(center + 40, y + h + 20, excluded_width, excluded_lines)
    parts.append(ex_box)
    parts.append(_arrow(center, y + h, center, y + h + 20 + ex_h + 20))
    parts.append(
        f'<line x1="{center}" y1="{y + h + 20 + ex_h / 2}" x2="{center + 40}" y2="{y + h + 20 + ex_h / 2}" stroke="#333" marker-end="url(#arrow)"/>'
    )
    y = y + h + 20 + ex_h + 20
    box, h = _box(center - 180, y, 360, [say("randomised", n=_total(flow, "randomised", "all"))])
    parts.append(box)
    y_arms = y + h + 30
    for i, arm in enumerate(arms):
        x = gap + i * (width_box + gap)
        parts.append(_arrow(center, y + h, x + width_box / 2, y_arms))
        yy = y_arms
        title = f"{arm}: {labels[arm]}" if arm in labels else say("arm", arm=arm)
        sections = [
            [
                say("allocation", arm=title),
                say("allocated", n=_total(flow, "allocated", arm)),
                say("received", n=_total(flow, "received_allocated", arm)),
                say("not_received", n=_total(flow, "did_not_receive_allocated", arm)),
                *reasons("did_not_receive_allocated", arm),
            ],
            [
                say("follow_up"),
                say("lost", n=_total(flow, "lost_to_follow_up", arm)),
                *reasons("lost_to_follow_up", arm),
                say("discontinued", n=_total(flow, "discontinued", arm)),
                *reasons("discontinued", arm),
            ],
            [
                say("analysis"),
                say("analysed", n=_total(flow, "analysed", arm)),
                say("excluded_from_analysis", n=_total(flow, "excluded_from_analysis", arm)),
                *reasons("excluded_from_analysis", arm),
            ],
        ]
        for k, lines in enumerate(sections):
            box, bh = _box(x, yy, width_box, lines)
            parts.append(box)
            if k < len(sections) - 1:
                parts.append(_arrow(x + width_box / 2, yy + bh, x + width_box / 2, yy + bh + 24))
            yy += bh + 24
        y_end = max(y_arms, yy)
    height = (y_end if arms else y + h + 20) + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {total_width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="12">\n'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>\n'
        f"<title>{escape(say('title'))}</title>\n" + "\n".join(parts) + "\n</svg>\n"
    )

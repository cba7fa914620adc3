"""The statistical analysis plan (SAP) as a document: what ``peerstudy analyse`` will run.

The plan is :class:`pipelines.analysis.plan.AnalysisPlan`, derived from the study config's
``outcomes`` section. :func:`sap_document` renders it *generically* (every dataclass field of
the plan, with a label when one is known and by its name otherwise), so a setting added to the
plan later appears in the document, and in its hash, without editing this module. The
document is deterministic (no dates, no software version): the same plan always has the same
SHA-256, which ``peerstudy sap lock`` records and the report prints.

A locked plan is stored as JSON (:func:`plan_to_json`) and turned back into the plan the
analysis runs after unblinding (:func:`plan_from_json`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pipelines.analysis.plan import AnalysisPlan, analysis_plan
from study.config import StudyConfig

__all__ = [
    "CurrentSap",
    "FIELD_LABELS",
    "current_sap",
    "plan_from_json",
    "plan_to_json",
    "sap_document",
    "sap_sha256",
]

#: Labels of the plan's fields in the document (fields without a label show by name).
FIELD_LABELS: dict[str, str] = {
    "primary": "Primary outcome",
    "secondary": "Secondary outcomes (Holm-adjusted per follow-up)",
    "exploratory": "Exploratory outcomes",
    "baseline": "Baseline timepoint (covariate of every model)",
    "followups": "Follow-up timepoints (the first is the primary endpoint)",
    "treatment": "Intervention arm",
    "control": "Comparator arm",
    "covariates": "Covariates (site and stratification factors)",
    "per_protocol_min_sessions": "Per-protocol population: intervention participants attending at least (sessions)",
    "missing_data": "Missing data: MICE is the 'main' analysis or a 'sensitivity' analysis",
    "imputations": "MICE: imputed data sets",
    "burn_in": "MICE: burn-in iterations",
    "seed": "MICE: random seed",
    "include_exploratory": "Exploratory outcomes analysed by default",
    "primary_method": "Primary method",
}

#: Estimands and methods of the analysis pipeline (``pipelines.analysis.trial``).
ESTIMANDS: tuple[str, ...] = (
    "ITT, ANCOVA: outcome ~ arm + baseline + covariates (OLS, t-based 95 % CI)",
    "ITT, partially nested linear mixed model: random group effect in the intervention arm only (REML)",
    "ITT, repeated measures: random intercept per participant over all follow-ups, arm × time",
    "ITT, multiple imputation (MICE, predictive mean matching, Rubin's rules)",
    "ITT, complete cases: the ANCOVA among participants observed at every follow-up",
    "Per protocol, ANCOVA: controls and intervention participants meeting the per-protocol definition",
    "CACE, two-stage least squares: allocation instruments receipt (per-protocol attendance)",
    "Effect sizes: Hedges' g on the pooled baseline SD; estimates are intervention − comparator",
    "Multiplicity: Holm across the secondary outcomes at each follow-up",
    "Exploratory: moderation by group fidelity within the intervention arm (per 10 % adherence)",
)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value) if value else "(none)"
    return str(value)


def sap_document(plan: AnalysisPlan, study_code: str, study_name: str, arm_labels: dict[str, str]) -> str:
    """The plan as a readable text document (deterministic: same plan, same text).

    Parameters
    ----------
    plan
        The analysis plan.
    study_code, study_name
        Identify the study in the title.
    arm_labels
        Arm code → label, to name the intervention and comparator arms.
    """
    lines = [
        f"Statistical analysis plan: study {study_code} ({study_name})",
        "",
        "1. Settings of the analysis",
    ]
    for f in dataclasses.fields(plan):
        value = getattr(plan, f.name)
        shown = _value(value)
        if f.name in ("treatment", "control") and value in arm_labels:
            shown = f"{value} ({arm_labels[value]})"
        lines.append(f"   - {FIELD_LABELS.get(f.name, f.name)} [{f.name}]: {shown}")
    lines += ["", "2. Estimands and methods"]
    lines += [f"   - {line}" for line in ESTIMANDS]
    lines += [
        "",
        "3. Blinding",
        "   - Until unblinding every analysis runs on a dummy allocation (watermarked);",
        "     unblinding requires this plan to be locked, and the analysis after unblinding",
        "     runs the locked plan. Changes after the lock are amendments, recorded as",
        "     protocol deviations with their reason.",
    ]
    return "\n".join(lines) + "\n"


def sap_sha256(document: str) -> str:
    """SHA-256 (hex) of the document's UTF-8 bytes."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def plan_to_json(plan: AnalysisPlan) -> str:
    """The plan's fields as JSON (tuples as lists), sorted keys."""
    return json.dumps(dataclasses.asdict(plan), sort_keys=True, default=str)


def plan_from_json(text: str) -> tuple[AnalysisPlan, list[str]]:
    """The plan stored by :func:`plan_to_json`, and notes on what did not fit the plan's
    current fields (a stored field the software no longer knows, a new field left at its
    default)."""
    stored = json.loads(text)
    fields = {f.name: f for f in dataclasses.fields(AnalysisPlan)}
    # JSON values, untyped until AnalysisPlan holds them (lists become the plan's tuples)
    values: dict[str, Any] = {
        name: tuple(v) if isinstance(v, list) else v for name, v in stored.items() if name in fields
    }
    notes = [
        f"the locked plan's setting {name!r} is unknown to this version and was ignored"
        for name in sorted(set(stored) - set(fields))
    ]
    notes += [
        f"setting {name!r} is not in the locked plan: its default applies"
        for name in sorted(set(fields) - set(stored))
        if fields[name].default is not dataclasses.MISSING
        or fields[name].default_factory is not dataclasses.MISSING
    ]
    return AnalysisPlan(**values), notes


@dataclass(frozen=True)
class CurrentSap:
    """The plan the current configuration gives, as a document with its hash and JSON."""

    plan: AnalysisPlan
    document: str
    sha256: str
    plan_json: str


def current_sap(config: StudyConfig) -> CurrentSap:
    """The SAP of the study's current configuration (``ValueError`` if it has no valid plan)."""
    plan = analysis_plan(config, unblinded=True)
    document = sap_document(
        plan, config.study.code, config.study.name, {a.code: a.label for a in config.arms}
    )
    return CurrentSap(plan, document, sap_sha256(document), plan_to_json(plan))

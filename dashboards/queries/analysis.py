"""The analysis page's data: outcomes by arm and timepoint, the ITT effect of the primary
outcome by the plan's primary method with the ANCOVA beside it (no multiple imputation: that is ``peerstudy analyse``), forest plot and CONSORT
diagram, from one snapshot of the database. Until unblinding everything is computed on the
dummy allocation (:mod:`pipelines.dummy_allocation`, as the pipelines build the dataset), and
every table carries the watermark column."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from dashboards.access import Viewer, viewer_study
from dashboards.i18n import catalogue, translate
from study.db import read_session

__all__ = [
    "AnalysisView",
    "OUTCOME_COLUMNS",
    "analysis_view",
    "effects_for_display",
    "format_p",
    "primary_effects",
]

OUTCOME_COLUMNS = ["timepoint", "arm", "n", "mean", "sd"]


@dataclass(frozen=True)
class AnalysisView:
    """``outcomes`` (:data:`OUTCOME_COLUMNS` of the primary outcome), ``effects`` (ITT rows of
    the plan's primary method and the ANCOVA, :func:`primary_effects`), the forest plot and CONSORT diagram
    as SVG, the primary outcome's name, whether arms are blinded (then every table is
    computed on the dummy allocation and watermarked), and problems met."""

    primary: str
    blinded: bool
    outcomes: pd.DataFrame
    effects: pd.DataFrame
    forest_svg: str
    consort_svg: str
    problems: tuple[str, ...]


def primary_effects(results: pd.DataFrame, primary_method: str) -> pd.DataFrame:
    """The ITT rows of the plan's primary method and, beside them, of the ANCOVA (the simple
    model every reader knows), primary method first, then by timepoint in result order.

    A primary method that could not run simply has no rows (its problem line says why).
    """
    methods = [primary_method] if primary_method == "ancova" else [primary_method, "ancova"]
    itt = results[(results["estimand"] == "itt") & results["method"].isin(methods)]
    order = itt["method"].map({m: i for i, m in enumerate(methods)})
    return (
        itt.assign(_order=order)
        .sort_values("_order", kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def format_p(p: float) -> str:
    """A p-value as a reader expects it: ``<0.001`` below 0.001, else three decimals (APA
    style); empty when missing.

    >>> [format_p(v) for v in (9e-13, 0.0123, 0.5, float("nan"))]
    ['<0.001', '0.012', '0.500', '']
    """
    if p != p:  # NaN
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def effects_for_display(effects: pd.DataFrame) -> pd.DataFrame:
    """The effect table as the page shows (and downloads) it: estimates, intervals and effect
    sizes to 2 decimals, p formatted by :func:`format_p`. ``peerstudy analyse`` writes the
    full precision."""
    out = effects.copy()
    numeric = ["estimate", "ci_low", "ci_high", "effect_size", "effect_size_ci_low", "effect_size_ci_high"]
    present = [c for c in numeric if c in out.columns]
    out[present] = out[present].astype(float).round(2)
    if "p" in out.columns:
        out["p"] = out["p"].astype(float).map(format_p)
    return out


def analysis_view(engine: Engine, viewer: Viewer, language: str = "en") -> AnalysisView:
    """Build the analysis page for a researcher or statistician (``NotAllowed`` otherwise);
    the forest plot and CONSORT diagram are worded in ``language``."""
    from pipelines.analysis.consort import consort_svg
    from pipelines.analysis.trial import run_trial_analysis
    from pipelines.dummy_allocation import watermark
    from pipelines.report.charts import forest_svg
    from pipelines.snapshot import take_snapshot

    viewer.require_role("researcher", "statistician", action="the analysis page")
    with read_session(engine) as session:
        code = viewer_study(session, viewer).code
    snap = take_snapshot(engine, code)
    plan = dataclasses.replace(snap.plan(), secondary=(), exploratory=())
    data = snap.dataset
    outcome = plan.primary
    if outcome in data.columns and "arm" in data.columns:
        allocated = data[data["arm"].notna()]
        outcomes = (
            allocated.groupby(["timepoint", "arm"], sort=False)[outcome]
            .agg(n="count", mean="mean", sd="std")
            .reset_index()
            .round(2)
        )
    else:
        outcomes = pd.DataFrame(columns=OUTCOME_COLUMNS)
    analysis = run_trial_analysis(data, plan, mice=False, summaries=False)
    results = analysis.results
    effects = primary_effects(results, plan.primary_method)
    words = catalogue(language)

    def word(column: str) -> pd.Series:
        return effects[column].map(lambda v: words.get(f"code.{column}.{v}", v))

    forest = forest_svg(
        effects.assign(label=effects["outcome"] + " · " + word("timepoint") + " · " + word("method")),
        value="estimate",
        low="ci_low",
        high="ci_high",
        x_title=translate("forest.difference", language),
        language=language,
    )
    consort = consort_svg(snap.consort(), snap.arm_labels(language), language)
    outcomes, effects = outcomes[OUTCOME_COLUMNS], effects_for_display(effects)
    if snap.dummy:
        outcomes, effects = watermark(outcomes), watermark(effects)
    return AnalysisView(outcome, snap.dummy, outcomes, effects, forest, consort, tuple(analysis.problems))

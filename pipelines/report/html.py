"""Assemble the report: one self-contained HTML file (inline CSS and SVG, no scripts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

import pandas as pd

from pipelines.analysis.consort import consort_svg
from pipelines.analysis.plan import AnalysisPlan
from pipelines.analysis.trial import TrialAnalysis
from pipelines.dummy_allocation import DUMMY_WATERMARK
from pipelines.quality.html import quality_summary_html, quality_table_html
from pipelines.report.charts import forest_svg, trajectories_svg
from pipelines.report.table_one import table_one

__all__ = ["ReportInputs", "render_report"]

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.4}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.fail{background:#fde2e1}.pass{color:#1a7f37}.warn{color:#9a6700;font-weight:bold}.warnrow{background:#fff8c5}.bad{color:#b42318;font-weight:bold}.meta{color:#555}
.dummy{background:#b42318;color:#fff;padding:8px 12px;font-weight:bold;font-size:18px}
.grid{display:flex;flex-wrap:wrap;gap:12px}.note{background:#fff8e1;padding:6px 10px;border-left:4px solid #f0b400}
"""


@dataclass
class ReportInputs:
    """Everything the report shows, computed beforehand (the renderer only formats)."""

    study_code: str
    study_name: str
    taken_at: dt.datetime
    unblinded: bool
    software_version: str
    dataset: pd.DataFrame
    plan: AnalysisPlan
    arms: list[str]
    arm_labels: dict[str, str]
    analysis: TrialAnalysis
    flow: pd.DataFrame
    group_fidelity: pd.DataFrame
    quality: pd.DataFrame | None
    strata: list[str]
    #: Built on the dummy allocation (study still blinded): banner and every title watermarked.
    dummy: bool = False
    #: Sections after the data quality (the analysis plan, its lock and deviations), as HTML.
    appendix_html: str = ""
    #: SAP SHA-256 of the plan the analysis ran (shown under the title).
    sap_sha256: str = ""
    sap_locked: bool = False

    @property
    def sap_line(self) -> str:
        if not self.sap_sha256:
            return ""
        state = "locked" if self.sap_locked else "not locked"
        return f" Analysis plan ({state}) SAP SHA-256 <code>{escape(self.sap_sha256)}</code> (Appendix A)."


def _table(frame: pd.DataFrame, decimals: int = 3) -> str:
    if frame.empty:
        return "<p><em>No rows.</em></p>"
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append(f'<td class="num">{"" if pd.isna(v) else f"{v:.{decimals}f}"}</td>')
            else:
                cells.append(f"<td>{escape('' if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(r: ReportInputs) -> str:
    """The report as one HTML document."""
    plan, results = r.plan, r.analysis.results
    sections = []
    blinding = (
        "Arms are <b>unblinded</b>." if r.unblinded
        else "The study is blinded: every arm-wise result below is computed on a <b>dummy allocation</b> "
        "(a random re-allocation within strata), not on the real one."
    )
    mark = f" — {DUMMY_WATERMARK}" if r.dummy else ""
    if r.dummy:
        sections.append(f'<div class="dummy">{escape(DUMMY_WATERMARK)}</div>')
    sections.append(
        f"<h1>{escape(r.study_name)}</h1><p class=\"meta\">Study {escape(r.study_code)} · database snapshot "
        f"{r.taken_at:%Y-%m-%d %H:%M:%S} UTC · peerstudy {escape(r.software_version)} · {blinding} "
        f"Estimates are {escape(plan.treatment)} − {escape(plan.control)}.{r.sap_line}</p>"
    )
    # Table 1
    t1 = table_one(r.dataset, plan.baseline, r.arms, categorical=["site", *r.strata],
                   continuous=["age", *[o for o in plan.outcomes if o in r.dataset]])
    sections.append(f"<h2>Table 1. Baseline characteristics by arm{escape(mark)}</h2>" + _table(t1))
    # CONSORT
    sections.append(f"<h2>CONSORT flow{escape(mark)}</h2>" + consort_svg(r.flow, r.arm_labels)
                    + "<details><summary>Flow as a table</summary>" + _table(r.flow) + "</details>")
    # Effects
    sections.append(f"<h2>Effects (primary outcome {escape(plan.primary)}){escape(mark)}</h2>")
    if results.empty:
        sections.append("<p><em>No effect could be estimated yet.</em></p>")
    else:
        sections.append(_table(results))
        primary_methods = results[(results["estimand"] == "itt") & (results["method"] == "ancova")]
        forest = primary_methods.assign(label=primary_methods["outcome"] + " · " + primary_methods["timepoint"])
        sections.append("<h3>Forest plot: ITT ANCOVA, standardised (Hedges' g)</h3>" + forest_svg(forest))
        primary = results[results["outcome"] == plan.primary]
        sections.append(
            f"<h3>Forest plot: {escape(plan.primary)}, every estimand and method (outcome units)</h3>"
            + forest_svg(primary.assign(label=primary["timepoint"] + " · " + primary["estimand"] + " · " + primary["method"]),
                         value="estimate", low="ci_low", high="ci_high", x_title="difference (95 % CI)")
        )
    if not r.analysis.multiplicity.empty:
        sections.append("<h3>Secondary outcomes, Holm-adjusted</h3>" + _table(r.analysis.multiplicity))
    if not r.analysis.icc.empty:
        sections.append("<h3>Group-level ICC (partially nested model)</h3>" + _table(r.analysis.icc))
    if not r.analysis.moderation.empty:
        sections.append("<h3>Exploratory: group fidelity and outcome in the intervention arm (per 10 % adherence)</h3>"
                        + _table(r.analysis.moderation))
    messages = [f"could not run: {p}" for p in r.analysis.problems] + [f"note: {n}" for n in r.analysis.notes]
    if messages:
        sections.append('<div class="note">' + "<br>".join(escape(m) for m in messages) + "</div>")
    # Trajectories
    timepoints = [plan.baseline, *plan.followups]
    charts = [trajectories_svg(r.dataset, o, timepoints, r.arms) for o in plan.outcomes if o in r.dataset]
    sections.append(f"<h2>Outcome trajectories by arm (observed means, 95 % CI){escape(mark)}</h2><div class=\"grid\">"
                    + "".join(charts) + "</div>")
    # Fidelity
    sections.append("<h2>Fidelity</h2>")
    if r.group_fidelity.empty:
        sections.append("<p><em>No fidelity observations yet.</em></p>")
    else:
        per_site = r.group_fidelity.groupby("site").agg(
            groups=("group", "count"), mean_adherence_pct=("mean_adherence_pct", "mean"),
            below_threshold=("below_threshold", "sum")).reset_index()
        sections.append(_table(per_site, 1) + _table(r.group_fidelity, 1))
    # Data quality
    sections.append("<h2>Data quality</h2>")
    if r.quality is None:
        sections.append("<p><em>Checks not run (peerstudy report --no-quality).</em></p>")
    else:
        sections.append(quality_summary_html(r.quality) + quality_table_html(r.quality))
    if r.appendix_html:
        sections.append(r.appendix_html)
    if r.dummy:
        sections.append(f'<div class="dummy">{escape(DUMMY_WATERMARK)}</div>')
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Report: {escape(r.study_code)}{escape(mark)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections) + "</body></html>\n"
    )

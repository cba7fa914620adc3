"""Assemble the report: one self-contained HTML file (inline CSS and SVG, no scripts), in
English or Danish: every heading and label from the message catalogue (:mod:`dashboards.i18n`,
``report.*``; pure YAML, no Streamlit), tables formatted for people
(:mod:`dashboards.table_format`: p as ``<0.001``, decimal comma in Danish)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

import pandas as pd

from dashboards.i18n import catalogue, translate
from dashboards.i18n.formats import format_datetime
from dashboards.table_format import format_table, numeric_columns
from pipelines.analysis.consort import consort_svg, reason_text
from pipelines.analysis.plan import AnalysisPlan
from pipelines.analysis.trial import TrialAnalysis
from pipelines.dummy_allocation import watermark_text
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

    #: Language of the report's words, numbers and dates (``en`` or ``da``).
    language: str = "en"

    def say(self, key: str, **values: object) -> str:
        """The catalogue text ``report.<key>`` in the report's language."""
        return translate(f"report.{key}", self.language, **values)

    @property
    def sap_line(self) -> str:
        if not self.sap_sha256:
            return ""
        state = self.say("sap_locked" if self.sap_locked else "sap_not_locked")
        return self.say("sap_line", state=state, sha=escape(self.sap_sha256))


def _table(frame: pd.DataFrame, language: str = "en") -> str:
    """A table for people (:func:`dashboards.table_format.format_table`: catalogue headers,
    codes in words, fixed decimals per kind of column, p as ``<0.001``, decimal comma in
    Danish, empty cells for missing values)."""
    if frame.empty:
        return f"<p><em>{escape(translate('report.no_rows', language))}</em></p>"
    words = catalogue(language)
    shown = format_table(
        frame,
        language,
        label=lambda name: words.get(f"column.{name}") if name.islower() else name,
        yes_no=(words["common.yes"], words["common.no"]),
        code=lambda name, value: words.get(f"code.{name}.{value}"),
    )
    numeric = numeric_columns(frame)
    head = "".join(f"<th>{escape(str(c))}</th>" for c in shown.columns)
    body = [
        "<tr>"
        + "".join(
            f'<td class="num">{escape(v)}</td>' if num else f"<td>{escape(v)}</td>"
            for v, num in zip(row, numeric)
        )
        + "</tr>"
        for row in shown.itertuples(index=False)
    ]
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_report(r: ReportInputs) -> str:
    """The report as one HTML document, in ``r.language``."""
    plan, results, lang, say = r.plan, r.analysis.results, r.language, r.say
    sections = []
    blinding = say("unblinded") if r.unblinded else say("blinded")
    # The watermark verbatim (the blinding contract), its translation beside it in Danish.
    watermark = watermark_text(lang)
    mark = f" — {watermark}" if r.dummy else ""
    if r.dummy:
        sections.append(f'<div class="dummy">{escape(watermark)}</div>')
    meta = say(
        "meta",
        study=escape(r.study_code),
        when=format_datetime(r.taken_at, lang) if lang != "en" else f"{r.taken_at:%Y-%m-%d %H:%M:%S}",
        version=escape(r.software_version),
        blinding=blinding,
        treatment=escape(plan.treatment),
        control=escape(plan.control),
    )
    sections.append(f'<h1>{escape(r.study_name)}</h1><p class="meta">{meta}{r.sap_line}</p>')
    # Table 1
    t1 = table_one(
        r.dataset,
        plan.baseline,
        r.arms,
        categorical=["site", *r.strata],
        continuous=["age", *[o for o in plan.outcomes if o in r.dataset]],
        language=lang,
    )
    sections.append(f"<h2>{escape(say('table_one'))}{escape(mark)}</h2>" + _table(t1, lang))
    # CONSORT
    flow = r.flow.assign(reason=r.flow["reason"].map(lambda reason: reason_text(reason, lang)))
    sections.append(
        f"<h2>{escape(say('consort'))}{escape(mark)}</h2>"
        + consort_svg(r.flow, r.arm_labels, lang)
        + f"<details><summary>{escape(say('flow_table'))}</summary>"
        + _table(flow, lang)
        + "</details>"
    )
    # Effects
    sections.append(f"<h2>{escape(say('effects', outcome=plan.primary))}{escape(mark)}</h2>")
    if results.empty:
        sections.append(f"<p><em>{escape(say('no_effect'))}</em></p>")
    else:
        sections.append(_table(results, lang))
        words = catalogue(lang)

        def word(column: str, values: pd.Series) -> pd.Series:
            return values.map(lambda v: words.get(f"code.{column}.{v}", v))

        primary_methods = results[(results["estimand"] == "itt") & (results["method"] == "ancova")]
        forest = primary_methods.assign(
            label=primary_methods["outcome"] + " · " + word("timepoint", primary_methods["timepoint"])
        )
        sections.append(f"<h3>{escape(say('forest_standardised'))}</h3>" + forest_svg(forest, language=lang))
        primary = results[results["outcome"] == plan.primary]
        sections.append(
            f"<h3>{escape(say('forest_primary', outcome=plan.primary))}</h3>"
            + forest_svg(
                primary.assign(
                    label=word("timepoint", primary["timepoint"])
                    + " · "
                    + word("estimand", primary["estimand"])
                    + " · "
                    + word("method", primary["method"])
                ),
                value="estimate",
                low="ci_low",
                high="ci_high",
                x_title=translate("forest.difference", lang),
                language=lang,
            )
        )
    if not r.analysis.multiplicity.empty:
        sections.append(f"<h3>{escape(say('secondary'))}</h3>" + _table(r.analysis.multiplicity, lang))
    if not r.analysis.icc.empty:
        sections.append(f"<h3>{escape(say('icc'))}</h3>" + _table(r.analysis.icc, lang))
    if not r.analysis.moderation.empty:
        sections.append(f"<h3>{escape(say('moderation'))}</h3>" + _table(r.analysis.moderation, lang))
    messages = [say("could_not_run", problem=p) for p in r.analysis.problems] + [
        say("note", note=n) for n in r.analysis.notes
    ]
    if messages:
        sections.append('<div class="note">' + "<br>".join(escape(m) for m in messages) + "</div>")
    # Trajectories
    timepoints = [plan.baseline, *plan.followups]
    charts = [
        trajectories_svg(r.dataset, o, timepoints, r.arms, lang) for o in plan.outcomes if o in r.dataset
    ]
    sections.append(
        f'<h2>{escape(say("trajectories"))}{escape(mark)}</h2><div class="grid">' + "".join(charts) + "</div>"
    )
    # Fidelity
    sections.append(f"<h2>{escape(say('fidelity'))}</h2>")
    if r.group_fidelity.empty:
        sections.append(f"<p><em>{escape(say('no_fidelity'))}</em></p>")
    else:
        per_site = (
            r.group_fidelity.groupby("site")
            .agg(
                groups=("group", "count"),
                mean_adherence_pct=("mean_adherence_pct", "mean"),
                below_threshold=("below_threshold", "sum"),
            )
            .reset_index()
        )
        sections.append(_table(per_site, lang) + _table(r.group_fidelity, lang))
    # Data quality
    sections.append(f"<h2>{escape(say('quality'))}</h2>")
    if r.quality is None:
        sections.append(f"<p><em>{escape(say('quality_not_run'))}</em></p>")
    else:
        sections.append(quality_summary_html(r.quality, lang) + quality_table_html(r.quality, lang))
    if r.appendix_html:
        sections.append(r.appendix_html)
    if r.dummy:
        sections.append(f'<div class="dummy">{escape(watermark)}</div>')
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(say('title', study=r.study_code))}{escape(mark)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )

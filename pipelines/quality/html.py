"""The data-quality report as a self-contained HTML page (no scripts, no external files)."""

from __future__ import annotations

import datetime as dt
from html import escape

import pandas as pd

from dashboards.i18n import translate

__all__ = ["quality_html", "quality_summary_html", "quality_table_html"]

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f0f0f0}.fail{background:#fde2e1}.pass{color:#1a7f37}.warn{color:#9a6700;font-weight:bold}.warnrow{background:#fff8c5}.bad{color:#b42318;font-weight:bold}
"""


def quality_table_html(results: pd.DataFrame, language: str = "en") -> str:
    """The checks as an HTML table (failing rows highlighted); headers and verdicts in
    ``language`` (English keeps the plain column names of the stand-alone page)."""
    if language == "en":
        head = "<tr><th>table</th><th>check</th><th>result</th><th>failing rows</th><th>rows</th><th>examples</th></tr>"
    else:
        names = [
            translate(k, language)
            for k in (
                "column.table",
                "column.check",
                "report.result",
                "column.failing_rows",
                "column.rows",
                "column.examples",
            )
        ]
        head = "<tr>" + "".join(f"<th>{escape(n)}</th>" for n in names) + "</tr>"
    passed, warned, failed = (escape(translate(f"report.{k}", language)) for k in ("pass", "warning", "fail"))
    body = []
    for r in results.itertuples(index=False):
        if r.success:
            verdict, row_class = f'<span class="pass">{passed}</span>', ""
        elif r.severity == "warning":
            verdict, row_class = f'<span class="warn">{warned}</span>', "warnrow"
        else:
            verdict, row_class = f'<span class="bad">{failed}</span>', "fail"
        body.append(
            f'<tr class="{row_class}"><td>{escape(r.table)}</td><td>{escape(r.check)}'
            f"<br><small>{escape(r.expectation)}</small></td><td>{verdict}</td><td>{r.failing_rows}</td>"
            f"<td>{r.rows}</td><td>{escape(str(r.examples))}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def quality_summary_html(results: pd.DataFrame, language: str = "en") -> str:
    """One line: how many checks failed (errors) and how many flagged rows for review."""
    errors = int((~results["success"] & (results["severity"] == "error")).sum())
    warnings = int((~results["success"] & (results["severity"] == "warning")).sum())
    if errors:
        line = '<p class="bad">' + escape(
            translate("report.quality_failed", language, errors=errors, total=len(results))
        )
    else:
        line = '<p class="pass">' + escape(
            translate("report.quality_passed", language, n=len(results) - warnings)
        )
    if warnings:
        line += escape(translate("report.quality_warnings", language, n=warnings))
    return line + ".</p>"


def quality_html(results: pd.DataFrame, study: str, taken_at: dt.datetime) -> str:
    """A standalone page: summary line and the table of checks."""
    summary = quality_summary_html(results)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Data quality: {escape(study)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Data quality of study {escape(study)}</h1>"
        f"<p>Database snapshot {taken_at:%Y-%m-%d %H:%M:%S} UTC; checks generated from the study "
        f"configuration, run with Great Expectations.</p>{summary}{quality_table_html(results)}</body></html>"
    )

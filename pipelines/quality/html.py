"""The data-quality report as a self-contained HTML page (no scripts, no external files)."""

from __future__ import annotations

import datetime as dt
from html import escape

import pandas as pd

__all__ = ["quality_html", "quality_table_html"]

STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f0f0f0}.fail{background:#fde2e1}.pass{color:#1a7f37}.bad{color:#b42318;font-weight:bold}
"""


def quality_table_html(results: pd.DataFrame) -> str:
    """The checks as an HTML table (failing rows highlighted)."""
    head = "<tr><th>table</th><th>check</th><th>result</th><th>failing rows</th><th>rows</th><th>examples</th></tr>"
    body = []
    for r in results.itertuples(index=False):
        verdict = '<span class="pass">pass</span>' if r.success else '<span class="bad">FAIL</span>'
        body.append(
            f'<tr class="{"" if r.success else "fail"}"><td>{escape(r.table)}</td><td>{escape(r.check)}'
            f"<br><small>{escape(r.expectation)}</small></td><td>{verdict}</td><td>{r.failing_rows}</td>"
            f"<td>{r.rows}</td><td>{escape(str(r.examples))}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def quality_html(results: pd.DataFrame, study: str, taken_at: dt.datetime) -> str:
    """A standalone page: summary line and the table of checks."""
    failed = int((~results["success"]).sum())
    summary = (
        f'<p class="bad">{failed} of {len(results)} checks failed.</p>' if failed
        else f'<p class="pass">All {len(results)} checks passed.</p>'
    )
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Data quality: {escape(study)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Data quality of study {escape(study)}</h1>"
        f"<p>Database snapshot {taken_at:%Y-%m-%d %H:%M:%S} UTC; checks generated from the study "
        f"configuration, run with Great Expectations.</p>{summary}{quality_table_html(results)}</body></html>"
    )

"""The report's appendix: the statistical analysis plan, its lock, and the protocol deviations."""

from __future__ import annotations

from html import escape

import pandas as pd

from study.sap import LockedSap

__all__ = ["sap_appendix_html"]


def sap_appendix_html(locked: LockedSap | None, current_sha256: str, current_document: str,
                      deviations: pd.DataFrame) -> str:
    """HTML of the appendix: the SAP's SHA-256 and lock (or that it is not locked), the plan
    as locked (else as the configuration gives it now), and every protocol deviation.

    Parameters
    ----------
    locked
        The latest locked SAP version, ``None`` when the plan is not locked.
    current_sha256, current_document
        The plan the current configuration gives (:func:`pipelines.sap.current_sap`).
    deviations
        :data:`study.sap.DEVIATION_COLUMNS`, one row per deviation.
    """
    parts = ["<h2>Appendix A. Statistical analysis plan</h2>"]
    if locked is None:
        parts.append(f"<p><b>Not locked.</b> SHA-256 of the current plan: <code>{escape(current_sha256)}</code>. "
                     "Unblinding requires the plan to be locked (<code>peerstudy sap lock --reason TEXT</code>).</p>")
        document = current_document
    else:
        parts.append(
            f"<p>SAP SHA-256: <code>{escape(locked.sha256)}</code> (version {locked.version}, {escape(locked.kind)}, "
            f"{locked.recorded_at:%Y-%m-%d %H:%M} UTC by {escape(locked.recorded_by)}: {escape(locked.reason)}).</p>"
        )
        if locked.sha256 != current_sha256:
            parts.append(f'<p class="note">The current configuration gives a different plan (SHA-256 '
                         f"<code>{escape(current_sha256)}</code>); the analysis after unblinding runs the locked "
                         "version shown here.</p>")
        document = locked.document
    parts.append(f"<pre>{escape(document)}</pre>")
    parts.append("<h2>Appendix B. Protocol deviations</h2>")
    if deviations is None or deviations.empty:
        parts.append("<p><em>No protocol deviation recorded.</em></p>")
    else:
        head = "".join(f"<th>{escape(c)}</th>" for c in deviations.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
            for row in deviations.itertuples(index=False)
        )
        parts.append(f"<table><tr>{head}</tr>{rows}</table>")
    return "\n".join(parts)

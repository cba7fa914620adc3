"""The report's appendix: the statistical analysis plan, its lock, and the protocol deviations."""

from __future__ import annotations

from html import escape

import pandas as pd

from dashboards.i18n import translate
from dashboards.i18n.formats import format_datetime
from study.sap import LockedSap

__all__ = ["sap_appendix_html"]


def sap_appendix_html(
    locked: LockedSap | None,
    current_sha256: str,
    current_document: str,
    deviations: pd.DataFrame,
    language: str = "en",
) -> str:
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
    language
        Language of the headings and sentences (the plan's document stays as locked).
    """

    def say(key: str, **values: object) -> str:
        return translate(f"report.{key}", language, **values)

    parts = [f"<h2>{escape(say('appendix_sap'))}</h2>"]
    if locked is None:
        parts.append(f"<p>{say('sap_not_locked_text', sha=escape(current_sha256))}</p>")
        document = current_document
    else:
        when = (
            f"{locked.recorded_at:%Y-%m-%d %H:%M}"
            if language == "en"
            else format_datetime(locked.recorded_at, language)
        )
        parts.append(
            "<p>"
            + say(
                "sap_locked_text",
                sha=escape(locked.sha256),
                version=locked.version,
                kind=escape(locked.kind),
                when=when,
                by=escape(locked.recorded_by),
                reason=escape(locked.reason),
            )
            + "</p>"
        )
        if locked.sha256 != current_sha256:
            parts.append(f'<p class="note">{say("sap_changed_text", sha=escape(current_sha256))}</p>')
        document = locked.document
    parts.append(f"<pre>{escape(document)}</pre>")
    parts.append(f"<h2>{escape(say('appendix_deviations'))}</h2>")
    if deviations is None or deviations.empty:
        parts.append(f"<p><em>{escape(say('no_deviations'))}</em></p>")
    else:
        head = "".join(f"<th>{escape(c)}</th>" for c in deviations.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
            for row in deviations.itertuples(index=False)
        )
        parts.append(f"<table><tr>{head}</tr>{rows}</table>")
    return "\n".join(parts)

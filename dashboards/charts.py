"""Altair charts of the dashboard (pure: DataFrame in, chart out; no Streamlit).

Every text of a chart (title, axes, legend and tooltip titles) is passed in translated;
:func:`vega_spec` adds the reader's number and time locale (decimal comma and Danish month
names in Danish, d3's locale definitions), so axes read as the rest of the page.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["LOCALES", "attendance_chart", "fidelity_chart", "recruitment_chart", "vega_spec"]

#: Vega number and time locales (d3-format / d3-time-format definitions) per language.
LOCALES: dict[str, dict] = {
    "da": {
        "number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " kr."]},
        "time": {
            "dateTime": "%A den %d. %B %Y %X",
            "date": "%d.%m.%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": ["søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"],
            "shortDays": ["søn", "man", "tir", "ons", "tor", "fre", "lør"],
            "months": [
                "januar",
                "februar",
                "marts",
                "april",
                "maj",
                "juni",
                "juli",
                "august",
                "september",
                "oktober",
                "november",
                "december",
            ],
            "shortMonths": [
                "jan.",
                "feb.",
                "mar.",
                "apr.",
                "maj",
                "jun.",
                "jul.",
                "aug.",
                "sep.",
                "okt.",
                "nov.",
                "dec.",
            ],
        },
    },
}
#: Tooltip dates as in the tables (``5. mar. 2025`` / ``5 Mar 2025``).
DATE_FORMAT = {"da": "%-d. %b %Y", "en": "%-d %b %Y"}
#: Time axis ticks (``7. sep.`` / ``7 Sep``).
AXIS_DATE_FORMAT = {"da": "%-d. %b", "en": "%-d %b"}


def recruitment_chart(
    over_time: pd.DataFrame,
    title: str,
    recruited: str,
    target: str,
    site: str = "Site",
    date: str = "Date",
    language: str = "en",
) -> alt.Chart:
    """Cumulative recruitment per site over time with each site's target as a dashed rule.

    ``over_time`` has the columns of
    :func:`dashboards.queries.recruitment.recruitment_over_time`; ``recruited``, ``target``,
    ``site`` and ``date`` are the translated axis, legend and tooltip labels.
    """
    base = alt.Chart(over_time)
    date_format = DATE_FORMAT.get(language, DATE_FORMAT["en"])
    line = base.mark_line(point=False).encode(
        x=alt.X(
            "date:T", title=None, axis=alt.Axis(format=AXIS_DATE_FORMAT.get(language, AXIS_DATE_FORMAT["en"]))
        ),
        y=alt.Y("recruited:Q", title=recruited),
        color=alt.Color("site:N", title=None),
        tooltip=[
            alt.Tooltip("site:N", title=site),
            alt.Tooltip("date:T", title=date, format=date_format),
            alt.Tooltip("recruited:Q", title=recruited),
        ],
    )
    rule = (
        alt.Chart(over_time.drop_duplicates("site"))
        .mark_rule(strokeDash=[6, 4])
        .encode(
            y="target:Q",
            color=alt.Color("site:N", title=None),
            tooltip=[alt.Tooltip("site:N", title=site), alt.Tooltip("target:Q", title=target)],
        )
    )
    return (line + rule).properties(title=title, height=320)


def attendance_chart(
    rates: pd.DataFrame,
    title: str,
    percent: str,
    week: str,
    group: str = "Group",
    present: str = "Present",
    recorded: str = "Recorded",
) -> alt.Chart:
    """Percentage present per week, one line per group (``attendance_rates`` columns); the
    texts are the translated title, axis and tooltip labels."""
    return (
        alt.Chart(rates)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:O", title=week),
            y=alt.Y("percent_present:Q", title=percent, scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("group:N", title=None),
            tooltip=[
                alt.Tooltip("group:N", title=group),
                alt.Tooltip("week:O", title=week),
                alt.Tooltip("present:Q", title=present),
                alt.Tooltip("recorded:Q", title=recorded),
                alt.Tooltip("percent_present:Q", title=percent, format=".1f"),
            ],
        )
        .properties(title=title, height=280)
    )


def fidelity_chart(
    groups: pd.DataFrame,
    thresholds: pd.DataFrame,
    title: str,
    percent: str,
    labels: dict[str, str] | None = None,
) -> alt.LayerChart | alt.FacetChart:  # alt.layer's type; a LayerChart here (no facets)
    """Mean adherence per group (bars coloured by site; flagged groups outlined in red) with
    a dashed rule per threshold (``fidelity_by_group`` and ``fidelity_thresholds`` columns).

    ``labels`` gives the tooltip titles per column (``group``, ``site``, ``n_observations``,
    ``classification``, ``level``) and the words of coded values (``high``, ``moderate``,
    ``low``); English names without it.
    """
    labels = labels or {}
    observed = groups[~groups["never_observed"]].assign(
        classification=lambda d: d["classification"].map(lambda c: labels.get(c, c))
    )
    thresholds = thresholds.assign(level=thresholds["level"].map(lambda c: labels.get(c, c)))

    def tip(field: str, kind: str, **kw) -> alt.Tooltip:
        return alt.Tooltip(f"{field}:{kind}", title=labels.get(field, field), **kw)

    bars = (
        alt.Chart(observed)
        .mark_bar()
        .encode(
            x=alt.X("group:N", title=None, sort=None),
            y=alt.Y("mean_adherence_pct:Q", title=percent, scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("site:N", title=None),
            stroke=alt.condition("datum.below_threshold", alt.value("#c0392b"), alt.value(None)),
            strokeWidth=alt.value(2),
            tooltip=[
                tip("group", "N"),
                tip("site", "N"),
                tip("n_observations", "Q"),
                alt.Tooltip("mean_adherence_pct:Q", title=percent, format=".1f"),
                tip("classification", "N"),
            ],
        )
    )
    rules = (
        alt.Chart(thresholds)
        .mark_rule(strokeDash=[6, 4])
        .encode(
            y="percent:Q",
            color=alt.value("#555"),
            tooltip=[tip("level", "N"), alt.Tooltip("percent:Q", title=percent, format=".1f")],
        )
    )
    return alt.layer(bars, rules).properties(title=title, height=280)


def vega_spec(chart: alt.TopLevelMixin, language: str = "en") -> dict:
    """The Vega-Lite spec of ``chart`` with its data inlined, without Altair's schema
    validation (the charts here are fixed and tested; validation costs more than the rest of
    the page), so the Streamlit layer can cache the spec and render it with
    ``st.vega_lite_chart``; in Danish with the Danish number and time locale
    (``config.locale``: decimal comma, Danish month names on time axes)."""
    spec = chart.to_dict(validate=False)
    if language in LOCALES:
        spec.setdefault("config", {})["locale"] = LOCALES[language]
    return spec

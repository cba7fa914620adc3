"""Altair charts of the dashboard (pure: DataFrame in, chart out; no Streamlit)."""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["attendance_chart", "recruitment_chart", "vega_spec"]


def recruitment_chart(over_time: pd.DataFrame, title: str, recruited: str, target: str) -> alt.Chart:
    """Cumulative recruitment per site over time with each site's target as a dashed rule.

    ``over_time`` has the columns of
    :func:`dashboards.queries.recruitment.recruitment_over_time`; ``recruited`` and ``target``
    are the translated axis and legend labels.
    """
    base = alt.Chart(over_time)
    line = base.mark_line(point=False).encode(
        x=alt.X("date:T", title=None),
        y=alt.Y("recruited:Q", title=recruited),
        color=alt.Color("site:N", title=None),
        tooltip=["site:N", alt.Tooltip("date:T"), alt.Tooltip("recruited:Q", title=recruited)],
    )
    rule = (
        alt.Chart(over_time.drop_duplicates("site"))
        .mark_rule(strokeDash=[6, 4])
        .encode(
            y="target:Q",
            color="site:N",
            tooltip=["site:N", alt.Tooltip("target:Q", title=target)],
        )
    )
    return (line + rule).properties(title=title, height=320)


def attendance_chart(rates: pd.DataFrame, title: str, percent: str, week: str) -> alt.Chart:
    """Percentage present per week, one line per group (``attendance_rates`` columns)."""
    return (
        alt.Chart(rates)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:O", title=week),
            y=alt.Y("percent_present:Q", title=percent, scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("group:N", title=None),
            tooltip=["group:N", "week:O", "present:Q", "recorded:Q", "percent_present:Q"],
        )
        .properties(title=title, height=280)
    )


def fidelity_chart(groups: pd.DataFrame, thresholds: pd.DataFrame, title: str, percent: str) -> alt.LayerChart:
    """Mean adherence per group (bars coloured by site; flagged groups outlined in red) with
    a dashed rule per threshold (``fidelity_by_group`` and ``fidelity_thresholds`` columns)."""
    observed = groups[~groups["never_observed"]]
    bars = (
        alt.Chart(observed)
        .mark_bar()
        .encode(
            x=alt.X("group:N", title=None, sort=None),
            y=alt.Y("mean_adherence_pct:Q", title=percent, scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("site:N", title=None),
            stroke=alt.condition("datum.below_threshold", alt.value("#c0392b"), alt.value(None)),
            strokeWidth=alt.value(2),
            tooltip=["group:N", "site:N", "n_observations:Q", "mean_adherence_pct:Q", "classification:N"],
        )
    )
    rules = (
        alt.Chart(thresholds)
        .mark_rule(strokeDash=[6, 4])
        .encode(y="percent:Q", color=alt.value("#555"), tooltip=["level:N", "percent:Q"])
    )
    return alt.layer(bars, rules).properties(title=title, height=280)


def vega_spec(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite spec of ``chart`` with its data inlined, without Altair's schema
    validation (the charts here are fixed and tested; validation costs more than the rest of
    the page), so the Streamlit layer can cache the spec and render it with
    ``st.vega_lite_chart``."""
    return chart.to_dict(validate=False)
